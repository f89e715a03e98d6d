//! Reading a spec: its `defaults` composed in order, the file itself on top,
//! then command-line overrides; the typed parse; validation.
//!
//! Each file is first parsed alone, so its errors carry its own
//! `file:line:column`. A file taking part in a composition may leave out
//! required fields (another layer gives them), so "missing field" is only an
//! error for the merged result. serde stops at the first error of a
//! document, so parse errors are reported one per file; a problem that
//! follows a missing required field inside a partial file is reported
//! against the merged spec, without a line.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::blame::{duplicates, file_problems, locate_rule, strip_location};
use crate::locate::outline;
use crate::overrides::{apply_overrides, Override};
use crate::suggest::suggest;
use crate::validate::rules;
use crate::{Result, Spec, SpecError};

/// A spec as read from disk, with the overrides that shaped it.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub path: PathBuf,
    pub overrides: Vec<Override>,
    /// blake3 of the canonical JSON of the resolved spec (16 hex digits).
    pub fingerprint: String,
}

impl LoadedSpec {
    /// The resolved spec as YAML, as stored with every run.
    pub fn resolved_yaml(&self) -> String {
        serde_yaml::to_string(&self.spec).unwrap_or_default()
    }
}

/// Reads, composes, parses, overrides and validates a spec file.
pub fn load_spec(path: &Path, overrides: &[String]) -> Result<LoadedSpec> {
    let text = read(path)?;
    let overrides = overrides.iter().map(|o| Override::parse(o)).collect::<Result<Vec<_>>>()?;
    let resolved = resolve(&text, path, &overrides).map_err(|mut e| e.remove(0))?;
    if let Some(e) = located_rules(&resolved, &overrides, path).into_iter().next() {
        return Err(e);
    }
    let spec = resolved.spec;
    let fingerprint = fingerprint(&spec);
    Ok(LoadedSpec { spec, path: path.to_path_buf(), overrides, fingerprint })
}

/// Parses spec text (its `defaults` are read relative to `path`'s folder).
/// Files are parsed alone first, so their errors carry their own line and
/// column; overrides then apply to the merged YAML tree.
pub fn parse_spec(text: &str, path: &Path, overrides: &[Override]) -> Result<Spec> {
    resolve(text, path, overrides).map(|r| r.spec).map_err(|mut e| e.remove(0))
}

/// Every problem found in a spec, not just the first: each file's parse
/// error (one per file: serde stops at the first error of a document), each
/// override that cannot apply, every cross-field rule and every sweep
/// problem. Empty when the spec is valid.
pub fn validate_all(path: &Path, overrides: &[String]) -> Vec<SpecError> {
    let text = match read(path) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let overrides: Vec<Override> = overrides.iter().filter_map(|o| Override::parse(o).map_err(|e| errors.push(e)).ok()).collect();
    match resolve(&text, path, &overrides) {
        Err(mut e) => errors.append(&mut e),
        Ok(r) => {
            let problems = located_rules(&r, &overrides, path);
            let sweep_ok = !rules(&r.spec, path).iter().any(|e| matches!(e, SpecError::Invalid { field, .. } if field.starts_with("sweep")));
            errors.extend(problems);
            // trials only add what the swept values break
            if sweep_ok && r.spec.sweep.is_some() {
                match crate::sweep::trials(&r.spec) {
                    Ok(trials) => errors.extend(crate::sweep::check_trials(&r.spec, &trials)),
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    errors
}

/// Every cross-field problem, each reported where its key was written.
fn located_rules(resolved: &Resolved, overrides: &[Override], path: &Path) -> Vec<SpecError> {
    let outlines: Vec<_> = resolved.layers.iter().map(|l| outline(&l.text)).collect();
    rules(&resolved.spec, path).into_iter().map(|e| locate_rule(e, overrides, &resolved.layers, &outlines)).collect()
}

/// A short, stable identity of a resolved spec: blake3 over canonical JSON
/// (serde_json maps are sorted, so key order in the file does not matter).
/// Covers the merged values, not the names of the files they came from, and
/// leaves out `sweep` (a trial is identified by its values), `ab_test`
/// (it changes no run) and `devices` (where a run executes).
pub fn fingerprint(spec: &Spec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("sweep");
        map.remove("ab_test");
        map.remove("devices");
    }
    let canonical = serde_json::to_vec(&value).unwrap_or_default();
    blake3::hash(&canonical).to_hex()[..16].to_string()
}

pub(crate) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| SpecError::Read { path: path.to_path_buf(), source })
}

/// One file of a composition, its `defaults` key removed from `tree`.
pub(crate) struct Layer {
    pub path: PathBuf,
    pub text: String,
    pub tree: Value,
}

pub(crate) struct Resolved {
    /// In merge order: defaults first, the spec last.
    pub layers: Vec<Layer>,
    pub spec: Spec,
}

/// The one pipeline behind loading, explaining and validating. `Err` holds
/// at least one error.
pub(crate) fn resolve(text: &str, path: &Path, overrides: &[Override]) -> std::result::Result<Resolved, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut layers = Vec::new();
    collect(text, path, false, &mut Vec::new(), &mut layers, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut merged = Value::Mapping(Default::default());
    for layer in &layers {
        merge(&mut merged, layer.tree.clone());
    }
    let spec: Spec = typed(merged.clone()).map_err(|e| {
        let message = suggest(&e.to_string());
        let message = if layers.len() > 1 { format!("{message} (after merging its defaults)") } else { message };
        vec![SpecError::File { path: path.to_path_buf(), message }]
    })?;
    if overrides.is_empty() {
        return Ok(Resolved { layers, spec });
    }
    let mut tree = merged.clone();
    for o in overrides {
        if o.path[0] == "defaults" {
            errors.push(SpecError::Override { text: o.text.clone(), message: "defaults are merged from files before overrides apply".into() });
        } else if let Err(e) = apply_overrides(&mut tree, std::slice::from_ref(o)) {
            errors.push(e);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    match typed(tree) {
        Ok(spec) => Ok(Resolved { layers, spec }),
        Err(e) => {
            // Blame the overrides that fail on their own; else all of them.
            let blamed: Vec<SpecError> = overrides
                .iter()
                .filter_map(|o| {
                    let mut alone = merged.clone();
                    apply_overrides(&mut alone, std::slice::from_ref(o)).ok()?;
                    let err = typed(alone).err()?;
                    Some(SpecError::Override { text: o.text.clone(), message: suggest(&err.to_string()) })
                })
                .collect();
            Err(if blamed.is_empty() {
                let text = overrides.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(" ");
                vec![SpecError::Override { text, message: suggest(&e.to_string()) }]
            } else {
                blamed
            })
        }
    }
}

/// The typed spec of a merged tree, its unset `protocol` keys first set
/// to the defaults of its data's kind.
fn typed(mut tree: Value) -> std::result::Result<Spec, serde_yaml::Error> {
    crate::data_kind::fill_protocol_defaults(&mut tree);
    serde_yaml::from_value(tree)
}

/// Pushes the layers of `path` (its defaults, recursively, then itself).
/// `stack` holds the files being read, for cycle detection.
fn collect(text: &str, path: &Path, is_default: bool, stack: &mut Vec<(PathBuf, PathBuf)>, layers: &mut Vec<Layer>, errors: &mut Vec<SpecError>) {
    let shape = outline(text);
    let twice = duplicates(path, text, &shape);
    if !twice.is_empty() {
        return errors.extend(twice);
    }
    let mut tree: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return errors.push(located(path, &e)),
    };
    let empty_default = is_default && tree.is_null();
    if empty_default {
        tree = Value::Mapping(Default::default());
    }
    let defaults: Vec<String> = match tree.get("defaults") {
        Some(Value::Sequence(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let composed = is_default || !defaults.is_empty();
    if !empty_default {
        errors.extend(file_problems(path, text, &tree, &shape, !(composed && tree.is_mapping())));
    }
    let id = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    stack.push((id, path.to_path_buf()));
    let dir = path.parent().unwrap_or(Path::new(""));
    for name in &defaults {
        let child = dir.join(name);
        let child_id = child.canonicalize().unwrap_or_else(|_| child.clone());
        if let Some(pos) = stack.iter().position(|(id, _)| *id == child_id) {
            let chain: Vec<String> = stack[pos..].iter().map(|(_, p)| p.display().to_string()).chain([child.display().to_string()]).collect();
            errors.push(SpecError::File { path: path.to_path_buf(), message: format!("defaults cycle: {}", chain.join(" -> ")) });
            continue;
        }
        match std::fs::read_to_string(&child) {
            Ok(t) => collect(&t, &child, true, stack, layers, errors),
            Err(source) => errors.push(SpecError::Read { path: child, source }),
        }
    }
    stack.pop();
    if let Value::Mapping(map) = &mut tree {
        map.remove("defaults");
    }
    layers.push(Layer { path: path.to_path_buf(), text: text.to_string(), tree });
}

/// Mappings merge key by key; anything else replaces.
fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Mapping(b), Value::Mapping(t)) => {
            for (k, v) in t {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, top) => *slot = top,
    }
}

pub(crate) fn located(path: &Path, e: &serde_yaml::Error) -> SpecError {
    match e.location() {
        Some(loc) => SpecError::At {
            path: path.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            message: suggest(&strip_location(&e.to_string())),
        },
        None => SpecError::File { path: path.to_path_buf(), message: suggest(&e.to_string()) },
    }
}
