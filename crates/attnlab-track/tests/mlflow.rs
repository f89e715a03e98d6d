//! The MLflow client against a real `mlflow server` (from `.venv-mlflow`, see
//! scripts/bootstrap-mlflow.sh; the harness is in `common/`) and, for the
//! wire-level checks (headers, attempt counts), against tiny HTTP listeners
//! on real local sockets.


use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attnlab_track::mlflow::{
    MAX_PARAM_VALUE_LEN, MlflowClient, MlflowError, RemoteMetric, RetryPolicy, TOKEN_ENV,
    digest_tag, fit_param, sanitize_key,
};
use attnlab_testkit::mlflow_server::{Server, client, free_port, now_ms, shared, unique};
use serde_json::Value;

// ---------------------------------------------------------------- helpers
fn kv(prefix: &str, n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("{prefix}{i:03}"), format!("value {prefix} {i}")))
        .collect()
}

/// `data.params` / `data.tags` of a run as key -> every value seen.
fn entries(run: &Value, field: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in run
        .pointer(&format!("/data/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let k = e["key"].as_str().unwrap().to_owned();
        out.entry(k)
            .or_default()
            .push(e["value"].as_str().unwrap_or_default().to_owned());
    }
    out
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn sorted(mut v: Vec<RemoteMetric>) -> Vec<RemoteMetric> {
    v.sort_by_key(|m| (m.key.clone(), m.step, m.timestamp_ms));
    v
}

fn assert_same_points(got: Vec<RemoteMetric>, want: &[RemoteMetric]) {
    let (got, want) = (sorted(got), sorted(want.to_vec()));
    assert_eq!(got.len(), want.len(), "number of points");
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.key == w.key
                && g.step == w.step
                && g.timestamp_ms == w.timestamp_ms
                && same_value(g.value, w.value),
            "got {g:?}, want {w:?}"
        );
    }
}

// ---------------------------------------------------------------- real server

#[test]
fn get_or_create_is_idempotent_race_free_and_restores_deleted() {
    let c = client();
    let name = unique("exp");
    let id = c.get_or_create_experiment(&name).unwrap();
    assert_eq!(c.get_or_create_experiment(&name).unwrap(), id);

    // Concurrent creators of a new name all get the one experiment.
    let racing = unique("race");
    let ids: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| client().get_or_create_experiment(&racing).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");

    c.delete_experiment(&id).unwrap();
    assert_eq!(c.get_experiment(&id).unwrap()["lifecycle_stage"], "deleted");
    assert_eq!(
        c.get_or_create_experiment(&name).unwrap(),
        id,
        "a deleted experiment is restored, not recreated"
    );
    assert_eq!(c.get_experiment(&id).unwrap()["lifecycle_stage"], "active");
    assert_eq!(c.get_experiment(&id).unwrap()["name"], name.as_str());
}

#[test]
fn big_batch_is_chunked_and_read_back_exactly_once() {
    let c = client().with_page_size(700); // history comes back in several pages
    let exp = c.get_or_create_experiment(&unique("batch")).unwrap();
    let t0 = now_ms();
    let run = c
        .create_run(&exp, "big", t0, &[("origin".into(), "test".into())])
        .unwrap();

    let mut metrics = Vec::new();
    for (k, key) in ["train/loss", "val/auc"].iter().enumerate() {
        for step in 0..1200 {
            let value = (step as f64 + 0.1) / (k as f64 + 3.0);
            metrics.push(RemoteMetric {
                key: key.to_string(),
                value,
                step,
                timestamp_ms: t0 + step,
            });
        }
    }
    let specials = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        2.5e-310,
        1e-300,
        0.1 + 0.2,
        -123.456e-7,
    ];
    for step in 0..100 {
        let value = specials[step as usize % specials.len()];
        metrics.push(RemoteMetric {
            key: "odd values".into(),
            value,
            step,
            timestamp_ms: t0 + step,
        });
    }
    assert_eq!(metrics.len(), 2500);

    let mut params = kv("p", 150);
    let (long_key, long_value, full) =
        fit_param("long/param", &"z".repeat(MAX_PARAM_VALUE_LEN + 500));
    assert_eq!(long_value.chars().count(), MAX_PARAM_VALUE_LEN);
    params.push((long_key.clone(), long_value.clone()));
    let mut tags = kv("t", 119);
    tags.push(digest_tag(&long_key, full.as_deref().unwrap()));
    assert_eq!((params.len(), tags.len()), (151, 120));

    c.log_batch(&run, &metrics, &params, &tags).unwrap();

    let got = c.get_run(&run).unwrap();
    let got_params = entries(&got, "params");
    assert_eq!(got_params.len(), params.len());
    for (k, v) in &params {
        assert_eq!(got_params.get(k), Some(&vec![v.clone()]), "param {k}");
    }
    let got_tags = entries(&got, "tags");
    for (k, v) in &tags {
        assert_eq!(got_tags.get(k), Some(&vec![v.clone()]), "tag {k}");
    }
    assert_eq!(got_tags.get("origin"), Some(&vec!["test".to_owned()]));
    assert_eq!(
        got_tags.get("long/param.blake3").map(|v| v[0].len()),
        Some(64)
    );

    let mut all = Vec::new();
    for key in ["train/loss", "val/auc", "odd values"] {
        all.extend(c.metric_history(&run, key).unwrap());
    }
    // The client sends "NaN", "Infinity", "-Infinity" and the server accepts
    // them; NaN comes back as "NaN", but MLflow's SQL store keeps +-inf as
    // +-f64::MAX (SqlAlchemyStore.sanitize_metric_value: "Sql can not
    // represent Infs"), so that is what a SQL-backed server returns.
    let stored: Vec<RemoteMetric> = metrics
        .iter()
        .map(|m| RemoteMetric {
            value: if m.value.is_infinite() {
                f64::MAX.copysign(m.value)
            } else {
                m.value
            },
            ..m.clone()
        })
        .collect();
    assert_same_points(all, &stored);
    let odd = c.metric_history(&run, "odd values").unwrap();
    assert_eq!(odd.iter().filter(|m| m.value.is_nan()).count(), 15);
    assert_eq!(odd.iter().filter(|m| m.value == f64::MAX).count(), 15);
    assert_eq!(odd.iter().filter(|m| m.value == f64::MIN).count(), 14);
    assert_eq!(odd.iter().filter(|m| m.value == 2.5e-310).count(), 14);
}

#[test]
fn partial_batch_reports_confirmed_prefix_and_resending_the_rest_completes() {
    let c = client();
    let exp = c.get_or_create_experiment(&unique("partial")).unwrap();
    let t0 = now_ms();
    let run = c.create_run(&exp, "partial", t0, &[]).unwrap();
    let metrics: Vec<RemoteMetric> = (0..1500)
        .map(|s| RemoteMetric {
            key: "m".into(),
            value: s as f64,
            step: s,
            timestamp_ms: t0 + s,
        })
        .collect();
    let mut params = kv("p", 150);
    // The server refuses this key; it sits in the second request. (An
    // over-long value would not do: MLflow 3 truncates param values to 6000
    // characters and accepts them, MLFLOW_TRUNCATE_LONG_VALUES being on by default.)
    params[120].0 = "bad@key".into();

    let err = c.log_batch(&run, &metrics, &params, &[]).unwrap_err();
    let MlflowError::PartialBatch {
        confirmed_chunks,
        confirmed_metrics,
        confirmed_params,
        confirmed_tags,
        source,
    } = &err
    else {
        panic!("expected PartialBatch, got {err:?}");
    };
    assert_eq!(
        (*confirmed_chunks, *confirmed_params, *confirmed_tags),
        (1, 100, 0),
        "{err}"
    );
    assert_eq!(*confirmed_metrics, 900);
    assert!(
        matches!(**source, MlflowError::Api { status: 400, .. }),
        "{source:?}"
    );
    assert_eq!(err.error_code(), Some("INVALID_PARAMETER_VALUE"));
    // What the error calls confirmed is exactly what the server holds.
    assert_same_points(c.metric_history(&run, "m").unwrap(), &metrics[..900]);
    assert_eq!(entries(&c.get_run(&run).unwrap(), "params").len(), 100);

    params[120].0 = sanitize_key(&params[120].0);
    c.log_batch(
        &run,
        &metrics[*confirmed_metrics..],
        &params[*confirmed_params..],
        &[],
    )
    .unwrap();
    assert_same_points(c.metric_history(&run, "m").unwrap(), &metrics);
    assert_eq!(entries(&c.get_run(&run).unwrap(), "params").len(), 150);
}

#[test]
fn update_run_sets_status_and_end_time() {
    let c = client();
    let exp = c.get_or_create_experiment(&unique("update")).unwrap();
    let start = now_ms() - 5_000;
    let run = c.create_run(&exp, "to-finish", start, &[]).unwrap();
    let info = c.get_run(&run).unwrap()["info"].clone();
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["run_name"], "to-finish");
    assert_eq!(info["start_time"].as_i64(), Some(start));

    let end = start + 4_321;
    c.update_run(&run, "FINISHED", Some(end)).unwrap();
    let info = c.get_run(&run).unwrap()["info"].clone();
    assert_eq!(info["status"], "FINISHED");
    assert_eq!(info["end_time"].as_i64(), Some(end));

    c.update_run(&run, "FAILED", None).unwrap();
    assert_eq!(c.get_run(&run).unwrap()["info"]["status"], "FAILED");
    let e = c.update_run(&run, "DONE", None).unwrap_err();
    assert!(matches!(e, MlflowError::InvalidArgument { .. }), "{e:?}");
}

#[test]
fn search_runs_filters_and_pages() {
    let c = client().with_page_size(2);
    let exp = c.get_or_create_experiment(&unique("search")).unwrap();
    let mut want = Vec::new();
    for i in 0..5 {
        let group = if i % 2 == 0 { "even" } else { "odd" };
        let run = c
            .create_run(
                &exp,
                &format!("r{i}"),
                now_ms(),
                &[("group".into(), group.into())],
            )
            .unwrap();
        if group == "even" {
            want.push(run);
        }
    }
    assert_eq!(c.search_runs(&exp, None).unwrap().len(), 5);
    let mut got: Vec<String> = c
        .search_runs(&exp, Some("tags.group = 'even'"))
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn sanitized_keys_are_accepted_by_the_server() {
    let c = client();
    let exp = c.get_or_create_experiment(&unique("keys")).unwrap();
    let run = c.create_run(&exp, "keys", now_ms(), &[]).unwrap();
    let raw = [
        "auc@10",
        "/lead/slash",
        "a//b/./c/",
        "..dots",
        "τ=0.5",
        "x/../y",
        &"k".repeat(400),
        "ok key:1-2.3/x",
        "é",
    ];
    let keys: Vec<String> = raw.iter().map(|k| sanitize_key(k)).collect();
    let metrics: Vec<RemoteMetric> = keys
        .iter()
        .map(|k| RemoteMetric {
            key: k.clone(),
            value: 1.0,
            step: 0,
            timestamp_ms: now_ms(),
        })
        .collect();
    let params: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), "v".into())).collect();
    c.log_batch(&run, &metrics, &params, &params).unwrap();
    assert_eq!(
        entries(&c.get_run(&run).unwrap(), "params").len(),
        keys.len()
    );
    // And an unsanitised key is refused with MLflow's code, which shows the check is real.
    let e = c
        .log_batch(&run, &[], &[("bad@key".into(), "v".into())], &[])
        .unwrap_err();
    assert_eq!(e.error_code(), Some("INVALID_PARAMETER_VALUE"), "{e}");
}

#[test]
fn client_errors_carry_error_code_and_are_not_retried() {
    // Retrying would sleep 300 s before a second attempt: more than any
    // single request takes, however loaded the machine (one request times
    // out after 10 s; retry_counts_on_the_wire counts the attempts exactly).
    let no_retry_within = Duration::from_secs(300);
    let c = MlflowClient::new(&shared().uri())
        .unwrap()
        .with_token(None)
        .with_retry(RetryPolicy::new(5, no_retry_within, no_retry_within));
    let missing = "0123456789abcdef0123456789abcdef";
    let m = RemoteMetric {
        key: "m".into(),
        value: 1.0,
        step: 0,
        timestamp_ms: now_ms(),
    };
    let t = Instant::now();
    let e = c.log_batch(missing, &[m], &[], &[]).unwrap_err();
    assert!(t.elapsed() < no_retry_within, "took {:?}: retried?", t.elapsed());
    let MlflowError::Api {
        endpoint,
        status,
        error_code,
        message,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*endpoint, "runs/log-batch");
    assert!((400..500).contains(status), "{status}");
    assert!(
        ["RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"].contains(&error_code.as_str()),
        "{e}"
    );
    assert!(message.contains(missing), "{message}");
    let shown = e.to_string();
    assert!(
        shown.contains("runs/log-batch") && shown.contains(error_code.as_str()),
        "{shown}"
    );

    let t = Instant::now();
    let e = c.get_run(missing).unwrap_err();
    assert!(t.elapsed() < no_retry_within, "took {:?}: retried?", t.elapsed());
    assert_eq!(e.error_code(), Some("RESOURCE_DOES_NOT_EXIST"), "{e}");
}

#[test]
fn server_down_gives_clear_error_then_recovers_when_it_comes_up() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}");
    let quick = MlflowClient::new(&uri)
        .unwrap()
        .with_token(None)
        .with_retry(RetryPolicy::new(
            3,
            Duration::from_millis(50),
            Duration::from_millis(100),
        ));
    // the attempts are counted below; no clock needed
    let e = quick.get_or_create_experiment("down").unwrap_err();
    let MlflowError::Unavailable {
        endpoint,
        attempts,
        may_have_applied,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*endpoint, *attempts, *may_have_applied),
        ("experiments/get-by-name", 3, false)
    );
    let shown = e.to_string();
    assert!(
        shown.contains("experiments/get-by-name") && shown.contains("3 attempt"),
        "{shown}"
    );
    assert!(shown.to_lowercase().contains("connect"), "{shown}");

    // A patient client started while the server is down succeeds once it is up.
    let patient = MlflowClient::new(&uri)
        .unwrap()
        .with_token(None)
        .with_retry(RetryPolicy::new(
            400,
            Duration::from_millis(200),
            Duration::from_millis(500),
        ));
    let id = std::thread::scope(|s| {
        // Until the patient client has really failed once, the port answers
        // every connection by closing it: then the server comes up there.
        let gate = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let h = s.spawn(|| patient.get_or_create_experiment("down"));
        drop(gate.accept().expect("the patient client's first attempt"));
        drop(gate);
        let mut server = Server::start_in(tmp.path(), port);
        let id = h
            .join()
            .unwrap()
            .expect("succeeds after the server came up");
        // The same call now also works with the impatient client, and the
        // server really holds the experiment; stopping it makes calls fail again.
        assert_eq!(quick.get_or_create_experiment("down").unwrap(), id);
        server.stop();
        assert!(matches!(
            quick.get_experiment(&id),
            Err(MlflowError::Unavailable { .. })
        ));
        id
    });
    // Restarted on the same store, the experiment is still there.
    let _server = Server::start_in(tmp.path(), port);
    assert_eq!(quick.get_or_create_experiment("down").unwrap(), id);
}

// ---------------------------------------------------------------- local sockets

/// A minimal HTTP/1.1 server on 127.0.0.1: records each request head and
/// answers every request with `respond(head)` = (status, JSON body).
struct Listener {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

fn listen(respond: impl Fn(&str) -> (u16, String) + Send + 'static) -> Listener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let rec = heads.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
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
            let _ = r.read_exact(&mut body);
            let (status, resp) = respond(&head);
            rec.lock().unwrap().push(head);
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{resp}",
                resp.len()
            );
        }
    });
    Listener { port, heads }
}

impl Listener {
    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

const EXPERIMENT_7: &str =
    r#"{"experiment":{"experiment_id":"7","name":"e","lifecycle_stage":"active"}}"#;

fn bearer_of(head: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_owned())
    })
}

#[test]
fn token_is_sent_as_bearer_and_never_shown() {
    let secret = "tok-8f3a-SECRET-VALUE";
    let ok = listen(|_| (200, EXPERIMENT_7.into()));
    let c = MlflowClient::new(&ok.uri())
        .unwrap()
        .with_token(Some(secret.into()));
    assert_eq!(c.get_or_create_experiment("e").unwrap(), "7");
    let heads = ok.heads();
    assert_eq!(heads.len(), 1);
    assert_eq!(
        bearer_of(&heads[0]).as_deref(),
        Some(format!("Bearer {secret}").as_str()),
        "{}",
        heads[0]
    );
    assert!(!format!("{c:?}").contains(secret) && !format!("{c}").contains(secret));

    let none = MlflowClient::new(&ok.uri()).unwrap().with_token(None);
    none.get_or_create_experiment("e").unwrap();
    assert_eq!(bearer_of(&ok.heads()[1]), None);

    // Errors of every kind leave the token out.
    let denied = listen(|_| {
        (
            401,
            r#"{"error_code":"UNAUTHENTICATED","message":"bad token"}"#.into(),
        )
    });
    let c = MlflowClient::new(&denied.uri())
        .unwrap()
        .with_token(Some(secret.into()))
        .with_retry(RetryPolicy::none());
    let e1 = c.get_run("r").unwrap_err();
    assert_eq!(e1.error_code(), Some("UNAUTHENTICATED"));
    let down = MlflowClient::new(&format!("http://127.0.0.1:{}", free_port()))
        .unwrap()
        .with_token(Some(secret.into()))
        .with_retry(RetryPolicy::new(
            2,
            Duration::from_millis(10),
            Duration::from_millis(10),
        ));
    let e2 = down.update_run("r", "FINISHED", None).unwrap_err();
    for e in [&e1, &e2] {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(secret), "{shown}");
    }
}

/// Reads the token from MLFLOW_TRACKING_TOKEN. Setting the variable inside
/// this multi-threaded process would race with other tests, so the check
/// runs in a child process of this same test binary.
#[test]
fn token_from_environment_is_sent() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "token_from_environment_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TOKEN_ENV, "env-token-42")
        .env("ATTNLAB_TEST_TOKEN_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by token_from_environment_is_sent, with MLFLOW_TRACKING_TOKEN set"]
fn token_from_environment_child() {
    if std::env::var_os("ATTNLAB_TEST_TOKEN_CHILD").is_none() {
        return; // only meaningful in the child process
    }
    let l = listen(|_| (200, EXPERIMENT_7.into()));
    let c = MlflowClient::new(&l.uri()).unwrap();
    assert!(!format!("{c:?}").contains("env-token-42"));
    c.get_or_create_experiment("e").unwrap();
    assert_eq!(
        bearer_of(&l.heads()[0]).as_deref(),
        Some("Bearer env-token-42")
    );
}

#[test]
fn retry_counts_on_the_wire() {
    let policy = RetryPolicy::new(4, Duration::from_millis(20), Duration::from_millis(40));

    // 4xx: exactly one request.
    let bad = listen(|_| {
        (
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"nope"}"#.into(),
        )
    });
    let c = MlflowClient::new(&bad.uri())
        .unwrap()
        .with_token(None)
        .with_retry(policy);
    assert_eq!(
        c.get_run("r").unwrap_err().error_code(),
        Some("INVALID_PARAMETER_VALUE")
    );
    assert_eq!(bad.heads().len(), 1);

    // 503 and 429: every attempt the policy allows, then a clear error.
    for status in [503, 429] {
        let busy = listen(move |_| {
            (
                status,
                r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}"#.into(),
            )
        });
        let c = MlflowClient::new(&busy.uri())
            .unwrap()
            .with_token(None)
            .with_retry(policy);
        let e = c.get_run("r").unwrap_err();
        assert_eq!(busy.heads().len(), 4, "status {status}");
        let MlflowError::Unavailable {
            endpoint,
            attempts,
            last_cause,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!((*endpoint, *attempts), ("runs/get", 4));
        assert!(
            last_cause.contains(&status.to_string())
                && last_cause.contains("TEMPORARILY_UNAVAILABLE"),
            "{e}"
        );
    }

    // A transient 503 followed by success: the call succeeds on attempt 2.
    let n = Arc::new(AtomicU64::new(0));
    let n2 = n.clone();
    let flaky = listen(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            (503, "{}".into())
        } else {
            (200, EXPERIMENT_7.into())
        }
    });
    let c = MlflowClient::new(&flaky.uri())
        .unwrap()
        .with_token(None)
        .with_retry(policy);
    assert_eq!(c.get_or_create_experiment("e").unwrap(), "7");
    assert_eq!(flaky.heads().len(), 2);

    // log-batch is not idempotent: after a 502 (a proxy lost the answer) it
    // is not resent, and the error says it may have been applied.
    let gateway = listen(|_| (502, "bad gateway".into()));
    let c = MlflowClient::new(&gateway.uri())
        .unwrap()
        .with_token(None)
        .with_retry(policy);
    let m = RemoteMetric {
        key: "m".into(),
        value: 1.0,
        step: 0,
        timestamp_ms: 0,
    };
    let e = c
        .log_batch("r", std::slice::from_ref(&m), &[], &[])
        .unwrap_err();
    assert_eq!(gateway.heads().len(), 1);
    assert!(
        matches!(
            e,
            MlflowError::Unavailable {
                attempts: 1,
                may_have_applied: true,
                ..
            }
        ),
        "{e:?}"
    );
    // ...while an idempotent read is retried on the same 502.
    c.get_run("r").unwrap_err();
    assert_eq!(gateway.heads().len(), 1 + 4);
}
