//! Dwell as a label end to end: a dwell target and the metrics of time
//! through the binary, and their bad input (exit 2, naming the key and the
//! source, or the file and line).

use crate::util::{quickstart, Scratch};

/// A small simulated world whose dwell follows item length, a click model
/// on each target, PAL on a click model and on MMoE with a dwell head, the
/// metrics of time and the relevance AUC at position 0.
const OVERRIDES: [&str; 7] = [
    "dataset.simulator={users: 200, items: 80, topics: 6, sessions_per_user: 6, slots: 6, ads: {advertisers: 0, dwell_length_weight: 1.0}}",
    "protocol.metrics=[auc, dwell_ndcg@10, dwell@10, dwell_auc, dwell_rmse, relevance_auc]",
    "train.epochs=2",
    "train.batch_size=256",
    "train.checkpoints=false",
    "models=[{name: click, model: FM}, {name: wlr, model: FM, train: {target: dwell_weighted}}, {name: log, model: FM, train: {target: dwell_log}}, {name: pal, model: FM, train: {position_debias: pal}}, {name: mmoe-pal, model: MMoE, params: {embed_dim: 8, dwell_head: true}, train: {position_debias: pal}}]",
    "targets=[]",
];

#[test]
fn dwell_targets_train_and_report_the_metrics_of_time() {
    let s = Scratch::new();
    let spec = quickstart();
    let mut args = vec!["run", spec.as_str()];
    args.extend(OVERRIDES);
    s.attnlab(&args).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "quickstart", "--json"]).ok().stdout()).unwrap();
    let runs = runs.as_array().unwrap();
    let metric = |name: &str, key: &str| {
        let r = runs.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no run {name}"));
        r["metrics"][key].as_f64()
    };
    for name in ["click", "wlr", "log", "pal"] {
        for key in ["test.auc", "test.dwell_ndcg@10", "test.dwell@10", "test.dwell_auc", "test.relevance_auc"] {
            let v = metric(name, key).unwrap_or_else(|| panic!("{name}: no {key}"));
            assert!(v.is_finite() && v > 0.0, "{name} {key} = {v}");
        }
    }
    // only the regression predicts a log dwell; the dwell targets stop on their own metric
    assert!(metric("log", "test.dwell_rmse").is_some() && metric("click", "test.dwell_rmse").is_none());
    assert!(metric("wlr", "best.valid.dwell_ndcg@10").is_some() && metric("log", "best.valid.dwell_rmse").is_some());
    assert!(metric("click", "best.valid.auc").is_some());
    // PAL on a multi-task model with a dwell head, stopping on its click AUC as the spec's `auc` asks
    for key in ["test.ctr_auc", "test.relevance_auc", "test.dwell_rmse", "test.dwell_ndcg@10", "best.valid.ctr_auc"] {
        let v = metric("mmoe-pal", key).unwrap_or_else(|| panic!("mmoe-pal: no {key}"));
        assert!(v.is_finite() && v > 0.0, "mmoe-pal {key} = {v}");
    }
    assert!(metric("mmoe-pal", "best.valid.cvr_auc").is_none());
}

#[test]
fn a_dwell_target_on_data_without_dwell_names_the_key_and_the_source() {
    let s = Scratch::new();
    let spec = s.write(
        "ctr.yaml",
        "name: ctrdwell
dataset:
  source: ctr-log
  path: data
  ctr_log: { file: log.csv }
models:
  - { name: lr, model: LR, train: { target: dwell_log } }
",
    );
    for command in ["validate", "run"] {
        let run = s.attnlab(&[command, spec.to_str().unwrap()]);
        assert_eq!(run.code(), 2, "{command}: {}", run.stderr());
        let err = run.stderr();
        assert!(err.contains("models[0].train.target") && err.contains("`ctr-log` has none"), "{command}: {err}");
    }
    // spec-wide, and a metric of time
    let run = s.attnlab(&["validate", spec.to_str().unwrap(), "models=[{name: lr, model: LR}]", "train.target=dwell_weighted"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.target") && run.stderr().contains("ctr-log"), "{}", run.stderr());
    let run = s.attnlab(&["validate", spec.to_str().unwrap(), "models=[{name: lr, model: LR}]", "protocol.metrics=[auc, dwell_ndcg@10]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("protocol.metrics[1]") && run.stderr().contains("ctr-log"), "{}", run.stderr());
    // IPS on a log needs its propensities, each in (0, 1]; it weights clicks of click models
    let run = s.attnlab(&["validate", spec.to_str().unwrap(), "models=[{name: lr, model: LR}]", "train.position_debias=ips"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.propensities") && run.stderr().contains("ctr-log"), "{}", run.stderr());
    let run = s.attnlab(&["validate", spec.to_str().unwrap(), "models=[{name: lr, model: LR, train: {position_debias: ips, propensities: [1.0, 0.0]}}]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].train.propensities[1]"), "{}", run.stderr());
    let run = s.attnlab(&["validate", spec.to_str().unwrap(), "models=[{name: lr, model: LR, train: {position_debias: ips, propensities: [1.0, 0.5]}}]"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let run = s.attnlab(&["validate", &quickstart(), "models=[{name: m, model: MMoE}]", "train.position_debias=ips"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.position_debias") && run.stderr().contains("`ips`"), "{}", run.stderr());
    // a multi-task model has no dwell target (its dwell head learns dwell), and takes PAL
    let run = s.attnlab(&["validate", &quickstart(), "models=[{name: m, model: MMoE, train: {target: dwell_log}}]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].train.target"), "{}", run.stderr());
    let run = s.attnlab(&["validate", &quickstart(), "models=[{name: m, model: MMoE, params: {dwell_head: true}}]", "train.position_debias=pal"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // PAL multiplies click probabilities: not with a dwell target
    let run = s.attnlab(&["validate", &quickstart(), "models=[{name: m, model: FM, train: {target: dwell_weighted, position_debias: pal}}]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].train.target") && run.stderr().contains("not supported"), "{}", run.stderr());
}

#[test]
fn negative_dwell_in_an_attention_log_is_refused_at_its_line() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("logs")).unwrap();
    s.write(
        "logs/log.csv",
        "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price
u1,i1,100,impression,0,,0,,
u1,i1,100,click,0,-3000,0,,
",
    );
    let spec = s.write(
        "log.yaml",
        "name: negdwell
dataset:
  source: attention-log
  path: logs
  attention_log: { file: log.csv }
models:
  - { name: lr, model: LR, train: { target: dwell_log } }
",
    );
    let run = s.attnlab(&["run", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("log.csv:3") && run.stderr().contains("dwell_ms"), "{}", run.stderr());
    // and in a predictions file
    let preds = s.write("p.csv", "user,label,score,dwell\na,1,0.5,10\na,0,0.2,-1\n");
    let run = s.attnlab(&["metrics", preds.to_str().unwrap(), "--metrics", "dwell_ndcg@10"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("p.csv:3") && run.stderr().contains("dwell"), "{}", run.stderr());
}

#[test]
fn metrics_of_time_from_a_predictions_file() {
    let s = Scratch::new();
    let preds = s.write("p.csv", "user,label,score,dwell\na,0,0.9,0\na,1,0.5,10\na,1,0.1,5\nb,0,0.3,0\n");
    let run = s.attnlab(&["metrics", preds.to_str().unwrap(), "--metrics", "auc,dwell@2,dwell_auc", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!((v["auc"].as_f64().unwrap() - 0.25).abs() < 1e-12, "{v}");
    assert!((v["dwell@2"].as_f64().unwrap() - 10.0).abs() < 1e-9, "{v}");
    assert!((v["dwell_auc"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9, "{v}");
}

/// A CSV click log with a dwell column named in the spec: a dwell target
/// learns from it; a negative dwell is refused at its line; a dwell target
/// without the column names its key; a bad task weight names its key.
#[test]
fn a_ctr_log_with_a_dwell_column_trains_a_dwell_target_and_refuses_negative_dwell() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("data")).unwrap();
    // item i's clicks dwell (i % 5 + 1) seconds: learnable from the item
    let mut log = String::from("user,item,label,dwell_ms\n");
    for r in 0..3000u32 {
        let (user, item) = (r % 37, (r * 7) % 23);
        let click = (r * 13 + item) % 4 == 0;
        let dwell = if click { ((item % 5 + 1) * 1000).to_string() } else { String::new() };
        log.push_str(&format!("u{user},i{item},{},{dwell}\n", click as u8));
    }
    s.write("data/log.csv", &log);
    let spec = s.write(
        "ctr.yaml",
        "name: ctrdwell
dataset:
  source: ctr-log
  path: data
  ctr_log: { file: log.csv, format: csv, fields: { user: user, item: item }, categorical: [], numeric: [], dwell: dwell_ms }
protocol:
  split: temporal
  ratios: [0.8, 0.1, 0.1]
  metrics: [auc, dwell_rmse]
train: { epochs: 3, batch_size: 128, optimizer: { name: adam, lr: 0.05 }, checkpoints: false }
models:
  - { name: log, model: LR, train: { target: dwell_log } }
",
    );
    let spec = spec.to_str().unwrap();
    s.attnlab(&["run", spec]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "ctrdwell", "--json"]).ok().stdout()).unwrap();
    let rmse = runs[0]["metrics"]["test.dwell_rmse"].as_f64().unwrap_or_else(|| panic!("{runs:#}"));
    // log1p of 1..5 s spans 0.69..1.79 (sd 0.39): a model of the item does better than that spread
    assert!(rmse < 0.3, "dwell_rmse {rmse}");

    // a negative dwell: file and line
    s.write("data/log.csv", &log.replacen("\nu4,i5,0,\n", "\nu4,i5,0,-5\n", 1));
    let run = s.attnlab(&["run", spec]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("log.csv:6") && run.stderr().contains("dwell_ms"), "{}", run.stderr());

    // without the column the dwell target names its key and the source
    let run = s.attnlab(&["validate", spec, "dataset.ctr_log.dwell=null", "protocol.metrics=[auc]"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].train.target") && run.stderr().contains("`ctr-log` has none"), "{}", run.stderr());
    let run = s.attnlab(&["validate", spec, "train.task_weights.dwell=-1"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.task_weights.dwell"), "{}", run.stderr());
}
