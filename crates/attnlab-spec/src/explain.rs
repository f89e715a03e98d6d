//! `explain`: every leaf of the resolved spec with the place its value came
//! from: a file line (the spec or one of its defaults), a command-line
//! override, or the built-in default.
//!
//! Where a value came from is decided on the YAML trees (the last override
//! or file layer that holds the key wins; a list or scalar written higher up
//! hides what lower layers have under it), so it is exact. Only the line
//! number comes from the text locator in `locate.rs`, with its limits
//! (anchors, aliases, complex keys, tags: the line of the nearest enclosing
//! key is given instead, or 0 when none is found).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::load::{read, resolve};
use crate::locate::{key_line, outline};
use crate::{Override, Result, SpecError};

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Not written anywhere: the spec's built-in default.
    Default,
    /// Written in this file on this line (0: the line was not found).
    File { path: PathBuf, line: usize },
    /// Set by this command-line override.
    Override { text: String },
    /// Not written anywhere: the default of the spec's kind of data
    /// (`DataKind::protocol_defaults`), e.g. ranking metrics for interactions.
    KindDefault { kind: &'static str },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExplainLine {
    /// Dotted path, list items by index (the override syntax).
    pub key: String,
    /// The value as YAML: a scalar, or the inline form of a list of scalars.
    pub value: String,
    pub source: Source,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line: 0 } => write!(f, "{}", path.display()),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Override { text } => write!(f, "override `{text}`"),
            Source::KindDefault { kind } => write!(f, "default for {kind} data"),
        }
    }
}

/// `key = value  # source`; a width (`{:40}`) pads `key = value` so that
/// the comments of several lines align (see `render_explain`).
impl fmt::Display for ExplainLine {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let pair = format!("{} = {}", self.key, self.value);
        let width = f.width().unwrap_or(0);
        write!(f, "{pair:width$}  # {}", self.source)
    }
}

/// All lines, `# source` aligned (up to a column of 72).
pub fn render_explain(lines: &[ExplainLine]) -> String {
    let width = lines.iter().map(|l| l.key.len() + l.value.len() + 3).max().unwrap_or(0).min(72);
    lines.iter().map(|l| format!("{l:width$}\n")).collect()
}

/// The resolved spec (defaults merged, overrides applied; cross-field rules
/// are not checked, so a spec can be explained while it is being fixed),
/// leaf by leaf, in the order of the spec's types.
pub fn explain(path: &Path, cli_overrides: &[String]) -> Result<Vec<ExplainLine>> {
    let text = read(path)?;
    let overrides = cli_overrides.iter().map(|o| Override::parse(o)).collect::<Result<Vec<_>>>()?;
    let resolved = resolve(&text, path, &overrides).map_err(|mut e| e.remove(0))?;
    let tree = serde_yaml::to_value(&resolved.spec)
        .map_err(|e| SpecError::File { path: path.to_path_buf(), message: e.to_string() })?;
    let outlines: Vec<_> = resolved.layers.iter().map(|l| outline(&l.text)).collect();
    let mut leaves = Vec::new();
    walk(&tree, &mut Vec::new(), &mut leaves);
    let kind = resolved.spec.dataset.kind();
    Ok(leaves
        .into_iter()
        .map(|(key, value)| {
            let mut source = source_of(&key, &overrides, &resolved.layers, &outlines);
            if source == Source::Default && chosen_by_kind(kind, &key, value) {
                source = Source::KindDefault { kind: kind.name() };
            }
            ExplainLine { key: key.join("."), value: inline(value), source }
        })
        .collect())
}

/// Whether an unwritten value is the one its data kind sets for this key.
fn chosen_by_kind(kind: crate::DataKind, key: &[String], value: &Value) -> bool {
    let [section, field] = key else { return false };
    section == "protocol"
        && kind
            .protocol_defaults()
            .iter()
            .any(|(k, text)| k == field && serde_yaml::from_str::<Value>(text).ok().as_ref() == Some(value))
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Mapping(_) | Value::Sequence(_))
}

fn walk<'a>(v: &'a Value, key: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Value)>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, child) in m {
                key.push(k.as_str().map_or_else(|| inline(k), str::to_string));
                walk(child, key, out);
                key.pop();
            }
        }
        Value::Sequence(items) if !items.iter().all(is_scalar) => {
            for (i, child) in items.iter().enumerate() {
                key.push(i.to_string());
                walk(child, key, out);
                key.pop();
            }
        }
        _ => out.push((key.clone(), v)),
    }
}

enum Hit {
    /// This layer wrote the value.
    Found,
    /// This layer wrote a list or value above the key that does not hold it:
    /// the value is the built-in default inside what this layer wrote.
    Hidden,
    /// Look in the layer below.
    Absent,
}

pub(crate) fn source_of(key: &[String], overrides: &[Override], layers: &[crate::load::Layer], outlines: &[crate::locate::Node]) -> Source {
    for o in overrides.iter().rev() {
        let n = o.path.len().min(key.len());
        if o.path[..n] != key[..n] {
            continue;
        }
        if key.len() <= o.path.len() || descend(&o.value, &key[n..]).is_some() {
            return Source::Override { text: o.text.clone() };
        }
        return Source::Default; // the override replaced everything under its key
    }
    for (layer, outline) in layers.iter().zip(outlines).rev() {
        match in_file(&layer.tree, key) {
            Hit::Found => return Source::File { path: layer.path.clone(), line: key_line(outline, key).unwrap_or(0) },
            Hit::Hidden => return Source::Default,
            Hit::Absent => {}
        }
    }
    Source::Default
}

fn child<'a>(v: &'a Value, segment: &str) -> Option<&'a Value> {
    match v {
        Value::Mapping(m) => m.get(segment),
        Value::Sequence(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

fn descend<'a>(v: &'a Value, key: &[String]) -> Option<&'a Value> {
    key.iter().try_fold(v, |node, segment| child(node, segment))
}

/// Layers merge mappings key by key; lists and scalars replace.
fn in_file(tree: &Value, key: &[String]) -> Hit {
    let mut node = tree;
    let mut inside_replaced = false;
    for segment in key {
        inside_replaced |= !matches!(node, Value::Mapping(_));
        match child(node, segment) {
            Some(next) => node = next,
            None if inside_replaced || !matches!(node, Value::Mapping(_)) => return Hit::Hidden,
            None => return Hit::Absent,
        }
    }
    Hit::Found
}

/// A YAML value on one line: plain or double-quoted scalars, `[a, b]`,
/// `{k: v}`. Parsing the text back as YAML gives the same value.
pub(crate) fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.trim() == s
                && !s.contains([',', '[', ']', '{', '}', '#', '\n', '"', '\''])
                && !s.contains(": ")
                && !s.ends_with(':')
                && serde_yaml::from_str::<Value>(s).ok().as_ref() == Some(v);
            if plain { s.clone() } else { serde_json::to_string(s).unwrap_or_default() }
        }
        Value::Sequence(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Mapping(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{}: {}", inline(k), inline(v))).collect::<Vec<_>>().join(", "))
        }
        Value::Tagged(t) => format!("{} {}", t.tag, inline(&t.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_values_parse_back_to_themselves() {
        for text in ["0.001", "1.234e-5", "adam", "\"a, b\"", "\"yes: no\"", "[1, [2, 3]]", "{a: 1, b: x}", "\"007\"", "true", "null", "\"\""] {
            let v: Value = serde_yaml::from_str(text).unwrap();
            let shown = inline(&v);
            assert_eq!(serde_yaml::from_str::<Value>(&shown).unwrap(), v, "{text} -> {shown}");
        }
        assert_eq!(inline(&Value::from(0.001)), "0.001");
        assert_eq!(inline(&Value::from("adamw")), "adamw");
        assert_eq!(inline(&Value::from("123")), "\"123\"");
    }
}
