//! `attnlab runs show|diff|rm`, crash recovery and exact resume.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::util::{quickstart, Scratch};

/// A small, fast variant of the quickstart: one DIN model, one thread.
const SMALL: &[&str] = &[
    "dataset.simulator.users=200",
    "models=[{name: din, model: DIN, params: {embed_dim: 8}}]",
    "train.epochs=4",
    "train.early_stopping.patience=10",
    "train.threads=1",
];

fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args
}

/// Starts `attnlab ARGS` in the background (its stderr is kept for the caller).
fn spawn(s: &Scratch, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_attnlab"))
        .args(args)
        .current_dir(s.dir.path())
        .env("ATTNLAB_DB", s.db())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls the store until `ready` holds for the number of epochs logged so
/// far, calling it inside a write transaction: while it runs, the child
/// cannot log another epoch or end a run. Returns that number.
fn poll_epochs(s: &Scratch, child: &mut std::process::Child, mut ready: impl FnMut(i64, &mut std::process::Child) -> bool) -> i64 {
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(300), "no progress from the child");
        if let Ok(mut db) = Connection::open(s.db()) {
            // the child creates the store; until it has, there is nothing to count
            let counted = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).and_then(|txn| {
                let logged: i64 = txn.query_row("SELECT COUNT(*) FROM metrics WHERE key = 'valid.auc'", [], |r| r.get(0))?;
                let done = ready(logged, child);
                txn.commit()?;
                Ok((logged, done))
            });
            if let Ok((logged, true)) = counted {
                return logged;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the child ended before it was stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `attnlab ARGS` in the background and returns once it has logged
/// `epochs` epochs; it goes on running.
pub fn start_and_wait_for_epochs(s: &Scratch, args: &[&str], epochs: i64) -> std::process::Child {
    let mut child = spawn(s, args);
    poll_epochs(s, &mut child, |logged, _| logged >= epochs);
    child
}

/// Starts `attnlab ARGS` and kills it (SIGKILL) as soon as it has logged
/// `epochs` epochs. The count and the kill happen inside one write
/// transaction, so what the store shows is exactly what was killed.
/// Returns the epochs logged at the kill (`epochs` or, when the child logged
/// faster than the 20 ms polls, a few more).
pub fn kill_after_epochs(s: &Scratch, args: &[&str], epochs: i64) -> i64 {
    let mut child = spawn(s, args);
    poll_epochs(s, &mut child, |logged, child| {
        let reached = logged >= epochs;
        if reached {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        reached
    })
}

/// Asserts that run `id` (FINISHED, `epochs` epochs in all) was resumed
/// from an interrupted attempt's checkpoint, not trained from scratch: it
/// carries the `resumed` tag, and the process that made it trained only the
/// epochs after the checkpoint, logging the earlier ones (copied from the
/// interrupted attempt) only after them. Returns how many epochs it resumed after.
pub fn assert_resumed(s: &Scratch, id: &str, epochs: i64) -> i64 {
    let db = Connection::open(s.db()).unwrap();
    let tag: Option<String> =
        db.query_row("SELECT value FROM tags WHERE run_id = ?1 AND key = 'resumed'", [id], |r| r.get(0)).ok();
    assert!(tag.is_some_and(|t| t.contains("checkpoint")), "run {id} has no `resumed` tag");
    let in_logged_order: Vec<i64> = db
        .prepare("SELECT step FROM metrics WHERE run_id = ?1 AND key = 'valid.auc' ORDER BY id")
        .unwrap()
        .query_map([id], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // the first epoch this process logged is the first it trained
    let resumed_after = in_logged_order.first().expect("valid.auc logged") - 1;
    let trained: Vec<i64> = (resumed_after + 1..=epochs).collect();
    let copied: Vec<i64> = (1..=resumed_after).collect();
    assert!(resumed_after >= 1, "the resumed run trained every epoch itself: {in_logged_order:?}");
    assert_eq!(in_logged_order, [trained, copied].concat(), "trained epochs first, the interrupted attempt's after");
    resumed_after
}

fn runs_json(s: &Scratch) -> Vec<serde_json::Value> {
    let out = s.attnlab(&["runs", "list", "--status", "FINISHED", "--json"]).ok().stdout();
    serde_json::from_str::<serde_json::Value>(&out).unwrap().as_array().unwrap().clone()
}

#[test]
fn show_diff_and_rm() {
    let s = Scratch::new();
    let q = quickstart();
    let mut a = vec![q.as_str()];
    a.extend_from_slice(SMALL);
    a.push("train.epochs=1");
    s.attnlab(&run_args(&a)).ok();
    a.push("train.optimizer.lr=0.01");
    s.attnlab(&run_args(&a)).ok();
    let runs = runs_json(&s);
    assert_eq!(runs.len(), 2);
    let (first, second) = (runs[0]["id"].as_str().unwrap(), runs[1]["id"].as_str().unwrap());

    let shown = s.attnlab(&["runs", "show", &first[..6]]).ok().stdout();
    assert!(shown.contains(first) && shown.contains("FINISHED") && shown.contains("test.auc"), "{shown}");
    assert!(shown.contains("per_user/test.csv"), "the per-user artifact is listed: {shown}");
    assert!(shown.contains("prov.host"), "provenance is recorded: {shown}");

    let diff = s.attnlab(&["runs", "diff", first, second]).ok().stdout();
    assert!(diff.contains("param train.lr"), "{diff}");
    assert!(!diff.contains("param train.batch_size"), "equal params are not shown: {diff}");

    let ambiguous = s.attnlab(&["runs", "show", "zzzz"]);
    assert_eq!(ambiguous.code(), 2, "{}", ambiguous.stderr());

    s.attnlab(&["runs", "rm", first]).ok();
    assert_eq!(runs_json(&s).len(), 1);
    assert!(!s.path("store/artifacts").join(first).exists(), "artifacts go with the run");
}

/// `runs rm` of a run that is training right now is refused (exit 2, naming
/// its process); once that process is gone the run can be removed.
#[test]
fn rm_refuses_a_run_whose_process_is_training() {
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);
    args.push("train.epochs=50");
    let s = Scratch::new();
    let mut child = start_and_wait_for_epochs(&s, &run_args(&args), 1);
    let id: String = Connection::open(s.db()).unwrap().query_row("SELECT id FROM runs", [], |r| r.get(0)).unwrap();
    let refused = s.attnlab(&["runs", "rm", &id]);
    let still_training = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(still_training, "the trainer was alive during rm");
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    let owner = format!("is RUNNING, written by pid {} on host ", child.id());
    assert!(refused.stderr().contains(&owner), "{}", refused.stderr());
    assert!(refused.stderr().contains("--force"), "{}", refused.stderr());
    // the trainer is dead now: no --force needed
    s.attnlab(&["runs", "rm", &id]).ok();
    let left: i64 = Connection::open(s.db()).unwrap().query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
}

/// kill -9 during training, run again: the run resumes from its checkpoint
/// and ends with exactly the metrics of an uninterrupted run.
#[test]
fn killed_run_is_marked_killed_and_resumes_exactly() {
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);

    let clean = Scratch::new();
    clean.attnlab(&run_args(&args)).ok();
    // what must match exactly: everything but timings
    let outcome = |run: &serde_json::Value| -> Vec<(String, f64)> {
        let metrics = run["metrics"].as_object().unwrap();
        let kept = metrics.iter().filter(|(k, _)| k.starts_with("test.") || k.starts_with("best.") || k.starts_with("valid."));
        kept.map(|(k, v)| (k.clone(), v.as_f64().unwrap())).collect()
    };
    let expected = outcome(&runs_json(&clean)[0]);
    assert!(expected.iter().any(|(k, _)| k == "test.auc"));

    let s = Scratch::new();
    // two epochs logged, then kill without warning
    let logged = kill_after_epochs(&s, &run_args(&args), 2);
    assert!(logged < 4, "killed before its last epoch: {logged}");

    let rerun = s.attnlab(&run_args(&args)).ok();
    assert!(rerun.stderr().contains("KILLED"), "the dead run is reaped: {}", rerun.stderr());
    let db = Connection::open(s.db()).unwrap();
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM runs ORDER BY start_ms")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(statuses, ["KILLED", "FINISHED"]);
    let finished = runs_json(&s);
    assert_eq!(outcome(&finished[0]), expected, "resumed run ends exactly like an uninterrupted one");
    let steps: Vec<i64> = db
        .prepare("SELECT m.step FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.status = 'FINISHED' AND m.key = 'valid.auc' ORDER BY m.step")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(steps, [1, 2, 3, 4], "the resumed run has the full learning curve");
    let resumed_after = assert_resumed(&s, finished[0]["id"].as_str().unwrap(), 4);
    assert!(resumed_after <= logged, "no checkpoint beyond the epochs logged before the kill");
}

/// Fine-tuning from an earlier run: its best checkpoint initialises the new
/// run, which records it as its parent.
#[test]
fn fine_tune_from_a_run_id() {
    let s = Scratch::new();
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);
    args.push("train.epochs=2");
    s.attnlab(&run_args(&args)).ok();
    let parent = runs_json(&s)[0]["id"].as_str().unwrap().to_string();

    let init = format!("train.init_from={}", &parent[..8]);
    args.extend_from_slice(&[init.as_str(), "train.freeze=[item]", "train.optimizer.lr=0.0005"]);
    s.attnlab(&run_args(&args)).ok();
    let runs = runs_json(&s);
    let child = runs.iter().find(|r| r["id"] != parent.as_str()).unwrap();
    assert_eq!(child["parent"], parent.as_str());
    assert!(child["params"]["train.init_from"].as_str().unwrap().ends_with("best.safetensors"));

    let html = s.path("r.html");
    s.attnlab(&["report", "quickstart", "-o", html.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(&html).unwrap().contains(&parent), "the report shows the parent run");

    let bad = s.attnlab(&run_args(&[q.as_str(), "train.init_from=nosuchrun"]));
    assert_eq!(bad.code(), 2, "{}", bad.stderr());
    assert!(bad.stderr().contains("train.init_from"), "{}", bad.stderr());
}

/// Ctrl-C marks the run KILLED at once and exits with 130; the next run resumes it.
#[test]
fn interrupt_marks_the_run_killed_and_exits_130() {
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);
    let s = Scratch::new();
    let child = start_and_wait_for_epochs(&s, &run_args(&args), 1);
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    let status: String = Connection::open(s.db()).unwrap().query_row("SELECT status FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(status, "KILLED", "marked at once, not by the next start");
    s.attnlab(&run_args(&args)).ok();
    assert_eq!(runs_json(&s).len(), 1, "the rerun finishes");
}

/// SIGTERM (what `kill`, Slurm and systemd send) marks the run KILLED too,
/// and exits with 143 (128 + 15), not SIGINT's 130.
#[test]
fn sigterm_marks_the_run_killed_and_exits_143() {
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);
    let s = Scratch::new();
    let child = start_and_wait_for_epochs(&s, &run_args(&args), 1);
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143), "{}", String::from_utf8_lossy(&output.stderr));
    let status: String = Connection::open(s.db()).unwrap().query_row("SELECT status FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(status, "KILLED");
}

/// A finished run's checkpoint is never resumed: `--force`, or a store
/// deleted beside its checkpoints, trains every epoch afresh.
#[test]
fn force_and_a_lost_store_start_afresh_not_from_a_finished_checkpoint() {
    let q = quickstart();
    let mut args = vec![q.as_str()];
    args.extend_from_slice(SMALL);
    let s = Scratch::new();
    s.attnlab(&run_args(&args)).ok();
    let mut forced = run_args(&args);
    forced.push("--force");
    s.attnlab(&forced).ok();
    let db = Connection::open(s.db()).unwrap();
    let epochs_per_run: Vec<i64> = db
        .prepare("SELECT COUNT(m.id) FROM runs r LEFT JOIN metrics m ON m.run_id = r.id AND m.key = 'train.loss' GROUP BY r.id ORDER BY r.start_ms")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(epochs_per_run, [4, 4], "the forced run trained all four epochs itself");
    let resumed: i64 = db.query_row("SELECT COUNT(*) FROM tags WHERE key = 'resumed'", [], |r| r.get(0)).unwrap();
    assert_eq!(resumed, 0);
    drop(db);

    // the store is lost, the checkpoints stay: a new store's run trains afresh
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", s.db().display()));
    }
    s.attnlab(&run_args(&args)).ok();
    let resumed: i64 = Connection::open(s.db()).unwrap().query_row("SELECT COUNT(*) FROM tags WHERE key = 'resumed'", [], |r| r.get(0)).unwrap();
    assert_eq!(resumed, 0, "nothing in the new store says a run was interrupted");
}

#[test]
fn concurrent_runs_of_one_spec_train_each_identity_exactly_once() {
    let s = Scratch::new();
    let spec = quickstart();
    let args = [
        "run",
        spec.as_str(),
        "dataset.simulator.users=200",
        "models=[{name: lr, model: LR}, {name: din, model: DIN, params: {embed_dim: 8}}]",
        "seeds=[1, 2]",
        "train.epochs=3",
        "train.threads=1",
    ];
    // four processes of the same spec into one store, started together
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_attnlab"))
                .args(args)
                .current_dir(s.dir.path())
                .env("ATTNLAB_DB", s.db())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert!(out.status.success(), "every process ends well:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let db = Connection::open(s.db()).unwrap();
    let runs: Vec<(String, String)> = db
        .prepare("SELECT run_key, status FROM runs ORDER BY run_key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let keys: std::collections::BTreeSet<&str> = runs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.len(), 4, "two models x two seeds");
    assert_eq!(runs.len(), 4, "one run per identity, no duplicate and no second attempt: {runs:?}");
    assert!(runs.iter().all(|(_, status)| status == "FINISHED"), "{runs:?}");
    // every process reports all four runs: the ones it trained and the ones it took from the others
    let stderr: String = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
    let taken = stderr.matches("already finished as run").count();
    assert_eq!(taken, 3 * 4, "each identity trained by one process and taken by the three others:\n{stderr}");
}
