//! Bringing one's own data: MovieLens raw files, attention logs, string
//! ids and minimal specs, through the binary. The two round trips check
//! that a file source gives exactly what its in-memory twin gives.

use crate::util::{quickstart, repo, Scratch};

/// `data stats --json` of a spec, its `stats` object.
fn stats(s: &Scratch, spec: &str, overrides: &[&str]) -> serde_json::Value {
    let args = [&["data", "stats", spec, "--json"][..], overrides].concat();
    let out: serde_json::Value = serde_json::from_str(&s.attnlab(&args).ok().stdout()).unwrap();
    out["stats"].clone()
}

/// The test metrics of each run of an experiment, by run name.
fn test_metrics(s: &Scratch, experiment: &str) -> std::collections::BTreeMap<String, serde_json::Value> {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", experiment, "--json"]).ok().stdout()).unwrap();
    runs.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let metrics: serde_json::Map<String, serde_json::Value> =
                r["metrics"].as_object().unwrap().iter().filter(|(k, _)| k.starts_with("test.")).map(|(k, v)| (k.clone(), v.clone())).collect();
            (r["name"].as_str().unwrap().to_string(), serde_json::Value::Object(metrics))
        })
        .collect()
}

/// ml-100k's ratings written as MovieLens' own `u.data` (tab-separated, no
/// header, the rows in the same order) in `dir`.
fn write_u_data(s: &Scratch, dir: &str) -> String {
    let inter = std::fs::read_to_string(repo("data/ml-100k/ml-100k.inter")).expect("ml-100k (make data)");
    std::fs::create_dir_all(s.path(dir)).unwrap();
    let rows: String = inter.lines().skip(1).map(|l| format!("{l}\n")).collect();
    s.write(&format!("{dir}/u.data"), &rows);
    s.path(dir).display().to_string()
}

/// ml-100k as RecBole atomic files and the same ratings as raw `u.data`:
/// the same interactions, splits and, for a fixed seed, metrics.
/// Measured: 943 users, 1682 items, 100000 interactions, leave-one-out
/// 98114 / 943 / 943; Pop and BPR's test metrics identical on both.
#[test]
fn movielens_raw_files_give_what_the_atomic_files_give() {
    let s = Scratch::new();
    let raw = write_u_data(&s, "ml-100k-raw");
    let spec = repo("experiments/ml100k-raw.yaml").display().to_string();
    let raw_path = format!("dataset.path={raw}");
    let atomic_path = format!("dataset.path={}", repo("data/ml-100k").display());
    let as_atomic = ["name=ml100k-atomic", "dataset.source=recbole-atomic", &atomic_path];
    let (a, b) = (stats(&s, &spec, &[&raw_path]), stats(&s, &spec, &as_atomic));
    assert_eq!(a, b, "the same interactions and splits");
    assert_eq!((a["users"].as_u64(), a["items"].as_u64(), a["interactions"].as_u64()), (Some(943), Some(1682), Some(100_000)));
    assert_eq!(a["splits"], serde_json::json!([98_114, 943, 943]), "leave-one-out, the default for interactions");
    let models = "models=[{name: pop, model: Pop}, {name: bpr, model: BPR, params: {embed_dim: 8}}]";
    let train = ["train.epochs=1", "train.batch_size=2048", "train.threads=1", models];
    s.attnlab(&[&["run", &spec, &raw_path][..], &train[..]].concat()).ok();
    s.attnlab(&[&["run", &spec][..], &as_atomic[..], &train[..]].concat()).ok();
    let (raw_metrics, atomic_metrics) = (test_metrics(&s, "ml100k-raw"), test_metrics(&s, "ml100k-atomic"));
    assert_eq!(raw_metrics.len(), 2, "{raw_metrics:?}");
    assert_eq!(raw_metrics, atomic_metrics);
    assert!(raw_metrics["pop"]["test.ndcg@10"].as_f64().unwrap() > 0.01, "{raw_metrics:?}");
}

/// The MovieLens experiment as written, on a raw folder.
#[test]
fn the_movielens_raw_experiment_runs() {
    let s = Scratch::new();
    let raw = write_u_data(&s, "ml-100k-raw");
    let spec = repo("experiments/ml100k-raw.yaml").display().to_string();
    let out = s.attnlab(&["run", &spec, &format!("dataset.path={raw}"), "train.threads=1"]).ok().stdout();
    assert!(out.contains("test.ndcg@10"), "{out}");
    let metrics = test_metrics(&s, "ml100k-raw");
    let ndcg = |name: &str| metrics[name]["test.ndcg@10"].as_f64().unwrap();
    assert!(ndcg("pop") > 0.01 && ndcg("sasrec") > 0.01, "{metrics:?}");
}

/// Runs on files name users and items as the files do: per-user values and
/// attention samples carry the original string ids, never dense numbers.
#[test]
fn outputs_name_users_and_items_by_their_original_ids() {
    let s = Scratch::new();
    let inter = std::fs::read_to_string(repo("data/ml-100k/ml-100k.inter")).expect("ml-100k (make data)");
    let rows: String = inter
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("user-{}\tfilm,{}\t{}\t{}\n", f[0], f[1], f[2], f[3])
        })
        .collect();
    std::fs::create_dir_all(s.path("named")).unwrap();
    s.write("named/u.data", &rows);
    let spec = repo("experiments/ml100k-raw.yaml").display().to_string();
    let models = "models=[{name: sasrec, model: SASRec, params: {hidden: 16, layers: 1, heads: 1}}]";
    let path = format!("dataset.path={}", s.path("named").display());
    s.attnlab(&["run", &spec, &path, "train.epochs=1", "train.threads=1", models]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "ml100k-raw", "--json"]).ok().stdout()).unwrap();
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let artifact = |name: &str| std::fs::read_to_string(s.path("store/artifacts").join(&run).join(name)).unwrap();

    let per_user = attnlab_eval::read_per_user(artifact("per_user/test.csv").as_bytes(), "per_user").unwrap();
    let users: std::collections::BTreeSet<String> = per_user[0].users.iter().cloned().collect();
    let want: std::collections::BTreeSet<String> = (1..=943).map(|u| format!("user-{u}")).collect();
    assert_eq!(users, want, "every test user, by the file's id");
    let sample: serde_json::Value = serde_json::from_str(&artifact("attention/sample.json")).unwrap();
    let sampled = sample["users"].as_array().unwrap();
    assert!(!sampled.is_empty());
    for u in sampled {
        assert!(want.contains(u["user"].as_str().unwrap()), "{u}");
        assert!(u["target_item"].as_str().unwrap().starts_with("film,"), "{u}");
        assert!(u["history"].as_array().unwrap().iter().all(|h| h["item"].as_str().unwrap().starts_with("film,")), "{u}");
    }
}

/// `data simulate` then a spec reading the log: the same impressions as the
/// simulator in memory, and a model trained on either the same test AUC.
#[test]
fn a_simulated_attention_log_trains_exactly_as_the_simulator_does() {
    let s = Scratch::new();
    let world = ["dataset.simulator.users=300", "dataset.simulator.items=120"];
    std::fs::create_dir_all(s.path("logs")).unwrap();
    s.attnlab(&[&["data", "simulate", &quickstart()][..], &world[..], &["-o", "logs/log.csv"][..]].concat()).ok();
    let spec = repo("experiments/attention-log.yaml").display().to_string();
    let log = ["dataset.path=logs"];
    let (from_log, in_memory) = (stats(&s, &spec, &log), stats(&s, &quickstart(), &world));
    assert_eq!(from_log, in_memory, "the same impressions, clicks, positions and dwell times");
    assert_eq!(from_log["interactions"].as_u64(), Some(300 * 12 * 8));
    // the same log as interactions: its clicks, split leave-one-out
    let clicks = (from_log["positive_rate"].as_f64().unwrap() * (300 * 12 * 8) as f64).round() as u64;
    let as_interactions = stats(&s, &spec, &["dataset.path=logs", "dataset.attention_log.kind=interactions", "models=[]"]);
    assert_eq!(as_interactions["interactions"].as_u64(), Some(clicks), "{as_interactions}");
    assert!(as_interactions["protocol"].as_str().unwrap().contains("LS"), "{as_interactions}");
    // the same recipe for both: the attention-log experiment's
    let same = ["train.epochs=2", "train.early_stopping.patience=3", "train.device=cpu", "train.threads=1", "seeds=[2024]"];
    let models = "models=[{name: lr, model: LR}, {name: din, model: DIN, params: {embed_dim: 8}}]";
    s.attnlab(&[&["run", &spec][..], &log[..], &same[..]].concat()).ok();
    s.attnlab(&[&["run", &quickstart()][..], &world[..], &same[..], &[models][..]].concat()).ok();
    let (a, b) = (test_metrics(&s, "attention-log"), test_metrics(&s, "quickstart"));
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a, b, "the same test AUC, GAUC and log loss");
    assert!(a["din"]["test.auc"].as_f64().unwrap() > 0.6, "{a:?}");
}

/// `name` + `dataset` is a spec: `validate`, `explain` and `data stats`
/// work, the protocol follows the data kind, and `run` says what to add.
#[test]
fn a_minimal_spec_explores_data_and_run_asks_for_models() {
    let s = Scratch::new();
    let raw = write_u_data(&s, "raw");
    let spec = s.write("min.yaml", &format!("name: mine\ndataset: {{ source: movielens, path: {raw} }}\n"));
    let spec = spec.to_str().unwrap();
    let out = s.attnlab(&["validate", spec]).ok().stdout();
    assert!(out.contains("ok (0 models") && out.contains("add a `models:` list"), "{out}");
    let explain = s.attnlab(&["explain", spec]).ok().stdout();
    for line in ["protocol.split = leave-one-out", "protocol.metrics = [recall@10, ndcg@10, mrr@10, hit@10]", "protocol.valid_metric = ndcg@10"] {
        let found = explain.lines().find(|l| l.starts_with(line)).unwrap_or_else(|| panic!("{line} missing:\n{explain}"));
        assert!(found.ends_with("# default for interactions data"), "{found}");
    }
    let text = s.attnlab(&["data", "stats", spec]).ok().stdout();
    for needle in ["mine (interactions; data fingerprint", "interactions per item", "sparsity", "time span (days)"] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    let run = s.attnlab(&["run", spec]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models: no models to train: add a `models:` list, e.g. `models: [{ name: pop, model: Pop }"), "{}", run.stderr());
    assert!(!s.db().exists(), "nothing written");

    let sim = s.write("sim.yaml", "name: sim\ndataset: { source: simulator, simulator: { users: 50 } }\n");
    let explain = s.attnlab(&["explain", sim.to_str().unwrap()]).ok().stdout();
    assert!(explain.lines().any(|l| l.starts_with("protocol.metrics = [auc, gauc, logloss]") && l.ends_with("# default for impressions data")), "{explain}");
    let out = s.attnlab(&["data", "stats", sim.to_str().unwrap(), "--json"]).ok().stdout();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "impressions");
    assert_eq!(v["stats"]["impressions"]["by_position"].as_array().unwrap().len(), 8, "{v}");
}

/// Bad files exit 2 naming file, line and field; nothing is written.
#[test]
fn bad_own_data_exits_2_naming_the_place() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("logs")).unwrap();
    let header = "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price";
    s.write("logs/log.csv", &format!("{header}\nu1,i1,5,impression,0,,0,,\nu1,i1,6,click,0,soon,0,,\n"));
    let spec = repo("experiments/attention-log.yaml").display().to_string();
    let run = s.attnlab(&["run", &spec, "dataset.path=logs"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("log.csv:3: field 6 (dwell_ms):"), "{}", run.stderr());
    s.write("logs/log.csv", &format!("{header}\nu1,i1,5,impression,0,,0,,\nu1,i2,6,click,0,50,0,,\n"));
    let run = s.attnlab(&["run", &spec, "dataset.path=logs"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("log.csv:3: field 4 (event): `click` of user `u1`, item `i2` at position 0 follows no impression"), "{}", run.stderr());
    std::fs::create_dir_all(s.path("empty")).unwrap();
    let ml = repo("experiments/ml100k-raw.yaml").display().to_string();
    let run = s.attnlab(&["data", "stats", &ml, "dataset.path=empty"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.path: empty holds none of u.data (ML-100K), ratings.dat"), "{}", run.stderr());
    s.write("empty/u.data", "1\t2\t5\t881250949\n1\tx\t4\n");
    let run = s.attnlab(&["data", "stats", &ml, "dataset.path=empty"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("u.data:2: expected 4 fields"), "{}", run.stderr());
    assert!(!s.db().exists(), "nothing written");
}

/// `attnlab metrics` reads string ids as they come.
#[test]
fn metrics_take_string_ids() {
    let s = Scratch::new();
    let strings = s.write("s.csv", "user,item,score,label\nu17,i-a,0.9,1\nu17,i-b,0.2,0\n3f9a,i-a,0.4,0\n3f9a,i-c,0.7,1\n");
    let numbers = s.write("n.csv", "user,item,score,label\n1,1,0.9,1\n1,2,0.2,0\n2,1,0.4,0\n2,3,0.7,1\n");
    let metrics = ["--metrics", "auc,gauc,ndcg@1,itemcoverage@1", "--json"];
    let a = s.attnlab(&[&["metrics", strings.to_str().unwrap()][..], &metrics[..]].concat()).ok().stdout();
    let b = s.attnlab(&[&["metrics", numbers.to_str().unwrap()][..], &metrics[..]].concat()).ok().stdout();
    assert_eq!(a, b);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!((v["gauc"].as_f64(), v["ndcg@1"].as_f64()), (Some(1.0), Some(1.0)), "{v}");
}
