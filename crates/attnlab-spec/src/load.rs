use std::path::{Path, PathBuf};

use crate::overrides::{apply_overrides, Override};
use crate::validate::validate;
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

/// Reads, parses, overrides and validates a spec file.
pub fn load_spec(path: &Path, overrides: &[String]) -> Result<LoadedSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| SpecError::Read { path: path.to_path_buf(), source })?;
    let overrides = overrides.iter().map(|o| Override::parse(o)).collect::<Result<Vec<_>>>()?;
    let spec = parse_spec(&text, path, &overrides)?;
    validate(&spec, path)?;
    let fingerprint = fingerprint(&spec);
    Ok(LoadedSpec { spec, path: path.to_path_buf(), overrides, fingerprint })
}

/// Parses spec text. The file alone is parsed first, so its errors carry the
/// file's line and column; overrides then apply to the YAML tree.
pub fn parse_spec(text: &str, path: &Path, overrides: &[Override]) -> Result<Spec> {
    let at = |e: serde_yaml::Error| match e.location() {
        Some(loc) => SpecError::At {
            path: path.to_path_buf(),
            line: loc.line(),
            column: loc.column(),
            message: strip_location(&e.to_string()),
        },
        None => SpecError::File { path: path.to_path_buf(), message: e.to_string() },
    };
    let spec: Spec = serde_yaml::from_str(text).map_err(at)?;
    if overrides.is_empty() {
        return Ok(spec);
    }
    let mut tree: serde_yaml::Value = serde_yaml::from_str(text).map_err(at)?;
    apply_overrides(&mut tree, overrides)?;
    serde_yaml::from_value(tree).map_err(|e| SpecError::Override {
        text: overrides.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(" "),
        message: e.to_string(),
    })
}

/// serde_yaml appends " at line L column C"; we print the location up front.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A short, stable identity of a resolved spec: blake3 over canonical JSON
/// (serde_json maps are sorted, so key order in the file does not matter).
pub fn fingerprint(spec: &Spec) -> String {
    let canonical = serde_json::to_vec(&serde_json::to_value(spec).unwrap_or_default()).unwrap_or_default();
    blake3::hash(&canonical).to_hex()[..16].to_string()
}
