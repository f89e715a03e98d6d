//! The `ctr-log` source end to end: a Criteo-format click log (tab-separated,
//! no header, label, I1..I13, C1..C26) written here with a known signal,
//! trained on by LR and DeepFM through the binary.

use crate::util::Scratch;

/// A tiny deterministic generator (the test must not depend on a crate's RNG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `rows` impressions of 40 users x 60 items in 6 categories: a click is
/// likelier when the item's category is the user's favourite (an
/// interaction of two fields) and for "good" items (one field); other
/// columns are noise.
fn criteo_log(rows: usize) -> String {
    let mut rng = Lcg(17);
    let mut out = String::new();
    for _ in 0..rows {
        let user = (rng.next() * 40.0) as usize;
        let item = (rng.next() * 60.0) as usize;
        let category = item % 6;
        let logit = -1.5 + if category == user % 6 { 2.0 } else { 0.0 } + if item % 5 == 0 { 1.0 } else { 0.0 };
        let label = (rng.next() < 1.0 / (1.0 + (-logit as f64).exp())) as u8;
        let mut fields = vec![label.to_string()];
        fields.extend((0..13).map(|i| if i == 3 { String::new() } else { ((rng.next() * 10.0) as u32).to_string() }));
        fields.extend([format!("u{user:02x}"), format!("i{item:02x}"), format!("c{category}")]);
        fields.extend((3..26).map(|_| format!("{:x}", (rng.next() * 50.0) as u32)));
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

const SPEC: &str = "name: ctrlog
dataset:
  source: ctr-log
  path: data
  ctr_log:
    file: train.txt
    format: criteo
    fields: { user: C1, item: C2, category: C3 }
protocol:
  split: temporal
  ratios: [0.8, 0.1, 0.1]
  metrics: [auc, logloss]
  valid_metric: auc
train:
  epochs: 4
  batch_size: 256
  optimizer: { name: adam, lr: 0.01 }
models:
  - { name: lr, model: LR }
  - { name: deepfm, model: DeepFM, params: { embed_dim: 8 } }
seeds: [1]
";

#[test]
fn lr_and_deepfm_learn_from_a_criteo_format_log() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("data")).unwrap();
    s.write("data/train.txt", &criteo_log(20000));
    let spec = s.write("ctrlog.yaml", SPEC);
    s.attnlab(&["validate", spec.to_str().unwrap()]).ok();
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "ctrlog", "--json"]).ok().stdout()).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let auc = |name: &str| {
        let r = runs.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no run {name}"));
        r["metrics"]["test.auc"].as_f64().unwrap()
    };
    let (lr, deepfm) = (auc("lr"), auc("deepfm"));
    eprintln!("test AUC: LR {lr:.4}, DeepFM {deepfm:.4}");
    // a constant predictor has AUC 0.5; LR's per-id weights can only learn
    // the good items, DeepFM also the user x category affinity
    assert!(lr > 0.55, "LR: test AUC {lr:.4} does not beat a constant predictor");
    assert!(deepfm > 0.65 && deepfm > lr + 0.05, "DeepFM: test AUC {deepfm:.4} (LR {lr:.4}): the user x category signal was not learned");
}

#[test]
fn a_missing_log_or_unknown_column_is_bad_input() {
    let s = Scratch::new();
    let spec = s.write("ctrlog.yaml", SPEC);
    let run = s.attnlab(&["run", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("train.txt does not exist") && run.stderr().contains("where to get the data"), "{}", run.stderr());

    std::fs::create_dir_all(s.path("data")).unwrap();
    s.write("data/train.txt", &criteo_log(50));
    let typo = s.write("typo.yaml", &SPEC.replace("user: C1", "user: C99"));
    let run = s.attnlab(&["run", typo.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("C99"), "{}", run.stderr());

    let no_section = s.write("nosection.yaml", &SPEC.replace("  ctr_log:\n    file: train.txt\n    format: criteo\n    fields: { user: C1, item: C2, category: C3 }\n", ""));
    let run = s.attnlab(&["validate", no_section.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.ctr_log"), "{}", run.stderr());
}
