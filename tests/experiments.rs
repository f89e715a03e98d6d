//! Spec composition, sweeps, `explain` and `validate` through the binary.

use crate::util::{quickstart, Scratch};

pub fn sweep_spec(s: &Scratch) -> std::path::PathBuf {
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
    let (parent, trials) = sweep_runs(&s);
    assert_eq!(parent["status"], "FINISHED", "settled from its finished trials");
    let parent_id = parent["id"].as_str().unwrap();
    let children = s.attnlab(&["runs", "list", "--parent", &parent_id[..8], "--json"]).ok().stdout();
    let children: serde_json::Value = serde_json::from_str(&children).unwrap();
    assert_eq!(children.as_array().unwrap().len(), 2, "runs list --parent lists the trials");
    // the best trial is the one with the higher valid AUC
    let valid = |r: &serde_json::Value| r["metrics"]["best.valid.auc"].as_f64().unwrap();
    let winner = trials.iter().max_by(|a, b| valid(a).total_cmp(&valid(b))).unwrap();
    let best_line = run.stdout().lines().skip_while(|l| !l.starts_with("best trial")).find(|l| l.starts_with("din ")).unwrap().to_string();
    assert!(best_line.contains(&winner["id"].as_str().unwrap()[..8]), "{best_line}");
    let mut lrs: Vec<&str> = trials.iter().map(|r| r["params"]["train.lr"].as_str().unwrap()).collect();
    lrs.sort();
    assert_eq!(lrs, ["0.001", "0.01"]);
    assert!(trials[0]["tags"]["sweep.values"].as_str().unwrap().starts_with("lr="));
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
    // enough epochs that each trial trains for a while after its process started
    let run = s.attnlab(&["run", spec.to_str().unwrap(), "--jobs", "2", "train.epochs=20", "train.early_stopping.patience=30"]).ok();
    assert!(run.stdout().contains("din [lr=0.001]") && run.stdout().contains("din [lr=0.01]"), "{}", run.stdout());
    assert_eq!(run.stderr().matches("skipped").count(), 2, "the parent reads the trials' runs back: {}", run.stderr());
    let (parent, trials) = sweep_runs(&s);
    assert_eq!(trials.len(), 2, "each trial ran once");
    assert_eq!(parent["status"], "FINISHED");
    let pids: std::collections::BTreeSet<i64> = trials.iter().map(|r| r["pid"].as_i64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "in two processes");
    // at the same time: each trial started before the other ended
    let span = |r: &serde_json::Value| (r["start_ms"].as_i64().unwrap(), r["end_ms"].as_i64().unwrap());
    let ((start_a, end_a), (start_b, end_b)) = (span(&trials[0]), span(&trials[1]));
    assert!(start_a < end_b && start_b < end_a, "the trials overlapped: {:?} and {:?}", (start_a, end_a), (start_b, end_b));
    assert!(run.stderr().contains("FINISHED 1/1"), "the live trial table: {}", run.stderr());
}

/// The sweep's parent run and its trial runs, checking that every trial
/// is a child of that one parent.
pub fn sweep_runs(s: &Scratch) -> (serde_json::Value, Vec<serde_json::Value>) {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "qsweep", "--json"]).ok().stdout()).unwrap();
    let (parents, trials): (Vec<serde_json::Value>, Vec<serde_json::Value>) =
        runs.as_array().unwrap().iter().cloned().partition(|r| r["model"] == "sweep");
    assert_eq!(parents.len(), 1, "one parent per sweep: {runs:#}");
    for t in &trials {
        assert_eq!(t["parent"], parents[0]["id"], "{t:#}");
    }
    (parents[0].clone(), trials)
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

/// Every spec shipped in `experiments/` parses, passes every check of
/// `validate` (models, params, metrics, targets) and is what the README
/// lists; specs whose data is not shipped say where to get it.
#[test]
fn every_shipped_spec_validates() {
    let s = Scratch::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut specs: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    specs.sort();
    assert!(specs.len() >= 9, "{specs:?}");
    for spec in &specs {
        let run = s.attnlab(&["validate", spec.to_str().unwrap()]);
        assert_eq!(run.code(), 0, "{}: {}", spec.display(), run.stderr());
        let text = std::fs::read_to_string(spec).unwrap();
        let file_source = ["recbole-atomic", "ctr-log", "movielens", "attention-log"].iter().any(|f| text.contains(&format!("source: {f}")));
        assert!(!file_source || text.contains("# Data"), "{}: a file source says where its data comes from", spec.display());
    }
}

/// A spec whose data is not there (ml-1m, ml-20m, Amazon Books, Criteo:
/// none is shipped) fails before anything runs, with exit 2 and a message
/// that names the missing file and points at the spec's note.
#[test]
fn a_spec_whose_data_is_missing_says_where_to_get_it() {
    let s = Scratch::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs = [
        ("ml1m-bpr.yaml", "data/ml-1m/ml-1m.inter"),
        ("ml1m-hstu.yaml", "data/ml-1m/ml-1m.inter"),
        ("ml20m-hstu.yaml", "data/ml-20m/ml-20m.inter"),
        ("books-hstu.yaml", "data/amazon-books/amazon-books.inter"),
        ("criteo-ctr.yaml", "data/criteo/criteo_x1.csv"),
    ];
    for (name, file) in specs {
        let spec = root.join("experiments").join(name);
        let run = s.attnlab(&["run", spec.to_str().unwrap()]);
        assert_eq!(run.code(), 2, "{name}: {}", run.stderr());
        assert!(run.stderr().contains(file), "{name} names {file}: {}", run.stderr());
        assert!(run.stderr().contains("does not exist") && run.stderr().contains("where to get the data"), "{name}: {}", run.stderr());
    }
}

/// Trial processes compute exactly what one process computes (fixed seeds,
/// the same torch thread count).
#[test]
fn jobs_2_gives_the_metrics_of_jobs_1() {
    let test_auc = |jobs: &str| -> Vec<(String, f64)> {
        let s = Scratch::new();
        let spec = sweep_spec(&s);
        s.attnlab(&["run", spec.to_str().unwrap(), "train.threads=1", "--jobs", jobs]).ok();
        let (_, trials) = sweep_runs(&s);
        let mut values: Vec<(String, f64)> = trials
            .iter()
            .map(|t| (t["tags"]["sweep.values"].as_str().unwrap().to_string(), t["metrics"]["test.auc"].as_f64().unwrap()))
            .collect();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values
    };
    let one = test_auc("1");
    assert_eq!(one.len(), 2);
    assert_eq!(test_auc("2"), one);
}

/// A sweep killed in its second trial: the next run skips the finished
/// trial, resumes the killed one, and the parent ends FINISHED.
#[test]
fn a_killed_sweep_resumes_with_only_what_is_missing() {
    let s = Scratch::new();
    let spec = sweep_spec(&s);
    let args = ["run", spec.to_str().unwrap(), "train.epochs=12", "train.early_stopping.patience=20"];
    // trial 0's twelve epochs and two of trial 1's: its first checkpoint is
    // written (before the second epoch began); the kill comes under the
    // store's write lock, so trial 1 cannot have finished
    let logged = crate::runs::kill_after_epochs(&s, &args, 14);
    assert!((14..24).contains(&logged), "killed inside trial 1: {logged} epochs logged");
    let rerun = s.attnlab(&args).ok();
    assert_eq!(rerun.stderr().matches("skipped").count(), 1, "trial 0 is not run again: {}", rerun.stderr());
    assert!(rerun.stderr().contains("KILLED"), "{}", rerun.stderr());
    let (parent, trials) = sweep_runs(&s);
    let statuses: Vec<&str> = trials.iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["FINISHED", "KILLED", "FINISHED"], "one run per trial, plus the killed attempt");
    assert_eq!(parent["status"], "FINISHED", "the latest attempt of each trial counts");
    let resumed = trials[2]["id"].as_str().unwrap();
    assert!(crate::runs::assert_resumed(&s, resumed, 12) >= 1);
}
