//! Metrics for time: the dwell after a click as a label, the currency of the
//! attention economy.
//!
//! - `dwell_rmse`, `dwell_mae`: errors of a predicted `log1p(dwell seconds)`
//!   against the actual one, over clicked impressions (a model that predicts
//!   dwell given a click).
//! - `dwell_auc`: dwell-weighted AUC, P(score of a clicked impression >
//!   score of an unclicked one) with every clicked impression weighing its
//!   dwell (ties count half): a ranking that puts long reads first scores
//!   higher than one that only finds clicks.
//! - `dwell@K`: expected dwell in the top K, the sum of the dwell seconds of
//!   each user's K best-scored impressions, averaged over users with any
//!   dwell.
//! - `dwell_ndcg@K`: NDCG@K with gain = dwell seconds (linear gain, discount
//!   `1 / log2(rank + 1)`), averaged over the same users.
//!
//! Ranks break ties pessimistically (the shortest dwell first among equal
//! scores), as the other ranking metrics do, so a constant score earns no
//! credit.
//! - `relevance_auc`: AUC against soft labels, the simulator's true
//!   relevance (click probability at the top position): every pair (i, j)
//!   weighs `r_i (1 - r_j)`, the expected AUC against clicks drawn at the
//!   top position. Scores are a model's at position 0.

use std::collections::HashMap;

use crate::pointwise::order_key;

/// One split's dwell labels and a model's scores, aligned row by row.
#[derive(Debug, Clone, Copy)]
pub struct DwellPredictions<'a> {
    pub users: &'a [u32],
    /// 1.0 clicked.
    pub clicks: &'a [f32],
    /// Dwell seconds after the click, 0 without one.
    pub dwell_s: &'a [f32],
    /// The ranking score (any monotone scale: pCTR, predicted dwell, logit).
    pub scores: &'a [f32],
    /// The model's `log1p(dwell seconds)` given a click, when it predicts one.
    pub log_dwell: Option<&'a [f32]>,
}

/// `log1p` of dwell milliseconds as seconds: the regression target.
pub fn log_dwell_target(dwell_ms: u32) -> f32 {
    (f64::from(dwell_ms) / 1000.0).ln_1p() as f32
}

/// RMSE and MAE of `predicted` against `log1p(dwell_s)` over clicked rows;
/// `None` without one.
pub fn log_dwell_errors(clicks: &[f32], dwell_s: &[f32], predicted: &[f32]) -> Option<(f64, f64)> {
    let (mut n, mut sq, mut abs) = (0usize, 0.0f64, 0.0f64);
    for ((&c, &d), &p) in clicks.iter().zip(dwell_s).zip(predicted) {
        if c > 0.5 {
            let e = f64::from(p) - f64::from(d).ln_1p();
            n += 1;
            sq += e * e;
            abs += e.abs();
        }
    }
    (n > 0).then(|| ((sq / n as f64).sqrt(), abs / n as f64))
}

/// Dwell-weighted AUC; `None` without a clicked impression of positive
/// dwell or without an unclicked one.
pub fn dwell_weighted_auc(clicks: &[f32], dwell_s: &[f32], scores: &[f32]) -> Option<f64> {
    let mut negatives: Vec<u32> = clicks.iter().zip(scores).filter(|&(&c, _)| c <= 0.5).map(|(_, &s)| order_key(s)).collect();
    negatives.sort_unstable();
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for ((&c, &d), &s) in clicks.iter().zip(dwell_s).zip(scores) {
        if c > 0.5 && d > 0.0 {
            let k = order_key(s);
            let below = negatives.partition_point(|&x| x < k);
            let tied = negatives.partition_point(|&x| x <= k) - below;
            num += f64::from(d) * (below as f64 + 0.5 * tied as f64);
            den += f64::from(d);
        }
    }
    let n = negatives.len() as f64;
    (den > 0.0 && n > 0.0).then(|| num / (den * n))
}

/// Each user's rows, in first-seen order of users.
fn by_user(users: &[u32]) -> Vec<Vec<usize>> {
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (row, &u) in users.iter().enumerate() {
        let g = *index.entry(u).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(row);
    }
    groups
}

/// Mean over users with any dwell of `f(dwell of the user's rows in score
/// order, pessimistic ties)`; `None` when no user has dwell.
fn per_user_ranked(p: &DwellPredictions, f: impl Fn(&[f64]) -> f64) -> Option<f64> {
    let (mut sum, mut users) = (0.0, 0usize);
    for mut rows in by_user(p.users) {
        if rows.iter().all(|&r| p.dwell_s[r] <= 0.0) {
            continue;
        }
        rows.sort_by(|&a, &b| p.scores[b].total_cmp(&p.scores[a]).then(p.dwell_s[a].total_cmp(&p.dwell_s[b])));
        let ranked: Vec<f64> = rows.iter().map(|&r| f64::from(p.dwell_s[r].max(0.0))).collect();
        sum += f(&ranked);
        users += 1;
    }
    (users > 0).then(|| sum / users as f64)
}

/// `dwell@K`: the dwell seconds in each user's top K, averaged.
pub fn dwell_at_k(p: &DwellPredictions, k: usize) -> Option<f64> {
    per_user_ranked(p, |ranked| ranked.iter().take(k).sum())
}

fn dcg(gains: impl Iterator<Item = f64>, k: usize) -> f64 {
    gains.take(k).enumerate().map(|(i, g)| g / (i as f64 + 2.0).log2()).sum()
}

/// `dwell_ndcg@K`: NDCG@K with the dwell seconds as gains, averaged.
pub fn dwell_ndcg_at_k(p: &DwellPredictions, k: usize) -> Option<f64> {
    per_user_ranked(p, |ranked| {
        let mut ideal = ranked.to_vec();
        ideal.sort_by(|a, b| b.total_cmp(a));
        dcg(ranked.iter().copied(), k) / dcg(ideal.into_iter(), k)
    })
}

/// AUC of `scores` against soft labels `relevance` in [0, 1] (see the
/// module doc); `None` when every pair weighs 0.
pub fn soft_label_auc(relevance: &[f32], scores: &[f32]) -> Option<f64> {
    let mut rows: Vec<(u32, f64)> = scores.iter().zip(relevance).map(|(&s, &r)| (order_key(s), f64::from(r).clamp(0.0, 1.0))).collect();
    rows.sort_unstable_by_key(|x| x.0);
    // walk tie groups upwards: `neg_below` is Σ(1 - r) of lower scores
    let (mut num, mut neg_below, mut i) = (0.0f64, 0.0f64, 0usize);
    while i < rows.len() {
        let mut e = i;
        let (mut pos, mut neg, mut own) = (0.0, 0.0, 0.0);
        while e < rows.len() && rows[e].0 == rows[i].0 {
            let r = rows[e].1;
            pos += r;
            neg += 1.0 - r;
            own += r * (1.0 - r);
            e += 1;
        }
        // pairs within the group tie (a row is never paired with itself)
        num += pos * neg_below + 0.5 * (pos * neg - own);
        neg_below += neg;
        i = e;
    }
    let total_pos: f64 = rows.iter().map(|x| x.1).sum();
    let own: f64 = rows.iter().map(|x| x.1 * (1.0 - x.1)).sum();
    let den = total_pos * neg_below - own;
    (den > 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        // inputs are f32
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn log_dwell_errors_by_hand() {
        // clicked rows: dwell e-1 (log1p = 1) predicted 1.5, dwell 0 (log1p = 0) predicted -0.5
        let e = std::f32::consts::E - 1.0;
        let (rmse, mae) = log_dwell_errors(&[1.0, 0.0, 1.0], &[e, 9.0, 0.0], &[1.5, 7.0, -0.5]).unwrap();
        close(rmse, 0.5);
        close(mae, 0.5);
        let (rmse, _) = log_dwell_errors(&[1.0, 1.0], &[e, 0.0], &[2.0, 0.0]).unwrap();
        close(rmse, (1.0f64 / 2.0).sqrt());
        assert!(log_dwell_errors(&[0.0], &[0.0], &[1.0]).is_none());
        close(f64::from(log_dwell_target(1718)), 1.718f64.ln_1p());
    }

    #[test]
    fn dwell_weighted_auc_by_hand() {
        // positives: dwell 3 at score 0.9, dwell 1 at score 0.2; negatives at 0.5 and 0.1
        let clicks = [1.0, 1.0, 0.0, 0.0];
        let dwell = [3.0, 1.0, 0.0, 0.0];
        let scores = [0.9, 0.2, 0.5, 0.1];
        // (3·2 + 1·1) / (4·2)
        close(dwell_weighted_auc(&clicks, &dwell, &scores).unwrap(), 7.0 / 8.0);
        // the plain AUC weighs both positives alike: 3 / 4
        close(crate::auc(&clicks, &scores).unwrap(), 0.75);
        // a tie with a negative counts half
        close(dwell_weighted_auc(&clicks, &dwell, &[0.5, 0.2, 0.5, 0.1]).unwrap(), (3.0 * 1.5 + 1.0) / 8.0);
        assert!(dwell_weighted_auc(&[1.0], &[2.0], &[0.3]).is_none());
    }

    #[test]
    fn dwell_at_k_and_ndcg_by_hand() {
        // user 7: dwell 0, 10, 5 scored 0.9, 0.5, 0.1; user 8: no dwell (left out)
        let users = [7, 7, 7, 8];
        let clicks = [0.0, 1.0, 1.0, 0.0];
        let dwell = [0.0, 10.0, 5.0, 0.0];
        let scores = [0.9, 0.5, 0.1, 0.3];
        let p = DwellPredictions { users: &users, clicks: &clicks, dwell_s: &dwell, scores: &scores, log_dwell: None };
        close(dwell_at_k(&p, 1).unwrap(), 0.0);
        close(dwell_at_k(&p, 2).unwrap(), 10.0);
        // DCG@2 = 0 + 10/log2(3); ideal = 10 + 5/log2(3)
        close(dwell_ndcg_at_k(&p, 2).unwrap(), (10.0 / 3f64.log2()) / (10.0 + 5.0 / 3f64.log2()));
        // the ideal ranking scores 1; a constant score ranks pessimistically
        let ideal = [0.0, 1.0, 0.5, 0.0];
        close(dwell_ndcg_at_k(&DwellPredictions { scores: &ideal, ..p }, 3).unwrap(), 1.0);
        let flat = [0.5; 4];
        close(dwell_ndcg_at_k(&DwellPredictions { scores: &flat, ..p }, 1).unwrap(), 0.0);
        let none = [0.0; 4];
        assert!(dwell_at_k(&DwellPredictions { dwell_s: &none, ..p }, 3).is_none());
    }

    #[test]
    fn soft_label_auc_by_hand() {
        // hard labels give the plain AUC
        let scores = [0.9, 0.2, 0.5, 0.1];
        close(soft_label_auc(&[1.0, 1.0, 0.0, 0.0], &scores).unwrap(), crate::auc(&[1.0, 1.0, 0.0, 0.0], &scores).unwrap());
        // r = (0.8, 0.2) scored (1, 0): pairs (0,1) weigh 0.8·0.8 = 0.64 and rank right,
        // (1,0) weigh 0.2·0.2 = 0.04 and rank wrong
        close(soft_label_auc(&[0.8, 0.2], &[1.0, 0.0]).unwrap(), 0.64 / 0.68);
        close(soft_label_auc(&[0.8, 0.2], &[0.0, 1.0]).unwrap(), 0.04 / 0.68);
        close(soft_label_auc(&[0.8, 0.2], &[0.5, 0.5]).unwrap(), 0.5);
        assert!(soft_label_auc(&[1.0, 1.0], &[0.1, 0.2]).is_none());
    }
}
