//! AUC, GAUC and log loss.

use std::collections::HashMap;

/// Exact ROC AUC by the Mann–Whitney statistic in O(n log n); tied scores
/// share their average rank (the convention of scikit-learn). `None` when
/// only one class is present, where AUC is undefined.
pub fn auc(labels: &[f32], scores: &[f32]) -> Option<f64> {
    debug_assert_eq!(labels.len(), scores.len());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum_pos, mut positives) = (0.0f64, 0usize);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // ranks are 1-based: the tie group [start, end) shares their mean
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            if labels[i] > 0.5 {
                rank_sum_pos += mean_rank;
                positives += 1;
            }
        }
        start = end;
    }
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean binary cross-entropy; probabilities are clipped to [1e-7, 1-1e-7]
/// so a confident mistake costs a large but finite amount.
pub fn log_loss(labels: &[f32], probs: &[f32]) -> Option<f64> {
    if labels.is_empty() {
        return None;
    }
    const EPS: f64 = 1e-7;
    let total: f64 = labels
        .iter()
        .zip(probs)
        .map(|(&y, &p)| {
            let p = (p as f64).clamp(EPS, 1.0 - EPS);
            if y > 0.5 { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    Some(total / labels.len() as f64)
}

/// Group AUC: per-user AUC averaged with each user weighted by impressions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauc {
    pub value: Option<f64>,
    /// Users with both clicks and non-clicks, who count.
    pub users_used: usize,
    /// Users with one class only, whose AUC is undefined.
    pub users_skipped: usize,
}

pub fn gauc(users: &[u32], labels: &[f32], scores: &[f32]) -> Gauc {
    let mut groups: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, &u) in users.iter().enumerate() {
        groups.entry(u).or_default().push(i);
    }
    let (mut weighted, mut weight, mut used, mut skipped) = (0.0, 0.0, 0, 0);
    let (mut l, mut s) = (Vec::new(), Vec::new());
    for rows in groups.values() {
        l.clear();
        s.clear();
        l.extend(rows.iter().map(|&i| labels[i]));
        s.extend(rows.iter().map(|&i| scores[i]));
        match auc(&l, &s) {
            Some(a) => {
                weighted += a * rows.len() as f64;
                weight += rows.len() as f64;
                used += 1;
            }
            None => skipped += 1,
        }
    }
    Gauc { value: (used > 0).then(|| weighted / weight), users_used: used, users_skipped: skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// O(n^2) definition: P(score_pos > score_neg) + 0.5 P(tie).
    fn auc_by_pairs(labels: &[f32], scores: &[f32]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for i in 0..labels.len() {
            for j in 0..labels.len() {
                if labels[i] > 0.5 && labels[j] < 0.5 {
                    pairs += 1.0;
                    wins += if scores[i] > scores[j] { 1.0 } else if scores[i] == scores[j] { 0.5 } else { 0.0 };
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn auc_matches_pairwise_definition_with_ties() {
        // deterministic pseudo-random data with many ties (scores on a coarse grid)
        let mut x = 12345u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let n = 400;
        let scores: Vec<f32> = (0..n).map(|_| (next() % 20) as f32 / 20.0).collect();
        let labels: Vec<f32> = scores.iter().map(|&s| if (next() % 100) as f32 / 100.0 < s { 1.0 } else { 0.0 }).collect();
        let fast = auc(&labels, &scores).unwrap();
        assert!((fast - auc_by_pairs(&labels, &scores)).abs() < 1e-12);
        assert!(fast > 0.6, "scores carry signal, got {fast}");
    }

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), Some(0.5));
        assert_eq!(auc(&[1.0, 0.0], &[0.9, 0.1]), Some(1.0));
        assert_eq!(auc(&[1.0, 1.0], &[0.9, 0.1]), None);
    }

    #[test]
    fn log_loss_known_value_and_clipping() {
        let v = log_loss(&[1.0, 0.0], &[0.8, 0.4]).unwrap();
        assert!((v - (-(0.8f64.ln()) - 0.6f64.ln()) / 2.0).abs() < 1e-6);
        let worst = log_loss(&[1.0], &[0.0]).unwrap();
        assert!(worst.is_finite() && worst > 15.0);
    }

    #[test]
    fn gauc_weights_users_by_impressions_and_skips_one_class_users() {
        // user 1: 4 impressions, AUC 1.0; user 2: 2 impressions, AUC 0.0; user 3: clicks only
        let users = [1, 1, 1, 1, 2, 2, 3, 3];
        let labels = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        let scores = [0.9, 0.8, 0.2, 0.1, 0.1, 0.9, 0.5, 0.6];
        let g = gauc(&users, &labels, &scores);
        assert_eq!((g.users_used, g.users_skipped), (2, 1));
        assert!((g.value.unwrap() - (4.0 * 1.0 + 2.0 * 0.0) / 6.0).abs() < 1e-12);
    }
}
