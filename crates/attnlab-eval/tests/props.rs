//! Properties that must hold for any input.

use attnlab_eval::*;
use proptest::prelude::*;

/// Labels and scores on a coarse grid (so ties are common), both classes present.
fn labeled() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
    prop::collection::vec((any::<bool>(), 0u8..12), 2..200)
        .prop_map(|v| {
            let labels = v.iter().map(|(l, _)| if *l { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
            let scores = v.iter().map(|(_, s)| *s as f32 / 11.0).collect::<Vec<f32>>();
            (labels, scores)
        })
        .prop_filter("both classes", |(l, _)| l.iter().any(|&x| x > 0.5) && l.iter().any(|&x| x < 0.5))
}

/// One user's full-ranking input: scores on a grid and a non-empty truth set.
fn user_ranking() -> impl Strategy<Value = (Vec<f32>, Vec<u32>)> {
    (2usize..60).prop_flat_map(|n| {
        (prop::collection::vec(0u8..8, n), prop::collection::btree_set(0..n as u32, 1..n.min(8)))
            .prop_map(|(s, t)| (s.into_iter().map(|x| x as f32 / 7.0).collect(), t.into_iter().collect()))
    })
}

fn ranking_values(scores: &[f32], truth: &[u32], metrics: &[Metric]) -> Vec<f64> {
    let mut ev = RankingEvaluator::new(metrics, RankingOptions::default()).unwrap();
    ev.add_full(&[0], scores, &[truth], &[]).unwrap();
    ev.finish().unwrap().values.into_iter().map(|(_, v)| v).collect()
}

fn per_user_metrics(k: u32) -> Vec<Metric> {
    ["hit", "recall", "precision", "ndcg", "mrr", "map"].iter().map(|n| Metric::parse(&format!("{n}@{k}")).unwrap()).collect()
}

proptest! {
    #[test]
    fn auc_invariant_to_strictly_monotone_transforms((labels, scores) in labeled()) {
        let a = auc(&labels, &scores).unwrap();
        // strictly increasing maps keep order and ties (exactly, on this grid)
        let t1: Vec<f32> = scores.iter().map(|&s| 3.0 * s - 7.0).collect();
        let t2: Vec<f32> = scores.iter().map(|&s| (s + 0.5).powi(3)).collect();
        prop_assert!((auc(&labels, &t1).unwrap() - a).abs() < 1e-12);
        prop_assert!((auc(&labels, &t2).unwrap() - a).abs() < 1e-12);
    }

    #[test]
    fn auc_of_flipped_labels_is_one_minus((labels, scores) in labeled()) {
        // holds with ties too: a tied pair counts 1/2 either way
        let flipped: Vec<f32> = labels.iter().map(|&l| 1.0 - l).collect();
        let a = auc(&labels, &scores).unwrap();
        prop_assert!((auc(&flipped, &scores).unwrap() - (1.0 - a)).abs() < 1e-12);
        let neg: Vec<f32> = scores.iter().map(|&s| -s).collect();
        prop_assert!((auc(&labels, &neg).unwrap() - (1.0 - a)).abs() < 1e-12);
        prop_assert!((0.0..=1.0).contains(&a));
    }

    #[test]
    fn gauc_of_one_user_is_auc((labels, scores) in labeled()) {
        let users = vec![9u32; labels.len()];
        let g = gauc(&users, &labels, &scores);
        let a = auc(&labels, &scores).unwrap();
        prop_assert!((g.value.unwrap() - a).abs() < 1e-12 && (g.unweighted.unwrap() - a).abs() < 1e-12);
    }

    #[test]
    fn ranking_metrics_stay_in_unit_interval((scores, truth) in user_ranking(), k in 1u32..30) {
        for v in ranking_values(&scores, &truth, &per_user_metrics(k)) {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&v), "value {v}");
        }
    }

    #[test]
    fn perfect_ranker_scores_one((scores, truth) in user_ranking(), k in 1u32..30) {
        // relevant items score 1, everything else 0
        let perfect: Vec<f32> = (0..scores.len() as u32).map(|i| if truth.contains(&i) { 1.0 } else { 0.0 }).collect();
        let names = ["hit", "ndcg", "mrr", "map"];
        let ms: Vec<Metric> = names.iter().map(|n| Metric::parse(&format!("{n}@{k}")).unwrap()).collect();
        for (n, v) in names.iter().zip(ranking_values(&perfect, &truth, &ms)) {
            prop_assert!((v - 1.0).abs() < 1e-12, "{n}@{k} = {v}");
        }
        // recall is 1 once K covers the truth
        let r = ranking_values(&perfect, &truth, &[Metric::parse(&format!("recall@{}", truth.len())).unwrap()]);
        prop_assert!((r[0] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn constant_scores_give_the_worst_rank((scores, truth) in user_ranking()) {
        // all scores equal: every relevant item ranks below every irrelevant one
        let n = scores.len();
        let flat = vec![0.25f32; n];
        let first_relevant_rank = n - truth.len() + 1;
        let mrr = ranking_values(&flat, &truth, &[Metric::parse(&format!("mrr@{n}")).unwrap()])[0];
        prop_assert!((mrr - 1.0 / first_relevant_rank as f64).abs() < 1e-12);
        if n > truth.len() {
            let k = (n - truth.len()) as u32;
            let hit = ranking_values(&flat, &truth, &[Metric::parse(&format!("hit@{k}")).unwrap()])[0];
            prop_assert_eq!(hit, 0.0);
        }
    }

    #[test]
    fn metrics_do_not_depend_on_chunking((scores, truth) in user_ranking(), k in 1u32..20) {
        // the same user twice, fed as one chunk or two, gives the same per-user values
        let ms = per_user_metrics(k);
        let mut one = RankingEvaluator::new(&ms, RankingOptions::default()).unwrap();
        let both: Vec<f32> = scores.iter().chain(&scores).copied().collect();
        one.add_full(&[1, 2], &both, &[&truth, &truth], &[]).unwrap();
        let mut two = RankingEvaluator::new(&ms, RankingOptions::default()).unwrap();
        two.add_full(&[1], &scores, &[&truth], &[]).unwrap();
        two.add_full(&[2], &scores, &[&truth], &[]).unwrap();
        prop_assert_eq!(one.finish().unwrap(), two.finish().unwrap());
    }
}
