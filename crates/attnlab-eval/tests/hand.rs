//! Hand-computed values for every metric.

use attnlab_eval::*;

fn m(s: &str) -> Metric {
    Metric::parse(s).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// One user, sampled candidates 1..=6 with descending scores; relevant: 2 and 5,
/// plus item 9 which is not among the candidates (|T| = 3).
///
/// ranked:   1  2  3  4  5  6
/// relevant: .  x  .  .  x  .
#[test]
fn ranking_metrics_by_hand() {
    let metrics: Vec<Metric> = [
        "hit@1", "hit@2", "recall@2", "recall@5", "precision@5", "ndcg@2", "ndcg@5", "mrr@1", "mrr@5", "map@2", "map@5",
        "map@10", "precision@10",
    ]
    .iter()
    .map(|s| m(s))
    .collect();
    let mut ev = RankingEvaluator::new(&metrics, RankingOptions::default()).unwrap();
    let items = [1u32, 2, 3, 4, 5, 6];
    let scores = [0.9f32, 0.8, 0.7, 0.6, 0.5, 0.4];
    ev.add_sampled(&[42], &[&items], &[&scores], &[&[2, 5, 9]]).unwrap();
    let r = ev.finish().unwrap();
    let get = |s: &str| r.values.iter().find(|(x, _)| *x == m(s)).unwrap().1;
    let d = |i: f64| 1.0 / (i + 1.0).log2();
    assert_eq!(get("hit@1"), 0.0);
    assert_eq!(get("hit@2"), 1.0);
    assert!(close(get("recall@2"), 1.0 / 3.0));
    assert!(close(get("recall@5"), 2.0 / 3.0));
    assert!(close(get("precision@5"), 2.0 / 5.0));
    assert!(close(get("precision@10"), 2.0 / 10.0)); // missing positions count as misses
    assert!(close(get("ndcg@2"), d(2.0) / (d(1.0) + d(2.0))));
    assert!(close(get("ndcg@5"), (d(2.0) + d(5.0)) / (d(1.0) + d(2.0) + d(3.0))));
    assert_eq!(get("mrr@1"), 0.0);
    assert!(close(get("mrr@5"), 0.5));
    // MAP@K = sum of precision@i at hits / min(|T|, K)
    assert!(close(get("map@2"), (1.0 / 2.0) / 2.0));
    assert!(close(get("map@5"), (1.0 / 2.0 + 2.0 / 5.0) / 3.0));
    assert!(close(get("map@10"), (1.0 / 2.0 + 2.0 / 5.0) / 3.0));
    assert_eq!(r.users_evaluated, 1);
    assert_eq!(r.per_user.len(), metrics.len());
    assert_eq!(r.per_user[0].users, vec![42]);
}

#[test]
fn pessimistic_ties_in_full_ranking() {
    // 5 items all scored 0.5; item 3 is the only relevant one: it ranks 5th
    let mut ev = RankingEvaluator::new(&[m("hit@4"), m("hit@5"), m("mrr@5"), m("ndcg@5")], RankingOptions::default()).unwrap();
    ev.add_full(&[1], &[0.5; 5], &[&[3]], &[]).unwrap();
    let r = ev.finish().unwrap();
    assert_eq!(r.values[0].1, 0.0);
    assert_eq!(r.values[1].1, 1.0);
    assert!(close(r.values[2].1, 0.2));
    assert!(close(r.values[3].1, 1.0 / 6f64.log2()));
}

#[test]
fn history_exclusion_flag() {
    // items 0..4, scores descending; history = {0, 1}; truth = {2}
    let scores = [0.9f32, 0.8, 0.7, 0.6];
    let run = |exclude: bool| {
        let opts = RankingOptions { exclude_history: exclude, ..Default::default() };
        let mut ev = RankingEvaluator::new(&[m("mrr@4")], opts).unwrap();
        ev.add_full(&[7], &scores, &[&[2]], &[&[0, 1]]).unwrap();
        ev.finish().unwrap().values[0].1
    };
    assert!(close(run(true), 1.0));
    assert!(close(run(false), 1.0 / 3.0));
    // exclusion without history lists is an error
    let mut ev = RankingEvaluator::new(&[m("mrr@4")], RankingOptions { exclude_history: true, ..Default::default() }).unwrap();
    assert!(ev.add_full(&[7], &scores, &[&[2]], &[]).is_err());
}

#[test]
fn users_without_truth_are_skipped_and_counted() {
    let mut ev = RankingEvaluator::new(&[m("hit@1")], RankingOptions::default()).unwrap();
    ev.add_full(&[1, 2], &[0.9, 0.1, 0.9, 0.1], &[&[0], &[]], &[]).unwrap();
    let r = ev.finish().unwrap();
    assert_eq!((r.users_evaluated, r.users_skipped), (1, 1));
    assert_eq!(r.values[0].1, 1.0);
    let empty = RankingEvaluator::new(&[m("hit@1")], RankingOptions::default()).unwrap().finish().unwrap();
    assert!(empty.values.is_empty());
}

/// Three users over items 0..4 (num_items = 4), top-2 lists:
/// u1: [0, 1], u2: [0, 2], u3: [0, 1]; popularity = [10, 4, 2, 0].
#[test]
fn coverage_popularity_gini_by_hand() {
    let opts = RankingOptions { num_items: Some(4), item_popularity: Some(vec![10, 4, 2, 0]), exclude_history: false };
    let metrics = [m("itemcoverage@2"), m("averagepopularity@2"), m("giniindex@2"), m("itemcoverage@1"), m("giniindex@1")];
    let mut ev = RankingEvaluator::new(&metrics, opts).unwrap();
    let scores = [
        0.9, 0.8, 0.1, 0.0, //
        0.9, 0.1, 0.8, 0.0, //
        0.9, 0.8, 0.1, 0.0,
    ];
    ev.add_full(&[1, 2, 3], &scores, &[&[3], &[3], &[3]], &[]).unwrap();
    let r = ev.finish().unwrap();
    let v: Vec<f64> = r.values.iter().map(|x| x.1).collect();
    assert!(close(v[0], 3.0 / 4.0));
    // per user mean popularity of the top 2: (10+4)/2, (10+2)/2, (10+4)/2 -> mean 20/3
    assert!(close(v[1], (7.0 + 6.0 + 7.0) / 3.0));
    // counts sorted [1 (item 2), 2 (item 1), 3 (item 0)], idx 2..=4, N = 4, total 6:
    // ((4-5)*1 + (6-5)*2 + (8-5)*3) / 6 / 4 = 10/24
    assert!(close(v[2], 10.0 / 24.0));
    assert!(close(v[3], 1.0 / 4.0));
    // top-1 is item 0 for all: idx = 4, (8-5)*3/3/4 = 3/4
    assert!(close(v[4], 0.75));
    // coverage and Gini have no per-user vector
    assert_eq!(r.per_user.len(), 1);
    assert_eq!(r.per_user[0].metric, "averagepopularity@2");
}

/// The same top-2 lists as above ([0, 1], [0, 2], [0, 1]), by exposure:
/// item 0 gets 3 first places, item 1 two second places, item 2 one.
#[test]
fn exposure_gini_and_long_tail_share_by_hand() {
    let opts = RankingOptions { num_items: Some(4), item_popularity: Some(vec![10, 4, 2, 0]), exclude_history: false };
    let mut ev = RankingEvaluator::new(&[m("exposuregini@2"), m("longtailshare@2")], opts).unwrap();
    let scores = [
        0.9, 0.8, 0.1, 0.0, //
        0.9, 0.1, 0.8, 0.0, //
        0.9, 0.8, 0.1, 0.0,
    ];
    ev.add_full(&[1, 2, 3], &scores, &[&[3], &[3], &[3]], &[]).unwrap();
    let r = ev.finish().unwrap();
    let d = 1.0 / 3f64.log2();
    // exposure sorted [0, d, 2d, 3], weights -3, -1, 1, 3, total 3 + 3d
    assert!(close(r.values[0].1, (9.0 + d) / (4.0 * (3.0 + 3.0 * d))));
    // head = the most popular 20% = item 0; the tail gets 3d of 3 + 3d
    assert!(close(r.values[1].1, d / (1.0 + d)));
    assert!(r.per_user.is_empty(), "set metrics have no per-user vector");
    assert_eq!(r.item_exposure, vec![(2, vec![3.0, 2.0 * d, d, 0.0])], "each item's exposure, for disparity per provider");
    assert!(!m("exposuregini@2").higher_is_better() && m("longtailshare@2").higher_is_better());
    assert!(RankingEvaluator::new(&[m("longtailshare@5")], RankingOptions::default()).is_err(), "needs popularity");
}

/// Per-user metrics alone keep each item's exposure too, for every K
/// requested: the same lists at K = 1 and K = 2.
#[test]
fn item_exposure_at_every_k_requested() {
    let opts = RankingOptions { num_items: Some(4), ..Default::default() };
    let mut ev = RankingEvaluator::new(&[m("ndcg@2"), m("hit@1")], opts).unwrap();
    let scores = [0.9, 0.8, 0.1, 0.0, 0.9, 0.1, 0.8, 0.0];
    ev.add_full(&[1, 2], &scores, &[&[3], &[3]], &[]).unwrap();
    let r = ev.finish().unwrap();
    let d = 1.0 / 3f64.log2();
    assert_eq!(r.item_exposure, vec![(1, vec![2.0, 0.0, 0.0, 0.0]), (2, vec![2.0, d, d, 0.0])]);
}

#[test]
fn evaluator_rejects_bad_requests() {
    assert!(RankingEvaluator::new(&[Metric::Auc], RankingOptions::default()).is_err());
    assert!(RankingEvaluator::new(&[m("averagepopularity@5")], RankingOptions::default()).is_err());
    let mut ev = RankingEvaluator::new(&[m("hit@1")], RankingOptions::default()).unwrap();
    assert!(ev.add_full(&[1, 2], &[0.1, 0.2, 0.3], &[&[0], &[0]], &[]).is_err());
    assert!(ev.add_full(&[1], &[f32::NAN, 0.2], &[&[0]], &[]).is_err());
    assert!(ev.add_sampled(&[1], &[&[1, 2]], &[&[0.5]], &[&[1]]).is_err());
}

#[test]
fn multitask_by_hand() {
    // clicks on rows 0, 1, 2; conversions on row 0 only
    let clicks = [1.0, 1.0, 1.0, 0.0];
    let conv = [1.0, 0.0, 0.0, 0.0];
    let pctr = [0.5, 0.5, 0.25, 0.25];
    let pcvr = [0.5, 0.25, 1.0, 0.75];
    // CTR: positives {0.5, 0.5, 0.25} vs negative {0.25}: (1 + 1 + 0.5) / 3
    assert!(close(ctr_auc(&clicks, &pctr).unwrap(), 2.5 / 3.0));
    // CVR over clicked rows 0..3: positive 0.5 vs negatives 0.25, 1.0 -> 1/2
    assert!(close(cvr_auc(&clicks, &conv, &pcvr).unwrap(), 0.5));
    // CTCVR: scores 0.25, 0.125, 0.25, 0.1875; positive row 0 (0.25) vs 0.125, 0.25, 0.1875 -> (1 + 0.5 + 1) / 3
    assert!(close(ctcvr_auc(&clicks, &conv, &pctr, &pcvr).unwrap(), 2.5 / 3.0));
    assert!(multitask_auc(&MultiTask { clicks: &clicks, conversions: &conv[..3], pctr: &pctr, pcvr: &pcvr }).is_err());
}

#[test]
fn pointwise_metric_enum_by_hand() {
    // users 1: (1, .9) (0, .4); user 2: (0, .8) (1, .3) (0, .1)
    let users = [1, 1, 2, 2, 2];
    let labels = [1.0, 0.0, 0.0, 1.0, 0.0];
    let scores = [0.9, 0.4, 0.8, 0.3, 0.1];
    let p = Predictions::new(&users, &labels, &scores).unwrap();
    // user 1 AUC 1, user 2 AUC 0.5; weighted (2*1 + 3*0.5)/5, unweighted 0.75
    assert!(close(m("gauc").compute(&p).unwrap(), 3.5 / 5.0));
    assert!(close(m("gauc_unweighted").compute(&p).unwrap(), 0.75));
    let per = gauc_per_user(&users, &labels, &scores);
    assert_eq!(per.users, vec![1, 2]);
    assert_eq!(per.values, vec![1.0, 0.5]);
    // AUC: positives .9 .3 vs negatives .4 .8 .1 -> (3 + 1) / 6
    assert!(close(m("auc").compute(&p).unwrap(), 4.0 / 6.0));
    let sq: f64 = labels.iter().zip(&scores).map(|(&y, &s): (&f32, &f32)| (s as f64 - y as f64).powi(2)).sum();
    assert!(close(m("rmse").compute(&p).unwrap(), (sq / 5.0).sqrt()));
    let ab: f64 = labels.iter().zip(&scores).map(|(&y, &s): (&f32, &f32)| (s as f64 - y as f64).abs()).sum();
    assert!(close(m("mae").compute(&p).unwrap(), ab / 5.0));
}
