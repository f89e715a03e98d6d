//! The `obd` source end to end on the real Open Bandit Dataset in
//! `data/obd` (`make test` fetches it): click models train with the slot as
//! a field, a trained run becomes an OPE target policy and reward model,
//! the evaluation is stored as a run and shown by `report`, and `validate`
//! reads OPE specs.

use crate::util::{repo, Scratch};

fn data() -> String {
    let dir = repo("data/obd");
    assert!(dir.join("random/all/all.csv").exists(), "run `make test` (it fetches data/obd first)");
    dir.display().to_string()
}

fn spec(data: &str) -> String {
    format!(
        "name: obdclick
dataset:
  source: obd
  path: {data}
  obd: {{ policy: random, campaign: all }}
protocol:
  split: temporal
  ratios: [0.7, 0.1, 0.2]
  metrics: [auc, logloss]
  valid_metric: logloss
train:
  epochs: 4
  batch_size: 256
  optimizer: {{ name: adam, lr: 0.02 }}
  device: cpu
models:
  - {{ name: lr, model: LR }}
  - {{ name: deepfm, model: DeepFM, params: {{ embed_dim: 8, mlp_hidden: [32], history: false }} }}
seeds: [1]
"
    )
}

/// The test log loss of predicting the training rows' click rate for every
/// test row: what a model that learned only the base rate reaches.
fn constant_ctr_logloss() -> f64 {
    let text = std::fs::read_to_string(repo("data/obd/random/all/all.csv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let click = header.iter().position(|c| *c == "click").unwrap();
    // the file is in time order, so the temporal split is by line
    let clicks: Vec<f64> = text.lines().skip(1).map(|l| l.split(',').nth(click).unwrap().parse().unwrap()).collect();
    let (train_end, test_start) = ((clicks.len() as f64 * 0.7).round() as usize, (clicks.len() as f64 * 0.8).round() as usize);
    let p = clicks[..train_end].iter().sum::<f64>() / train_end as f64;
    let test = &clicks[test_start..];
    -test.iter().map(|&y| y * p.ln() + (1.0 - y) * (1.0 - p).ln()).sum::<f64>() / test.len() as f64
}

#[test]
fn click_models_train_on_obd_and_become_an_ope_target() {
    let s = Scratch::new();
    let d = data();
    let spec = s.write("obdclick.yaml", &spec(&d));
    s.attnlab(&["validate", spec.to_str().unwrap()]).ok();
    s.attnlab(&["run", spec.to_str().unwrap()]).ok();
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "obdclick", "--json"]).ok().stdout()).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    // The log holds 38 clicks in 10,000 rows, ~10 of them in the test split:
    // no field separates them measurably (the per-item, per-slot and per-user-
    // feature click rates of the training rows all give test AUCs near 0.5),
    // so a model can at best learn the base rate. A model that did not learn
    // even that (an untrained one predicts ~0.5: log loss ~0.69) is 25x worse
    // than the constant-CTR baseline; a trained one must come within 25% of it.
    let baseline = constant_ctr_logloss();
    assert!((0.02..0.04).contains(&baseline), "{baseline}");
    for r in runs {
        assert_eq!(r["status"], "FINISHED", "{r}");
        let logloss = r["metrics"]["test.logloss"].as_f64().unwrap();
        let auc = r["metrics"]["test.auc"].as_f64().unwrap();
        eprintln!("{}: test logloss {logloss:.5} (constant CTR {baseline:.5}), AUC {auc:.4}", r["name"]);
        assert!(logloss < 1.25 * baseline, "{}: test log loss {logloss} vs the constant CTR's {baseline}", r["name"]);
        assert!((0.0..=1.0).contains(&auc));
    }

    // the trained DeepFM as a softmax policy at a very high temperature is the
    // uniform policy: on the uniform-random logs every weight is ~1, so IPW is
    // the mean click 38 / 10,000 (to the softmax's rounding)
    let ope = |extra: &[&str]| {
        let base = ["ope", "--logs", "obd:random/all", "--data", &d, "--bootstrap", "50", "--json", "--name", "obdope"];
        let out = s.attnlab(&[&base[..], extra].concat()).ok().stdout();
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let hot = ope(&["--target", "run:obdclick/deepfm", "--ranking", "softmax", "--temperature", "1e9", "--estimators", "ipw,snipw"]);
    assert!((hot["estimators"]["ipw"]["estimate"].as_f64().unwrap() - 0.0038).abs() < 1e-9, "{hot}");
    assert!(hot.get("truth").is_none(), "a trained policy has no truth: {hot}");
    // top-3: one item per slot, weight 80 where the log showed it, 0 elsewhere
    let top = ope(&["--target", "run:obdclick/deepfm", "--estimators", "ipw,dm,dr", "--reward-model", "run:obdclick/lr"]);
    let ipw = top["estimators"]["ipw"]["estimate"].as_f64().unwrap();
    assert!((ipw * 10_000.0 / 80.0 - (ipw * 10_000.0 / 80.0).round()).abs() < 1e-6, "IPW {ipw} is not 80 x clicks / 10,000");
    // LR's predictions as DM's reward model: the value of a policy under a model
    // that learned about the base rate is about the base rate
    let dm = top["estimators"]["dm"]["estimate"].as_f64().unwrap();
    assert!(dm > 0.0005 && dm < 0.02, "DM {dm}");

    // the evaluations are runs of their experiment, and its report shows the latest
    let listed: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", "obdope", "--json"]).ok().stdout()).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|r| r["model"] == "ope" && r["status"] == "FINISHED"));
    let latest = listed.iter().find(|r| r["metrics"].get("ope.dm.estimate").is_some()).unwrap();
    assert_eq!(latest["metrics"]["ope.dm.estimate"].as_f64().unwrap(), dm);
    let html = s.path("ope.html");
    s.attnlab(&["report", "obdope", "-o", html.to_str().unwrap()]).ok();
    let page = std::fs::read_to_string(&html).unwrap();
    // (the template escapes `/` as `&#x2F;`)
    assert!(page.contains("id=\"ope\"") && page.contains("run:obdclick&#x2F;deepfm") && page.contains("class=\"whisker\""), "no OPE section");
    assert!(page.contains("no truth"), "a trained policy's section says it has no truth");

    // a run of another campaign, or a missing one, is bad input naming the key
    let run = s.attnlab(&["ope", "--logs", "obd:random/men", "--target", "run:obdclick/deepfm", "--data", &d]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("ope.target") && run.stderr().contains("campaign `men`"), "{}", run.stderr());
    let run = s.attnlab(&["ope", "--logs", "obd:random/all", "--target", "uniform", "--reward-model", "run:obdclick/fm", "--data", &d]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("ope.reward_model") && run.stderr().contains("no finished run of model `fm`"), "{}", run.stderr());
}

#[test]
fn obd_specs_with_bad_input_exit_2() {
    let s = Scratch::new();
    let d = data();
    let nowhere = s.write("nowhere.yaml", &spec(s.path("nowhere").to_str().unwrap()));
    let run = s.attnlab(&["run", nowhere.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.path") && run.stderr().contains("attnlab data fetch obd"), "{}", run.stderr());
    let kids = s.write("kids.yaml", &spec(&d).replace("campaign: all", "campaign: kids"));
    let run = s.attnlab(&["validate", kids.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("kids.yaml:5") && run.stderr().contains("kids"), "{}", run.stderr());
    let no_log = s.write("nolog.yaml", &spec(&d).replace("  obd: { policy: random, campaign: all }\n", ""));
    let run = s.attnlab(&["validate", no_log.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("dataset.obd"), "{}", run.stderr());
    // a broken log fails the run before training, naming file, line and column
    let dir = s.path("broken/random/all");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo("data/obd/random/all/item_context.csv"), dir.join("item_context.csv")).unwrap();
    let good = std::fs::read_to_string(repo("data/obd/random/all/all.csv")).unwrap();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[2].split(',').collect();
    fields[5] = "0";
    lines[2] = fields.join(",");
    std::fs::write(dir.join("all.csv"), lines.join("\n") + "\n").unwrap();
    let broken = s.write("broken.yaml", &spec(s.path("broken").to_str().unwrap()));
    let run = s.attnlab(&["run", broken.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("all.csv:3: field 6 (propensity_score): propensity 0 is not a probability in (0, 1]"), "{}", run.stderr());
    let runs = s.attnlab(&["runs", "list", "obdclick", "--json"]);
    assert!(runs.code() != 0 || !runs.stdout().contains("FINISHED"), "nothing trained: {}", runs.stdout());
    let sasrec = s.write("sasrec.yaml", &spec(&d).replace("model: LR", "model: SASRec"));
    let run = s.attnlab(&["validate", sasrec.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("models[0].model") && run.stderr().contains("Open Bandit Dataset log trains CTR models"), "{}", run.stderr());
}

#[test]
fn validate_reads_ope_specs() {
    let s = Scratch::new();
    let shipped = repo("experiments/ope/obd-ope.yaml");
    let out = s.attnlab(&["validate", shipped.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("ok (off-policy evaluation of obd:bts/all from obd:random/all: 7 estimators, 1000 bootstrap resamples)"), "{out}");
    let click = repo("experiments/ope/obd-ope-click.yaml");
    let out = s.attnlab(&["validate", click.to_str().unwrap()]).ok().stdout();
    assert!(out.contains("as a softmax policy"), "{out}");
    let bad = s.write("bad.yaml", "name: x\nope:\n  logs: obd:random/all\n  target: run:obd-click/deepfm\n  temperature: 0\n");
    let run = s.attnlab(&["validate", bad.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("bad.yaml") && run.stderr().contains("ope.temperature"), "{}", run.stderr());
    let typo = s.write("typo.yaml", "name: x\nope:\n  logs: obd:random/all\n  target: uniform\n  rankin: top-3\n");
    let run = s.attnlab(&["validate", typo.to_str().unwrap()]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("typo.yaml:5") && run.stderr().contains("rankin"), "{}", run.stderr());
    let run = s.attnlab(&["validate", shipped.to_str().unwrap(), "ope.seed=3"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("no key=value overrides"), "{}", run.stderr());
}
