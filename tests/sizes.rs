//! Sizes a spec can set are checked against the machine (or `--max-memory`)
//! before anything is allocated; what libtorch still refuses fails the run,
//! never the process.

use rusqlite::Connection;

use crate::util::{quickstart, Scratch};

fn statuses(s: &Scratch) -> Vec<(String, String, Option<String>)> {
    let db = Connection::open(s.db()).unwrap();
    db.prepare("SELECT r.name, r.status, (SELECT value FROM tags t WHERE t.run_id = r.id AND t.key = 'error') FROM runs r ORDER BY r.name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn sizes_beyond_the_machine_exit_2_naming_the_key_before_anything_runs() {
    let s = Scratch::new();
    let q = quickstart();
    for (args, key, what) in [
        (&["validate", q.as_str(), "models.1.params.embed_dim=100000000"][..], "models[1].params.embed_dim: 100000000 needs ~", "parameters"),
        (&["run", q.as_str(), "models.1.params.embed_dim=100000000"], "models[1].params.embed_dim: 100000000 needs ~", "parameters"),
        (&["data", "stats", q.as_str(), "dataset.simulator.users=100000000000"], "dataset.simulator.users: 100000000000 needs ~", "simulated impressions"),
        (&["validate", q.as_str(), "dataset.simulator.users=100000000000"], "dataset.simulator.users: 100000000000 needs ~", "simulated impressions"),
        (&["run", q.as_str(), "protocol.history_len=100000000"], "protocol.history_len: 100000000 needs ~", "histories"),
    ] {
        let r = s.attnlab(args);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        let err = r.stderr();
        assert!(err.contains(key) && err.contains(what) && err.contains("; this machine has "), "{args:?}: {err}");
    }
    assert!(!s.db().exists(), "nothing was run, no store was even created");
    // a budget the user sets is the one checked, and named
    let r = s.attnlab(&["validate", q.as_str(), "--max-memory", "1M"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("dataset.simulator.users: 1500 needs ~") && r.stderr().contains("--max-memory allows 1.0 MB"), "{}", r.stderr());
    let r = s.attnlab(&["validate", q.as_str(), "--max-memory", "lots"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    s.attnlab(&["validate", q.as_str(), "--max-memory", "2G"]).ok();
}

#[test]
fn an_allocation_libtorch_refuses_fails_the_run_not_the_process() {
    let s = Scratch::new();
    let q = quickstart();
    // past the size check (a budget of 1 PB), into libtorch's allocator: 10^10 x 200 floats
    let r = s.attnlab(&[
        "run",
        q.as_str(),
        "--max-memory",
        "1024T",
        "models.1.params.embed_dim=10000000000",
        "dataset.simulator.users=200",
        "train.epochs=1",
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let runs = statuses(&s);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[1].0.as_str(), runs[1].1.as_str()), ("lr", "FINISHED"), "the other model still ran: {runs:?}");
    let (name, status, error) = &runs[0];
    assert_eq!((name.as_str(), status.as_str()), ("din", "FAILED"), "{runs:?}");
    let error = error.as_deref().unwrap_or("");
    assert!(error.starts_with("libtorch failed: ") && error.contains("can't allocate memory"), "{error}");
    assert!(!error.contains("frame #"), "the error is one line, not libtorch's stack: {error}");
}
