//! The offline A/B test of the ad market through the binary: a small
//! trained model against ranking ads by bid alone, on fresh simulated
//! sessions, stored and shown in the report; and its input errors.

use crate::util::Scratch;

const SPEC: &str = "\
name: abmarket
dataset:
  source: simulator
  seed: 3
  simulator:
    users: 600
    items: 240
    topics: 8
    sessions_per_user: 10
    slots: 8
    ads: { advertisers: 8, ad_share: 0.2, slots: [1, 4] }
protocol:
  history_len: 10
  metrics: [ctr_auc, cvr_auc, ctcvr_auc]
  valid_metric: ctr_auc
train:
  epochs: 3
  batch_size: 512
  optimizer: { name: adam, lr: 0.01 }
models:
  - { name: esmm, model: ESMM, params: { embed_dim: 8 } }
seeds: [5]
ab_test:
  arms:
    - { name: by-bid, policy: bid-only }
    - { name: esmm, model: esmm }
    - { name: oracle, policy: true-probabilities }
  sessions: 20000
  seed: 17
  trade_off: { ad_loads: [1, 2, 3] }
  power: { lift: 0.05 }
";

/// The experiment's A/B test run, from `runs list --json`.
fn ab_run(s: &Scratch) -> serde_json::Value {
    ab_run_of(s, "abmarket")
}

/// Experiment `name`'s A/B test run.
fn ab_run_of(s: &Scratch, name: &str) -> serde_json::Value {
    let runs: serde_json::Value = serde_json::from_str(&s.attnlab(&["runs", "list", name, "--json"]).ok().stdout()).unwrap();
    let tests: Vec<&serde_json::Value> = runs.as_array().unwrap().iter().filter(|r| r["model"] == "ab-test").collect();
    assert!(!tests.is_empty(), "{runs:#}");
    tests[0].clone()
}

#[test]
fn a_trained_model_earns_more_than_ranking_ads_by_bid_and_the_report_shows_it() {
    let s = Scratch::new();
    let spec = s.write("market.yaml", SPEC);
    let spec = spec.to_str().unwrap();
    let run = s.attnlab(&["run", spec]).ok();
    let out = run.stdout();
    assert!(out.contains("offline A/B test on 20000 fresh sessions"), "{out}");
    assert!(out.contains("sessions per arm to detect a +5.0% revenue change"), "{out}");
    assert!(out.contains("revenue vs engagement as the ad load varies"), "{out}");

    let ab = ab_run(&s);
    let m = &ab["metrics"];
    let metric = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("no metric {k}: {m:#}"));
    let (low, high) = (metric("ab.esmm.revenue_per_session.ci_low"), metric("ab.esmm.revenue_per_session.ci_high"));
    assert!(low > 0.0, "the model's revenue gain over bid-only has a 95% CI above 0: [{low}, {high}]");
    assert!(metric("ab.esmm.revenue_per_session") > metric("ab.by-bid.revenue_per_session"));
    assert!(metric("ab.esmm.revenue_per_session.p") < 0.05);
    // ads that fit the user are clicked more; the true probabilities bound what a model can do
    assert!(metric("ab.esmm.ad_ctr.ci_low") > 0.0);
    assert!(metric("ab.oracle.ad_ctr") > metric("ab.esmm.ad_ctr"));
    // who gets seen among the 8 advertisers: a revenue Gini in [0, 1) and
    // the largest exposure share between even (1/8) and all
    for arm in ["by-bid", "esmm", "oracle"] {
        let gini = metric(&format!("ab.{arm}.advertiser_revenue_gini"));
        let top = metric(&format!("ab.{arm}.top_advertiser_exposure_share"));
        assert!((0.0..1.0).contains(&gini) && (0.125..=1.0).contains(&top), "{arm}: gini {gini}, top share {top}");
    }

    let html_path = s.path("report.html");
    s.attnlab(&["report", "abmarket", "-o", html_path.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let section = &html[html.find("id=\"ab-test\"").expect("the A/B section")..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("by-bid") && section.contains("esmm") && section.contains("revenue_per_session"));
    assert!(section.contains("advertiser_revenue_gini") && section.contains("top_advertiser_exposure_share"));
    assert!(section.contains("<svg"), "the trade-off curve");
    let results = &html[html.find("<table class=\"results").unwrap()..];
    assert!(!results[..results.find("</table>").unwrap()].contains("ab-test"), "the A/B run is not a results row");

    // `ab-test` replays from the finished runs without training again
    let again = s.attnlab(&["ab-test", spec, "ab_test.sessions=500"]).ok();
    assert!(again.stdout().contains("offline A/B test on 500 fresh sessions"), "{}", again.stdout());
    assert!(!again.stderr().contains("epoch"), "nothing is trained: {}", again.stderr());

    // input errors exit 2 with a message that names the problem
    let missing = s.attnlab(&["ab-test", spec, "train.epochs=2"]);
    assert_eq!(missing.code(), 2, "{}", missing.stderr());
    assert!(missing.stderr().contains("ab_test.arms[1] `esmm`: model `esmm` has no finished run of this spec"), "{}", missing.stderr());
    let unknown_run = s.attnlab(&["ab-test", spec, "ab_test.arms.1.model=null", "ab_test.arms.1.run=ffff0000"]);
    assert_eq!(unknown_run.code(), 2, "{}", unknown_run.stderr());
    assert!(unknown_run.stderr().contains("ab_test.arms[1] `esmm`") && unknown_run.stderr().contains("ffff0000"), "{}", unknown_run.stderr());
}

#[test]
fn an_arm_naming_an_unknown_model_is_a_spec_error() {
    let s = Scratch::new();
    let spec = s.write("market.yaml", &SPEC.replace("{ name: esmm, model: esmm }", "{ name: esmm, model: esm }"));
    for command in ["validate", "ab-test", "run"] {
        let out = s.attnlab(&[command, spec.to_str().unwrap()]);
        assert_eq!(out.code(), 2, "{command}: {}", out.stderr());
        let text = out.stderr() + &out.stdout();
        assert!(text.contains("ab_test.arms[1].model: `esm` names an unknown model"), "{command}: {text}");
    }
    assert!(!s.db().exists(), "nothing was written");
    let none = s.write("plain.yaml", &SPEC[..SPEC.find("ab_test:").unwrap()]);
    let out = s.attnlab(&["ab-test", none.to_str().unwrap()]);
    assert_eq!(out.code(), 2, "{}", out.stderr());
    assert!(out.stderr().contains("no `ab_test:` section"), "{}", out.stderr());
}

/// The money/attention frontier: the simulator's true probabilities and
/// expected dwell ranked at growing attention weights λ. More λ gives ad
/// slots to organic items that hold users longer: attention per session
/// never falls and revenue never rises beyond the 95% intervals, and the
/// largest λ is clearly apart from λ = 0 on both.
const FRONTIER: &str = "\
name: frontier
dataset:
  source: simulator
  seed: 3
  simulator:
    users: 600
    items: 240
    topics: 8
    sessions_per_user: 10
    slots: 8
    ads: { advertisers: 8, ad_share: 0.2, slots: [1, 4], dwell_length_weight: 1.0 }
protocol:
  history_len: 10
train: { epochs: 1 }
models:
  - { name: lr, model: LR }
seeds: [5]
ab_test:
  arms:
    - { name: by-bid, policy: bid-only }
    - { name: oracle, policy: true-probabilities }
  sessions: 20000
  seed: 17
  trade_off: { lambdas: [0, 0.001, 0.003, 0.01, 0.03, 0.1] }
";

#[test]
fn more_attention_weight_buys_attention_with_revenue_along_a_monotone_frontier() {
    let s = Scratch::new();
    let spec = s.write("frontier.yaml", FRONTIER);
    let spec = spec.to_str().unwrap();
    let out = s.attnlab(&["run", spec]).ok().stdout();
    assert!(out.contains("revenue vs engagement as the lambda varies"), "{out}");

    let ab = ab_run_of(&s, "frontier");
    let id = ab["id"].as_str().unwrap();
    let artifact = s.db().parent().unwrap().join("artifacts").join(id).join("ab_test/report.json");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&artifact).unwrap()).unwrap();
    let points: Vec<&serde_json::Value> =
        report["trade_off"]["points"].as_array().unwrap().iter().filter(|p| p["arm"] == "oracle").collect();
    assert_eq!(points.len(), 6, "{report:#}");
    let f = |p: &serde_json::Value, k: &str| p[k].as_f64().unwrap();
    let ci = |p: &serde_json::Value, k: &str| (p[k][0].as_f64().unwrap(), p[k][1].as_f64().unwrap());
    for w in points.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        assert!(f(hi, "value") > f(lo, "value"));
        assert!(f(hi, "revenue_per_session") <= ci(lo, "revenue_ci").1, "revenue rises past its CI: {lo} -> {hi}");
        assert!(f(hi, "attention_per_session") >= ci(lo, "attention_ci").0, "attention falls past its CI: {lo} -> {hi}");
    }
    let (first, last) = (points[0], points[5]);
    assert!(ci(last, "revenue_ci").1 < ci(first, "revenue_ci").0, "λ = 0.1 earns less: {first} vs {last}");
    assert!(ci(last, "attention_ci").0 > ci(first, "attention_ci").1, "λ = 0.1 holds users longer: {first} vs {last}");
    assert!(first["pareto"].as_bool().unwrap(), "the revenue-only point is on the frontier");
    // bid-only predicts no attention: λ leaves its feed unchanged
    let by_bid: Vec<f64> = report["trade_off"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["arm"] == "by-bid")
        .map(|p| f(p, "revenue_per_session"))
        .collect();
    assert!(by_bid.windows(2).all(|w| w[0] == w[1]), "{by_bid:?}");

    let html_path = s.path("report.html");
    s.attnlab(&["report", "frontier", "-o", html_path.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("attention minutes per session [95% CI]") && html.contains("Pareto-optimal: oracle at 0"), "the frontier table");

    // spec errors exit 2 naming the key
    for (set, key) in [("ab_test.lambda=-0.5", "ab_test.lambda"), ("ab_test.trade_off.lambdas=[-1]", "ab_test.trade_off.lambdas")] {
        let bad = s.attnlab(&["ab-test", spec, set]);
        assert_eq!(bad.code(), 2, "{}", bad.stderr());
        assert!(bad.stderr().contains(key), "{set}: {}", bad.stderr());
    }
}
