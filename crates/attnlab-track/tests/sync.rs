//! `sync_to_mlflow` against a real `mlflow server` (harness in `common/`):
//! everything arrives exactly once, a re-sync sends only what is new, a
//! server that is down stops the sync cleanly, and interrupted syncs resume
//! without duplicate runs or points. A small proxy in front of the server
//! drops the answer to a chosen request and records what was sent.


use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attnlab_track::mlflow::{MAX_PARAM_VALUE_LEN, MlflowClient, RetryPolicy, digest_tag};
use attnlab_track::sync::{RUN_ID_TAG, pending_target, remote_key, sync_target};
use attnlab_track::{
    MetricPoint, NewRun, RunFilter, RunStatus, Store, SyncError, SyncReport, SyncState,
    sync_to_mlflow,
};
use attnlab_testkit::mlflow_server::{Server, client, free_port, now_ms, shared, unique};
use serde_json::Value;

// ---------------------------------------------------------------- fixture

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    experiment: String,
    parent: String,
    child: String,
    other: String,
}

fn points(key: &str, n: i64, t0: i64, offset: f64) -> Vec<MetricPoint> {
    (0..n)
        .map(|step| MetricPoint {
            key: key.to_owned(),
            value: offset + step as f64 / 7.0,
            step,
            timestamp_ms: t0 + step,
        })
        .collect()
}

/// Three runs, 2,500 points: a FINISHED parent (no metrics), its FINISHED
/// child (1,500 points over three keys, one of them not a valid MLflow key;
/// a param too long for MLflow) and a RUNNING top-level run (1,000 points).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("runs.db")).unwrap();
    let experiment = unique("sync");
    let new = |name: &str, parent: Option<&String>| NewRun {
        experiment: experiment.clone(),
        name: name.into(),
        model: "din".into(),
        seed: 7,
        run_key: format!("key-{name}"),
        params: vec![
            ("lr".into(), "0.001".into()),
            ("model/embed_dim".into(), "16".into()),
            ("batch size".into(), "256".into()),
        ],
        tags: vec![
            ("stage".into(), name.into()),
            ("note@x".into(), "odd key".into()),
        ],
        parent: parent.cloned(),
    };
    let parent = store.create_run(&new("sweep", None)).unwrap();
    let mut child_spec = new("din-s7", Some(&parent));
    child_spec
        .params
        .push(("spec/yaml".into(), "y".repeat(MAX_PARAM_VALUE_LEN + 1234)));
    let child = store.create_run(&child_spec).unwrap();
    let other = store.create_run(&new("lr-s7", None)).unwrap();
    let t0 = now_ms() - 100_000;
    for (run, key, n, off) in [
        (&child, "train.loss", 800, 1.0),
        (&child, "valid.auc", 400, 2.0),
        (&child, "auc@10", 300, 3.0),
        (&other, "train.loss", 700, 4.0),
        (&other, "valid.auc", 300, 5.0),
    ] {
        store.log_metrics(run, &points(key, n, t0, off)).unwrap();
    }
    store.finish_run(&child, RunStatus::Finished).unwrap();
    store.finish_run(&parent, RunStatus::Finished).unwrap();
    Fixture {
        _dir: dir,
        store,
        experiment,
        parent,
        child,
        other,
    }
}

impl Fixture {
    fn filter(&self) -> RunFilter {
        RunFilter {
            experiment: Some(self.experiment.clone()),
            ..RunFilter::default()
        }
    }

    fn sync(&self, c: &MlflowClient) -> Result<SyncReport, SyncError> {
        sync_to_mlflow(&self.store, c, &self.filter(), None)
    }

    fn runs(&self) -> [&String; 3] {
        [&self.parent, &self.child, &self.other]
    }
}

fn quick(uri: &str) -> MlflowClient {
    MlflowClient::new(uri)
        .unwrap()
        .with_token(None)
        .with_retry(RetryPolicy::new(
            2,
            Duration::from_millis(50),
            Duration::from_millis(100),
        ))
}

fn pairs(run: &Value, field: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in run
        .pointer(&format!("/data/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.entry(e["key"].as_str().unwrap().to_owned())
            .or_default()
            .push(e["value"].as_str().unwrap_or_default().to_owned());
    }
    out
}

/// Checks the server holds exactly the store's runs, each once, with every
/// param, tag and point exactly once, status, end time and parent. Returns
/// the remote id of each local run.
fn assert_mirrored(f: &Fixture, c: &MlflowClient) -> BTreeMap<String, String> {
    let exp = c.get_or_create_experiment(&f.experiment).unwrap();
    let remote_runs = c.search_runs(&exp, None).unwrap();
    let local = f.store.runs(&f.experiment).unwrap();
    assert_eq!(
        remote_runs.len(),
        local.len(),
        "one remote run per local run"
    );
    let mut ids = BTreeMap::new();
    for run in &local {
        let found = c
            .search_runs(&exp, Some(&format!("tags.`{RUN_ID_TAG}` = '{}'", run.id)))
            .unwrap();
        assert_eq!(found.len(), 1, "run {}", run.name);
        ids.insert(
            run.id.clone(),
            found[0]["info"]["run_id"].as_str().unwrap().to_owned(),
        );
    }
    for run in &local {
        let remote = c.get_run(&ids[&run.id]).unwrap();
        let info = &remote["info"];
        assert_eq!(info["status"], run.status.as_str(), "{}", run.name);
        assert_eq!(info["run_name"], run.name.as_str());
        assert_eq!(info["start_time"].as_i64(), Some(run.start_ms));
        if run.status != RunStatus::Running {
            assert_eq!(info["end_time"].as_i64(), run.end_ms, "{}", run.name);
        }
        // Params: every one, once, cut to MLflow's limit.
        let params = pairs(&remote, "params");
        assert_eq!(params.len(), run.params.len(), "{}", run.name);
        for (k, v) in &run.params {
            let want: String = v.chars().take(MAX_PARAM_VALUE_LEN).collect();
            assert_eq!(params.get(&remote_key(k)), Some(&vec![want]), "param {k}");
        }
        // Tags: local ones under their remote keys, identity, parent.
        let tags = pairs(&remote, "tags");
        for (k, v) in &run.tags {
            assert_eq!(tags.get(&remote_key(k)), Some(&vec![v.clone()]), "tag {k}");
        }
        assert_eq!(tags[RUN_ID_TAG], vec![run.id.clone()]);
        assert_eq!(tags["attnlab.run_key"], vec![run.run_key.clone()]);
        assert_eq!(tags["mlflow.runName"], vec![run.name.clone()]);
        assert_eq!(
            tags.get("mlflow.parentRunId"),
            run.parent.as_ref().map(|p| vec![ids[p].clone()]).as_ref(),
            "parent tag of {}",
            run.name
        );
        // Metrics: every point exactly once.
        let keys = f.store.metric_keys(&run.id).unwrap();
        let remote_keys: Vec<String> = remote
            .pointer("/data/metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| m["key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            remote_keys.len(),
            keys.len(),
            "{}: {remote_keys:?}",
            run.name
        );
        for key in keys {
            let mut want: Vec<(i64, i64, u64)> = f
                .store
                .metric_history(&run.id, &key)
                .unwrap()
                .iter()
                .map(|p| (p.step, p.timestamp_ms, p.value.to_bits()))
                .collect();
            let mut got: Vec<(i64, i64, u64)> = c
                .metric_history(&ids[&run.id], &remote_key(&key))
                .unwrap()
                .iter()
                .map(|m| (m.step, m.timestamp_ms, m.value.to_bits()))
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got.len(), want.len(), "points of {key} in {}", run.name);
            assert_eq!(got, want, "points of {key} in {}", run.name);
        }
    }
    ids
}

fn nothing_sent(skipped: usize) -> SyncReport {
    SyncReport {
        runs_skipped_up_to_date: skipped,
        ..SyncReport::default()
    }
}

// ---------------------------------------------------------------- proxy

/// A one-request-per-connection HTTP proxy to a local server. It records
/// every request (path, JSON body) and can swallow the answer to the n-th
/// request to one endpoint after the server applied it, as a lost
/// connection would.
struct Proxy {
    port: u16,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    /// (endpoint, n): drop the answer to the n-th request whose path ends so.
    drop_answer: Arc<Mutex<(String, usize)>>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let p = Proxy {
            port,
            requests: Arc::default(),
            drop_answer: Arc::default(),
        };
        let (requests, drop_answer) = (p.requests.clone(), p.drop_answer.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(s) = conn else { continue };
                let (requests, drop_answer) = (requests.clone(), drop_answer.clone());
                std::thread::spawn(move || {
                    let _ = relay(s, upstream, &requests, &drop_answer);
                });
            }
        });
        p
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Metric points carried by the recorded log-batch requests.
    fn metrics_sent(&self) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.contains("runs/log-batch"))
            .map(|(_, b)| b["metrics"].as_array().map_or(0, Vec::len))
            .sum()
    }

    fn count(&self, endpoint: &str) -> usize {
        let r = self.requests.lock().unwrap();
        r.iter().filter(|(p, _)| p.contains(endpoint)).count()
    }

    /// Drops the answer to the `n`-th request to `endpoint` from now on (once).
    fn drop_answer(&self, endpoint: &str, n: usize) {
        *self.drop_answer.lock().unwrap() = (endpoint.to_owned(), n + self.count(endpoint));
    }

    fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

/// `head` without its Connection header, asking for `Connection: close`.
fn close_after(head: &str) -> String {
    let mut out: String = head
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn relay(
    client: TcpStream,
    upstream: u16,
    requests: &Mutex<Vec<(String, Value)>>,
    drop_answer: &Mutex<(String, usize)>,
) -> std::io::Result<()> {
    let mut r = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0usize);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let drop_it = {
        // Counted under the lock, so concurrent requests number consistently.
        let mut reqs = requests.lock().unwrap();
        reqs.push((path.clone(), json));
        let mut rule = drop_answer.lock().unwrap();
        let hit = !rule.0.is_empty()
            && path.ends_with(&rule.0)
            && reqs.iter().filter(|(p, _)| p.ends_with(&rule.0)).count() == rule.1;
        if hit {
            *rule = (String::new(), 0);
        }
        hit
    };

    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(close_after(&head).as_bytes())?;
    up.write_all(&body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;

    if drop_it {
        // Applied by the server; the answer is lost.
        let _ = client.shutdown(Shutdown::Both);
        return Ok(());
    }
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(resp.len());
    let resp_head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let mut c = client;
    c.write_all(close_after(&resp_head).as_bytes())?;
    c.write_all(resp.get(split + 4..).unwrap_or(&[]))?;
    c.flush()
}

// ---------------------------------------------------------------- tests

#[test]
fn sync_sends_every_param_tag_and_point_exactly_once() {
    let f = fixture();
    let c = client();
    let report = f.sync(&c).unwrap();
    assert_eq!(
        report,
        SyncReport {
            runs_created: 3,
            runs_updated: 0,
            metrics_sent: 2500,
            params_sent: 10,
            // 3 runs x (2 local + model, seed, experiment, run_id, run_key, runName)
            // + parentRunId + the digest of the long param.
            tags_sent: 3 * 8 + 1 + 1,
            runs_skipped_up_to_date: 0,
            failures: vec![],
        }
    );
    let ids = assert_mirrored(&f, &c);

    // The long param: cut on the server, whole in the store, digest beside it.
    let full = "y".repeat(MAX_PARAM_VALUE_LEN + 1234);
    let art = f
        .store
        .artifact_path(&f.child, "mlflow/params/spec/yaml.txt")
        .unwrap();
    assert_eq!(std::fs::read_to_string(art).unwrap(), full);
    let tags = pairs(&c.get_run(&ids[&f.child]).unwrap(), "tags");
    let (k, v) = digest_tag("spec/yaml", &full);
    assert_eq!(tags.get(&k), Some(&vec![v]));

    // The sync state says everything was pushed.
    let target = sync_target(&c, &f.experiment);
    assert_eq!(target, format!("{}#{}", shared().uri(), f.experiment));
    let st = f.store.sync_state(&f.child, &target).unwrap().unwrap();
    assert_eq!(st.remote_run_id, ids[&f.child]);
    assert!(st.params_done && st.tags_hash.is_some());
    assert_eq!(st.status_done, Some(RunStatus::Finished));
    let last = f.store.metrics_after(&f.child, 0, 10_000).unwrap();
    assert_eq!(st.metrics_upto_id, last.last().unwrap().0);
}

#[test]
fn resync_sends_nothing_then_exactly_what_is_new() {
    let f = fixture();
    let c = client();
    f.sync(&c).unwrap();
    let before = assert_mirrored(&f, &c);

    assert_eq!(f.sync(&c).unwrap(), nothing_sent(3));
    assert_eq!(assert_mirrored(&f, &c), before, "histories unchanged");

    // 100 more points on the running run, which then finishes.
    let t0 = now_ms();
    let mut more = points("train.loss", 60, t0, 9.0);
    more.extend(points("test.auc", 40, t0, 8.0));
    for p in &mut more {
        p.step += 10_000;
    }
    f.store.log_metrics(&f.other, &more).unwrap();
    f.store.finish_run(&f.other, RunStatus::Finished).unwrap();
    let report = f.sync(&c).unwrap();
    assert_eq!(
        report,
        SyncReport {
            runs_updated: 1,
            metrics_sent: 100,
            runs_skipped_up_to_date: 2,
            ..SyncReport::default()
        }
    );
    let after = assert_mirrored(&f, &c);
    assert_eq!(after, before);
    let info = &c.get_run(&after[&f.other]).unwrap()["info"];
    assert_eq!(info["status"], "FINISHED");
    assert!(info["end_time"].as_i64().is_some());

    // A changed tag goes out on its own.
    f.store
        .set_tags(&f.parent, &[("stage".into(), "done".into())])
        .unwrap();
    let report = f.sync(&c).unwrap();
    assert_eq!((report.runs_updated, report.metrics_sent), (1, 0));
    assert!(report.tags_sent > 0);
    assert_mirrored(&f, &c);
    assert_eq!(f.sync(&c).unwrap(), nothing_sent(3));
}

#[test]
fn server_down_stops_cleanly_and_a_later_sync_completes() {
    let f = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let c = quick(&uri);

    let err = f.sync(&c).unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, SyncError::Unreachable { .. }), "{err:?}");
    assert!(shown.contains(&uri), "{shown}");
    assert!(shown.to_lowercase().contains("connect"), "{shown}");
    let target = sync_target(&c, &f.experiment);
    for run in f.runs() {
        assert_eq!(f.store.sync_state(run, &target).unwrap(), None);
    }

    let _server = Server::start_in(tmp.path(), port);
    let report = f.sync(&c).unwrap();
    assert_eq!((report.runs_created, report.metrics_sent), (3, 2500));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_mirrored(&f, &c);
    assert_eq!(f.sync(&c).unwrap(), nothing_sent(3));
}

#[test]
fn run_created_before_a_crash_is_found_again_not_created_twice() {
    let f = fixture();
    let c = client();
    // A sync created the child's remote run and died before recording it.
    let exp = c.get_or_create_experiment(&f.experiment).unwrap();
    let start = f.store.run(&f.child).unwrap().start_ms;
    let orphan = c
        .create_run(
            &exp,
            "din-s7",
            start,
            &[(RUN_ID_TAG.into(), f.child.clone())],
        )
        .unwrap();
    let report = f.sync(&c).unwrap();
    assert_eq!((report.runs_created, report.runs_updated), (2, 1));
    assert_eq!(report.metrics_sent, 2500);
    let ids = assert_mirrored(&f, &c);
    assert_eq!(ids[&f.child], orphan);
}

#[test]
fn hand_set_state_resumes_without_duplicates_and_bad_runs_do_not_stop_others() {
    let f = fixture();
    let c = client();
    let target = sync_target(&c, &f.experiment);
    // Interrupted after creating the child's run, before any metrics.
    let exp = c.get_or_create_experiment(&f.experiment).unwrap();
    let start = f.store.run(&f.child).unwrap().start_ms;
    let remote = c
        .create_run(
            &exp,
            "din-s7",
            start,
            &[(RUN_ID_TAG.into(), f.child.clone())],
        )
        .unwrap();
    let state = SyncState {
        run_id: f.child.clone(),
        target: target.clone(),
        remote_run_id: remote.clone(),
        metrics_upto_id: 0,
        params_done: false,
        tags_hash: None,
        status_done: Some(RunStatus::Running),
    };
    f.store.set_sync_state(&state).unwrap();
    // The other run points at a remote run that does not exist: its own
    // failure, the rest goes on.
    let bogus = "0123456789abcdef0123456789abcdef";
    f.store
        .set_sync_state(&SyncState {
            run_id: f.other.clone(),
            remote_run_id: bogus.into(),
            ..state.clone()
        })
        .unwrap();
    let report = f.sync(&c).unwrap();
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].0, f.other);
    assert!(
        report.failures[0].1.contains(bogus),
        "{:?}",
        report.failures
    );
    assert_eq!((report.runs_created, report.metrics_sent), (1, 1500));

    // Repaired by hand: `other` gets a fresh remote run recorded as created.
    let fresh = c
        .create_run(
            &exp,
            "lr-s7",
            f.store.run(&f.other).unwrap().start_ms,
            &[(RUN_ID_TAG.into(), f.other.clone())],
        )
        .unwrap();
    f.store
        .set_sync_state(&SyncState {
            run_id: f.other.clone(),
            target: target.clone(),
            remote_run_id: fresh.clone(),
            metrics_upto_id: 0,
            params_done: false,
            tags_hash: None,
            status_done: None,
        })
        .unwrap();
    let report = f.sync(&c).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.metrics_sent, 1000);
    let ids = assert_mirrored(&f, &c);
    assert_eq!(
        (ids[&f.child].as_str(), ids[&f.other].as_str()),
        (remote.as_str(), fresh.as_str())
    );
    assert_eq!(f.sync(&c).unwrap(), nothing_sent(3));
}

#[test]
fn lost_answer_to_a_metrics_batch_is_checked_not_resent() {
    let f = fixture();
    let proxy = Proxy::start(shared().port);
    let c = quick(&proxy.uri());
    let target = sync_target(&c, &f.experiment);
    // Top-level runs go first (parent, other), children after them.
    // log-batch calls: parent params, parent tags, other's params, other's
    // tags, then other's 1,000 points: their answer is lost.
    proxy.drop_answer("runs/log-batch", 5);
    let err = f.sync(&c).unwrap_err();
    assert!(matches!(err, SyncError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains(&proxy.uri()), "{err}");
    let report = err.report().unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].0, f.other);
    assert!(
        report.failures[0].1.contains("may have applied"),
        "{report:?}"
    );
    let st = f.store.sync_state(&f.other, &target).unwrap().unwrap();
    assert_eq!(st.metrics_upto_id, 0, "nothing unconfirmed is recorded");
    let pending = f
        .store
        .sync_state(&f.other, &pending_target(&target))
        .unwrap()
        .unwrap();
    let ids = f.store.metrics_after(&f.other, 0, 1000).unwrap();
    assert_eq!(pending.metrics_upto_id, ids.last().unwrap().0);
    assert_eq!(proxy.metrics_sent(), 1000);

    // Next sync: the server is found to hold the batch, so only the other
    // 1,500 points travel (the SQL store would hide a resend, so count on the wire).
    proxy.clear();
    let report = f.sync(&c).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.runs_created, 1);
    assert_eq!(report.metrics_sent, 1500 + 1000, "found + sent");
    assert_eq!(proxy.metrics_sent(), 1500);
    assert_eq!(proxy.count("runs/create"), 1);
    assert_mirrored(&f, &c);
    let pending = f
        .store
        .sync_state(&f.other, &pending_target(&target))
        .unwrap()
        .unwrap();
    assert_eq!(pending.metrics_upto_id, 0);

    proxy.clear();
    assert_eq!(f.sync(&c).unwrap(), nothing_sent(3));
    assert_eq!(
        proxy.count("runs/log-batch") + proxy.count("runs/create"),
        0
    );
}

#[test]
fn lost_answer_to_run_creation_is_checked_not_created_twice() {
    let f = fixture();
    let proxy = Proxy::start(shared().port);
    let c = quick(&proxy.uri());
    // The server creates the child's run, the answer is lost: the sync
    // looks for it by its attnlab.run_id tag and carries on with it.
    proxy.drop_answer("runs/create", 2);
    let report = f.sync(&c).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!((report.runs_created, report.runs_updated), (2, 1));
    assert_eq!(report.metrics_sent, 2500);
    assert_eq!(proxy.count("runs/create"), 3);
    assert_mirrored(&f, &c);
}

#[test]
fn lost_answer_to_a_params_batch_is_resent_harmlessly() {
    let f = fixture();
    let proxy = Proxy::start(shared().port);
    let c = quick(&proxy.uri());
    proxy.drop_answer("runs/log-batch", 1);
    let err = f.sync(&c).unwrap_err();
    assert!(matches!(err, SyncError::Unreachable { .. }), "{err:?}");
    // Params are idempotent on the server: sent again, nothing doubles.
    let report = f.sync(&c).unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!((report.runs_created, report.runs_updated), (2, 1));
    assert_eq!(report.metrics_sent, 2500);
    assert_mirrored(&f, &c);
}

/// A server that accepts connections and never answers: every connection
/// is held open until the test ends.
fn silent_server() -> (u16, Arc<Mutex<Vec<TcpStream>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            keep.lock().unwrap().push(stream);
        }
    });
    (port, held)
}

/// Against a server that never answers, a sync with a budget stops after
/// about that budget (it took 5 attempts x 60 s before), says why, and
/// records nothing as sent: the next sync to a live server sends it all.
#[test]
fn a_silent_server_costs_the_budget_and_the_next_sync_sends_everything() {
    let f = fixture();
    let (port, held) = silent_server();
    let silent = MlflowClient::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_token(None)
        .with_budget(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let err = sync_to_mlflow(&f.store, &silent, &RunFilter::default(), None).unwrap_err();
    let took = started.elapsed();
    // generous against a loaded machine; without a budget it was 300 s
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let SyncError::Unreachable { source, .. } = &err else {
        panic!("{err:?}")
    };
    let message = source.to_string();
    assert!(message.contains("time budget of 3s is spent"), "{message}");
    assert!(!held.lock().unwrap().is_empty(), "the silent server was really asked");
    let target = sync_target(&silent, &f.experiment);
    for run in [&f.parent, &f.child, &f.other] {
        assert_eq!(f.store.sync_state(run, &target).unwrap(), None, "nothing recorded as sent");
    }

    let report = sync_to_mlflow(&f.store, &client(), &RunFilter::default(), None).unwrap();
    assert_eq!(report.runs_created, 3, "{report:?}");
    assert_eq!(report.metrics_sent, 2_500, "{report:?}");
}
