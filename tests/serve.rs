//! `attnlab serve` as a real process on a free 127.0.0.1 port, spoken to by
//! a real HTTP client: its top-K against the offline evaluator's ranking of
//! the same run, feedback events, durability across kill -9, batching,
//! request validation, the token and a graceful SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use attnlab_data::Part;
use attnlab_experiment::{load_run, RunData};
use attnlab_models::BuiltModel;
use serde_json::{json, Value};
use tch::Tensor;

use crate::util::Scratch;

pub(crate) const TOKEN: &str = "s3cret-serve-token-4711";

/// 40 users, 8 distinct items each out of 25, in time order; SASRec and
/// BPR for one epoch under leave-one-out with history excluded.
fn trained(s: &Scratch) -> (String, String) {
    let dir = s.path("toy");
    std::fs::create_dir_all(&dir).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\ttimestamp:float\n");
    for u in 0..40 {
        for j in 0..8 {
            inter.push_str(&format!("u{u:03}\ti{}\t{}\n", (u * 3 + j * 7) % 25, u * 100 + j));
        }
    }
    std::fs::write(dir.join("toy.inter"), inter).unwrap();
    let spec = s.write(
        "toy.yaml",
        &format!("name: toyserve\ndataset: {{ source: recbole-atomic, path: {} }}\n\
         protocol: {{ split: leave-one-out, order: time, candidates: full, exclude_history: true, max_len: 5, metrics: [hit@5, ndcg@5], valid_metric: ndcg@5 }}\n\
         train: {{ epochs: 1, batch_size: 16, threads: 1 }}\n\
         models:\n  - {{ name: sasrec, model: SASRec, params: {{ hidden: 8, layers: 1, heads: 1 }} }}\n  - {{ name: bpr, model: BPR, params: {{ embed_dim: 8 }} }}\n",
            dir.display()
        ),
    );
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let runs: Value = serde_json::from_str(&s.attnlab(&["runs", "list", "toyserve", "--json"]).ok().stdout()).unwrap();
    let id = |name: &str| runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["id"].as_str().unwrap().to_string();
    (id("sasrec"), id("bpr"))
}

/// A running `attnlab serve`, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    base: String,
    stderr: PathBuf,
}

impl Server {
    pub(crate) fn start(s: &Scratch, extra: &[&str]) -> Server {
        let stderr = s.path(&format!("serve-{}.err", uuid_like()));
        let mut child = Command::new(env!("CARGO_BIN_EXE_attnlab"))
            .args(["serve", "--bind", "127.0.0.1:0", "--events", s.path("events.jsonl").to_str().unwrap(), "--threads", "2"])
            .args(extra)
            .current_dir(s.dir.path())
            .env("ATTNLAB_DB", s.db())
            .env("ATTNLAB_SERVE_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start attnlab serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no address from serve: {line:?}; stderr: {}", std::fs::read_to_string(&stderr).unwrap_or_default());
        };
        Server { child, base: addr.to_string(), stderr }
    }

    pub(crate) fn post(&self, path: &str, body: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new().post(format!("{}{path}", self.base)).header("content-type", "application/json").body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
    }

    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let resp = reqwest::blocking::get(format!("{}{path}", self.base)).expect("request");
        (resp.status().as_u16(), resp.text().unwrap())
    }

    pub(crate) fn recommend(&self, body: Value) -> Value {
        let (status, v) = self.post("/v1/recommend", &body.to_string(), None);
        assert_eq!(status, 200, "{v}");
        v
    }

    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// (item, score) pairs of a recommendation.
fn ranked(v: &Value) -> Vec<(String, f64)> {
    v["items"].as_array().unwrap().iter().map(|i| (i["item"].as_str().unwrap().to_string(), i["score"].as_f64().unwrap())).collect()
}

/// The offline evaluator's view of `user` in `run`: the test row's input
/// (sequential models) or padding (BPR), scored by the loaded model, the
/// protocol's test exclusion and PAD removed, the best `k` by score.
fn offline_top_k(s: &Scratch, run: &str, user: &str, k: usize) -> Vec<(String, f64)> {
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    let cpu = attnlab_train::DeviceInfo { device: tch::Device::Cpu, label: "cpu".into() };
    let loaded = load_run(&store, run, &cpu, &s.path("store/cache")).unwrap();
    let (BuiltModel::NextItem(net), RunData::Interactions(data)) = (loaded.net, loaded.data) else { panic!("not a next-item run") };
    let p = &data.prepared;
    let uid = data.users.get(user).unwrap();
    let k_row = p.test.user.iter().position(|&u| u == uid).unwrap();
    let (input, width) = match p.sequences.as_ref().filter(|_| net.sequential()) {
        Some(seq) => (seq.test.input(k_row, seq.max_len).iter().map(|&i| i64::from(i)).collect::<Vec<_>>(), seq.max_len as i64),
        None => (vec![0], 1),
    };
    let _guard = tch::no_grad_guard();
    let scores = net.score(&Tensor::from_slice(&[i64::from(uid)]), &Tensor::from_slice(&input).view([1, width]));
    let scores = Vec::<f32>::try_from(&scores.view([-1])).unwrap();
    let excluded = p.exclusion(Part::Test).unwrap().get(uid as usize);
    let mut ids: Vec<u32> = (1..scores.len() as u32).filter(|i| !excluded.contains(i)).collect();
    ids.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
    ids.into_iter().take(k).map(|i| (data.items.token(i).unwrap().to_string(), f64::from(scores[i as usize]))).collect()
}

fn assert_same_ranking(served: &[(String, f64)], offline: &[(String, f64)]) {
    let items = |r: &[(String, f64)]| r.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>();
    assert_eq!(items(served), items(offline), "served {served:?} vs offline {offline:?}");
    for ((_, a), (_, b)) in served.iter().zip(offline) {
        assert!((a - b).abs() < 1e-4, "served {served:?} vs offline {offline:?}");
    }
}

#[test]
fn recommend_equals_the_offline_ranking_events_change_it_and_sigterm_drains() {
    let s = Scratch::new();
    let (sasrec, bpr) = trained(&s);
    let mut server = Server::start(&s, &["--run", &sasrec, "--run", &bpr]);

    // the top-K of a known user is the evaluator's ranking for them, for both models
    for (run, name) in [(&sasrec, "sasrec"), (&bpr, "bpr")] {
        for user in ["u003", "u017"] {
            let v = server.recommend(json!({ "model": name, "user": user, "k": 5 }));
            assert_eq!(v["fallback"], Value::Null, "{v}");
            assert_eq!(v["model"], json!(run));
            assert_same_ranking(&ranked(&v), &offline_top_k(&s, run, user, 5));
        }
    }

    // a click joins the user's history: SASRec's next answer reads it
    let before = server.recommend(json!({ "model": "sasrec", "user": "u003", "k": 5 }));
    let clicked = ranked(&before)[0].0.clone();
    let event = json!({ "events": [{ "user": "u003", "item": clicked, "type": "click" }] }).to_string();
    let (status, v) = server.post("/v1/events", &event, None);
    assert_eq!((status, v["field"].as_str()), (401, Some("Authorization")), "{v}");
    let (status, v) = server.post("/v1/events", &event, Some("wrong"));
    assert_eq!(status, 401, "{v}");
    let (status, v) = server.post("/v1/events", &event, Some(TOKEN));
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(1)), "{v}");
    let after = server.recommend(json!({ "model": "sasrec", "user": "u003", "k": 5 }));
    assert_eq!(after["history"].as_array().unwrap().last().unwrap(), &json!(clicked), "{after}");
    assert!(ranked(&after).iter().all(|(i, _)| *i != clicked), "a clicked item is seen: {after}");
    assert_ne!(ranked(&before)[1..], ranked(&after)[..4], "the new history changes SASRec's scores");
    // the same history sent in the request gives the same answer
    let mut history: Vec<Value> = before["history"].as_array().unwrap().clone();
    history.push(json!(clicked));
    let explicit = server.recommend(json!({ "model": "sasrec", "history": history, "k": 5, "exclude_seen": false }));
    let unfiltered = server.recommend(json!({ "model": "sasrec", "user": "u003", "k": 5, "exclude_seen": false }));
    assert_same_ranking(&ranked(&explicit), &ranked(&unfiltered));

    // cold start: an unknown user is answered by popularity, flagged
    let cold = server.recommend(json!({ "user": "nobody", "k": 3 }));
    assert_eq!((cold["fallback"].as_str(), cold["known_user"].as_bool()), (Some("popularity"), Some(false)), "{cold}");
    let pops: Vec<f64> = ranked(&cold).iter().map(|(_, s)| *s).collect();
    assert!(pops.windows(2).all(|w| w[0] >= w[1]) && pops[0] > 0.0, "{cold}");
    let unknown = server.recommend(json!({ "model": "sasrec", "history": ["i3", "no-such-item"], "k": 3 }));
    assert_eq!((unknown["unknown_items"].clone(), unknown["fallback"].clone()), (json!(["no-such-item"]), Value::Null), "{unknown}");

    // models, health and metrics
    let (status, models) = server.get("/v1/models");
    let models: Value = serde_json::from_str(&models).unwrap();
    assert_eq!(status, 200);
    assert_eq!(models["models"].as_array().unwrap().iter().map(|m| m["run"].clone()).collect::<Vec<_>>(), vec![json!(sasrec), json!(bpr)]);
    assert!(models["models"][0]["metrics"]["test.ndcg@5"].is_f64() && models["models"][0]["data_fingerprint"].as_str().unwrap().len() == 16, "{models}");
    let (status, health) = server.get("/healthz");
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!((status, health["status"].as_str(), health["models"].as_u64()), (200, Some("ok"), Some(2)), "{health}");
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("attnlab_requests_total{endpoint=\"recommend\",status=\"200\"} 10\n"), "{metrics}");
    assert!(metrics.contains("attnlab_requests_total{endpoint=\"events\",status=\"401\"} 2\n"), "{metrics}");
    assert!(metrics.contains("attnlab_errors_total{endpoint=\"events\"} 2\n") && metrics.contains("attnlab_events_total 1\n"), "{metrics}");
    assert!(metrics.contains("attnlab_request_seconds_count{endpoint=\"recommend\"} 10\n"), "{metrics}");

    // SIGTERM: the server stops cleanly and says what it did; the token is never logged
    unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}: {}", server.logs());
    assert!(server.logs().contains("stopped after 15 requests; 1 events in"), "{}", server.logs());
    assert!(!server.logs().contains(TOKEN));
}

#[test]
fn every_acknowledged_event_survives_kill_9_and_a_torn_last_line() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    let server = Server::start(&s, &["--run", &sasrec]);
    let items: Vec<String> = (0..12).map(|i| format!("i{}", (i * 2) % 25)).collect();
    for item in &items {
        let body = json!({ "events": [{ "user": "u009", "item": item, "type": "dwell", "dwell_s": 4.5 }, { "user": "u009", "item": "i1", "type": "impression" }] });
        let (status, v) = server.post("/v1/events", &body.to_string(), Some(TOKEN));
        assert_eq!(status, 200, "{v}");
    }
    drop(server); // SIGKILL: no chance to flush anything
    // a write the crash cut short, never acknowledged
    let log = s.path("events.jsonl");
    std::fs::OpenOptions::new().append(true).open(&log).and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"user\": \"u009\", \"it")).unwrap();
    let server = Server::start(&s, &["--run", &sasrec]);
    let v = server.recommend(json!({ "user": "u009", "k": 3 }));
    let history: Vec<String> = v["history"].as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect();
    assert_eq!(history[history.len() - items.len()..], items[..], "{v}");
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("attnlab_events_total 24\n"), "{metrics}");
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 24);
}

#[test]
fn concurrent_batched_scores_equal_one_at_a_time_scores() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    let server = Server::start(&s, &["--run", &sasrec, "--max-batch", "16", "--max-wait-us", "20000"]);
    let users: Vec<String> = (0..16).map(|u| format!("u{:03}", u * 2)).collect();
    let body = |u: &str| json!({ "user": u, "k": 10, "exclude_seen": false });
    // one at a time: every forward pass holds one request
    let single: Vec<Vec<(String, f64)>> = users.iter().map(|u| ranked(&server.recommend(body(u)))).collect();
    let batched: Vec<Vec<(String, f64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = users.iter().map(|u| scope.spawn(|| ranked(&server.recommend(body(u))))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (a, b) in single.iter().zip(&batched) {
        assert_same_ranking(b, a);
    }
}

#[test]
fn client_mistakes_are_400_naming_the_field_and_big_bodies_413() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    let server = Server::start(&s, &["--run", &sasrec, "--max-body-bytes", "1024"]);
    let cases: [(&str, &str, &str); 10] = [
        ("/v1/recommend", "{\"user\": \"u001\", \"k\": 0}", "k"),
        ("/v1/recommend", "{\"user\": \"u001\", \"k\": \"5\"}", "k"),
        ("/v1/recommend", "{\"user\": \"u001\", \"k\": 100000}", "k"),
        ("/v1/recommend", "{\"user\": \"u001\", \"exlude_seen\": true}", "exlude_seen"),
        ("/v1/recommend", "{\"user\": \"u001\", ", "body"),
        ("/v1/recommend", "[1, 2]", "body"),
        ("/v1/recommend", "{\"history\": [\"i1\", 7]}", "history[1]"),
        ("/v1/recommend", "{\"k\": 5}", "user"),
        ("/v1/recommend", "{\"user\": \"u001\", \"model\": \"nope\"}", "model"),
        ("/v1/events", "{\"events\": [{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"purchase\"}]}", "events[0].type"),
    ];
    for (path, body, field) in cases {
        let (status, v) = server.post(path, body, Some(TOKEN));
        assert_eq!((status, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
        assert!(v["error"].as_str().unwrap().starts_with(field), "{v}");
    }
    let (status, v) = server.post("/v1/events", "{\"events\": [{\"user\": \"u1\", \"item\": \"i1\", \"type\": \"dwell\"}]}", Some(TOKEN));
    assert_eq!((status, v["field"].as_str()), (400, Some("events[0].dwell_s")), "{v}");
    let big = json!({ "history": vec!["i1"; 400] }).to_string();
    let (status, v) = server.post("/v1/recommend", &big, None);
    assert_eq!((status, v["field"].as_str()), (413, Some("body")), "{v}");
    // still serving
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn serve_picks_the_best_run_reloads_and_refuses_what_it_cannot_serve() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    let run = s.attnlab(&["serve", "--run", "ffffffff"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let run = s.attnlab(&["serve", "--experiment", "toyserve", "--best", "valid.nope@5"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("--best valid.nope@5"), "{}", run.stderr());
    // the best run by a metric: the experiment's run with the highest value
    let runs: Value = serde_json::from_str(&s.attnlab(&["runs", "list", "toyserve", "--json"]).ok().stdout()).unwrap();
    let ndcg = |r: &Value| r["metrics"]["test.ndcg@5"].as_f64().unwrap();
    let best = runs.as_array().unwrap().iter().max_by(|a, b| ndcg(a).total_cmp(&ndcg(b))).unwrap()["id"].clone();
    assert!(runs.as_array().unwrap().iter().any(|r| r["id"] == json!(sasrec)));
    let server = Server::start(&s, &["--experiment", "toyserve", "--best", "test.ndcg@5"]);
    let served = |server: &Server| {
        let (_, models) = server.get("/v1/models");
        let models: Value = serde_json::from_str(&models).unwrap();
        models["models"].as_array().unwrap().iter().map(|m| m["run"].clone()).collect::<Vec<_>>()
    };
    assert_eq!(served(&server), vec![best.clone()]);

    // hot reload: the best run left the store, so the other one is served now
    let other = runs.as_array().unwrap().iter().find(|r| r["id"] != best).unwrap()["id"].clone();
    s.attnlab(&["runs", "rm", best.as_str().unwrap()]).ok();
    assert_eq!(server.post("/admin/reload", "", None).0, 401);
    let (status, v) = server.post("/admin/reload", "", Some(TOKEN));
    assert_eq!((status, v["models"][0]["run"].clone()), (200, other.clone()), "{v}");
    assert_eq!(served(&server), vec![other.clone()]);
    // SIGHUP reloads too (the same runs again)
    unsafe { libc::kill(server.child.id() as i32, libc::SIGHUP) };
    let health = (0..100)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            serde_json::from_str::<Value>(&server.get("/healthz").1).unwrap()
        })
        .find(|h| h["reloads"] == json!(2))
        .expect("SIGHUP reloads the runs");
    assert_eq!((health["last_reload_error"].clone(), served(&server)), (Value::Null, vec![other]));
}

/// SIGTERM while a request waits in the batcher: it is answered, then the
/// server exits 0.
#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    // a batch waits up to 3 s for company: the request is in flight meanwhile
    let mut server = Server::start(&s, &["--run", &sasrec, "--max-batch", "64", "--max-wait-us", "3000000"]);
    let (base, pid) = (server.base.clone(), server.child.id() as i32);
    let in_flight = std::thread::spawn(move || {
        reqwest::blocking::Client::new().post(format!("{base}/v1/recommend")).body(json!({ "user": "u005", "k": 3 }).to_string()).send().map(|r| r.status().as_u16())
    });
    std::thread::sleep(std::time::Duration::from_millis(1000));
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(in_flight.join().unwrap().expect("the request in flight is answered"), 200);
    let status = server.child.wait().unwrap();
    assert!(status.success() && server.logs().contains("stopped after 1 requests"), "{status:?}: {}", server.logs());
}

/// An int8 bundle: per-row codes within half a step of the trained table,
/// the test metric evaluated as the run was (before) and after, bounded drop.
#[test]
fn export_int8_stores_close_codes_and_measures_the_metric_drop() {
    let s = Scratch::new();
    let (sasrec, bpr) = trained(&s);
    let store = attnlab_track::Store::open_for_reading(&s.db()).unwrap();
    for run in [&sasrec, &bpr] {
        let dir = s.path(&format!("bundle-{}", &run[..8]));
        let out = s.attnlab(&["export", run, "-o", dir.to_str().unwrap(), "--quantize", "int8"]).ok();
        assert!(out.stdout().contains("test.ndcg@5: "), "{}", out.stdout());
        let card: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("model_card.json")).unwrap()).unwrap();
        let record = store.run(run).unwrap();
        let w = &card["weights"];
        // evaluated exactly as the run was tested
        assert!((w["test_before"]["ndcg@5"].as_f64().unwrap() - record.metrics["test.ndcg@5"]).abs() < 1e-9, "{card}");
        let drop = w["test_before"]["ndcg@5"].as_f64().unwrap() - w["test_after"]["ndcg@5"].as_f64().unwrap();
        assert!(drop.abs() <= 0.05, "int8 moved test NDCG@5 by {drop}: {card}");
        assert!(w["bytes_stored"].as_u64().unwrap() < w["bytes_f32"].as_u64().unwrap(), "{card}");
        assert_eq!(card["data_fingerprint"].as_str(), record.tags.get("data.fingerprint").map(String::as_str));

        // every int8 table is the trained one to within half a step of its row's scale
        let trained: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(std::path::Path::new(&record.tags["checkpoint.dir"]).join("best.safetensors")).unwrap().into_iter().collect();
        let bundle: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(dir.join("weights.safetensors")).unwrap().into_iter().collect();
        let tables: Vec<&str> = w["int8_tables"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(tables.contains(&"item.weight"), "{card}");
        for name in tables {
            // the checkpoint keeps model weights under `model.`
            let (codes, scale, original) = (&bundle[name], &bundle[&format!("{name}.scale")], &trained[&format!("model.{name}")]);
            assert_eq!(codes.kind(), tch::Kind::Int8, "{name}");
            let scale = scale.view([-1, 1]);
            let max_row = original.abs().amax([1i64].as_slice(), true);
            let scale_error = f64::try_from((&scale * 127.0 - &max_row).abs().max()).unwrap();
            assert!(scale_error < 1e-5, "{name}: scales are not max|row|/127 ({scale_error})");
            let step_error = f64::try_from(((codes.to_kind(tch::Kind::Float) * &scale - original).abs() / &scale.clamp_min(1e-12)).max()).unwrap();
            assert!(step_error <= 0.5 + 1e-4, "{name}: a code is {step_error} steps from the trained value");
        }
        let vocab: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("vocab.json")).unwrap()).unwrap();
        assert_eq!((vocab["users"].as_array().unwrap().len(), vocab["items"].as_array().unwrap().len()), (40, 25));
        // a bundle is never written over
        let again = s.attnlab(&["export", run, "-o", dir.to_str().unwrap()]);
        assert_eq!(again.code(), 2, "{}", again.stderr());
    }
}

/// `attnlab export` then `attnlab serve --bundle`, with the store and the
/// data files moved away: the bundle answers `/v1/recommend` as the run
/// served from the store did (same items, scores to 1e-5) and describes the
/// same run; an int8 bundle is dequantized at load, its scores close to the
/// trained model's but not equal to them.
#[test]
fn a_bundle_served_without_the_store_answers_as_the_run_did() {
    let s = Scratch::new();
    let (sasrec, bpr) = trained(&s);
    let export = |run: &str, dir: &str, extra: &[&str]| {
        let dir = s.path(dir);
        s.attnlab(&[&["export", run, "-o", dir.to_str().unwrap()], extra].concat()).ok();
        dir.to_str().unwrap().to_string()
    };
    let (sasrec_dir, bpr_dir, int8_dir) = (export(&sasrec, "b-sasrec", &[]), export(&bpr, "b-bpr", &[]), export(&bpr, "b-bpr-int8", &["--quantize", "int8"]));
    let requests: Vec<Value> = ["sasrec", "bpr"]
        .iter()
        .flat_map(|model| {
            ["u003", "u017", "u030", "nobody"].iter().map(move |user| json!({ "model": model, "user": user, "k": 5 }))
        })
        .chain([json!({ "model": "sasrec", "history": ["i3", "i10", "i17"], "k": 5 })])
        .collect();
    let all_items = |server: &Server, user: &str| -> std::collections::BTreeMap<String, f64> {
        ranked(&server.recommend(json!({ "model": "bpr", "user": user, "k": 25, "exclude_seen": false }))).into_iter().collect()
    };
    let models = |server: &Server| serde_json::from_str::<Value>(&server.get("/v1/models").1).unwrap()["models"].clone();

    let from_store = Server::start(&s, &["--run", &sasrec, "--run", &bpr]);
    let expected: Vec<Value> = requests.iter().map(|r| from_store.recommend(r.clone())).collect();
    let (expected_scores, expected_models) = (all_items(&from_store, "u011"), models(&from_store));
    drop(from_store);
    // neither the store (runs, checkpoints) nor the data files are there now
    std::fs::rename(s.path("store"), s.path("store-gone")).unwrap();
    std::fs::rename(s.path("toy"), s.path("toy-gone")).unwrap();

    let bundled = Server::start(&s, &["--bundle", &sasrec_dir, "--bundle", &bpr_dir]);
    for (request, want) in requests.iter().zip(&expected) {
        let got = bundled.recommend(request.clone());
        let items = |v: &Value| ranked(v).into_iter().map(|(i, _)| i).collect::<Vec<_>>();
        assert_eq!(items(&got), items(want), "{request}: bundle {got} vs store {want}");
        for ((_, a), (_, b)) in ranked(&got).iter().zip(&ranked(want)) {
            assert!((a - b).abs() <= 1e-5, "{request}: bundle {got} vs store {want}");
        }
        for key in ["model", "history", "fallback", "known_user"] {
            assert_eq!(got[key], want[key], "{request}: {key}");
        }
    }
    let got_models = models(&bundled);
    for key in ["run", "name", "model", "experiment", "spec_fingerprint", "data_fingerprint", "metrics", "sequential", "users", "items"] {
        for m in 0..2 {
            assert_eq!(got_models[m][key], expected_models[m][key], "{key}: {got_models} vs {expected_models}");
        }
    }
    drop(bundled);
    // a folder that is no bundle is bad input, named
    std::fs::remove_file(s.path("b-bpr/serving.json")).unwrap();
    let refused = s.attnlab(&["serve", "--bundle", &bpr_dir]);
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    assert!(refused.stderr().contains("b-bpr/serving.json"), "{}", refused.stderr());

    let int8 = Server::start(&s, &["--bundle", &int8_dir]);
    let scores = all_items(&int8, "u011");
    assert_eq!(scores.keys().collect::<Vec<_>>(), expected_scores.keys().collect::<Vec<_>>());
    let largest = expected_scores.values().fold(0.0f64, |m, v| m.max(v.abs()));
    let moved = scores.iter().map(|(i, v)| (v - expected_scores[i]).abs()).fold(0.0f64, f64::max);
    assert!(moved > 0.0 && moved <= 0.1 * largest, "int8 moved scores by {moved} (largest {largest}): {scores:?} vs {expected_scores:?}");
}

/// Events posted to a real server, exported as an attention log and read
/// back by the attention-log loader: every event is a row (a dwell after a
/// click fills that click's dwell), and an id the CSV cannot hold is
/// refused by line and field, the earlier export left whole.
#[test]
fn the_event_log_exports_as_an_attention_log_the_loader_reads() {
    let s = Scratch::new();
    let (sasrec, _) = trained(&s);
    let server = Server::start(&s, &["--run", &sasrec]);
    let events = json!({ "events": [
        { "user": "u001", "item": "i3", "type": "impression", "ts": 1_700_000_000_123i64 },
        { "user": "u001", "item": "i4", "type": "impression", "ts": 1_700_000_000_500i64 },
        { "user": "u001", "item": "i3", "type": "click", "ts": 1_700_000_001_000i64 },
        { "user": "u001", "item": "i3", "type": "dwell", "dwell_s": 12.25, "ts": 1_700_000_013_000i64 },
        { "user": "u002", "item": "i5", "type": "impression", "ts": 1_700_000_020_000i64 },
        { "user": "u002", "item": "i5", "type": "click", "ts": 1_700_000_021_000i64 },
        { "user": "u002", "item": "i7", "type": "dwell", "dwell_s": 3.0, "ts": 1_700_000_030_000i64 },
        { "user": "u003", "item": "i5", "type": "click", "ts": 1_700_000_040_000i64 },
    ] });
    assert_eq!(server.post("/v1/events", &events.to_string(), Some(TOKEN)).0, 200);
    let log = s.path("events.jsonl");
    let out = s.path("live/attention.csv");
    let run = s.attnlab(&["export-events", "--events", log.to_str().unwrap(), "-o", out.to_str().unwrap()]).ok();
    assert!(run.stdout().contains("3 impressions, 4 clicks (1 dwells on a click) of 3 users"), "{}", run.stdout());

    let (read, report) = attnlab_data::load_attention_log(&out, attnlab_data::OnBadRow::Error).unwrap();
    assert_eq!((report.rows, report.skipped), (7, 0), "{report:?}");
    let count = |e: attnlab_data::Event| read.event.iter().filter(|&&x| x == e).count();
    assert_eq!((count(attnlab_data::Event::Impression), count(attnlab_data::Event::Click)), (3, 4));
    assert_eq!((read.users.len(), read.items.len()), (3, 4));
    assert_eq!(read.timestamp, vec![1_700_000_000, 1_700_000_000, 1_700_000_001, 1_700_000_020, 1_700_000_021, 1_700_000_030, 1_700_000_040]);
    assert_eq!(read.dwell_ms, vec![None, None, Some(12_250), None, None, Some(3_000), None]);
    let clicks: Vec<(&str, &str)> = (0..read.user.len())
        .filter(|&r| read.event[r] == attnlab_data::Event::Click)
        .map(|r| (read.users.token(read.user[r]).unwrap(), read.items.token(read.item[r]).unwrap()))
        .collect();
    assert_eq!(clicks, vec![("u001", "i3"), ("u002", "i5"), ("u002", "i7"), ("u003", "i5")]);

    // an id with a comma cannot be a CSV token: refused by line and field, nothing replaced
    let comma = json!({ "events": [{ "user": "u004", "item": "i1,i2", "type": "click" }] });
    assert_eq!(server.post("/v1/events", &comma.to_string(), Some(TOKEN)).0, 200);
    let before = std::fs::read_to_string(&out).unwrap();
    let run = s.attnlab(&["export-events", "--events", log.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("events.jsonl:9: field `item`"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
}
