//! Several real processes on one store: a writer killed with SIGKILL in the
//! middle of logging, and eight writers logging at once.
//!
//! The child processes are this test binary run again with `--exact
//! child_process --ignored`; an environment variable tells that otherwise
//! inert test which role to play.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use attnlab_track::{MetricPoint, NewRun, RunStatus, Store};

const ROLE: &str = "ATTNLAB_TRACK_TEST_ROLE";
const DB: &str = "ATTNLAB_TRACK_TEST_DB";
const WRITER: &str = "ATTNLAB_TRACK_TEST_WRITER";
const SHARED_RUN: &str = "ATTNLAB_TRACK_TEST_SHARED_RUN";
const GO_FILE: &str = "ATTNLAB_TRACK_TEST_GO_FILE";

/// Points each load writer logs, and the batch sizes it cycles through.
const LOAD_POINTS: usize = 3_000;
const LOAD_BATCHES: [usize; 7] = [1, 3, 17, 64, 250, 5, 100];
const LOAD_WRITERS: usize = 8;
/// Points per batch of the writer that gets killed.
const CRASH_BATCH: usize = 10;

fn new_run(experiment: &str, name: &str) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        model: "din".into(),
        seed: 1,
        run_key: format!("key-{name}"),
        ..NewRun::default()
    }
}

/// Reads the child's stdout until its `RUN_ID=` line.
fn read_run_id(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    BufReader::new(stdout)
        .lines()
        .map_while(|line| line.ok())
        .find_map(|line| line.strip_prefix("RUN_ID=").map(|id| id.trim().to_owned()))
}

fn spawn_child(role: &str, db: &Path, extra: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", "child_process", "--nocapture", "--ignored"])
        .env(ROLE, role)
        .env(DB, db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child test process")
}

/// The expected value of point `i` of writer `w`: distinct for every point,
/// exactly representable, so a lost or duplicated point changes the sum.
fn load_value(w: usize, i: usize) -> f64 {
    (w * LOAD_POINTS + i) as f64 + 0.25
}

/// Not a test of its own: the body of the child processes spawned by the
/// tests below. Without the role variable (e.g. under `--include-ignored`) it does nothing.
#[test]
#[ignore = "child process of the multi-process tests; does nothing when run directly"]
fn child_process() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let db = PathBuf::from(std::env::var(DB).expect("db path"));
    let result = match role.as_str() {
        "crash" => crash_writer(&db),
        "load" => load_writer(&db),
        other => panic!("unknown child role {other:?}"),
    };
    if let Err(e) = result {
        // The parent looks for this line and for "database is locked".
        panic!("child {role} failed: {e}");
    }
}

/// Creates a run, reports its id, then logs batches as fast as it can
/// (heartbeating every few batches) until killed. A safety limit ends it
/// if the parent never does.
fn crash_writer(db: &Path) -> attnlab_track::Result<()> {
    let store = Store::open(db)?;
    let run = store.create_run(&new_run("crash", "victim"))?;
    println!("RUN_ID={run}");
    // Generous: only ends a writer whose parent never kills it.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut step = 0i64;
    while Instant::now() < deadline {
        let batch: Vec<MetricPoint> = (0..CRASH_BATCH)
            .map(|_| {
                step += 1;
                MetricPoint::now("loss", 1.0 / step as f64, step - 1)
            })
            .collect();
        store.log_metrics(&run, &batch)?;
        if step % (5 * CRASH_BATCH as i64) == 0 {
            store.heartbeat(&run)?;
        }
    }
    Ok(())
}

/// One of the eight concurrent writers: waits for the go file, then logs
/// its points to the shared run in batches of varying size, creating three
/// runs of its own and setting tags along the way.
fn load_writer(db: &Path) -> attnlab_track::Result<()> {
    let w: usize = std::env::var(WRITER).expect("writer index").parse().expect("index");
    let shared = std::env::var(SHARED_RUN).expect("shared run id");
    let go = PathBuf::from(std::env::var(GO_FILE).expect("go file"));
    let store = Store::open(db)?;
    let wait_until = Instant::now() + Duration::from_secs(20);
    while !go.exists() && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(2));
    }
    let key = format!("w{w}");
    let mut own_runs = Vec::new();
    let mut i = 0usize;
    let mut batch_no = 0usize;
    while i < LOAD_POINTS {
        if batch_no % 6 == 0 && own_runs.len() < 3 {
            let mut spec = new_run("load", &format!("{key}-{}", own_runs.len()));
            spec.parent = Some(shared.clone());
            spec.params = vec![("writer".into(), w.to_string())];
            spec.tags = vec![("role".into(), "load".into())];
            own_runs.push(store.create_run(&spec)?);
        }
        let size = LOAD_BATCHES[batch_no % LOAD_BATCHES.len()].min(LOAD_POINTS - i);
        let points: Vec<MetricPoint> = (i..i + size)
            .map(|j| MetricPoint::now(key.clone(), load_value(w, j), j as i64))
            .collect();
        store.log_metrics(&shared, &points)?;
        i += size;
        batch_no += 1;
        if batch_no % 4 == 0 {
            store.set_tags(&shared, &[(format!("{key}.progress"), i.to_string())])?;
            if let Some(own) = own_runs.last() {
                store.heartbeat(own)?;
            }
        }
    }
    store.set_tags(&shared, &[(format!("{key}.progress"), i.to_string())])?;
    for own in &own_runs {
        store.log_metrics(own, &[MetricPoint::now("done", 1.0, 0)])?;
        store.finish_run(own, RunStatus::Finished)?;
    }
    Ok(())
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).expect("raw open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn killed_writer_is_reaped_and_keeps_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    drop(Store::open(&db).unwrap());
    let mut child = spawn_child("crash", &db, &[]);

    let Some(run_id) = read_run_id(&mut child) else {
        let out = child.wait_with_output().expect("child output");
        panic!("child never reported a run id: {}", describe(&out));
    };

    // Wait until it has written a good amount, then kill it mid-stream. No
    // deadline here: on a loaded machine the writer is only slower, and it
    // ends itself (the test then fails below) if it can never get there.
    let store = Store::open(&db).unwrap();
    let before_kill = loop {
        let n = store.metric_history(&run_id, "loss").unwrap().len();
        if n >= 2_000 {
            break n;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("writer exited with {status} after {n} points");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(store.run(&run_id).unwrap().status == RunStatus::Running);
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "killed, not finished: {status}");
    drop(store);

    let store = Store::open(&db).unwrap();
    assert_eq!(store.run(&run_id).unwrap().status, RunStatus::Running, "nobody finished it");
    let reaped = store.reap_dead_runs(None).unwrap();
    assert_eq!(reaped, [run_id.clone()]);
    let rec = store.run(&run_id).unwrap();
    assert_eq!(rec.status, RunStatus::Killed);
    let heartbeat = rec.heartbeat_ms.expect("heartbeat recorded");
    assert_eq!(rec.end_ms, Some(heartbeat), "ends at its last sign of life");
    assert!(heartbeat >= rec.start_ms);
    assert_eq!(rec.pid, Some(i64::from(child.id())));

    let history = store.metric_history(&run_id, "loss").unwrap();
    assert!(history.len() >= before_kill, "{} < {before_kill}", history.len());
    assert_eq!(history.len() % CRASH_BATCH, 0, "a batch is all or nothing");
    let steps: Vec<i64> = history.iter().map(|p| p.step).collect();
    assert_eq!(steps, (0..history.len() as i64).collect::<Vec<_>>());
    assert_eq!(rec.metrics["loss"], 1.0 / history.len() as f64);

    // Reaping again finds nothing; the store is sound.
    assert!(store.reap_dead_runs(None).unwrap().is_empty());
    drop(store);
    integrity_ok(&db);
}

#[test]
fn eight_writer_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let go = dir.path().join("go");
    let shared = Store::open(&db)
        .unwrap()
        .create_run(&new_run("load", "shared"))
        .unwrap();

    let started = Instant::now();
    let children: Vec<Child> = (0..LOAD_WRITERS)
        .map(|w| {
            spawn_child(
                "load",
                &db,
                &[
                    (WRITER, w.to_string()),
                    (SHARED_RUN, shared.clone()),
                    (GO_FILE, go.display().to_string()),
                ],
            )
        })
        .collect();
    std::fs::write(&go, b"go").unwrap();
    for child in children {
        let out = child.wait_with_output().expect("child output");
        let text = describe(&out);
        assert!(!text.contains("database is locked"), "{text}");
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child test really ran: {text}");
    }
    let elapsed = started.elapsed();

    let store = Store::open(&db).unwrap();
    let rec = store.run(&shared).unwrap();
    for w in 0..LOAD_WRITERS {
        let key = format!("w{w}");
        let history = store.metric_history(&shared, &key).unwrap();
        assert_eq!(history.len(), LOAD_POINTS, "{key}");
        let steps: Vec<i64> = history.iter().map(|p| p.step).collect();
        assert_eq!(steps, (0..LOAD_POINTS as i64).collect::<Vec<_>>(), "{key}");
        let sum: f64 = history.iter().map(|p| p.value).sum();
        let expected: f64 = (0..LOAD_POINTS).map(|i| load_value(w, i)).sum();
        assert_eq!(sum, expected, "{key} checksum");
        let bits = history
            .iter()
            .fold(0u64, |acc, p| acc.wrapping_mul(31).wrapping_add(p.value.to_bits()));
        let expected_bits = (0..LOAD_POINTS)
            .fold(0u64, |acc, i| acc.wrapping_mul(31).wrapping_add(load_value(w, i).to_bits()));
        assert_eq!(bits, expected_bits, "{key} ordered checksum");
        assert_eq!(rec.tags[&format!("{key}.progress")], LOAD_POINTS.to_string());
    }
    let all = store.runs("load").unwrap();
    assert_eq!(all.len(), 1 + 3 * LOAD_WRITERS);
    let children: Vec<_> = all.iter().filter(|r| r.parent.as_deref() == Some(shared.as_str())).collect();
    assert_eq!(children.len(), 3 * LOAD_WRITERS);
    assert!(children.iter().all(|r| r.status == RunStatus::Finished && r.metrics["done"] == 1.0));
    let total = store.metrics_after(&shared, 0, usize::MAX).unwrap().len();
    assert_eq!(total, LOAD_WRITERS * LOAD_POINTS);
    drop(store);
    integrity_ok(&db);
    eprintln!("{LOAD_WRITERS} writer processes x {LOAD_POINTS} points: {elapsed:?}");
}

#[test]
fn a_run_whose_writer_is_alive_is_not_deleted_until_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    drop(Store::open(&db).unwrap());
    let mut child = spawn_child("crash", &db, &[]);
    let Some(run_id) = read_run_id(&mut child) else {
        let out = child.wait_with_output().expect("child output");
        panic!("child never reported a run id: {}", describe(&out));
    };
    let store = Store::open(&db).unwrap();
    match store.delete_run(&run_id, false) {
        Err(attnlab_track::TrackError::RunInUse { id, owner, .. }) => {
            assert_eq!(id, run_id);
            assert!(owner.starts_with(&format!("pid {} on host ", child.id())), "{owner}");
        }
        other => panic!("deleting a live writer's run: {other:?}"),
    }
    assert_eq!(store.run(&run_id).unwrap().status, RunStatus::Running, "still there");
    assert!(child.try_wait().unwrap().is_none(), "the writer keeps logging");

    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reap the child");
    // its writer is gone: no --force needed
    store.delete_run(&run_id, false).unwrap();
    assert!(matches!(store.run(&run_id), Err(attnlab_track::TrackError::UnknownRun { .. })));
}

#[test]
fn force_deletes_a_run_whose_writer_is_alive() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    // written by this (living) test process
    let run = store.create_run(&new_run("e", "stuck")).unwrap();
    assert!(matches!(
        store.delete_run(&run, false),
        Err(attnlab_track::TrackError::RunInUse { .. })
    ));
    store.delete_run(&run, true).unwrap();
    assert!(store.runs("e").unwrap().is_empty());
}
