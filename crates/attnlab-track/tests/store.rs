//! Store tests against real SQLite files in temporary directories.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;

use attnlab_track::{MetricPoint, NewRun, RunStatus, Store, TrackError, schema_version};

fn new_run(experiment: &str, name: &str) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        model: "din".into(),
        seed: 7,
        run_key: format!("key-{name}"),
        params: vec![
            ("lr".into(), "0.001".into()),
            ("batch".into(), "256".into()),
        ],
        tags: vec![("host".into(), "box1".into())],
        parent: None,
    }
}

fn point(key: &str, value: f64, step: i64, ts: i64) -> MetricPoint {
    MetricPoint {
        key: key.into(),
        value,
        step,
        timestamp_ms: ts,
    }
}

fn raw_user_version(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version")
}

#[test]
fn open_creates_file_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/runs.db");
    let store = Store::open(&path).unwrap();
    assert!(path.is_file(), "store file should exist");
    assert_eq!(store.path(), path.as_path());
    assert_eq!(schema_version(), 2);
    assert_eq!(raw_user_version(&path), schema_version());

    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");

    let run_id = store.create_run(&new_run("ctr", "a")).unwrap();
    store
        .log_metrics(&run_id, &[point("auc", 0.7, 1, 10)])
        .unwrap();
    drop(store);

    // Reopening must not re-run the migrations (it would fail on existing tables or lose data).
    let store = Store::open(&path).unwrap();
    assert_eq!(raw_user_version(&path), schema_version());
    let exps = store.experiments().unwrap();
    assert_eq!(exps.len(), 1);
    assert_eq!(exps[0].name, "ctr");
    assert_eq!(exps[0].runs, 1);
    assert_eq!(store.run(&run_id).unwrap().metrics["auc"], 0.7);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema_version() + 1)
            .unwrap();
    }
    match Store::open(&path) {
        Err(TrackError::SchemaTooNew {
            path: p,
            found,
            known,
        }) => {
            assert_eq!(p, path);
            assert_eq!(found, schema_version() + 1);
            assert_eq!(known, schema_version());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn run_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();

    let mut spec = new_run("ctr", "first");
    spec.seed = u64::MAX; // full u64 range must survive SQLite's i64
    let id = store.create_run(&spec).unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let fresh = store.run(&id).unwrap();
    assert_eq!(fresh.status, RunStatus::Running);
    assert_eq!(fresh.end_ms, None);
    assert!(fresh.start_ms > 0);
    assert_eq!(fresh.seed, u64::MAX);
    assert_eq!(fresh.experiment, "ctr");
    assert_eq!(fresh.name, "first");
    assert_eq!(fresh.model, "din");
    assert_eq!(fresh.run_key, "key-first");
    assert_eq!(fresh.params.get("lr").map(String::as_str), Some("0.001"));
    assert_eq!(fresh.params.get("batch").map(String::as_str), Some("256"));
    assert_eq!(fresh.tags.get("host").map(String::as_str), Some("box1"));
    assert!(fresh.metrics.is_empty());

    // Largest step wins even though it was logged first.
    store
        .log_metrics(
            &id,
            &[point("loss", 0.2, 10, 100), point("auc", 0.8, 3, 100)],
        )
        .unwrap();
    store
        .log_metrics(
            &id,
            &[point("loss", 0.9, 1, 200), point("loss", 0.5, 5, 300)],
        )
        .unwrap();

    store
        .set_tags(
            &id,
            &[("host".into(), "box2".into()), ("note".into(), "ok".into())],
        )
        .unwrap();
    store.finish_run(&id, RunStatus::Finished).unwrap();

    let done = store.run(&id).unwrap();
    assert_eq!(done.status, RunStatus::Finished);
    let end = done.end_ms.expect("end time set");
    assert!(end >= done.start_ms);
    assert_eq!(done.metrics.len(), 2);
    assert_eq!(done.metrics["loss"], 0.2);
    assert_eq!(done.metrics["auc"], 0.8);
    assert_eq!(done.tags.get("host").map(String::as_str), Some("box2"));
    assert_eq!(done.tags.get("note").map(String::as_str), Some("ok"));

    for status in [RunStatus::Failed, RunStatus::Killed] {
        let other = store.create_run(&new_run("ctr", status.as_str())).unwrap();
        store.finish_run(&other, status).unwrap();
        let rec = store.run(&other).unwrap();
        assert_eq!(rec.status, status);
        assert!(rec.end_ms.is_some());
    }

    let runs = store.runs("ctr").unwrap();
    let names: Vec<_> = runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["first", "FAILED", "KILLED"], "oldest first");
    assert_eq!(runs[0].metrics["loss"], 0.2);
    assert_eq!(store.experiments().unwrap()[0].runs, 3);
}

#[test]
fn summary_breaks_step_ties_by_timestamp_then_insert_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let id = store.create_run(&new_run("e", "r")).unwrap();
    store
        .log_metrics(
            &id,
            &[
                point("a", 1.0, 4, 500), // latest timestamp at top step
                point("a", 2.0, 4, 100),
                point("b", 1.0, 2, 100),
                point("b", 2.0, 2, 100), // same step and time: later insert wins
                point("b", 3.0, 1, 900),
            ],
        )
        .unwrap();
    let rec = store.run(&id).unwrap();
    assert_eq!(rec.metrics["a"], 1.0);
    assert_eq!(rec.metrics["b"], 2.0);
}

#[test]
fn history_is_ordered_and_keys_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let id = store.create_run(&new_run("e", "r")).unwrap();
    store
        .log_metrics(
            &id,
            &[
                point("val/auc", 0.3, 3, 30),
                point("val/auc", 0.1, 1, 50),
                point("train/loss", 1.0, 0, 0),
                point("val/auc", 0.25, 2, 40),
                point("val/auc", 0.15, 1, 20),
            ],
        )
        .unwrap();
    let hist = store.metric_history(&id, "val/auc").unwrap();
    let order: Vec<(i64, i64)> = hist.iter().map(|p| (p.step, p.timestamp_ms)).collect();
    assert_eq!(order, [(1, 20), (1, 50), (2, 40), (3, 30)]);
    assert_eq!(hist[0], point("val/auc", 0.15, 1, 20));
    assert!(store.metric_history(&id, "missing").unwrap().is_empty());
    assert_eq!(store.metric_keys(&id).unwrap(), ["train/loss", "val/auc"]);

    let now = MetricPoint::now("x", 1.5, 9);
    assert!(now.timestamp_ms > 0);
    assert_eq!((now.key.as_str(), now.value, now.step), ("x", 1.5, 9));
}

#[test]
fn unknown_run_and_experiment_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let ghost = "0123456789abcdef0123456789abcdef";

    let is_unknown_run = |r: Result<(), TrackError>| match r {
        Err(TrackError::UnknownRun { path: p, id }) => p == path && id == ghost,
        _ => false,
    };
    assert!(is_unknown_run(store.finish_run(ghost, RunStatus::Finished)));
    assert!(is_unknown_run(
        store.log_metrics(ghost, &[point("a", 1.0, 0, 0)])
    ));
    assert!(is_unknown_run(
        store.set_tags(ghost, &[("k".into(), "v".into())])
    ));
    assert!(is_unknown_run(store.run(ghost).map(|_| ())));
    assert!(is_unknown_run(store.metric_history(ghost, "a").map(|_| ())));
    assert!(is_unknown_run(store.metric_keys(ghost).map(|_| ())));

    match store.runs("nope") {
        Err(e @ TrackError::UnknownExperiment { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("nope"), "{msg}");
            assert!(
                msg.contains(&path.display().to_string()),
                "message names the db: {msg}"
            );
        }
        other => panic!("expected UnknownExperiment, got {other:?}"),
    }

    // An experiment that exists but has no runs is not an error.
    let id = store.ensure_experiment("empty").unwrap();
    assert_eq!(
        store.ensure_experiment("empty").unwrap(),
        id,
        "get-or-create is idempotent"
    );
    assert!(store.runs("empty").unwrap().is_empty());
}

#[test]
fn non_finite_values_roll_back_the_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let id = store.create_run(&new_run("e", "r")).unwrap();

    let bad = [
        point("loss", 0.5, 1, 1),
        point("auc", 0.6, 1, 1),
        point("loss", f64::NAN, 2, 2),
    ];
    match store.log_metrics(&id, &bad) {
        Err(TrackError::NonFinite { key, .. }) => assert_eq!(key, "loss"),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    assert!(
        store.metric_keys(&id).unwrap().is_empty(),
        "valid points before the NaN were rolled back"
    );
    assert!(store.run(&id).unwrap().metrics.is_empty());

    assert!(matches!(
        store.log_metrics(&id, &[point("auc", f64::INFINITY, 1, 1)]),
        Err(TrackError::NonFinite { .. })
    ));

    // The connection is usable after the rollback.
    store.log_metrics(&id, &[point("loss", 0.4, 3, 3)]).unwrap();
    assert_eq!(store.metric_history(&id, "loss").unwrap().len(), 1);
}

#[test]
fn two_handles_log_concurrently_without_losing_points() {
    const PER_THREAD: i64 = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run_id = Store::open(&path)
        .unwrap()
        .create_run(&new_run("e", "shared"))
        .unwrap();

    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2i64)
        .map(|t| {
            let (path, run_id, barrier) = (path.clone(), run_id.clone(), Arc::clone(&barrier));
            thread::spawn(move || -> Result<(), TrackError> {
                let store = Store::open(&path)?;
                barrier.wait();
                // One commit per point maximises lock contention between the two writers.
                for i in 0..PER_THREAD {
                    store
                        .log_metrics(&run_id, &[point("loss", i as f64, t * PER_THREAD + i, i)])?;
                    if i % 250 == 0 {
                        store.run(&run_id)?; // readers interleave with the other writer
                    }
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .expect("thread panicked")
            .expect("no 'database is locked'");
    }

    let store = Store::open(&path).unwrap();
    let hist = store.metric_history(&run_id, "loss").unwrap();
    assert_eq!(hist.len(), 2 * PER_THREAD as usize);
    let steps: Vec<i64> = hist.iter().map(|p| p.step).collect();
    assert_eq!(steps, (0..2 * PER_THREAD).collect::<Vec<_>>());
    assert_eq!(
        store.run(&run_id).unwrap().metrics["loss"],
        (PER_THREAD - 1) as f64
    );
}

#[test]
fn concurrent_opens_of_a_fresh_file_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (path, barrier) = (path.clone(), Arc::clone(&barrier));
            thread::spawn(move || -> Result<(), TrackError> {
                barrier.wait();
                let store = Store::open(&path)?;
                store.ensure_experiment("shared")?;
                store.create_run(&new_run("shared", &format!("r{i}")))?;
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join()
            .expect("thread panicked")
            .expect("open/create under contention");
    }
    assert_eq!(raw_user_version(&path), schema_version());
    let store = Store::open(&path).unwrap();
    let exps = store.experiments().unwrap();
    assert_eq!(exps.len(), 1);
    assert_eq!(exps[0].runs, 6);
}

#[test]
fn status_strings_round_trip() {
    for status in RunStatus::ALL {
        assert_eq!(status.as_str().parse::<RunStatus>().unwrap(), status);
        assert_eq!(status.to_string(), status.as_str());
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            format!("\"{}\"", status.as_str())
        );
    }
    assert_eq!(
        "finished".parse::<RunStatus>().unwrap(),
        RunStatus::Finished
    );
    assert!("DONE".parse::<RunStatus>().is_err());
}

#[test]
fn finished_run_by_key_finds_only_finished_runs_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let keyed = |name: &str, key: &str| NewRun { run_key: key.into(), ..new_run("exp", name) };
    assert!(store.finished_run_by_key("k1").unwrap().is_none());
    let failed = store.create_run(&keyed("a", "k1")).unwrap();
    store.finish_run(&failed, RunStatus::Failed).unwrap();
    let running = store.create_run(&keyed("b", "k1")).unwrap();
    assert!(store.finished_run_by_key("k1").unwrap().is_none(), "failed and running runs do not count");
    store.finish_run(&running, RunStatus::Finished).unwrap();
    let other = store.create_run(&keyed("c", "k2")).unwrap();
    store.finish_run(&other, RunStatus::Finished).unwrap();
    let found = store.finished_run_by_key("k1").unwrap().unwrap();
    assert_eq!(found.id, running);
    assert_eq!(found.status, RunStatus::Finished);
    let newer = store.create_run(&keyed("d", "k1")).unwrap();
    store.finish_run(&newer, RunStatus::Finished).unwrap();
    assert_eq!(store.finished_run_by_key("k1").unwrap().unwrap().id, newer);
}

/// A store written by the first release (schema v1, migration-1 SQL only)
/// is upgraded in place on open: old rows are kept and the new columns and
/// tables work on them.
#[test]
fn v1_store_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let old = "0123456789abcdef0123456789abcdef";
    let stuck = "fedcba9876543210fedcba9876543210";
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .unwrap();
        conn.execute_batch(include_str!("fixtures/schema_v1.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO experiments (id, name, created_ms) VALUES (1, 'legacy', 1000);
             INSERT INTO runs (id, experiment_id, name, model, seed, run_key, status, start_ms, end_ms)
                 VALUES ('{old}', 1, 'old', 'lr', 3, 'k-old', 'FINISHED', 2000, 2500),
                        ('{stuck}', 1, 'stuck', 'din', 4, 'k-stuck', 'RUNNING', 3000, NULL);
             INSERT INTO params (run_id, key, value) VALUES ('{old}', 'lr', '0.01');
             INSERT INTO tags (run_id, key, value) VALUES ('{old}', 'note', 'v1');
             INSERT INTO metrics (run_id, key, value, step, timestamp_ms)
                 VALUES ('{old}', 'auc', 0.6, 1, 2100), ('{old}', 'auc', 0.61, 2, 2200);"
        ))
        .unwrap();
    }
    assert_eq!(raw_user_version(&path), 1);

    let store = Store::open(&path).unwrap();
    assert_eq!(raw_user_version(&path), schema_version());
    let rec = store.run(old).unwrap();
    assert_eq!((rec.name.as_str(), rec.model.as_str(), rec.seed), ("old", "lr", 3));
    assert_eq!(rec.status, RunStatus::Finished);
    assert_eq!((rec.start_ms, rec.end_ms), (2000, Some(2500)));
    assert_eq!(rec.params["lr"], "0.01");
    assert_eq!(rec.tags["note"], "v1");
    assert_eq!(rec.metrics["auc"], 0.61);
    assert_eq!(
        (rec.parent, rec.pid, rec.host, rec.heartbeat_ms),
        (None, None, None, None),
        "v1 runs recorded no writer"
    );
    assert_eq!(store.metric_history(old, "auc").unwrap().len(), 2);

    // New features on old rows.
    store.heartbeat(old).unwrap();
    assert!(store.run(old).unwrap().heartbeat_ms.is_some());
    let child = store
        .create_run(&NewRun {
            parent: Some(old.into()),
            ..new_run("legacy", "child")
        })
        .unwrap();
    assert_eq!(store.run(&child).unwrap().parent.as_deref(), Some(old));
    let art = store
        .log_artifact(old, "notes.txt", attnlab_track::ArtifactSource::Bytes(b"abc"))
        .unwrap();
    assert_eq!(art.size, 3);
    assert_eq!(store.artifacts(old).unwrap(), [art]);
    assert_eq!(store.metrics_after(old, 0, 10).unwrap().len(), 2);

    // The stuck v1 run recorded no writer: only staleness can reap it.
    assert!(store.reap_dead_runs(None).unwrap().is_empty());
    assert_eq!(store.run(stuck).unwrap().status, RunStatus::Running);
    let reaped = store
        .reap_dead_runs(Some(std::time::Duration::from_secs(3600)))
        .unwrap();
    assert_eq!(reaped, [stuck]);
    let stuck_rec = store.run(stuck).unwrap();
    assert_eq!(stuck_rec.status, RunStatus::Killed);
    assert_eq!(stuck_rec.end_ms, Some(3000), "no heartbeat: ends at its start");
    assert_eq!(store.run(&child).unwrap().status, RunStatus::Running, "live writer kept");

    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let fk_violations: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk_violations, 0);
}

/// A store with a few thousand metric rows, closed (its WAL checkpointed
/// into the main file); returns the run id.
fn store_with_pages(path: &Path) -> String {
    let store = Store::open(path).unwrap();
    let run = store.create_run(&new_run("e", "a")).unwrap();
    let points: Vec<MetricPoint> = (0..5_000).map(|i| point("loss", i as f64, i, i)).collect();
    store.log_metrics(&run, &points).unwrap();
    store.finish_run(&run, RunStatus::Finished).unwrap();
    run
}

#[test]
fn a_damaged_store_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    store_with_pages(&path);
    assert!(!dir.path().join("runs.db-wal").exists(), "checkpointed on close");
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(pages > 8, "{pages} pages");
    // one page in the middle of the metrics table becomes garbage
    let start = pages / 2 * page;
    bytes[start..start + page].fill(0xAA);
    std::fs::write(&path, &bytes).unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, TrackError::Damaged { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("is damaged"), "{message}");
    assert!(message.contains(&format!("sqlite3 {} .recover", path.display())), "{message}");
    assert!(message.contains("--db"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "not one byte written");

    // a file that is not a database at all
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 3 * page]).unwrap();
    assert!(matches!(Store::open(&junk), Err(TrackError::Damaged { .. })));
    assert_eq!(std::fs::read(&junk).unwrap(), vec![0x42u8; 3 * page]);
}

#[test]
fn a_store_opened_for_reading_reads_everything_and_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let run = store_with_pages(&path);
    let store = Store::open_for_reading(&path).unwrap();
    assert_eq!(store.runs("e").unwrap().len(), 1);
    assert_eq!(store.metric_history(&run, "loss").unwrap().len(), 5_000);
    let err = store.create_run(&new_run("e", "b")).unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
    drop(store);
    assert_eq!(Store::open(&path).unwrap().runs("e").unwrap().len(), 1);
}
