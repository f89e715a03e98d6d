//! Times `auc` on 10M scores with ties; compare with `auc_sklearn.py`, which
//! builds the same data from the same formula.
//!
//! cargo bench -p attnlab-eval --bench auc [-- N]

use std::time::Instant;

/// splitmix64 of the index: the shared data formula (see auc_sklearn.py).
fn splitmix(i: u64) -> u64 {
    let mut z = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000_000);
    let (mut labels, mut scores) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n as u64 {
        let z = splitmix(i);
        let s = z % 10_000; // 10k distinct scores: heavy ties
        scores.push(s as f32 / 10_000.0);
        labels.push(if (z >> 32) % 10_000 < s { 1.0f32 } else { 0.0 });
    }
    let mut best = f64::INFINITY;
    let mut value = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        value = attnlab_eval::auc(&labels, &scores).expect("both classes");
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("attnlab-eval auc  n={n}  value={value:.12}  best of 5: {:.3} s", best);
    full_ranking();
}

/// Full ranking of 2,000 users over 50,000 items, 20 metrics at K up to 100.
fn full_ranking() {
    use attnlab_eval::{Metric, RankingEvaluator, RankingOptions};
    let (users, items) = (2_000usize, 50_000usize);
    let scores: Vec<f32> = (0..(users * items) as u64).map(|i| (splitmix(i) % 100_000) as f32 / 1e5).collect();
    let truth: Vec<Vec<u32>> = (0..users as u64).map(|u| (0..5).map(|j| (splitmix(u * 7 + j) % items as u64) as u32).collect()).collect();
    let history: Vec<Vec<u32>> = (0..users as u64).map(|u| (0..50).map(|j| (splitmix(u * 131 + j + 1) % items as u64) as u32).collect()).collect();
    let names = ["hit", "recall", "ndcg", "mrr", "map"];
    let metrics: Vec<Metric> = names.iter().flat_map(|n| [10, 20, 50, 100].map(|k| Metric::parse(&format!("{n}@{k}")).unwrap())).collect();
    let t = Instant::now();
    let mut ev = RankingEvaluator::new(&metrics, RankingOptions { exclude_history: true, ..Default::default() }).unwrap();
    for chunk in 0..users / 250 {
        let r = chunk * 250..(chunk + 1) * 250;
        let tr: Vec<&[u32]> = truth[r.clone()].iter().map(Vec::as_slice).collect();
        let hi: Vec<&[u32]> = history[r.clone()].iter().map(Vec::as_slice).collect();
        let ids: Vec<u32> = r.clone().map(|u| u as u32).collect();
        ev.add_full(&ids, &scores[r.start * items..r.end * items], &tr, &hi).unwrap();
    }
    let report = ev.finish().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "attnlab-eval full ranking  {users} users x {items} items, {} metrics: {:.3} s ({:.0} users/s), ndcg@10 = {:.5}",
        metrics.len(),
        secs,
        users as f64 / secs,
        report.values[8].1
    );
}
