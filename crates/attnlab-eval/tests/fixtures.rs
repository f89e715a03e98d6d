//! Compares every metric to tests/fixtures/reference.json, generated once by
//! tests/fixtures/make_fixtures.py with scikit-learn and RecBole's formulas.

use attnlab_eval::*;
use serde_json::Value;

const TOL: f64 = 1e-9;

fn doc() -> Value {
    let text = include_str!("fixtures/reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}
fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}
fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn close(name: &str, got: f64, want: f64) {
    assert!((got - want).abs() <= TOL, "{name}: got {got}, reference {want}, diff {}", (got - want).abs());
}

#[test]
fn pointwise_matches_scikit_learn() {
    let d = doc();
    let p = &d["pointwise"];
    let (users, labels, scores) = (u32s(&p["users"]), f32s(&p["labels"]), f32s(&p["scores"]));
    let pred = Predictions::new(&users, &labels, &scores).unwrap();
    for (name, key) in [("auc", "auc"), ("logloss", "logloss"), ("rmse", "rmse"), ("mae", "mae"), ("gauc", "gauc"), ("gauc_unweighted", "gauc_unweighted")] {
        let m = Metric::parse(name).unwrap();
        close(name, m.compute(&pred).unwrap(), num(&p[key]));
    }
    let g = gauc(&users, &labels, &scores);
    assert_eq!(g.users_used as u64, p["gauc_users_used"].as_u64().unwrap());
    assert_eq!(g.users_skipped as u64, p["gauc_users_skipped"].as_u64().unwrap());

    let c = &p["calibration"];
    let cal = calibration(&labels, &scores, c["bins"].as_u64().unwrap() as usize).unwrap();
    close("calibration.ratio", cal.ratio.unwrap(), num(&c["ratio"]));
    close("calibration.ece", cal.ece, num(&c["ece"]));
    for (i, b) in cal.bins.iter().enumerate() {
        assert_eq!(b.count as u64, c["count"][i].as_u64().unwrap());
        close("bin.mean_pred", b.mean_pred, num(&c["mean_pred"][i]));
        close("bin.observed", b.observed, num(&c["observed"][i]));
    }
}

#[test]
fn multitask_matches_scikit_learn() {
    let d = doc();
    let m = &d["multitask"];
    let (clicks, conv, pctr, pcvr) = (f32s(&m["clicks"]), f32s(&m["conversions"]), f32s(&m["pctr"]), f32s(&m["pcvr"]));
    let r = multitask_auc(&MultiTask { clicks: &clicks, conversions: &conv, pctr: &pctr, pcvr: &pcvr }).unwrap();
    close("ctr_auc", r.ctr.unwrap(), num(&m["ctr_auc"]));
    close("cvr_auc", r.cvr.unwrap(), num(&m["cvr_auc"]));
    close("ctcvr_auc", r.ctcvr.unwrap(), num(&m["ctcvr_auc"]));
}

/// RecBole's nine top-K metrics (the exposure metrics are attnlab's own and
/// are checked by hand in `hand.rs`).
fn all_metrics(ks: &[u32]) -> Vec<Metric> {
    let recbole = RankingMetric::ALL.iter().filter(|r| !matches!(r, RankingMetric::ExposureGini | RankingMetric::LongTailShare));
    recbole.flat_map(|&r| ks.iter().map(move |&k| Metric::Ranking(r, k))).collect()
}

fn check_report(label: &str, report: &RankingReport, want: &Value, users_evaluated: u64, users_skipped: u64) {
    assert_eq!(report.users_evaluated as u64, users_evaluated, "{label}");
    assert_eq!(report.users_skipped as u64, users_skipped, "{label}");
    for (m, v) in &report.values {
        close(&format!("{label} {}", m.name()), *v, num(&want["means"][m.name()]));
    }
    for pu in &report.per_user {
        let reference = f64s(&want["per_user"][&pu.metric]);
        assert_eq!(pu.values.len(), reference.len(), "{label} {}", pu.metric);
        for (i, (g, w)) in pu.values.iter().zip(&reference).enumerate() {
            close(&format!("{label} {} user #{i}", pu.metric), *g, *w);
        }
    }
}

#[test]
fn full_ranking_matches_recbole_formulas_in_chunks() {
    let d = doc();
    let f = &d["full"];
    let ks = u32s(&f["ks"]);
    let num_items = f["num_items"].as_u64().unwrap() as usize;
    let users = u32s(&f["users"]);
    let scores: Vec<Vec<f32>> = f["scores"].as_array().unwrap().iter().map(f32s).collect();
    let truth: Vec<Vec<u32>> = f["truth"].as_array().unwrap().iter().map(u32s).collect();
    let history: Vec<Vec<u32>> = f["history"].as_array().unwrap().iter().map(u32s).collect();
    let popularity: Vec<u64> = u32s(&f["popularity"]).into_iter().map(u64::from).collect();
    for (exclude, key) in [(true, "exclude_history"), (false, "keep_history")] {
        let options = RankingOptions { num_items: Some(num_items), item_popularity: Some(popularity.clone()), exclude_history: exclude };
        let mut ev = RankingEvaluator::new(&all_metrics(&ks), options).unwrap();
        // feed in uneven chunks, as a trainer would
        for range in [0..7, 7..8, 8..31, 31..50] {
            let flat: Vec<f32> = scores[range.clone()].iter().flatten().copied().collect();
            let t: Vec<&[u32]> = truth[range.clone()].iter().map(Vec::as_slice).collect();
            let h: Vec<&[u32]> = history[range.clone()].iter().map(Vec::as_slice).collect();
            ev.add_full(&users[range], &flat, &t, if exclude { &h } else { &[] }).unwrap();
        }
        let report = ev.finish().unwrap();
        assert_eq!(report.values.len(), 9 * ks.len());
        let want = &f[key];
        check_report(key, &report, want, want["users_evaluated"].as_u64().unwrap(), want["users_skipped"].as_u64().unwrap());
    }
}

#[test]
fn sampled_candidates_match_recbole_formulas_and_sklearn_ndcg() {
    let d = doc();
    let s = &d["sampled"];
    let ks = u32s(&s["ks"]);
    let users = u32s(&s["users"]);
    let cands: Vec<Vec<u32>> = s["candidates"].as_array().unwrap().iter().map(u32s).collect();
    let scores: Vec<Vec<f32>> = s["scores"].as_array().unwrap().iter().map(f32s).collect();
    let truth: Vec<Vec<u32>> = s["truth"].as_array().unwrap().iter().map(u32s).collect();
    let popularity: Vec<u64> = u32s(&s["popularity"]).into_iter().map(u64::from).collect();
    let options = RankingOptions {
        num_items: Some(s["num_items"].as_u64().unwrap() as usize),
        item_popularity: Some(popularity),
        exclude_history: false,
    };
    let mut ev = RankingEvaluator::new(&all_metrics(&ks), options).unwrap();
    let c: Vec<&[u32]> = cands.iter().map(Vec::as_slice).collect();
    let sc: Vec<&[f32]> = scores.iter().map(Vec::as_slice).collect();
    let t: Vec<&[u32]> = truth.iter().map(Vec::as_slice).collect();
    ev.add_sampled(&users, &c, &sc, &t).unwrap();
    let report = ev.finish().unwrap();
    check_report("sampled", &report, s, s["users_evaluated"].as_u64().unwrap(), s["users_skipped"].as_u64().unwrap());
    for &k in &ks {
        let name = format!("ndcg@{k}");
        let ours = report.values.iter().find(|(m, _)| m.name() == name).unwrap().1;
        close(&format!("sklearn {name}"), ours, num(&s["sklearn_ndcg_mean"][&name]));
    }
}
