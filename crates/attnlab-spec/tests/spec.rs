use std::path::{Path, PathBuf};

use attnlab_spec::{load_spec, parse_spec, LossName, LossSpec, Override, Place, SpecError};

const GOOD: &str = "\
name: demo
dataset:
  source: simulator
  simulator: { users: 100 }
train:
  epochs: 3
  optimizer: { name: adam, lr: 0.01 }
models:
  - { name: lr, model: LR }
  - name: din
    model: DIN
    params: { embed_dim: 8 }
seeds: [1, 2]
";

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("spec.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn at(err: SpecError) -> (usize, usize, String) {
    match err {
        SpecError::At { line, column, message, .. } => (line, column, message),
        other => panic!("expected a located error, got {other:?}"),
    }
}

#[test]
fn parses_with_defaults() {
    let spec = parse_spec(GOOD, Path::new("spec.yaml"), &[]).unwrap();
    assert_eq!(spec.name, "demo");
    assert_eq!(spec.dataset.simulator.users, 100);
    assert_eq!(spec.dataset.simulator.items, 600, "unset fields take the default");
    assert_eq!(spec.train.epochs, 3);
    assert_eq!(spec.train.batch_size, 1024);
    assert_eq!(spec.models[1].params["embed_dim"], 8);
    assert_eq!(spec.seeds, vec![1, 2]);
}

#[test]
fn unknown_key_reports_file_line_and_column() {
    let text = GOOD.replace("  epochs: 3", "  epochz: 3");
    let err = parse_spec(&text, Path::new("exp/spec.yaml"), &[]).unwrap_err();
    let shown = err.to_string();
    let (line, _, message) = at(err);
    assert_eq!(line, 6, "{shown}");
    assert!(message.contains("unknown field `epochz`"), "{message}");
    assert!(message.contains("epochs"), "lists the expected fields: {message}");
    assert!(shown.starts_with("exp/spec.yaml:6:"), "{shown}");
}

#[test]
fn wrong_type_and_out_of_range_values_are_located() {
    let (line, _, message) = at(parse_spec(&GOOD.replace("epochs: 3", "epochs: three"), Path::new("s"), &[]).unwrap_err());
    assert_eq!(line, 6);
    assert!(message.contains("invalid type"), "{message}");
    let (line, _, message) = at(parse_spec(&GOOD.replace("lr: 0.01", "lr: -1"), Path::new("s"), &[]).unwrap_err());
    assert_eq!(line, 7);
    assert!(message.contains("> 0"), "{message}");
    let (line, _, message) = at(parse_spec(&GOOD.replace("users: 100", "users: 0"), Path::new("s"), &[]).unwrap_err());
    assert_eq!(line, 4);
    assert!(message.contains("at least 1"), "{message}");
}

#[test]
fn overrides_apply_by_dotted_path_and_list_index() {
    let overrides = ["train.epochs=2", "models.1.params.embed_dim=4", "seeds=[7]", "train.threads=1"]
        .map(|o| Override::parse(o).unwrap());
    let spec = parse_spec(GOOD, Path::new("s"), &overrides).unwrap();
    assert_eq!(spec.train.epochs, 2);
    assert_eq!(spec.models[1].params["embed_dim"], 4);
    assert_eq!(spec.seeds, vec![7]);
    assert_eq!(spec.train.threads, Some(1));
    // a run id prefix of digits only is still a prefix, not a type error
    let digits = [Override::parse("train.init_from=29592853").unwrap()];
    let spec = parse_spec(GOOD, Path::new("s"), &digits).unwrap();
    assert_eq!(spec.train.init_from.as_deref(), Some("29592853"));
    for prefix in ["12e45678", "01234567", "0x1f2e3d"] {
        let o = [Override::parse(&format!("train.init_from={prefix}")).unwrap()];
        assert_eq!(parse_spec(GOOD, Path::new("s"), &o).unwrap().train.init_from.as_deref(), Some(prefix));
    }
}

#[test]
fn bad_overrides_are_rejected_with_their_text() {
    for (text, expect) in [
        ("train.epochs", "key=value"),
        ("models.9.name=x", "out of range"),
        ("models.x.name=x", "not an index"),
        ("name.inner=1", "not a mapping"),
    ] {
        let err = Override::parse(text).and_then(|o| parse_spec(GOOD, Path::new("s"), &[o])).unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains(text) && shown.contains(expect), "{text}: {shown}");
    }
    let typo = Override::parse("train.epochz=2").unwrap();
    let shown = parse_spec(GOOD, Path::new("s"), &[typo]).unwrap_err().to_string();
    assert!(shown.contains("unknown field `epochz`"), "{shown}");
}

#[test]
fn load_validates_cross_field_rules() {
    let dir = tempfile::tempdir().unwrap();
    for (text, field) in [
        (GOOD.replace("name: lr,", "name: din,"), "models[1].name"),
        (GOOD.replace("seeds: [1, 2]", "seeds: [1, 1]"), "seeds"),
        (GOOD.replace("train:\n", "protocol: { ratios: [0.5, 0.1, 0.1] }\ntrain:\n"), "protocol.ratios"),
        (GOOD.replace("train:\n", "protocol: { valid_metric: ndcg }\ntrain:\n"), "protocol.valid_metric"),
        (GOOD.replace("epochs: 3", "epochs: 3\n  device: tpu"), "train.device"),
        (GOOD.replace("name: demo", "name: a/b"), "name"),
        (GOOD.replace("epochs: 3", "epochs: 3\n  window_stride: 51"), "train.window_stride"),
        (GOOD.replace("epochs: 3", "epochs: 3\n  window_stride: 0"), "train.window_stride"),
        (GOOD.replace("epochs: 3", "epochs: 3\n  window_stride: 5\n  sequence_examples: prefixes"), "train.window_stride"),
        (GOOD.replace("epochs: 3", "epochs: 3\n  loss: { temperature: 0.1 }"), "train.loss"),
    ] {
        let err = load_spec(&write(dir.path(), &text), &[]).unwrap_err();
        // reported at the line that wrote the key, with the key in full
        match &err {
            SpecError::Placed { place: Place::Line { line, .. }, field: f, .. } => {
                assert_eq!(f, field, "{err}");
                let written = text.lines().nth(line - 1).unwrap();
                let last = field.rsplit(['.', '[']).next().unwrap().trim_end_matches(']');
                assert!(written.contains(last) || last.parse::<usize>().is_ok(), "{field} at line {line}: {written}");
            }
            other => panic!("expected a located error for {field}, got {other}"),
        }
    }
}

/// A model's own `train:` keys lie over the spec's for its runs only;
/// nested maps merge key by key; what a model may not set, and bad values,
/// are named with the model's index.
#[test]
fn a_model_sets_its_own_training_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let own = GOOD.replace("    params: { embed_dim: 8 }", "    params: { embed_dim: 8 }\n    train: { batch_size: 4, optimizer: { lr: 0.5 }, window_stride: 5 }");
    let spec = load_spec(&write(dir.path(), &own), &[]).unwrap().spec;
    let (lr, din) = (spec.train_for(&spec.models[0]).unwrap(), spec.train_for(&spec.models[1]).unwrap());
    assert_eq!((lr.batch_size, lr.optimizer.lr, lr.window_stride), (spec.train.batch_size, 0.01, None), "LR keeps the spec's");
    assert_eq!((din.batch_size, din.optimizer.lr, din.window_stride), (4, 0.5, Some(5)));
    assert_eq!((din.epochs, din.optimizer.name), (3, spec.train.optimizer.name), "the rest is the spec's");
    let sampled = GOOD.replace("    params: { embed_dim: 8 }", "    params: { embed_dim: 8 }\n    train: { loss: { name: sampled_softmax, negatives: 64 } }");
    let spec = load_spec(&write(dir.path(), &sampled), &[]).unwrap().spec;
    let (lr, din) = (spec.train_for(&spec.models[0]).unwrap(), spec.train_for(&spec.models[1]).unwrap());
    assert_eq!(lr.loss, LossSpec::default(), "the model's own objective unless set");
    let want = LossSpec { name: LossName::SampledSoftmax, negatives: 64, ..LossSpec::default() };
    assert_eq!(din.loss, want, "a model's own loss, the other settings at their defaults");
    let overridden = parse_spec(&own, Path::new("s"), &[Override::parse("models.1.train.batch_size=8").unwrap()]).unwrap();
    assert_eq!(overridden.train_for(&overridden.models[1]).unwrap().batch_size, 8, "overrides reach a model's train");

    for (train, field, says) in [
        ("{ threads: 2 }", "models[1].train", "`threads` is set for the whole spec only"),
        ("{ batch_sise: 2 }", "models[1].train", "batch_sise"),
        ("{ window_stride: 51 }", "models[1].train.window_stride", "1..=50"),
        ("{ schedule: { every_steps: 0 } }", "models[1].train.schedule.every_steps", "at least 1"),
    ] {
        let text = GOOD.replace("    params: { embed_dim: 8 }", &format!("    params: {{ embed_dim: 8 }}\n    train: {train}"));
        let err = load_spec(&write(dir.path(), &text), &[]).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(err.to_string().contains(says), "{train}: {err}");
    }
    // the spec's stride with the model's prefixes: the model is named
    let text = GOOD
        .replace("epochs: 3", "epochs: 3\n  window_stride: 5")
        .replace("    params: { embed_dim: 8 }", "    params: { embed_dim: 8 }\n    train: { sequence_examples: prefixes }");
    assert_eq!(load_spec(&write(dir.path(), &text), &[]).unwrap_err().field(), Some("models[1].train.window_stride"));
}

#[test]
fn fingerprint_ignores_formatting_but_not_values() {
    let dir = tempfile::tempdir().unwrap();
    let a = load_spec(&write(dir.path(), GOOD), &[]).unwrap();
    // same content, keys in another order and other spacing
    let reordered = GOOD.replace("train:\n  epochs: 3\n  optimizer: { name: adam, lr: 0.01 }", "train:\n  optimizer: {lr: 0.01,   name: adam}\n  epochs: 3");
    assert_ne!(reordered, GOOD);
    let b = load_spec(&write(dir.path(), &reordered), &[]).unwrap();
    assert_eq!(a.fingerprint, b.fingerprint);
    let c = load_spec(&write(dir.path(), GOOD), &["train.epochs=4".into()]).unwrap();
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_eq!(a.fingerprint.len(), 16);
}

#[test]
fn missing_file_names_the_path() {
    let err = load_spec(Path::new("/nonexistent/spec.yaml"), &[]).unwrap_err();
    assert!(err.to_string().starts_with("/nonexistent/spec.yaml: cannot read"), "{err}");
}

#[test]
fn shipped_specs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            load_spec(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}


/// The GOOD spec grown to the example: `batch_size` on its own line.
const LONG: &str = "\
name: demo
dataset:
  source: simulator
  simulator:
    users: 100
    interest_sharpness: 2.0
train:
  epochs: 3
  batch_size: 64
  optimizer: { name: adam, lr: 0.01 }
models:
  - { name: lr, model: LR }
seeds: [1, 2]
";

/// Range errors point at the value's line and column, with the full key.
#[test]
fn range_errors_name_the_full_key_at_the_value() {
    let cases = [
        ("batch_size: 64", "batch_size: 0", (9, 15), "train.batch_size: must be at least 1"),
        ("interest_sharpness: 2.0", "interest_sharpness: .nan", (6, 25), "dataset.simulator.interest_sharpness: must be a finite number > 0, got NaN"),
        ("lr: 0.01", "lr: 1e309", (10, 32), "train.optimizer.lr: must be a finite number > 0, got 1e309, which is beyond the range of a 64-bit float"),
        ("epochs: 3", "epochs: -2", (8, 11), "train.epochs: must be at least 1, got -2"),
    ];
    for (from, to, (line, column), message) in cases {
        let err = parse_spec(&LONG.replace(from, to), Path::new("s.yaml"), &[]).unwrap_err();
        assert_eq!(err.to_string(), format!("s.yaml:{line}:{column}: {message}"), "{to}");
    }
    // the sampled softmax's counts and temperature, at their values
    for (loss, message) in [
        ("{ name: sampled_softmax, negatives: 0 }", "train.loss.negatives: must be at least 1"),
        ("{ name: sampled_softmax, temperature: 0 }", "train.loss.temperature: must be a finite number > 0, got 0"),
    ] {
        let text = LONG.replace("epochs: 3", &format!("epochs: 3\n  loss: {loss}"));
        let err = parse_spec(&text, Path::new("s.yaml"), &[]).unwrap_err().to_string();
        assert!(err.starts_with("s.yaml:9:") && err.ends_with(message), "{err}");
    }
}

/// A key written twice is reported at its second occurrence.
#[test]
fn a_duplicated_key_is_reported_where_it_is_repeated() {
    let text = format!("{LONG}train:\n  epochs: 5\n");
    let err = parse_spec(&text, Path::new("s.yaml"), &[]).unwrap_err();
    assert_eq!(err.to_string(), "s.yaml:14:1: train: written twice (first at line 7); remove one");
}

/// A cross-field problem set by an override is blamed on the override.
#[test]
fn an_override_that_breaks_a_rule_is_blamed_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), LONG);
    let err = load_spec(&path, &["protocol.ratios=[0.5,0.5,0.5]".to_string()]).unwrap_err();
    assert_eq!(err.to_string(), "from the command line: protocol.ratios=[0.5,0.5,0.5]: protocol.ratios: [0.5, 0.5, 0.5] must be three positive fractions summing to 1");
}

/// validate lists every problem of a file, not the first one only.
#[test]
fn validate_all_lists_every_problem_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = LONG
        .replace("batch_size: 64", "batch_size: 0")
        .replace("interest_sharpness: 2.0", "interest_sharpness: -1")
        .replace("lr: 0.01", "lr: 0")
        .replace("epochs: 3", "epochz: 3");
    let path = write(dir.path(), &text);
    let shown: Vec<String> = attnlab_spec::validate_all(&path, &[]).iter().map(ToString::to_string).collect();
    let p = path.display();
    let expected = [
        format!("{p}:6:25: dataset.simulator.interest_sharpness: must be a finite number > 0, got -1"),
        format!("{p}:8:3: train: unknown field `epochz`"),
        format!("{p}:9:15: train.batch_size: must be at least 1"),
        format!("{p}:10:32: train.optimizer.lr: must be a finite number > 0, got 0"),
    ];
    assert_eq!(shown.len(), expected.len(), "{shown:#?}");
    for (got, want) in shown.iter().zip(&expected) {
        assert!(got.starts_with(want.as_str()), "{got}\n  wanted {want}");
    }
}

/// A `defaults:` entry that is not a spec (here a password file) is never
/// echoed: at most a short, escaped excerpt.
#[test]
fn a_defaults_file_that_is_not_a_spec_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "root:$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzSECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
    std::fs::write(dir.path().join("shadow"), secret).unwrap();
    let path = write(dir.path(), &format!("defaults: [shadow]\n{LONG}"));
    let shown = load_spec(&path, &[]).unwrap_err().to_string();
    assert!(!shown.contains("SECRETHASH") && !shown.contains("daemon"), "{shown}");
    assert!(shown.contains("root:$6$salt"), "a short excerpt says what was there: {shown}");
    assert!(shown.len() < 300, "{shown}");
}

/// Free text is capped: a pasted file as `description` is refused.
#[test]
fn a_huge_description_is_refused() {
    let text = format!("description: {}\n{LONG}", "x".repeat(20_000));
    let err = parse_spec(&text, Path::new("s.yaml"), &[]).unwrap_err().to_string();
    assert!(err.starts_with("s.yaml:1:14: description: is 20000 characters long; at most 10000"), "{}", &err[..err.len().min(300)]);
    let fine = format!("description: {}\n{LONG}", "x".repeat(10_000));
    assert_eq!(parse_spec(&fine, Path::new("s.yaml"), &[]).unwrap().description.unwrap().len(), 10_000);
}
