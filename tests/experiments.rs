//! Spec composition, sweeps, `explain` and `validate` through the binary.

use crate::util::{quickstart, Scratch};

fn sweep_spec(s: &Scratch) -> std::path::PathBuf {
    s.write(
        "sweep.yaml",
        &format!(
            "defaults: [{}]
name: qsweep
dataset: {{ source: simulator, simulator: {{ users: 80 }} }}
train: {{ epochs: 1 }}
models:
  - {{ name: din, model: DIN, params: {{ embed_dim: 4 }} }}
targets: []
sweep:
  method: grid
  params:
    train.optimizer.lr: [0.001, 0.01]
",
            quickstart()
        ),
    )
}

#[test]
fn grid_sweep_runs_every_trial_and_trial_selects_one() {
    let s = Scratch::new();
    let spec = sweep_spec(&s);
    let out = s.attnlab(&["validate", spec.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("1 models x 1 seeds x 2 trials = 2 runs"), "{out}");
    let run = s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    assert!(run.stdout().contains("din [lr=0.001]") && run.stdout().contains("din [lr=0.01]"), "{}", run.stdout());
    assert!(run.stdout().contains("best trial per model (chosen on validation)"), "{}", run.stdout());
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "qsweep", "--json"]).ok().stdout()).unwrap();
    // the best trial is the one with the higher valid AUC
    let valid = |r: &serde_json::Value| r["metrics"]["best.valid.auc"].as_f64().unwrap();
    let winner = runs.as_array().unwrap().iter().max_by(|a, b| valid(a).total_cmp(&valid(b))).unwrap();
    let best_line = run.stdout().lines().skip_while(|l| !l.starts_with("best trial")).find(|l| l.starts_with("din ")).unwrap().to_string();
    assert!(best_line.contains(&winner["id"].as_str().unwrap()[..8]), "{best_line}");
    let mut lrs: Vec<&str> = runs.as_array().unwrap().iter().map(|r| r["params"]["train.lr"].as_str().unwrap()).collect();
    lrs.sort();
    assert_eq!(lrs, ["0.001", "0.01"]);
    assert!(runs[0]["tags"]["sweep.values"].as_str().unwrap().starts_with("lr="));
    // one trial, as a cluster array task would run it: already done, so skipped
    let one = s.attnlab(&["run", spec.to_str().unwrap(), "--trial", "1"]).ok();
    assert_eq!(one.stderr().matches("skipped").count(), 1, "{}", one.stderr());
    let bad = s.attnlab(&["run", spec.to_str().unwrap(), "--trial", "5"]);
    assert_eq!(bad.code(), 2, "{}", bad.stderr());
}

#[test]
fn jobs_run_trials_in_parallel_processes() {
    let s = Scratch::new();
    let spec = sweep_spec(&s);
    let run = s.attnlab(&["run", spec.to_str().unwrap(), "--jobs", "2"]).ok();
    assert!(run.stdout().contains("din [lr=0.001]") && run.stdout().contains("din [lr=0.01]"), "{}", run.stdout());
    assert_eq!(run.stderr().matches("skipped").count(), 2, "the parent reads the trials' runs back: {}", run.stderr());
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "qsweep", "--json"]).ok().stdout()).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "each trial ran once");
    let pids: std::collections::BTreeSet<i64> = runs.as_array().unwrap().iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "in two processes");
}

#[test]
fn explain_names_the_source_of_each_value() {
    let s = Scratch::new();
    let out = s.attnlab(&["explain", &quickstart(), "train.epochs=3"]).ok().stdout();
    let line = |key: &str| out.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_else(|| panic!("{key}: {out}")).to_string();
    assert!(line("train.epochs").contains("train.epochs=3"), "{}", line("train.epochs"));
    assert!(line("dataset.simulator.users").contains("quickstart.yaml:11"), "{}", line("dataset.simulator.users"));
    assert!(line("train.prefetch").contains("default"), "{}", line("train.prefetch"));
}

#[test]
fn validate_lists_every_problem_and_suggests_names() {
    let s = Scratch::new();
    let spec = s.write(
        "bad.yaml",
        "name: bad
dataset: { source: simulator }
protocol: { ratios: [0.5, 0.1, 0.1], valid_metric: ndcg }
models:
  - { name: a, model: LR }
  - { name: a, model: LR }
",
    );
    let run = s.attnlab(&["validate", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    let err = run.stderr();
    assert!(err.contains("protocol.ratios") && err.contains("models[1].name"), "all problems are listed: {err}");
    let typo = s.write("typo.yaml", "name: t\ndataset: { source: simulator }\ntrain: { epochz: 2 }\nmodels: [{ name: a, model: LR }]\n");
    let run = s.attnlab(&["validate", typo.to_str().unwrap()]);
    assert!(run.stderr().contains("did you mean `epochs`"), "{}", run.stderr());
}
