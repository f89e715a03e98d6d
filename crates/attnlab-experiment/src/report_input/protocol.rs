//! Whether experiments can share one report: their protocols must match.
//!
//! A run records its data/protocol fingerprint (`data.fingerprint`) and the
//! resolved spec it ran (`spec.resolved`). Two experiments match when they
//! used the same fingerprints and the same `dataset.*` and `protocol.*`
//! settings (split, ratios, candidates, metrics, ...); when they do not, the
//! reason names each differing setting with both values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use attnlab_track::RunRecord;

/// The protocol-relevant settings of one experiment's runs: every leaf of
/// the resolved spec's `dataset` and `protocol` sections with the values
/// its runs used, and their data fingerprints.
#[derive(Debug, Default, PartialEq)]
pub struct Protocol {
    pub fields: BTreeMap<String, BTreeSet<String>>,
    pub fingerprints: BTreeSet<String>,
}

impl Protocol {
    pub fn of(runs: &[RunRecord]) -> Protocol {
        let mut p = Protocol::default();
        let mut seen_specs = BTreeSet::new();
        for r in runs {
            if let Some(fp) = r.tags.get("data.fingerprint") {
                p.fingerprints.insert(fp.clone());
            }
            // sweeps store many identical specs: parse each text once
            let Some(text) = r.tags.get("spec.resolved") else { continue };
            if !seen_specs.insert(text.as_str()) {
                continue;
            }
            let Ok(spec) = attnlab_spec::parse_spec(text, Path::new("spec.resolved"), &[]) else { continue };
            for (section, value) in [("dataset", serde_json::to_value(&spec.dataset)), ("protocol", serde_json::to_value(&spec.protocol))] {
                if let Ok(value) = value {
                    flatten(section, &value, &mut p.fields);
                }
            }
        }
        p
    }

    fn is_unknown(&self) -> bool {
        self.fields.is_empty() && self.fingerprints.is_empty()
    }
}

/// Leaves as dotted keys; lists stay whole (`protocol.metrics`).
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.entry(prefix.to_string()).or_default().insert(s.clone());
        }
        other => {
            out.entry(prefix.to_string()).or_default().insert(other.to_string());
        }
    }
}

/// Every way the protocols of `experiments` differ from the first one's,
/// as readable lines; empty when they all match.
pub fn differences(experiments: &[(String, Protocol)]) -> Vec<String> {
    let Some((first_name, first)) = experiments.first() else { return Vec::new() };
    let show = |values: Option<&BTreeSet<String>>| match values {
        None => "(not set)".to_string(),
        Some(v) => v.iter().cloned().collect::<Vec<_>>().join(" | "),
    };
    let mut out = Vec::new();
    for (name, other) in &experiments[1..] {
        for (n, p) in [(first_name, first), (name, other)] {
            if p.is_unknown() {
                out.push(format!("experiment `{n}` records no protocol (no data.fingerprint or spec.resolved tags), so it cannot be checked"));
            }
        }
        if first.is_unknown() || other.is_unknown() {
            continue;
        }
        let same_data = first.fingerprints == other.fingerprints;
        let keys: BTreeSet<&String> = first.fields.keys().chain(other.fields.keys()).collect();
        let mut fields = Vec::new();
        for key in keys {
            // the same data read from another path is the same data
            if same_data && key == "dataset.path" {
                continue;
            }
            let (a, b) = (first.fields.get(key), other.fields.get(key));
            if a != b {
                fields.push(format!("{key} ({first_name}: {}; {name}: {})", show(a), show(b)));
            }
        }
        if !same_data {
            let fps = |p: &Protocol| p.fingerprints.iter().cloned().collect::<Vec<_>>().join(" | ");
            fields.push(format!("data.fingerprint ({first_name}: {}; {name}: {})", fps(first), fps(other)));
        }
        out.extend(fields);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(fields: &[(&str, &str)], fingerprint: &str) -> Protocol {
        Protocol {
            fields: fields.iter().map(|(k, v)| (k.to_string(), BTreeSet::from([v.to_string()]))).collect(),
            fingerprints: BTreeSet::from([fingerprint.to_string()]),
        }
    }

    #[test]
    fn differing_fields_are_named_with_both_values() {
        let a = protocol(&[("protocol.split", "temporal"), ("dataset.path", "a.csv")], "f1");
        let b = protocol(&[("protocol.split", "ratio"), ("dataset.path", "b.csv")], "f1");
        let d = differences(&[("a".into(), a), ("b".into(), b)]);
        assert_eq!(d, vec!["protocol.split (a: temporal; b: ratio)".to_string()], "same data at another path is no difference");
        let c = protocol(&[("protocol.split", "temporal"), ("dataset.path", "a.csv")], "f2");
        let a = protocol(&[("protocol.split", "temporal"), ("dataset.path", "a.csv")], "f1");
        let d = differences(&[("a".into(), a), ("c".into(), c)]);
        assert_eq!(d, vec!["data.fingerprint (a: f1; c: f2)".to_string()]);
        assert!(differences(&[("a".into(), Protocol::default()), ("b".into(), protocol(&[], "f"))])[0].contains("records no protocol"));
    }
}
