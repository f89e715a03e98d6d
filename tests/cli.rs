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
    let rows: Vec<Vec<&str>> = listed.lines().skip(2).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows, [["quickstart", "2"]], "one experiment with its two runs: {listed}");
}

/// An error names its cause once, not once per layer that wraps it.
#[test]
fn errors_do_not_repeat_their_cause() {
    let s = Scratch::new();
    for args in [&["validate", "missing.yaml"][..], &["metrics", "missing.csv"][..], &["runs", "import", "missing.db"][..]] {
        let run = s.attnlab(args);
        assert_ne!(run.code(), 0, "{args:?}");
        let stderr = run.stderr();
        let first_line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
        for phrase in ["No such file or directory", "no such store file"] {
            assert!(first_line.matches(phrase).count() <= 1, "{args:?}: {stderr}");
        }
        assert!(first_line.contains("missing."), "{args:?} names the file: {stderr}");
    }
}

/// Every check `run` makes before training is one `validate` makes, and
/// validate reports every problem, each with its place.
#[test]
fn validate_finds_what_run_would_refuse_and_lists_every_problem() {
    let s = Scratch::new();
    let validate = s.attnlab(&["validate", &quickstart(), "dataset.simulator.topics=100000"]);
    assert_eq!(validate.code(), 2, "{}", validate.stderr());
    assert!(validate.stderr().contains("dataset.simulator") && validate.stderr().contains("topics"), "{}", validate.stderr());

    let spec = s.write("bad.yaml", "name: bad\ndataset: { source: simulator }\ntrain:\n  batch_size: 0\n  epochs: 0\nmodels:\n  - { name: lr, model: LR }\n");
    let run = s.attnlab(&["validate", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors[0].ends_with("bad.yaml:4:15: train.batch_size: must be at least 1"), "{stderr}");
    assert!(errors[1].ends_with("bad.yaml:5:11: train.epochs: must be at least 1"), "{stderr}");

    let run = s.attnlab(&["validate", &quickstart(), "seeds=[1,1]", "protocol.ratios=[0.5,0.5,0.5]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let stderr = run.stderr();
    assert_eq!(stderr.lines().filter(|l| l.starts_with("error:")).count(), 2, "{stderr}");
    assert!(stderr.contains("error: from the command line: seeds=[1,1]: seeds: seeds must be distinct"), "{stderr}");
    assert!(stderr.contains("error: from the command line: protocol.ratios=[0.5,0.5,0.5]: protocol.ratios:"), "{stderr}");
}

/// Output into a pipe whose reader has gone (`attnlab ... | head`) ends the
/// command by SIGPIPE, as it ends `cat`: no panic, nothing on stderr.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_attnlab"))
        .args(["explain", &quickstart()])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
}
