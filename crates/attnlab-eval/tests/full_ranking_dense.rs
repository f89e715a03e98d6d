//! The chunked full ranking (a bounded top-K heap per user, users fed chunk
//! by chunk) against the dense computation it replaces: a full sort of every
//! user's candidates and every metric computed from its definition, on
//! small random data with many tied scores.

use attnlab_eval::{Metric, RankingEvaluator, RankingOptions};

const ITEMS: usize = 25;
const USERS: usize = 40;
const KS: [u32; 5] = [1, 3, 5, 10, 30];
const NAMES: [&str; 11] = [
    "hit",
    "recall",
    "precision",
    "ndcg",
    "mrr",
    "map",
    "averagepopularity",
    "itemcoverage",
    "giniindex",
    "exposuregini",
    "longtailshare",
];

/// A small LCG, so the cases need nothing but the evaluator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

struct Case {
    /// `USERS x ITEMS`, on a grid of 4 values: most scores tie.
    scores: Vec<f32>,
    truth: Vec<Vec<u32>>,
    history: Vec<Vec<u32>>,
    popularity: Vec<u64>,
}

fn case(seed: u64) -> Case {
    let mut r = Lcg(seed);
    let scores = (0..USERS * ITEMS).map(|_| r.below(4) as f32 * 0.5 - 0.5).collect();
    let mut truth = Vec::new();
    let mut history = Vec::new();
    for u in 0..USERS {
        // user 0 has no ground truth (skipped); some truth items are also
        // history (excluded, never hit, still counted in |T|)
        let t: Vec<u32> = if u == 0 { Vec::new() } else { (0..1 + r.below(4)).map(|_| r.below(ITEMS) as u32).collect() };
        let h: Vec<u32> = (0..r.below(8)).map(|_| r.below(ITEMS) as u32).collect();
        truth.push(t);
        history.push(h);
    }
    let popularity = (0..ITEMS).map(|_| r.below(50) as u64).collect();
    Case { scores, truth, history, popularity }
}

fn metrics() -> Vec<Metric> {
    KS.iter().flat_map(|k| NAMES.iter().map(move |n| Metric::parse(&format!("{n}@{k}")).unwrap())).collect()
}

fn dedup(v: &[u32]) -> Vec<u32> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Gini of values over all items, sorted ascending: sum (2j - n - 1) x_j / (n sum x).
fn gini(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    if total == 0.0 {
        return 0.0;
    }
    v.iter().enumerate().map(|(j, x)| (2.0 * (j + 1) as f64 - n - 1.0) * x).sum::<f64>() / (n * total)
}

/// Every metric by its definition, from a full sort of each user's candidates.
fn dense(c: &Case, metric: Metric) -> f64 {
    let (name, k) = metric.name().split_once('@').map(|(n, k)| (n.to_string(), k.parse::<usize>().unwrap())).unwrap();
    let mut per_user = Vec::new();
    let mut counts = vec![0.0f64; ITEMS];
    let mut exposure = vec![0.0f64; ITEMS];
    for u in 0..USERS {
        let truth = dedup(&c.truth[u]);
        if truth.is_empty() {
            continue;
        }
        let history = dedup(&c.history[u]);
        let row = &c.scores[u * ITEMS..(u + 1) * ITEMS];
        let mut ranked: Vec<u32> = (0..ITEMS as u32).filter(|i| !history.contains(i)).collect();
        // score descending; at equal score irrelevant first (pessimistic), then item id
        ranked.sort_by(|&a, &b| {
            row[b as usize].total_cmp(&row[a as usize]).then(truth.contains(&a).cmp(&truth.contains(&b))).then(a.cmp(&b))
        });
        let top = &ranked[..ranked.len().min(k)];
        let rel: Vec<bool> = top.iter().map(|i| truth.contains(i)).collect();
        let hits = rel.iter().filter(|&&x| x).count() as f64;
        let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
        for (i, &it) in top.iter().enumerate() {
            counts[it as usize] += 1.0;
            exposure[it as usize] += discount(i);
        }
        per_user.push(match name.as_str() {
            "hit" => (hits > 0.0) as u8 as f64,
            "recall" => hits / truth.len() as f64,
            "precision" => hits / k as f64,
            "ndcg" => {
                let dcg: f64 = rel.iter().enumerate().filter(|(_, r)| **r).map(|(i, _)| discount(i)).sum();
                dcg / (0..truth.len().min(k)).map(discount).sum::<f64>()
            }
            "mrr" => rel.iter().position(|&r| r).map_or(0.0, |p| 1.0 / (p + 1) as f64),
            "map" => {
                let precisions: f64 = (0..top.len())
                    .filter(|&i| rel[i])
                    .map(|i| rel[..=i].iter().filter(|&&r| r).count() as f64 / (i + 1) as f64)
                    .sum();
                precisions / truth.len().min(k) as f64
            }
            "averagepopularity" => {
                let listed: Vec<f64> = top.iter().map(|&i| c.popularity[i as usize] as f64).collect();
                if listed.is_empty() { 0.0 } else { listed.iter().sum::<f64>() / listed.len() as f64 }
            }
            _ => 0.0,
        });
    }
    match name.as_str() {
        "itemcoverage" => counts.iter().filter(|&&x| x > 0.0).count() as f64 / ITEMS as f64,
        "giniindex" => gini(&counts),
        "exposuregini" => gini(&exposure),
        "longtailshare" => {
            // the head is the top 20% of items by popularity (ties: lower id first)
            let mut order: Vec<usize> = (0..ITEMS).collect();
            order.sort_by(|&a, &b| c.popularity[b].cmp(&c.popularity[a]).then(a.cmp(&b)));
            let head = &order[..(ITEMS as f64 * 0.2).ceil() as usize];
            let total: f64 = exposure.iter().sum();
            (0..ITEMS).filter(|i| !head.contains(i)).map(|i| exposure[i]).sum::<f64>() / total
        }
        _ => per_user.iter().sum::<f64>() / per_user.len() as f64,
    }
}

/// The evaluator fed `chunks` users at a time (sizes cycled until all are in).
fn chunked(c: &Case, chunks: &[usize]) -> Vec<(Metric, f64)> {
    let options =
        RankingOptions { num_items: Some(ITEMS), item_popularity: Some(c.popularity.clone()), exclude_history: true };
    let mut ev = RankingEvaluator::new(&metrics(), options).unwrap();
    let mut start = 0;
    for &size in chunks.iter().cycle() {
        if start == USERS {
            break;
        }
        let end = (start + size).min(USERS);
        let users: Vec<u32> = (start as u32..end as u32).collect();
        let truth: Vec<&[u32]> = c.truth[start..end].iter().map(Vec::as_slice).collect();
        let history: Vec<&[u32]> = c.history[start..end].iter().map(Vec::as_slice).collect();
        ev.add_full(&users, &c.scores[start * ITEMS..end * ITEMS], &truth, &history).unwrap();
        start = end;
    }
    let report = ev.finish().unwrap();
    assert_eq!((report.users_evaluated, report.users_skipped), (USERS - 1, 1));
    report.values
}

#[test]
fn chunked_full_ranking_equals_the_dense_computation_for_every_metric_and_k() {
    for seed in 0..12 {
        let c = case(seed);
        let whole = chunked(&c, &[USERS]);
        assert_eq!(whole.len(), KS.len() * NAMES.len());
        for (metric, got) in &whole {
            let want = dense(&c, *metric);
            assert!((got - want).abs() < 1e-12, "seed {seed}, {}: chunked {got}, dense {want}", metric.name());
        }
        // the chunk sizes do not change a single value
        for chunks in [&[1][..], &[7], &[3, 16, 1]] {
            assert_eq!(chunked(&c, chunks), whole, "seed {seed}, chunks {chunks:?}");
        }
    }
}
