//! What makes two runs the same run: the identity of a run (its `run_key`,
//! which decides whether a finished run is reused and names its checkpoint
//! folder) and of a sweep's parent run, and the versions that are part of
//! both.

use attnlab_spec::{LoadedSpec, ModelSpec};
use attnlab_track::NewRun;

use crate::pseudonym::Pseudonymiser;

/// The attnlab version that produced a run (part of its identity).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The libtorch version linked (read at build time by `build/link_libtorch.rs`).
pub const LIBTORCH_VERSION: &str = match option_env!("ATTNLAB_LIBTORCH_VERSION") {
    Some(v) => v,
    None => "unknown",
};

/// The `model` of a sweep's parent run (reports leave these out).
pub const SWEEP_MODEL: &str = "sweep";

/// A run's identity: resolved spec, model, seed, data and code version, and
/// the pseudonym key when the spec pseudonymises users (another key, other
/// artifacts). 16 hex digits of blake3.
pub fn run_key(
    loaded: &LoadedSpec,
    data_fingerprint: &str,
    model: &ModelSpec,
    seed: u64,
    pseudonyms: Option<&Pseudonymiser>,
) -> String {
    let mut identity = format!("{}|{}|{seed}|{data_fingerprint}|{VERSION}", loaded.fingerprint, model.name);
    if let Some(p) = pseudonyms.filter(|_| loaded.spec.dataset.pseudonymise) {
        identity.push_str(&format!("|pseudonym key {}", p.key_id()));
    }
    blake3::hash(identity.as_bytes()).to_hex()[..16].to_string()
}

/// The id of a sweep's parent run, derived from the spec (minus its trial
/// values), so every process of the sweep (`--jobs` children, array tasks
/// with stores of their own) names the same parent without being told.
/// `None` without a sweep of more than one trial.
pub fn sweep_parent_id(base: &LoadedSpec, trials: usize) -> Option<String> {
    let sweep = base.spec.sweep.as_ref().filter(|_| trials > 1)?;
    let sweep_json = serde_json::to_string(sweep).unwrap_or_default();
    let identity = format!("sweep|{}|{sweep_json}|{VERSION}", base.fingerprint);
    Some(blake3::hash(identity.as_bytes()).to_hex()[..32].to_string())
}

/// The record of a sweep's parent run `id`.
pub fn sweep_parent_run(base: &LoadedSpec, trials: usize, id: &str) -> NewRun {
    let sweep = base.spec.sweep.as_ref();
    NewRun {
        experiment: base.spec.name.clone(),
        name: "sweep".into(),
        model: SWEEP_MODEL.into(),
        seed: 0,
        run_key: id.to_string(),
        parent: None,
        params: vec![],
        tags: vec![
            ("sweep.trials".into(), trials.to_string()),
            ("sweep.method".into(), sweep.map_or(String::new(), |s| format!("{:?}", s.method).to_lowercase())),
            ("spec.path".into(), base.path.display().to_string()),
            ("spec.fingerprint".into(), base.fingerprint.clone()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const SPEC: &str = "name: ident\ndataset: { source: simulator, seed: 7 }\n\
        train: { epochs: 2, optimizer: { name: adam, lr: 0.01 } }\n\
        models:\n  - { name: lr, model: LR }\n  - { name: din, model: DIN, params: { embed_dim: 8 } }\nseeds: [1, 2]\n";

    /// The same spec written another way: key order, flow vs block style,
    /// comments, an explicit default.
    const SAME_SPEC: &str = "# the same experiment\nseeds: [1, 2]\nname: ident\nmodels:\n  - name: lr\n    model: LR\n  \
        - name: din\n    model: DIN\n    params:\n      embed_dim: 8\ntrain:\n  optimizer:\n    lr: 0.01\n    name: adam\n  epochs: 2\n\
        dataset:\n  seed: 7\n  source: simulator\n";

    fn load(dir: &Path, file: &str, text: &str, overrides: &[&str]) -> LoadedSpec {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        attnlab_spec::load_spec(&path, &overrides).unwrap()
    }

    #[test]
    fn run_key_is_the_pinned_hash_of_spec_model_seed_data_and_version() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(dir.path(), "a.yaml", SPEC, &[]);
        let key = run_key(&a, "data0123", &a.spec.models[1], 2, None);
        let expected = format!("{}|din|2|data0123|{VERSION}", a.fingerprint);
        assert_eq!(key, blake3::hash(expected.as_bytes()).to_hex()[..16].to_string(), "the identity format is part of the store");
        assert_eq!(key.len(), 16);
    }

    #[test]
    fn run_key_is_stable_across_writings_of_the_same_spec_and_changes_with_what_matters() {
        let dir = tempfile::tempdir().unwrap();
        let a = load(dir.path(), "a.yaml", SPEC, &[]);
        let b = load(dir.path(), "b.yaml", SAME_SPEC, &[]);
        let key = |l: &LoadedSpec, model: usize, seed: u64, data: &str| run_key(l, data, &l.spec.models[model], seed, None);
        assert_eq!(key(&a, 1, 1, "d"), key(&b, 1, 1, "d"), "formatting, key order, comments and file name do not matter");
        let ids = [key(&a, 0, 1, "d"), key(&a, 1, 1, "d"), key(&a, 1, 2, "d"), key(&a, 1, 1, "e")];
        for (i, x) in ids.iter().enumerate() {
            for y in &ids[i + 1..] {
                assert_ne!(x, y, "model, seed and data each change the identity");
            }
        }
        let lr = load(dir.path(), "c.yaml", SPEC, &["train.optimizer.lr=0.02"]);
        assert_ne!(key(&a, 1, 1, "d"), key(&lr, 1, 1, "d"), "a changed setting is another run");
        // a sweep parent is named by the spec and its sweep alone
        assert_eq!(sweep_parent_id(&a, 1), None);
    }

    #[test]
    fn the_pseudonym_key_is_part_of_the_identity_only_when_the_spec_pseudonymises() {
        let dir = tempfile::tempdir().unwrap();
        let plain = load(dir.path(), "a.yaml", SPEC, &[]);
        let private = load(dir.path(), "p.yaml", SPEC, &["dataset.pseudonymise=true"]);
        let (k1, k2) = (Pseudonymiser::new(b"key-one-0123456789"), Pseudonymiser::new(b"key-two-0123456789"));
        let m = &plain.spec.models[0];
        assert_eq!(run_key(&plain, "d", m, 1, Some(&k1)), run_key(&plain, "d", m, 1, None));
        let m = &private.spec.models[0];
        assert_ne!(run_key(&private, "d", m, 1, Some(&k1)), run_key(&private, "d", m, 1, Some(&k2)));
        assert_eq!(run_key(&private, "d", m, 1, Some(&k1)), run_key(&private, "d", m, 1, Some(&k1)));
    }
}
