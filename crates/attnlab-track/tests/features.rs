//! Lineage, heartbeats and reaping, artifacts, deletion, queries and sync
//! bookkeeping, against real SQLite files in temporary directories.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use attnlab_track::{
    ArtifactSource, MetricPoint, NewRun, RunFilter, RunRecord, RunStatus, Store, SyncState,
    TrackError, diff_runs,
};
use sha2::{Digest, Sha256};

fn new_run(experiment: &str, name: &str) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        model: "din".into(),
        seed: 7,
        run_key: format!("key-{name}"),
        ..NewRun::default()
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn point(key: &str, value: f64, step: i64) -> MetricPoint {
    MetricPoint {
        key: key.into(),
        value,
        step,
        timestamp_ms: 1_000 + step,
    }
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw open")
}

fn count(path: &Path, sql: &str, run_id: &str) -> i64 {
    raw(path).query_row(sql, [run_id], |r| r.get(0)).expect(sql)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---- lineage and writer identity -------------------------------------------

#[test]
fn runs_record_parent_writer_and_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let parent = store.create_run(&new_run("sweep", "parent")).unwrap();
    let child = store
        .create_run(&NewRun {
            parent: Some(parent.clone()),
            ..new_run("sweep", "child")
        })
        .unwrap();

    let p = store.run(&parent).unwrap();
    assert_eq!(p.parent, None);
    assert_eq!(p.pid, Some(i64::from(std::process::id())));
    let host = p.host.clone().expect("host recorded");
    assert!(!host.is_empty());
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        assert_eq!(host, h.trim());
    }
    assert_eq!(p.heartbeat_ms, Some(p.start_ms), "first heartbeat at creation");
    assert_eq!(store.run(&child).unwrap().parent.as_deref(), Some(parent.as_str()));

    std::thread::sleep(Duration::from_millis(5));
    store.heartbeat(&parent).unwrap();
    assert!(store.run(&parent).unwrap().heartbeat_ms.unwrap() > p.start_ms);

    let ghost = "00000000000000000000000000000000";
    match store.create_run(&NewRun {
        parent: Some(ghost.into()),
        ..new_run("sweep", "orphan")
    }) {
        Err(TrackError::UnknownRun { id, path: p }) => assert_eq!((id.as_str(), p.as_path()), (ghost, path.as_path())),
        other => panic!("expected UnknownRun for the parent, got {other:?}"),
    }
    assert_eq!(store.runs("sweep").unwrap().len(), 2, "nothing of the orphan was written");
    assert!(matches!(store.heartbeat(ghost), Err(TrackError::UnknownRun { .. })));
}

#[cfg(target_os = "linux")]
#[test]
fn reaper_judges_local_writers_by_process_and_others_by_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let alive = store.create_run(&new_run("e", "alive")).unwrap();
    let reused = store.create_run(&new_run("e", "reused")).unwrap();
    let vanished = store.create_run(&new_run("e", "vanished")).unwrap();
    let remote_old = store.create_run(&new_run("e", "remote-old")).unwrap();
    let remote_fresh = store.create_run(&new_run("e", "remote-fresh")).unwrap();
    let finished = store.create_run(&new_run("e", "finished")).unwrap();
    store.finish_run(&finished, RunStatus::Finished).unwrap();
    store.log_metrics(&reused, &[point("loss", 0.5, 1)]).unwrap();

    let two_hours_ago = now_ms() - 2 * 3600 * 1000;
    let conn = raw(&path);
    // Our pid, but a process that started at another time: the pid was reused.
    conn.execute("UPDATE runs SET proc_start = proc_start + 1, heartbeat_ms = 4242 WHERE id = ?1", [&reused])
        .unwrap();
    // No such process (above the kernel's maximum pid).
    for id in [&vanished, &finished] {
        conn.execute("UPDATE runs SET pid = 99999999 WHERE id = ?1", [id]).unwrap();
    }
    conn.execute(
        "UPDATE runs SET host = 'elsewhere', pid = 1, heartbeat_ms = ?2 WHERE id = ?1",
        rusqlite::params![remote_old, two_hours_ago],
    )
    .unwrap();
    conn.execute("UPDATE runs SET host = 'elsewhere', pid = 1 WHERE id = ?1", [&remote_fresh])
        .unwrap();
    drop(conn);

    let reaped = store.reap_dead_runs(None).unwrap();
    assert_eq!(reaped, [reused.clone(), vanished.clone()], "oldest first; other hosts untouched");
    let r = store.run(&reused).unwrap();
    assert_eq!((r.status, r.end_ms), (RunStatus::Killed, Some(4242)));
    assert_eq!(r.metrics["loss"], 0.5, "metrics are kept");
    assert_eq!(store.run(&alive).unwrap().status, RunStatus::Running);
    assert_eq!(store.run(&finished).unwrap().status, RunStatus::Finished);

    assert!(store.reap_dead_runs(Some(Duration::from_secs(3 * 3600))).unwrap().is_empty());
    let reaped = store.reap_dead_runs(Some(Duration::from_secs(3600))).unwrap();
    assert_eq!(reaped, [remote_old.clone()]);
    let r = store.run(&remote_old).unwrap();
    assert_eq!((r.status, r.end_ms), (RunStatus::Killed, Some(two_hours_ago)));
    assert_eq!(store.run(&remote_fresh).unwrap().status, RunStatus::Running);
    assert_eq!(store.run(&alive).unwrap().status, RunStatus::Running, "a live local writer is never stale");
}

// ---- artifacts -------------------------------------------------------------

#[test]
fn artifacts_are_copied_atomically_and_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store/runs.db");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(&new_run("e", "r")).unwrap();

    let rec = store
        .log_artifact(&run, "plots/auc.svg", ArtifactSource::Bytes(b"abc"))
        .unwrap();
    let expected_path = dir.path().join("store/artifacts").join(&run).join("plots/auc.svg");
    assert_eq!(store.artifact_path(&run, "plots/auc.svg").unwrap(), expected_path);
    assert_eq!(std::fs::read(&expected_path).unwrap(), b"abc");
    assert_eq!(rec.size, 3);
    assert_eq!(
        rec.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );

    // A file larger than the copy buffer, streamed from disk.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let src = dir.path().join("model.bin");
    std::fs::write(&src, &big).unwrap();
    let rec_big = store
        .log_artifact(&run, "model.bin", ArtifactSource::File(&src))
        .unwrap();
    assert_eq!(rec_big.size, big.len() as u64);
    assert_eq!(rec_big.sha256, sha256_hex(&big));
    assert_eq!(std::fs::read(store.artifact_path(&run, "model.bin").unwrap()).unwrap(), big);
    assert!(src.exists(), "the source is copied, not moved");

    // Same path again replaces file and row.
    let rec2 = store
        .log_artifact(&run, "plots/auc.svg", ArtifactSource::Bytes(b"<svg/>"))
        .unwrap();
    assert_eq!(std::fs::read(&expected_path).unwrap(), b"<svg/>");
    let listed = store.artifacts(&run).unwrap();
    assert_eq!(listed, [rec_big, rec2], "one row per path, sorted by path");

    // No temporary files are left behind.
    let mut names = Vec::new();
    for sub in ["", "plots"] {
        for entry in std::fs::read_dir(dir.path().join("store/artifacts").join(&run).join(sub)).unwrap() {
            names.push(entry.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    assert_eq!(names, ["auc.svg", "model.bin", "plots"]);
}

#[test]
fn bad_artifact_paths_and_sources_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let run = store.create_run(&new_run("e", "r")).unwrap();

    for bad in ["/etc/passwd", "../escape", "a/../../b", "a//b", "dir/", "", "a\\b", "./x"] {
        match store.log_artifact(&run, bad, ArtifactSource::Bytes(b"x")) {
            Err(e @ TrackError::InvalidArtifactPath { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(&format!("{bad:?}")), "names the path: {msg}");
                assert!(msg.contains(&path.display().to_string()), "names the store: {msg}");
            }
            other => panic!("{bad:?}: expected InvalidArtifactPath, got {other:?}"),
        }
        assert!(store.artifact_path(&run, bad).is_err());
    }
    assert!(!dir.path().join("artifacts").exists(), "nothing was written");
    assert!(!dir.path().join("escape").exists());

    let missing = dir.path().join("no-such-file");
    match store.log_artifact(&run, "x.bin", ArtifactSource::File(&missing)) {
        Err(e @ TrackError::ArtifactIo { .. }) => {
            assert!(e.to_string().contains(&missing.display().to_string()), "{e}");
        }
        other => panic!("expected ArtifactIo, got {other:?}"),
    }
    assert!(store.artifacts(&run).unwrap().is_empty());
    let run_dir = dir.path().join("artifacts").join(&run);
    let leftovers = std::fs::read_dir(&run_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "the temp file of a failed copy is removed");

    let ghost = "00000000000000000000000000000000";
    assert!(matches!(
        store.log_artifact(ghost, "x", ArtifactSource::Bytes(b"x")),
        Err(TrackError::UnknownRun { .. })
    ));
    assert!(!dir.path().join("artifacts").join(ghost).exists());
    assert!(matches!(store.artifacts(ghost), Err(TrackError::UnknownRun { .. })));
}

// ---- deletion --------------------------------------------------------------

#[test]
fn delete_run_removes_everything_and_orphans_children() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let parent = store
        .create_run(&NewRun {
            params: pairs(&[("lr", "0.1")]),
            tags: pairs(&[("t", "1")]),
            ..new_run("e", "parent")
        })
        .unwrap();
    let kids: Vec<String> = (0..2)
        .map(|i| {
            store
                .create_run(&NewRun {
                    parent: Some(parent.clone()),
                    params: pairs(&[("lr", "0.1")]),
                    ..new_run("e", &format!("kid{i}"))
                })
                .unwrap()
        })
        .collect();
    store.log_metrics(&parent, &[point("auc", 0.7, 1), point("auc", 0.8, 2)]).unwrap();
    store.log_metrics(&kids[0], &[point("auc", 0.6, 1)]).unwrap();
    store.log_artifact(&parent, "a/b.txt", ArtifactSource::Bytes(b"hi")).unwrap();
    store.log_artifact(&kids[0], "k.txt", ArtifactSource::Bytes(b"kid")).unwrap();
    store
        .set_sync_state(&SyncState {
            run_id: parent.clone(),
            target: "http://mlflow#ctr".into(),
            remote_run_id: "r1".into(),
            metrics_upto_id: 1,
            params_done: true,
            tags_hash: None,
            status_done: None,
        })
        .unwrap();
    let parent_dir = store.artifacts_root().join(&parent);
    assert!(parent_dir.is_dir());

    // finished, so this process (alive) no longer owns it
    store.finish_run(&parent, RunStatus::Finished).unwrap();
    store.delete_run(&parent, false).unwrap();
    assert!(matches!(store.run(&parent), Err(TrackError::UnknownRun { .. })));
    for table in ["metrics", "params", "tags", "artifacts", "sync_state"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE run_id = ?1");
        assert_eq!(count(&path, &sql, &parent), 0, "{table}");
    }
    assert!(!parent_dir.exists(), "artifact directory removed");
    for kid in &kids {
        let rec = store.run(kid).unwrap();
        assert_eq!(rec.parent, None, "children become top-level");
        assert_eq!(rec.params["lr"], "0.1");
    }
    assert_eq!(store.metric_history(&kids[0], "auc").unwrap().len(), 1);
    assert_eq!(std::fs::read(store.artifact_path(&kids[0], "k.txt").unwrap()).unwrap(), b"kid");
    assert!(matches!(store.delete_run(&parent, false), Err(TrackError::UnknownRun { .. })));

    // A run that never had artifacts deletes fine too.
    store.finish_run(&kids[1], RunStatus::Failed).unwrap();
    store.delete_run(&kids[1], false).unwrap();
    assert_eq!(store.runs("e").unwrap().len(), 1);
    let conn = raw(&path);
    let fk: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 0);
}

// ---- queries ---------------------------------------------------------------

#[test]
fn find_runs_filters_in_combination() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let mk = |exp: &str, name: &str, model: &str, lr: &str, tag: &str| {
        store
            .create_run(&NewRun {
                model: model.into(),
                params: pairs(&[("lr", lr), ("batch", "256")]),
                tags: pairs(&[("team", tag)]),
                ..new_run(exp, name)
            })
            .unwrap()
    };
    let a = mk("ctr", "a", "din", "0.1", "ads");
    let b = mk("ctr", "b", "lr", "0.01", "ads");
    let c = mk("ctr", "c", "din", "0.1", "feed");
    let d = mk("other", "d", "din", "0.1", "ads");
    store.finish_run(&a, RunStatus::Finished).unwrap();
    store.finish_run(&b, RunStatus::Failed).unwrap();
    store.finish_run(&d, RunStatus::Finished).unwrap();

    let ids = |f: RunFilter| -> Vec<String> {
        store.find_runs(&f).unwrap().into_iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(RunFilter::default()), [a.as_str(), b.as_str(), c.as_str(), d.as_str()]);
    let in_ctr = RunFilter {
        experiment: Some("ctr".into()),
        ..RunFilter::default()
    };
    assert_eq!(ids(in_ctr.clone()), [a.as_str(), b.as_str(), c.as_str()]);
    assert_eq!(
        ids(RunFilter {
            status: Some(RunStatus::Finished),
            ..in_ctr.clone()
        }),
        [a.as_str()]
    );
    assert_eq!(
        ids(RunFilter {
            status: Some(RunStatus::Finished),
            ..RunFilter::default()
        }),
        [a.as_str(), d.as_str()]
    );
    assert_eq!(
        ids(RunFilter {
            params: pairs(&[("lr", "0.1")]),
            ..in_ctr.clone()
        }),
        [a.as_str(), c.as_str()]
    );
    assert_eq!(
        ids(RunFilter {
            params: pairs(&[("lr", "0.1"), ("batch", "256")]),
            tags: pairs(&[("team", "ads")]),
            ..RunFilter::default()
        }),
        [a.as_str(), d.as_str()]
    );
    assert!(ids(RunFilter {
        params: pairs(&[("lr", "0.1"), ("lr", "0.01")]),
        ..RunFilter::default()
    })
    .is_empty(), "all conditions must hold");
    assert!(ids(RunFilter {
        tags: pairs(&[("team", "%")]),
        ..RunFilter::default()
    })
    .is_empty(), "values match exactly, not as patterns");
    let found = store.find_runs(&RunFilter {
        tags: pairs(&[("team", "feed")]),
        ..RunFilter::default()
    })
    .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].id.as_str(), found[0].params["lr"].as_str()), (c.as_str(), "0.1"));

    match store.find_runs(&RunFilter {
        experiment: Some("nope".into()),
        ..RunFilter::default()
    }) {
        Err(TrackError::UnknownExperiment { name, .. }) => assert_eq!(name, "nope"),
        other => panic!("expected UnknownExperiment, got {other:?}"),
    }
}

fn record(id: &str, params: &[(&str, &str)], metrics: &[(&str, f64)], tags: &[(&str, &str)]) -> RunRecord {
    RunRecord {
        id: id.into(),
        experiment: "ctr".into(),
        name: "n".into(),
        model: "din".into(),
        seed: 1,
        run_key: "k".into(),
        status: RunStatus::Finished,
        start_ms: 1,
        end_ms: Some(2),
        params: pairs(params).into_iter().collect(),
        tags: pairs(tags).into_iter().collect(),
        metrics: metrics.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect::<BTreeMap<_, _>>(),
        parent: None,
        pid: Some(1),
        host: Some("h".into()),
        heartbeat_ms: Some(2),
    }
}

#[test]
fn diff_keeps_only_what_differs() {
    let a = record("a", &[("lr", "0.1"), ("batch", "256")], &[("auc", 0.7), ("loss", 0.3)], &[("t", "x")]);
    let mut b = record("b", &[("lr", "0.01"), ("batch", "256")], &[("auc", 0.7), ("loss", 0.4)], &[("t", "x")]);
    b.seed = 2;
    let c = record("c", &[("lr", "0.1"), ("batch", "256"), ("dropout", "0.2")], &[("auc", 0.7), ("loss", 0.3)], &[("t", "x")]);

    let d = diff_runs(&[a.clone(), b.clone(), c.clone()]);
    assert_eq!(d.runs, ["a", "b", "c"]);
    assert_eq!(d.fields, [("seed".to_owned(), vec![Some("1".to_owned()), Some("2".into()), Some("1".into())])]);
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        d.params,
        [
            ("dropout".to_owned(), vec![None, None, s("0.2")]),
            ("lr".to_owned(), vec![s("0.1"), s("0.01"), s("0.1")]),
        ]
    );
    assert_eq!(d.metrics, [("loss".to_owned(), vec![Some(0.3), Some(0.4), Some(0.3)])]);
    assert!(d.tags.is_empty());
    assert!(!d.is_empty());

    assert!(diff_runs(&[a.clone(), a.clone()]).is_empty(), "identical runs do not differ");
    assert!(diff_runs(&[a.clone()]).is_empty());
    assert!(diff_runs(&[]).is_empty());
    let d = diff_runs(&[a, c]);
    assert_eq!(d.params.len(), 1, "a key missing from one run differs");
}

#[test]
fn run_id_prefixes_resolve_uniquely_or_explain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = Store::open(&path).unwrap();
    let real = store.create_run(&new_run("e", "real")).unwrap();
    let conn = raw(&path);
    let ids = [
        "abcd0001000000000000000000000000",
        "abcd0002000000000000000000000000",
        "abce0000000000000000000000000000",
    ];
    for id in ids {
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, model, seed, run_key, status, start_ms)
             SELECT ?1, experiment_id, 'x', 'lr', 0, 'k', 'FINISHED', 5 FROM runs WHERE id = ?2",
            [id, real.as_str()],
        )
        .unwrap();
    }
    drop(conn);

    assert_eq!(store.resolve_run_id(&real).unwrap(), real);
    assert_eq!(store.resolve_run_id(&real[..8]).unwrap(), real);
    assert_eq!(store.resolve_run_id("abcd0001").unwrap(), ids[0]);
    assert_eq!(store.resolve_run_id(" ABCD0002 ").unwrap(), ids[1]);
    assert_eq!(store.resolve_run_id("abce").unwrap(), ids[2]);
    match store.resolve_run_id("abcd") {
        Err(e @ TrackError::AmbiguousRunId { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(ids[0]) && msg.contains(ids[1]), "{msg}");
            assert!(!msg.contains(ids[2]), "{msg}");
            assert!(msg.contains("matches 2 runs"), "{msg}");
        }
        other => panic!("expected AmbiguousRunId, got {other:?}"),
    }
    match store.resolve_run_id("abc") {
        Err(TrackError::RunIdTooShort { min, .. }) => assert_eq!(min, attnlab_track::MIN_PREFIX),
        other => panic!("expected RunIdTooShort, got {other:?}"),
    }
    assert!(matches!(store.resolve_run_id("ffffffff"), Err(TrackError::NoRunMatches { .. })));
    assert!(
        matches!(store.resolve_run_id("abc%"), Err(TrackError::NoRunMatches { .. })),
        "no LIKE wildcards"
    );
    assert!(matches!(store.resolve_run_id("ab__"), Err(TrackError::NoRunMatches { .. })));
}

// ---- sync bookkeeping --------------------------------------------------------

#[test]
fn sync_state_round_trips_and_metrics_after_pages_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let run = store.create_run(&new_run("e", "r")).unwrap();
    let other = store.create_run(&new_run("e", "other")).unwrap();
    let target = "http://mlflow:5000#experiment=ctr";
    assert_eq!(store.sync_state(&run, target).unwrap(), None);

    let mut state = SyncState {
        run_id: run.clone(),
        target: target.into(),
        remote_run_id: "abc".into(),
        metrics_upto_id: 0,
        params_done: false,
        tags_hash: None,
        status_done: None,
    };
    store.set_sync_state(&state).unwrap();
    assert_eq!(store.sync_state(&run, target).unwrap().as_ref(), Some(&state));
    state.metrics_upto_id = 42;
    state.params_done = true;
    state.tags_hash = Some("h1".into());
    state.status_done = Some(RunStatus::Finished);
    store.set_sync_state(&state).unwrap();
    assert_eq!(store.sync_state(&run, target).unwrap().as_ref(), Some(&state));
    assert_eq!(store.sync_state(&run, "elsewhere").unwrap(), None, "per target");

    let ghost = SyncState {
        run_id: "00000000000000000000000000000000".into(),
        ..state.clone()
    };
    assert!(matches!(store.set_sync_state(&ghost), Err(TrackError::UnknownRun { .. })));
    assert!(matches!(store.sync_state(&ghost.run_id, target), Err(TrackError::UnknownRun { .. })));

    // Interleave two runs' metrics; each run's pages see only its own, in id order.
    for step in 0..5 {
        store.log_metrics(&run, &[point("a", step as f64, step), point("b", 1.0, step)]).unwrap();
        store.log_metrics(&other, &[point("a", -1.0, step)]).unwrap();
    }
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store.metrics_after(&run, after, 3).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().unwrap().0;
        seen.extend(page);
    }
    assert_eq!(seen.len(), 10);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "ids strictly increase");
    let logged: Vec<(String, i64)> = seen.iter().map(|(_, p)| (p.key.clone(), p.step)).collect();
    let expected: Vec<(String, i64)> = (0..5).flat_map(|s| [("a".to_owned(), s), ("b".to_owned(), s)]).collect();
    assert_eq!(logged, expected, "insert order");

    // Resuming after the last id pushed sees exactly what is new.
    store.log_metrics(&run, &[point("a", 9.0, 9)]).unwrap();
    let new = store.metrics_after(&run, after, 100).unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].1, point("a", 9.0, 9));
    assert!(matches!(
        store.metrics_after("00000000000000000000000000000000", 0, 1),
        Err(TrackError::UnknownRun { .. })
    ));
}

/// Large batches go in as multi-row INSERTs plus a remainder; the rows must
/// still be stored in the order given (ids follow it, and the summary's
/// last-insert tie-break depends on it).
#[test]
fn large_batches_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let run = store.create_run(&new_run("e", "r")).unwrap();
    // 203 points = several full multi-row chunks and a remainder, all at
    // one step and timestamp, so only insert order decides the summary.
    let points: Vec<MetricPoint> = (0..203)
        .map(|i| MetricPoint {
            key: if i % 2 == 0 { "a".into() } else { "b".into() },
            value: i as f64,
            step: 1,
            timestamp_ms: 5,
        })
        .collect();
    store.log_metrics(&run, &points).unwrap();
    let stored: Vec<MetricPoint> = store
        .metrics_after(&run, 0, 1_000)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    assert_eq!(stored, points);
    let rec = store.run(&run).unwrap();
    assert_eq!((rec.metrics["a"], rec.metrics["b"]), (202.0, 201.0));

    // A NaN anywhere, even in the last chunk, stores nothing of the batch.
    let mut bad = points.clone();
    bad[150].value = f64::NAN;
    assert!(matches!(store.log_metrics(&run, &bad), Err(TrackError::NonFinite { .. })));
    assert_eq!(store.metrics_after(&run, 0, 1_000).unwrap().len(), 203);
}
