//! Bad input, diagnostics and other commands.

use crate::util::{quickstart, Scratch};

const TYPO: &str = "\
name: typo
dataset: { source: simulator }
train:
  epochs: 2
  batchsize: 64
models:
  - { name: lr, model: LR }
";

#[test]
fn typo_in_spec_exits_2_with_file_line_and_nothing_written() {
    let s = Scratch::new();
    let spec = s.write("typo.yaml", TYPO);
    for command in ["run", "validate"] {
        let run = s.attnlab(&[command, spec.to_str().unwrap()]);
        assert_eq!(run.code(), 2, "{command}: {}", run.stderr());
        let stderr = run.stderr();
        assert!(stderr.contains("typo.yaml:5:"), "{command} must name file and line 5: {stderr}");
        assert!(stderr.contains("unknown field `batchsize`"), "{stderr}");
    }
    assert!(!s.db().exists(), "a rejected spec must not create the store");
}

#[test]
fn unknown_model_and_bad_params_exit_2_naming_the_model() {
    let s = Scratch::new();
    let spec = s.write("m.yaml", &TYPO.replace("  batchsize: 64\n", "").replace("model: LR", "model: LSTMx"));
    let run = s.attnlab(&["validate", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("models[0]") && run.stderr().contains("unknown model `LSTMx`"), "{}", run.stderr());
    let spec = s.write("p.yaml", &TYPO.replace("  batchsize: 64\n", "").replace("model: LR }", "model: DIN, params: { embed: 4 } }"));
    let run = s.attnlab(&["run", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("unknown field `embed`"), "{}", run.stderr());
}

#[test]
fn bad_override_exits_2() {
    let s = Scratch::new();
    let run = s.attnlab(&["run", &quickstart(), "train.epochs=zero"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.epochs=zero"), "{}", run.stderr());
    let run = s.attnlab(&["run", &quickstart(), "train.epochs"]);
    assert_eq!(run.code(), 2);
}

#[test]
fn validate_accepts_the_quickstart() {
    let s = Scratch::new();
    let run = s.attnlab(&["validate", &quickstart()]).ok();
    assert!(run.stdout().contains("ok (2 models x 1 seeds = 2 runs"), "{}", run.stdout());
}

#[test]
fn doctor_reports_libtorch_and_store() {
    let s = Scratch::new();
    let run = s.attnlab(&["doctor"]).ok();
    let out = run.stdout();
    assert!(out.contains("libtorch       2.13.0"), "{out}");
    assert!(out.contains("cuda"), "{out}");
    assert!(out.contains(&s.db().display().to_string()), "{out}");
}

#[test]
fn reading_commands_need_an_existing_store_and_experiment() {
    let s = Scratch::new();
    let run = s.attnlab(&["report", "quickstart"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("no run store at"), "{}", run.stderr());
    assert!(!s.db().exists(), "reading must not create a store");
    s.attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60", "models.1.params.embed_dim=4"]).ok();
    let run = s.attnlab(&["report", "nothing-here"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("nothing-here"), "{}", run.stderr());
    let listed = s.attnlab(&["runs", "list"]).ok().stdout();
    assert!(listed.contains("quickstart") && listed.contains('2'), "{listed}");
}
