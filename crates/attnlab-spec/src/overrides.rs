//! `key=value` overrides: a dotted path into the YAML tree (list items by
//! index, e.g. `models.1.params.embed_dim=8`) and a YAML value.

use serde_yaml::Value;

use crate::{Result, SpecError};

#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// As typed on the command line.
    pub text: String,
    pub path: Vec<String>,
    pub value: Value,
}

/// Keys whose values are always text: what YAML would read as a number (a
/// run id prefix like `12e45678` or `01234567`) stays exactly as typed.
const TEXT_KEYS: &[&str] = &["name", "description", "dataset.path", "dataset.name", "train.device", "train.init_from", "tracking.mlflow"];

impl Override {
    pub fn parse(text: &str) -> Result<Override> {
        let err = |message: &str| SpecError::Override { text: text.to_string(), message: message.to_string() };
        let (key, raw) = text.split_once('=').ok_or_else(|| err("expected key=value"))?;
        let path: Vec<String> = key.trim().split('.').map(str::to_string).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(err("empty key segment"));
        }
        let quoted_or_null = raw.starts_with(['"', '\'']) || matches!(raw, "null" | "~" | "");
        let value = if TEXT_KEYS.contains(&key.trim()) && !quoted_or_null {
            Value::String(raw.to_string())
        } else {
            serde_yaml::from_str(raw).map_err(|e| err(&format!("value is not YAML: {e}")))?
        };
        Ok(Override { text: text.to_string(), path, value })
    }
}

pub(crate) fn apply_overrides(tree: &mut Value, overrides: &[Override]) -> Result<()> {
    for o in overrides {
        apply(tree, o)?;
    }
    Ok(())
}

fn apply(tree: &mut Value, o: &Override) -> Result<()> {
    let err = |message: String| SpecError::Override { text: o.text.clone(), message };
    let mut node = tree;
    for (depth, segment) in o.path.iter().enumerate() {
        let last = depth + 1 == o.path.len();
        let here = o.path[..depth].join(".");
        node = match node {
            Value::Mapping(map) => {
                let key = Value::String(segment.clone());
                if last {
                    map.insert(key, o.value.clone());
                    return Ok(());
                }
                map.entry(key).or_insert_with(|| Value::Mapping(Default::default()))
            }
            Value::Sequence(items) => {
                let len = items.len();
                let index: usize = segment
                    .parse()
                    .map_err(|_| err(format!("`{here}` is a list; `{segment}` is not an index")))?;
                let item = items
                    .get_mut(index)
                    .ok_or_else(|| err(format!("`{here}` has {len} items; index {index} is out of range")))?;
                if last {
                    *item = o.value.clone();
                    return Ok(());
                }
                item
            }
            Value::Null => {
                *node = Value::Mapping(Default::default());
                let Value::Mapping(map) = node else { unreachable!() };
                if last {
                    map.insert(Value::String(segment.clone()), o.value.clone());
                    return Ok(());
                }
                map.entry(Value::String(segment.clone())).or_insert_with(|| Value::Mapping(Default::default()))
            }
            _ => return Err(err(format!("`{here}` is a value, not a mapping or list"))),
        };
    }
    Ok(())
}
