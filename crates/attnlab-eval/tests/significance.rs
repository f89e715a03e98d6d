//! Compares the paired tests to tests/fixtures/significance.json, generated
//! once by tests/fixtures/make_significance_fixtures.py with SciPy
//! (`ttest_rel`, `wilcoxon` with its defaults); checks Holm against values
//! worked by hand, the bootstrap CI, pairing by user and `compare`.

use attnlab_eval::significance::{bootstrap_ci, BOOTSTRAP_RESAMPLES};
use attnlab_eval::*;
use serde_json::Value;

/// Relative tolerance against SciPy, for every branch (the normal tail is
/// computed through the incomplete gamma function, as accurate as the rest).
const REL: f64 = 1e-9;

fn close(what: &str, got: f64, want: f64) {
    let err = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
    assert!(got == want || err <= REL, "{what}: got {got:e}, scipy {want:e}, relative error {err:e}");
}

fn diffs(c: &Value) -> Vec<f64> {
    let scale = c["scale"].as_f64().unwrap();
    let ints = |k: &str| c[k].as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as f64 / scale).collect::<Vec<_>>();
    ints("x_int").iter().zip(ints("y_int")).map(|(x, y)| x - y).collect()
}

#[test]
fn matches_scipy_ttest_rel_and_wilcoxon() {
    let doc: Value = serde_json::from_str(include_str!("fixtures/significance.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut methods = std::collections::BTreeSet::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let d = diffs(c);
        assert_eq!(d.len() as u64, c["n"].as_u64().unwrap());

        let t = paired_t(&d).unwrap();
        close(&format!("{name} t"), t.t, c["t_stat"].as_f64().unwrap());
        close(&format!("{name} t p"), t.p, c["t_p"].as_f64().unwrap());

        let w = wilcoxon(&d).unwrap();
        let method = match w.method {
            WilcoxonMethod::Exact => "exact",
            WilcoxonMethod::ExactConditional => "exact_conditional",
            WilcoxonMethod::Normal => "normal",
        };
        assert_eq!(method, c["method"].as_str().unwrap(), "{name}: branch");
        methods.insert(method);
        assert_eq!(w.statistic, c["w_stat"].as_f64().unwrap(), "{name}: statistic");
        close(&format!("{name} wilcoxon p"), w.p, c["w_p"].as_f64().unwrap());
    }
    assert_eq!(methods.len(), 3, "every branch is covered");
}

#[test]
fn wilcoxon_edge_cases() {
    // all differences zero: no evidence either way
    assert_eq!(wilcoxon(&[0.0; 5]).unwrap().p, 1.0);
    assert_eq!(wilcoxon(&[0.0; 30]).unwrap().p, 1.0);
    assert!(wilcoxon(&[]).is_err());
    assert!(wilcoxon(&[1.0, f64::NAN]).is_err());
    // the sign of d does not change a two-sided p-value
    let d = [0.3, -0.1, 0.2, 0.5, 0.25, -0.05, 0.4];
    let neg: Vec<f64> = d.iter().map(|v| -v).collect();
    assert_eq!(wilcoxon(&d).unwrap().p, wilcoxon(&neg).unwrap().p);
}

#[test]
fn paired_t_edge_cases() {
    assert!(paired_t(&[0.1]).is_err());
    assert_eq!(paired_t(&[0.0, 0.0, 0.0]).unwrap().p, 1.0);
    assert_eq!(paired_t(&[0.25, 0.25, 0.25]).unwrap().p, 0.0);
}

#[test]
fn holm_matches_hand_computed_values() {
    // sorted 0.01, 0.02, 0.03, 0.04, 0.5 (m = 5): 5*0.01 = 0.05,
    // 4*0.02 = 0.08, 3*0.03 = 0.09, 2*0.04 = 0.08 -> 0.09 (monotone), 0.5
    let got = holm(&[0.04, 0.01, 0.5, 0.03, 0.02]);
    let want = [0.09, 0.05, 0.5, 0.09, 0.08];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{got:?}");
    }
    // capped at 1; equal p-values keep their order
    assert_eq!(holm(&[0.3, 0.6, 0.3]), vec![0.8999999999999999, 0.8999999999999999, 0.8999999999999999]);
    assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
    assert_eq!(holm(&[0.02]), vec![0.02]);
    assert!(holm(&[]).is_empty());
    let with_nan = holm(&[f64::NAN, 0.01]);
    assert!(with_nan[0].is_nan() && (with_nan[1] - 0.02).abs() < 1e-15);
}

/// A large sample around a known mean difference, from a fixed LCG.
fn sample(n: usize, true_diff: f64) -> Vec<f64> {
    let mut s: u64 = 42;
    (0..n)
        .map(|_| {
            let mut u = || {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64
            };
            true_diff + (u() + u() + u() - 1.5) * 0.2
        })
        .collect()
}

#[test]
fn bootstrap_ci_covers_the_mean_and_is_deterministic() {
    let d = sample(5000, 0.03);
    let (lo, hi) = bootstrap_ci(&d, BOOTSTRAP_RESAMPLES, 0.95, 7).unwrap();
    assert!(lo < 0.03 && 0.03 < hi, "({lo}, {hi})");
    assert!(hi - lo < 0.01, "({lo}, {hi})");
    assert_eq!(bootstrap_ci(&d, BOOTSTRAP_RESAMPLES, 0.95, 7).unwrap(), (lo, hi));
    assert_ne!(bootstrap_ci(&d, BOOTSTRAP_RESAMPLES, 0.95, 8).unwrap(), (lo, hi));
    // a constant sample has a degenerate interval
    assert_eq!(bootstrap_ci(&[0.5; 10], 100, 0.95, 1).unwrap(), (0.5, 0.5));
    assert!(bootstrap_ci(&[], 100, 0.95, 1).is_err());
    assert!(bootstrap_ci(&d, 100, 1.0, 1).is_err());
}

#[test]
fn pairs_by_user_id_and_counts_the_rest() {
    let a = PerUser { metric: "ndcg@10".into(), users: vec![3, 1, 2, 9, 1], values: vec![0.3, 0.1, 0.2, 0.9, 0.7] };
    let b = PerUser { metric: "ndcg@10".into(), users: vec![2, 3, 1, 5], values: vec![0.25, 0.35, 0.15, 0.5] };
    // users 1, 2, 3 in common (sorted); dropped: 9 and 5, and the second row of user 1
    assert_eq!(pair_by_user(&a, &b), (vec![0.1, 0.2, 0.3], vec![0.15, 0.25, 0.35], 3));
}

#[test]
fn compare_runs_every_test() {
    let n = 400;
    let users: Vec<u64> = (0..n as u64).collect();
    let base = sample(n, 0.4);
    let better: Vec<f64> = base.iter().zip(sample(n, 0.0).iter().rev()).map(|(b, e)| b + 0.02 + e * 0.5).collect();
    let baseline = PerUser { metric: "recall@20".into(), users: users.clone(), values: base };
    let other = PerUser { metric: "recall@20".into(), users, values: better };
    let c = compare(&baseline, &other, 1).unwrap();
    assert_eq!((c.n, c.dropped), (400, 0));
    assert!(c.mean_diff > 0.0 && c.ci_low < c.mean_diff && c.mean_diff < c.ci_high);
    assert!(c.t_p < 0.001 && c.wilcoxon_p < 0.001, "{c:?}");
    assert_eq!(stars(c.t_p), "***");
    assert_eq!(compare(&baseline, &other, 1).unwrap(), c);

    let mut wrong = other.clone();
    wrong.metric = "ndcg@20".into();
    assert!(compare(&baseline, &wrong, 1).is_err());
    let one = PerUser { metric: "recall@20".into(), users: vec![0], values: vec![0.5] };
    assert!(compare(&one, &one, 1).is_err());
}

#[test]
fn stars_thresholds() {
    assert_eq!(stars(0.0009), "***");
    assert_eq!(stars(0.001), "**");
    assert_eq!(stars(0.009), "**");
    assert_eq!(stars(0.01), "*");
    assert_eq!(stars(0.049), "*");
    assert_eq!(stars(0.05), "");
    assert_eq!(stars(f64::NAN), "");
}
