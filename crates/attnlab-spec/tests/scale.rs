//! Composition (`defaults`), sweeps, "did you mean", `explain` and
//! `validate_all`.

use std::path::{Path, PathBuf};

use attnlab_spec::{expand_sweep, explain, load_spec, render_explain, validate_all, Source, SpecError};

const BASE: &str = "\
dataset:
  source: simulator
  simulator: { users: 100, items: 50 }
train:
  epochs: 5
  batch_size: 256
  optimizer: { name: adam, lr: 0.01 }
seeds: [1, 2]
";

const SPEC: &str = "\
defaults: [base.yaml]
name: demo
train:
  epochs: 3
models:
  - { name: lr, model: LR }
  - name: din
    model: DIN
    params: { embed_dim: 8 }
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn composed(dir: &Path) -> PathBuf {
    write(dir, "base.yaml", BASE);
    write(dir, "spec.yaml", SPEC)
}

#[test]
fn defaults_merge_in_order_under_the_spec_and_overrides() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "more.yaml", "train:\n  epochs: 4\n  batch_size: 512\nseeds: [9]\n");
    write(dir.path(), "base.yaml", BASE);
    let path = write(dir.path(), "spec.yaml", &SPEC.replace("[base.yaml]", "[base.yaml, more.yaml]"));
    let loaded = load_spec(&path, &["train.batch_size=128".into()]).unwrap();
    let spec = &loaded.spec;
    assert_eq!(spec.dataset.simulator.users, 100, "from base");
    assert_eq!(spec.seeds, vec![9], "lists replace: more.yaml over base.yaml");
    assert_eq!(spec.train.epochs, 3, "the spec over its defaults");
    assert_eq!(spec.train.optimizer.lr, 0.01, "mappings merge key by key");
    assert_eq!(spec.train.batch_size, 128, "overrides last");
    assert!(spec.defaults.is_empty());

    // The fingerprint covers the merged values, not where they were written.
    let flat = write(
        dir.path(),
        "flat.yaml",
        "name: demo\ndataset: { source: simulator, simulator: { users: 100, items: 50 } }\n\
         train: { epochs: 3, batch_size: 128, optimizer: { name: adam, lr: 0.01 } }\n\
         models: [{ name: lr, model: LR }, { name: din, model: DIN, params: { embed_dim: 8 } }]\nseeds: [9]\n",
    );
    assert_eq!(load_spec(&flat, &[]).unwrap().fingerprint, loaded.fingerprint);
}

#[test]
fn errors_in_a_defaults_file_are_located_in_that_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.yaml", &BASE.replace("  batch_size: 256", "  batch_sise: 256"));
    let path = write(dir.path(), "spec.yaml", SPEC);
    let err = load_spec(&path, &[]).unwrap_err();
    match &err {
        SpecError::At { path, line, .. } => {
            assert!(path.ends_with("base.yaml"), "{err}");
            assert_eq!(*line, 6, "{err}");
        }
        other => panic!("expected a located error, got {other}"),
    }
    assert!(err.to_string().contains("did you mean `batch_size`?"), "{err}");

    // A missing required field is an error only if no layer gives it.
    std::fs::write(dir.path().join("base.yaml"), BASE).unwrap();
    let path = write(dir.path(), "spec.yaml", &SPEC.replace("name: demo\n", ""));
    let err = load_spec(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("missing field `name`") && err.contains("after merging"), "{err}");
}

#[test]
fn defaults_cycles_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", "defaults: [b.yaml]\n");
    write(dir.path(), "b.yaml", "defaults: [a.yaml]\n");
    let path = write(dir.path(), "spec.yaml", &SPEC.replace("[base.yaml]", "[a.yaml]"));
    let err = load_spec(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("defaults cycle:") && err.contains("a.yaml -> ") && err.contains("b.yaml -> "), "{err}");
    let err = load_spec(&write(dir.path(), "self.yaml", &SPEC.replace("[base.yaml]", "[self.yaml]")), &[]).unwrap_err();
    assert!(err.to_string().contains("defaults cycle"), "{err}");
}

fn with_sweep(dir: &Path, sweep: &str) -> attnlab_spec::Spec {
    write(dir, "base.yaml", BASE);
    load_spec(&write(dir, "spec.yaml", &format!("{SPEC}{sweep}")), &[]).unwrap().spec
}

#[test]
fn grid_sweeps_are_the_cartesian_product() {
    let dir = tempfile::tempdir().unwrap();
    let spec = with_sweep(
        dir.path(),
        "sweep:\n  method: grid\n  params:\n    train.optimizer.lr: [0.001, 0.003]\n    models.1.params.embed_dim: [8, 16, 32]\n",
    );
    let trials = expand_sweep(&spec).unwrap();
    assert_eq!(trials.len(), 6);
    assert_eq!(trials[0].overrides, vec!["train.optimizer.lr=0.001", "models.1.params.embed_dim=8"]);
    assert_eq!(trials[0].label, "lr=0.001 embed_dim=8");
    assert_eq!(trials[5].label, "lr=0.003 embed_dim=32");
    assert!(trials.iter().enumerate().all(|(i, t)| t.index == i));
    // Each trial loads, and differs in its fingerprint.
    let path = dir.path().join("spec.yaml");
    let loaded = load_spec(&path, &trials[4].overrides).unwrap();
    assert_eq!((loaded.spec.train.optimizer.lr, &loaded.spec.models[1].params["embed_dim"]), (0.003, &serde_json::json!(16)));
    let base = load_spec(&path, &[]).unwrap();
    assert_ne!(base.fingerprint, loaded.fingerprint);

    let none = load_spec(&write(dir.path(), "plain.yaml", SPEC), &[]).unwrap().spec;
    let one = expand_sweep(&none).unwrap();
    assert_eq!((one.len(), one[0].overrides.len()), (1, 0));

    let bad = format!("{SPEC}sweep:\n  method: grid\n  params:\n    train.optimizer.lr: {{ dist: uniform, low: 0, high: 1 }}\n");
    let err = load_spec(&write(dir.path(), "spec.yaml", &bad), &[]).unwrap_err();
    assert_eq!(err.field(), Some("sweep.params.train.optimizer.lr"), "{err}");
    assert!(err.to_string().contains("need `method: random`"), "{err}");
    let parsed = attnlab_spec::parse_spec(&bad, &dir.path().join("spec.yaml"), &[]).unwrap();
    assert!(expand_sweep(&parsed).unwrap_err().to_string().contains("need `method: random`"));
}

#[test]
fn random_sweeps_are_deterministic_and_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = "\
sweep:
  method: random
  trials: 50
  seed: 3
  params:
    train.optimizer.weight_decay: { dist: loguniform, low: 1.0e-6, high: 1.0e-3 }
    train.batch_size: { dist: int, low: 256, high: 260 }
    train.optimizer.name: { dist: choice, values: [adam, adamw] }
    train.optimizer.lr: [0.001, 0.003]
";
    let spec = with_sweep(dir.path(), sweep);
    let resolved = load_spec(&dir.path().join("spec.yaml"), &[]).unwrap().resolved_yaml();
    assert_eq!(attnlab_spec::parse_spec(&resolved, Path::new("resolved"), &[]).unwrap(), spec, "a sweep round-trips");
    let a = expand_sweep(&spec).unwrap();
    assert_eq!(a.len(), 50);
    assert_eq!(a, expand_sweep(&spec).unwrap(), "same seed, same trials");
    let other = with_sweep(dir.path(), &sweep.replace("seed: 3", "seed: 4"));
    assert_ne!(a, expand_sweep(&other).unwrap());
    let path = dir.path().join("spec.yaml");
    let mut sizes = std::collections::BTreeSet::new();
    for t in &a {
        let s = load_spec(&path, &t.overrides).unwrap().spec;
        let wd = s.train.optimizer.weight_decay;
        assert!((1e-6..=1e-3).contains(&wd), "{wd}");
        assert!((256..=260).contains(&s.train.batch_size));
        sizes.insert(s.train.batch_size);
        assert!([0.001, 0.003].contains(&s.train.optimizer.lr));
    }
    assert_eq!(sizes.len(), 5, "int is inclusive at both ends: {sizes:?}");
    // Pinned forever: the first trial of seed 3.
    assert_eq!(a[0].label, "weight_decay=2.19e-6 batch_size=259 name=adamw lr=0.001");
    assert_eq!(a[0].overrides[0], "train.optimizer.weight_decay=2.19e-6");
}

#[test]
fn an_unknown_swept_key_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = with_sweep(dir.path(), "sweep:\n  method: grid\n  params:\n    train.optimizer.lrr: [0.1]\n    train.epochs: [2]\n");
    let err = expand_sweep(&spec).unwrap_err();
    match &err {
        SpecError::Sweep { key, message } => {
            assert_eq!(key, "train.optimizer.lrr");
            assert!(message.contains("unknown field `lrr`") && message.contains("did you mean `lr`?"), "{message}");
        }
        other => panic!("expected a sweep error, got {other}"),
    }
    let spec = with_sweep(dir.path(), "sweep:\n  method: grid\n  params:\n    train.epochs: [two]\n");
    assert!(matches!(expand_sweep(&spec).unwrap_err(), SpecError::Sweep { key, .. } if key == "train.epochs"));
}

#[test]
fn unknown_fields_and_variants_get_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "spec.yaml", &BASE.replace("  epochs: 5", "  epochz: 5"));
    let err = load_spec(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("unknown field `epochz`") && err.ends_with(", did you mean `epochs`?"), "{err}");
    let err = load_spec(&path, &[]).unwrap_err();
    assert!(matches!(err, SpecError::At { line: 5, .. }), "{err}");
    let path = write(dir.path(), "spec.yaml", &BASE.replace("name: adam", "name: adamx"));
    let err = load_spec(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("did you mean `adam`?"), "{err}");
    let path = composed(dir.path());
    let err = load_spec(&path, &["train.bacth_size=3".into()]).unwrap_err().to_string();
    assert!(err.contains("from the command line: train.bacth_size=3:") && err.contains("did you mean `batch_size`?"), "{err}");
}

#[test]
fn explain_names_default_file_line_and_override() {
    let dir = tempfile::tempdir().unwrap();
    let path = composed(dir.path());
    let lines = explain(&path, &["train.optimizer.lr=0.05".into()]).unwrap();
    let find = |key: &str| lines.iter().find(|l| l.key == key).unwrap_or_else(|| panic!("no {key}"));
    let file = |name: &str, line| Source::File { path: dir.path().join(name), line };
    assert_eq!(find("name").source, file("spec.yaml", 2));
    assert_eq!(find("train.epochs").source, file("spec.yaml", 4));
    assert_eq!(find("train.batch_size").source, file("base.yaml", 6));
    assert_eq!(find("dataset.simulator.items").source, file("base.yaml", 3));
    assert_eq!(find("dataset.simulator.topics").source, Source::Default);
    assert_eq!(find("models.1.params.embed_dim").source, file("spec.yaml", 9));
    assert_eq!(find("models.0.params").source, Source::Default, "inside a list the spec wrote");
    assert_eq!(find("seeds").value, "[1, 2]");
    assert_eq!(find("seeds").source, file("base.yaml", 8));
    let lr = find("train.optimizer.lr");
    assert_eq!((lr.value.as_str(), &lr.source), ("0.05", &Source::Override { text: "train.optimizer.lr=0.05".into() }));
    assert_eq!(find("train.optimizer.name").source, file("base.yaml", 7));
    assert_eq!(find("train.optimizer.beta1").source, Source::Default);
    assert!(!lines.iter().any(|l| l.key.starts_with("defaults")));

    let shown = render_explain(&lines);
    let row = shown.lines().find(|l| l.starts_with("train.epochs = 3")).unwrap();
    assert!(row.ends_with(&format!("# {}:4", dir.path().join("spec.yaml").display())), "{row}");
    let column = |l: &str| l.find("  # ").unwrap();
    assert!(shown.lines().all(|l| column(l) == column(row) || l.len() > 72), "{shown}");
}

#[test]
fn validate_all_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "base.yaml", &BASE.replace("seeds: [1, 2]", "seeds: [1, 1]"));
    let spec = SPEC.replace("name: lr,", "name: din,").replace("epochs: 3", "epochs: 3\n  device: tpu");
    let path = write(dir.path(), "spec.yaml", &format!("{spec}protocol: {{ valid_metric: ndcg }}\n"));
    let errors = validate_all(&path, &[]);
    let fields: Vec<&str> = errors.iter().filter_map(SpecError::field).collect();
    for expected in ["models[1].name", "seeds", "protocol.valid_metric", "train.device"] {
        assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
    }
    assert_eq!(errors.len(), fields.len(), "each problem once, none repeated per trial: {errors:#?}");

    // with a sweep, a trial adds only what its values break
    let swept = format!("{spec}sweep:\n  method: grid\n  params:\n    train.epochs: [2, 3]\n");
    let path = write(dir.path(), "spec.yaml", &swept);
    let errors = validate_all(&path, &[]);
    assert!(!errors.iter().any(|e| matches!(e, SpecError::Sweep { .. })), "{errors:#?}");

    // Parse errors: one per file, and each bad override.
    write(dir.path(), "base.yaml", &BASE.replace("epochs: 5", "epochs: five"));
    let path = write(dir.path(), "spec.yaml", &SPEC.replace("name: demo", "name: demo\nnmae: x"));
    let errors = validate_all(&path, &["train=".into(), "nope".into()]);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(shown.iter().any(|e| e.contains("base.yaml:5:") && e.contains("invalid type")), "{shown:#?}");
    assert!(shown.iter().any(|e| e.contains("spec.yaml:3:") && e.contains("did you mean `name`?")), "{shown:#?}");
    assert!(shown.iter().any(|e| e.contains("from the command line: nope:")), "{shown:#?}");

    assert!(validate_all(&composed(dir.path()), &[]).is_empty());
}
