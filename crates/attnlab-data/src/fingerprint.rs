//! Data fingerprints: which prepared data a result was computed on.
//!
//! `fingerprint = blake3(canonical JSON of { format_version, source, settings })`
//! where `source` names the input files by file name and sha256 (so moving
//! a data directory keeps its fingerprint; changing one byte does not) or
//! holds the simulator configuration and [`SIMULATOR_VERSION`], and
//! `settings` is every preprocessing and protocol setting, given as any
//! serialisable value. Canonical JSON: object keys sorted at every level,
//! no whitespace, serde_json's number forms. Two results with different
//! fingerprints were computed on different data and must not be compared
//! silently.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::fetch::sha256_file;
use crate::simulator::{AdPlacement, SimulatorConfig};
use crate::{DataError, Result, SIMULATOR_VERSION};

/// Bumped whenever the prepared data or its binary cache format change
/// meaning, so every older cache entry misses.
pub const FORMAT_VERSION: u32 = 2;

/// A blake3 digest as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }

    /// Another fingerprint derived from this one and `tag`: for a second
    /// form of the same prepared data (a cache entry of its own).
    pub fn variant(&self, tag: &str) -> Fingerprint {
        Fingerprint(blake3::hash(format!("{}|{tag}", self.0).as_bytes()).to_hex().to_string())
    }

    /// Parses 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Fingerprint> {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| Fingerprint(s.to_string()))
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One input file: its name (without directory) and sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFile {
    pub name: String,
    pub sha256: String,
}

impl SourceFile {
    /// Hashes the file (sha256, streamed).
    pub fn hash(path: &Path) -> Result<SourceFile> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| DataError::Invalid {
                what: "source file",
                message: format!("{} has no file name", path.display()),
            })?;
        Ok(SourceFile {
            name,
            sha256: sha256_file(path)?,
        })
    }
}

/// Where the rows come from.
#[derive(Debug, Clone)]
pub enum DataSource<'a> {
    /// Input files (order does not matter: they are sorted by name).
    Files(Vec<SourceFile>),
    /// The simulator with this configuration (and the crate's
    /// [`SIMULATOR_VERSION`]).
    Simulator(&'a SimulatorConfig),
}

impl DataSource<'_> {
    /// Hashes each existing path (missing ones are an error).
    pub fn files(paths: &[&Path]) -> Result<DataSource<'static>> {
        Ok(DataSource::Files(paths.iter().map(|p| SourceFile::hash(p)).collect::<Result<_>>()?))
    }

    fn to_json(&self) -> Value {
        match self {
            DataSource::Files(files) => {
                let mut files = files.clone();
                files.sort_by(|a, b| a.name.cmp(&b.name).then(a.sha256.cmp(&b.sha256)));
                json!({ "files": files })
            }
            DataSource::Simulator(c) => json!({
                "simulator": simulator_json(c),
                "simulator_version": SIMULATOR_VERSION,
            }),
        }
    }
}

/// Every field of the configuration (destructured, so a new field fails
/// to compile here until it is fingerprinted).
fn simulator_json(c: &SimulatorConfig) -> Value {
    let SimulatorConfig {
        seed,
        users,
        items,
        topics,
        sessions_per_user,
        slots,
        interest_sharpness,
        history_len,
        ads,
    } = c;
    let crate::AdsConfig {
        advertisers,
        ad_share,
        placement,
        cpa_share,
        mean_cpc_bid,
        mean_daily_budget,
        cvr_affinity_weight,
        dwell_length_weight,
    } = ads;
    let placement = match placement {
        AdPlacement::Slots(s) => json!({ "slots": s }),
        AdPlacement::Load(p) => json!({ "load": p }),
    };
    let mut value = json!({
        "seed": seed, "users": users, "items": items, "topics": topics,
        "sessions_per_user": sessions_per_user, "slots": slots,
        "interest_sharpness": interest_sharpness, "history_len": history_len,
        "ads": {
            "advertisers": advertisers, "ad_share": ad_share, "placement": placement,
            "cpa_share": cpa_share, "mean_cpc_bid": mean_cpc_bid,
            "mean_daily_budget": mean_daily_budget,
            "cvr_affinity_weight": cvr_affinity_weight,
        },
    });
    // only when set, so the data of every earlier spec keeps its fingerprint
    if *dwell_length_weight != 0.0 {
        value["ads"]["dwell_length_weight"] = json!(dwell_length_weight);
    }
    value
}

/// Serialises `value` as canonical JSON: keys sorted at every level (even
/// if serde_json's `preserve_order` feature is on), no whitespace.
pub fn canonical_json(value: &impl Serialize) -> Result<String> {
    let v = serde_json::to_value(value).map_err(|e| DataError::Invalid {
        what: "fingerprint settings",
        message: e.to_string(),
    })?;
    let mut out = String::new();
    write_canonical(&v, &mut out);
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (k, key) in keys.into_iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The fingerprint of the prepared data from `source` under `settings`
/// (every preprocessing and protocol setting; e.g. `(&Preprocess, &Protocol)`).
pub fn fingerprint(source: &DataSource<'_>, settings: &impl Serialize) -> Result<Fingerprint> {
    let mut map = Map::new();
    map.insert("format_version".into(), json!(FORMAT_VERSION));
    map.insert("source".into(), source.to_json());
    map.insert("settings".into(), serde_json::to_value(settings).map_err(|e| DataError::Invalid {
        what: "fingerprint settings",
        message: e.to_string(),
    })?);
    let text = canonical_json(&Value::Object(map))?;
    Ok(Fingerprint(blake3::hash(text.as_bytes()).to_hex().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": null}});
        assert_eq!(
            canonical_json(&a).unwrap(),
            r#"{"a":{"c":null,"z":[1,{"x":3,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn simulator_source_changes_with_any_field() {
        let c = SimulatorConfig::default();
        let f = |c: &SimulatorConfig| fingerprint(&DataSource::Simulator(c), &json!({})).unwrap();
        let base = f(&c);
        assert_eq!(base, f(&c.clone()));
        assert_ne!(base, f(&SimulatorConfig { seed: 8, ..c.clone() }));
        let mut d = c.clone();
        d.ads.placement = AdPlacement::Load(0.2);
        assert_ne!(base, f(&d));
        assert!(Fingerprint::parse(base.as_str()).is_some());
    }
}
