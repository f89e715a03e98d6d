//! The quickstart experiment end to end: spec -> simulator -> LR and DIN on
//! libtorch -> SQLite store -> HTML report.

use rusqlite::Connection;

use crate::util::{quickstart, Scratch};

#[test]
fn small_quickstart_logs_runs_epochs_and_renders_a_report() {
    let s = Scratch::new();
    let run = s.attnlab(&["run", &quickstart(), "train.epochs=2", "dataset.simulator.users=300"]).ok();
    let out = run.stdout();
    assert!(out.lines().any(|l| l.starts_with("lr ")) && out.lines().any(|l| l.starts_with("din ")), "{out}");
    assert!(out.contains("best possible test AUC"), "{out}");

    let db = Connection::open(s.db()).unwrap();
    let finished: Vec<(String, String)> = db
        .prepare("SELECT r.name, r.status FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE e.name = 'quickstart' ORDER BY r.name")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(finished, vec![("din".into(), "FINISHED".into()), ("lr".into(), "FINISHED".into())]);
    for name in ["lr", "din"] {
        let steps: Vec<i64> = db
            .prepare("SELECT m.step FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = ?1 AND m.key = 'valid.auc' ORDER BY m.step")
            .unwrap()
            .query_map([name], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(steps, vec![1, 2], "{name}: one valid.auc per epoch");
        let test_auc: f64 = db
            .query_row("SELECT m.value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = ?1 AND m.key = 'test.auc'", [name], |row| row.get(0))
            .unwrap();
        // learned: well above an untrained model's 0.5 (measured: lr 0.61, din 0.71),
        // below the simulator's true probabilities (0.83)
        let oracle: f64 = db
            .query_row("SELECT t.value FROM tags t JOIN runs r ON r.id = t.run_id WHERE r.name = ?1 AND t.key = 'data.oracle_test_auc'", [name], |row| {
                row.get::<_, String>(0)
            })
            .unwrap()
            .parse()
            .unwrap();
        assert!(test_auc > 0.55 && test_auc < oracle, "{name}: test.auc {test_auc} (best possible {oracle})");
    }
    let overrides: String = db
        .query_row("SELECT value FROM tags WHERE key = 'spec.overrides' LIMIT 1", [], |row| row.get(0))
        .unwrap();
    assert_eq!(overrides, "train.epochs=2 dataset.simulator.users=300");

    let html_path = s.path("out/quickstart.html");
    s.attnlab(&["report", "quickstart", "-o", html_path.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&html_path).unwrap();
    for needle in [">lr<", ">din<", "Test AUC", "valid.auc", "train.loss", "<svg"] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script src"), "report must be self-contained");
    assert!(html.contains("Significance against the baseline") && html.contains("din (seed 2024)"), "DIN is compared with LR");
    assert!(html.contains("Reproduction targets"), "the spec's targets are judged in the report");
    let bad = s.attnlab(&["report", "quickstart", "--baseline", "gbdt", "-o", html_path.to_str().unwrap()]);
    assert_eq!(bad.code(), 2, "{}", bad.stderr());
    let md = s.attnlab(&["report", "quickstart", "--format", "md"]).ok().stdout();
    assert!(md.starts_with("| run | model | seed | status | Test AUC") && md.lines().count() == 4, "{md}");
    let csv = s.attnlab(&["report", "quickstart", "--format", "csv"]).ok().stdout();
    assert_eq!(csv.lines().count(), 3, "{csv}");
}

/// The learning check of the slice: with a fixed seed, DIN reads the click
/// history and beats the id-only LR by a wide margin, and gets close to the
/// best AUC any model could reach (the simulator's true probabilities).
/// Measured: LR 0.6815, DIN 0.7837, best possible 0.8384 (margins leave room
/// for other CPUs' floating-point paths, not for a model that ignores history).
#[test]
fn din_beats_lr_and_approaches_the_best_possible_auc() {
    let s = Scratch::new();
    let run = s.attnlab(&["run", &quickstart()]).ok();
    let runs = s.attnlab(&["runs", "list", "quickstart", "--json"]).ok();
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout()).unwrap();
    let runs = runs.as_array().unwrap();
    let test_auc = |name: &str| -> f64 {
        let run = runs.iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(run["status"], "FINISHED");
        run["metrics"]["test.auc"].as_f64().unwrap()
    };
    let (lr, din) = (test_auc("lr"), test_auc("din"));
    let oracle: f64 = runs[0]["tags"]["data.oracle_test_auc"].as_str().unwrap().parse().unwrap();
    assert!(din > lr + 0.07, "DIN {din:.4} must beat LR {lr:.4} by 0.07");
    assert!(din > oracle - 0.07, "DIN {din:.4} must be within 0.07 of the best possible {oracle:.4}");
    assert!(oracle > din, "nothing beats the true probabilities: {oracle:.4} vs {din:.4}");
    // the spec's own targets are judged in the summary: every verdict cell
    // is exactly REPRODUCED (a substring test would pass NOT REPRODUCED)
    let verdicts = target_verdicts(&run.stdout());
    assert_eq!(verdicts, [("din".to_string(), "REPRODUCED".to_string()), ("lr".to_string(), "REPRODUCED".to_string())], "{}", run.stdout());
}

/// (target, verdict) of each row of the summary's "reproduction targets"
/// table, cut at the columns its dashed rule marks.
fn target_verdicts(stdout: &str) -> Vec<(String, String)> {
    let mut lines = stdout.lines().skip_while(|l| *l != "reproduction targets").skip(1);
    let header = lines.next().expect("the targets table");
    let rule = lines.next().expect("its rule");
    let mut columns = Vec::new();
    let mut start = None;
    for (i, c) in rule.char_indices().chain([(rule.len(), ' ')]) {
        match (c, start) {
            ('-', None) => start = Some(i),
            (' ', Some(s)) => {
                columns.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    let verdict = header.split_whitespace().position(|h| h == "verdict").expect("a verdict column");
    // columns count characters (a cell may hold `±`), the rule is ASCII
    let cell = |row: &str, i: usize| {
        let chars: Vec<char> = row.chars().collect();
        let range = columns[i].start.min(chars.len())..columns[i].end.min(chars.len());
        chars[range].iter().collect::<String>().trim().to_string()
    };
    lines.take_while(|l| !l.trim().is_empty()).map(|row| (cell(row, 0), cell(row, verdict))).collect()
}

/// Content-addressed runs: an unchanged run is not trained again; a changed
/// override or `--force` does train.
#[test]
fn unchanged_runs_are_skipped_and_force_reruns() {
    let s = Scratch::new();
    let tiny = [&quickstart(), "train.epochs=1", "dataset.simulator.users=80", "models.1.params.embed_dim=4"];
    let count = || -> i64 {
        Connection::open(s.db()).unwrap().query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0)).unwrap()
    };
    let first = s.attnlab(&[&["run"][..], &tiny[..]].concat()).ok();
    assert_eq!(count(), 2);
    let again = s.attnlab(&[&["run"][..], &tiny[..]].concat()).ok();
    assert_eq!(count(), 2, "nothing new was run");
    assert_eq!(again.stderr().matches("skipped").count(), 2, "{}", again.stderr());
    let table = |out: &str| out.lines().filter(|l| l.starts_with("lr ") || l.starts_with("din ")).map(String::from).collect::<Vec<_>>();
    assert_eq!(table(&first.stdout()), table(&again.stdout()), "the summary is read back unchanged");
    s.attnlab(&[&["run"][..], &tiny[..], &["train.optimizer.lr=0.01"][..]].concat()).ok();
    assert_eq!(count(), 4, "a changed spec is a new run");
    s.attnlab(&[&["run", "--force"][..], &tiny[..]].concat()).ok();
    assert_eq!(count(), 6, "--force runs again");
}

/// Click + conversion models on the simulated market with ads.
#[test]
fn market_trains_multitask_models_with_conversion_metrics() {
    let s = Scratch::new();
    let spec = crate::util::repo("experiments/market.yaml").display().to_string();
    let out = s
        // the spec's A/B test names models this override leaves out (tests/market.rs covers it)
        .attnlab(&["run", &spec, "train.epochs=2", "dataset.simulator.users=500", "models=[{name: esmm, model: ESMM, params: {embed_dim: 8}}]", "ab_test=null"])
        .ok()
        .stdout();
    assert!(out.contains("test.cvr_auc") && out.contains("test.ctcvr_auc"), "{out}");
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "market", "--json"]).ok().stdout()).unwrap();
    let metrics = &runs[0]["metrics"];
    for key in ["test.ctr_auc", "test.cvr_auc", "test.ctcvr_auc", "valid.cvr_auc"] {
        let v = metrics[key].as_f64().unwrap_or_else(|| panic!("{key} missing: {metrics}"));
        assert!((0.5..1.0).contains(&v), "{key} = {v}: the model learned something");
    }
    // the spec stops on `auc`: the multi-task model stops on its click AUC
    assert!(metrics["best.valid.ctr_auc"].is_f64() && metrics["best.valid.cvr_auc"].is_null(), "{metrics}");
}

/// General models on real ml-100k under RecBole's RS 8:1:1, though the CLI
/// builds sequences for every file data set: BPR trains on every train row
/// (10 epochs beat Pop; measured test NDCG@10 0.2055 vs 0.1403, ~2 s) and
/// each user is evaluated once with all their test items, so hit@10 is far
/// above recall@10 (one unit per test row made them equal).
#[test]
fn general_models_run_on_ml100k_with_one_unit_per_user() {
    let s = Scratch::new();
    let spec = crate::util::repo("experiments/ml100k-bpr.yaml").display().to_string();
    let data = format!("dataset.path={}", crate::util::repo("data/ml-100k").display());
    s.attnlab(&["run", &spec, &data, "train.epochs=10", "train.threads=1"]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "ml100k-bpr", "--json"]).ok().stdout()).unwrap();
    let metric = |name: &str, key: &str| runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["metrics"][key].as_f64().unwrap();
    for name in ["pop", "bpr"] {
        let (hit, recall) = (metric(name, "test.hit@10"), metric(name, "test.recall@10"));
        assert!(hit > 2.5 * recall, "{name}: hit@10 {hit:.4} vs recall@10 {recall:.4}: each user's test items are one unit");
    }
    assert!(metric("pop", "test.recall@10") > 0.1, "Pop's recall@10 on ml-100k RS is about 0.12");
    let (bpr, pop) = (metric("bpr", "test.ndcg@10"), metric("pop", "test.ndcg@10"));
    assert!(bpr > 1.2 * pop, "BPR's test NDCG@10 {bpr:.4} does not beat Pop's {pop:.4}");
}

/// Next-item models on real ml-100k under leave-one-out; the prepared data is
/// cached and reused by the next run.
#[test]
fn sequential_models_run_on_ml100k_and_reuse_the_prepared_data() {
    let s = Scratch::new();
    let spec = crate::util::repo("experiments/ml100k-sequential.yaml").display().to_string();
    let data = format!("dataset.path={}", crate::util::repo("data/ml-100k").display());
    // SASRec with a training recipe of its own (batch and window stride)
    let tiny = [
        "train.epochs=1",
        "train.batch_size=64",
        "models=[{name: pop, model: Pop}, {name: sasrec, model: SASRec, params: {hidden: 16, layers: 1, heads: 1}, train: {batch_size: 32, window_stride: 10}}]",
    ];
    let first = s.attnlab(&[&["run", &spec, &data][..], &tiny[..]].concat()).ok();
    assert!(first.stderr().contains("prepared and cached"), "{}", first.stderr());
    assert!(first.stdout().contains("test.ndcg@10"), "{}", first.stdout());
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "ml100k-sequential", "--json"]).ok().stdout()).unwrap();
    let ndcg = |name: &str| runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["metrics"]["test.ndcg@10"].as_f64().unwrap();
    assert!(ndcg("pop") > 0.01 && ndcg("pop") < 0.1, "Pop's NDCG@10 on ml-100k is a few percent: {}", ndcg("pop"));
    // one epoch of a small SASRec already beats popularity (measured 0.0311 vs 0.0220)
    assert!(ndcg("sasrec") > 1.2 * ndcg("pop"), "SASRec {} vs Pop {}", ndcg("sasrec"), ndcg("pop"));
    let param = |name: &str, key: &str| runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap()["params"][key].clone();
    assert_eq!((param("sasrec", "train.batch_size"), param("sasrec", "train.window_stride")), ("32".into(), "10".into()));
    assert_eq!(param("pop", "train.batch_size"), "64", "the spec's batch for the other models");
    let again = s.attnlab(&[&["run", &spec, &data, "--force"][..], &tiny[..]].concat()).ok();
    assert!(again.stderr().contains("from cache"), "{}", again.stderr());
}
