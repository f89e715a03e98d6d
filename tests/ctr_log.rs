//! The `ctr-log` source end to end: Criteo-format click logs (tab-separated,
//! no header, label, I1..I13, C1..C26) written here with a known signal,
//! trained on by LR and DeepFM through the binary; every column is a field
//! unless the spec says otherwise.

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
/// columns are noise, so the spec reads the role fields only (`categorical:
/// []`, `numeric: []`): with all 36 noise columns as fields both models
/// overfit these 16,000 training rows (test AUC ~0.53).
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
    categorical: []
    numeric: []
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

    // per-user values name users as the log does (`u1f`), never by dense id
    let run = runs[0]["id"].as_str().unwrap();
    let csv = std::fs::read_to_string(s.path("store/artifacts").join(run).join("per_user/test.csv")).unwrap();
    let users: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert!(users.len() > 20, "{csv}");
    assert!(users.iter().all(|u| u.len() == 3 && u.starts_with('u') && u8::from_str_radix(&u[1..], 16).is_ok_and(|n| n < 40)), "{users:?}");
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

    let no_section = s.write("nosection.yaml", &SPEC.replace("  ctr_log:\n    file: train.txt\n    format: criteo\n    fields: { user: C1, item: C2, category: C3 }\n    categorical: []\n    numeric: []\n", ""));
    let run = s.attnlab(&["validate", no_section.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.ctr_log"), "{}", run.stderr());
}

/// `rows` impressions whose clicks depend only on columns that are no role
/// field: the categorical C17 (three good and three bad values of twelve)
/// and the numeric I3 (0..9, each step adds to the logit). The role
/// columns C1..C3 and every other column are noise.
fn hidden_signal_log(rows: usize) -> String {
    let mut rng = Lcg(29);
    let mut out = String::new();
    for _ in 0..rows {
        let c17 = (rng.next() * 12.0) as usize;
        let i3 = (rng.next() * 10.0) as u32;
        let logit = -1.0 + if c17 < 3 { 2.0 } else if c17 >= 9 { -1.5 } else { 0.0 } + 0.4 * (i3 as f64 - 4.5);
        let label = (rng.next() < 1.0 / (1.0 + (-logit).exp())) as u8;
        let mut fields = vec![label.to_string()];
        fields.extend((1..=13).map(|i| if i == 3 { i3.to_string() } else { ((rng.next() * 10.0) as u32).to_string() }));
        fields.extend((1..=26).map(|c| if c == 17 { format!("v{c17}") } else { format!("{:x}", (rng.next() * 40.0) as u32) }));
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

fn hidden_signal_spec(name: &str, columns: &str) -> String {
    format!(
        "name: {name}
dataset:
  source: ctr-log
  path: data
  ctr_log:
    file: hidden.txt
    format: criteo
    fields: {{ user: C1, item: C2, category: C3 }}
{columns}protocol:
  split: temporal
  ratios: [0.8, 0.1, 0.1]
  metrics: [auc, logloss]
  valid_metric: auc
train:
  epochs: 3
  batch_size: 256
  optimizer: {{ name: adam, lr: 0.01 }}
models:
  - {{ name: deepfm, model: DeepFM, params: {{ embed_dim: 8, history: false }} }}
seeds: [1]
"
    )
}

fn test_auc(s: &Scratch, experiment: &str) -> f64 {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", experiment, "--json"]).ok().stdout()).unwrap();
    runs[0]["metrics"]["test.auc"].as_f64().unwrap_or_else(|| panic!("{experiment}: no test.auc in {runs}"))
}

#[test]
fn deepfm_learns_from_columns_beyond_the_role_fields() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("data")).unwrap();
    s.write("data/hidden.txt", &hidden_signal_log(20000));
    let all = s.write("all.yaml", &hidden_signal_spec("all-fields", ""));
    let roles = s.write("roles.yaml", &hidden_signal_spec("role-fields", "    categorical: []\n    numeric: []\n"));
    s.attnlab(&["run", all.to_str().unwrap()]).ok();
    s.attnlab(&["run", roles.to_str().unwrap()]).ok();
    let (all, roles) = (test_auc(&s, "all-fields"), test_auc(&s, "role-fields"));
    eprintln!("DeepFM test AUC: every field {all:.4}, the four role fields only {roles:.4}");
    // the role columns are noise: restricted to them DeepFM is a constant
    // predictor up to overfitting; with C17 and I3 it sees the signal
    assert!(roles < 0.56, "role fields only: test AUC {roles:.4}, but they carry no signal");
    assert!(all > 0.7 && all > roles + 0.15, "every field: test AUC {all:.4} (roles only {roles:.4}): C17 / I3 not learned");
}

#[test]
fn the_data_fingerprint_follows_the_field_set_and_encoding() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("data")).unwrap();
    s.write("data/hidden.txt", &hidden_signal_log(300));
    let spec = s.write("all.yaml", &hidden_signal_spec("fp", ""));
    let fingerprint = |overrides: &[&str]| {
        let mut args = vec!["data", "stats", spec.to_str().unwrap()];
        args.extend(overrides);
        let out = s.attnlab(&args).ok().stdout();
        let at = out.find("data fingerprint ").unwrap_or_else(|| panic!("{out}"));
        out[at..].split_whitespace().nth(2).unwrap().trim_end_matches(')').to_string()
    };
    let base = fingerprint(&[]);
    assert_eq!(fingerprint(&[]), base, "same file and settings, same data");
    let variants = [
        fingerprint(&["dataset.ctr_log.min_count=2"]),
        fingerprint(&["dataset.ctr_log.numeric_preprocess=log_square"]),
        fingerprint(&["dataset.ctr_log.numeric_preprocess=standardise"]),
        fingerprint(&["dataset.ctr_log.categorical=[C17]"]),
        fingerprint(&["dataset.ctr_log.numeric=[]"]),
    ];
    for (i, v) in variants.iter().enumerate() {
        assert_ne!(*v, base, "variant {i}");
        assert!(variants[i + 1..].iter().all(|w| w != v), "variants {i} and a later one share {v}");
    }
}

#[test]
fn a_bad_column_choice_or_value_is_bad_input_naming_it() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("data")).unwrap();
    s.write("data/hidden.txt", &hidden_signal_log(200));
    let spec = s.write("all.yaml", &hidden_signal_spec("bad", "    categorical: [C17, C40]\n"));
    let run = s.attnlab(&["run", spec.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.ctr_log.categorical: no column `C40`"), "{}", run.stderr());

    let twice = s.write("twice.yaml", &hidden_signal_spec("twice", "    categorical: [C1]\n"));
    let run = s.attnlab(&["run", twice.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("already read by dataset.ctr_log.fields.user"), "{}", run.stderr());

    // a word in a numeric column: file, line and field
    let mut lines: Vec<String> = hidden_signal_log(200).lines().map(str::to_string).collect();
    let mut fields: Vec<&str> = lines[10].split('\t').collect();
    fields[1] = "many"; // I1 of line 11
    lines[10] = fields.join("\t");
    s.write("data/hidden.txt", &(lines.join("\n") + "\n"));
    let word = s.write("word.yaml", &hidden_signal_spec("word", ""));
    let run = s.attnlab(&["run", word.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("hidden.txt:11") && run.stderr().contains("I1"), "{}", run.stderr());
}
