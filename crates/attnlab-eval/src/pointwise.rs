//! Point-wise metrics: AUC, GAUC (weighted and unweighted), log loss, RMSE,
//! MAE and calibration.
//!
//! Labels are `f32`; a label above 0.5 is a positive (a click). Scores are
//! predicted probabilities (AUC only needs their order).

use rayon::prelude::*;

/// Maps an `f32` to a `u32` whose unsigned order is the float order
/// (`-0.0` and `0.0` map to the same key, so they tie as they compare equal).
#[inline]
pub(crate) fn order_key(x: f32) -> u32 {
    let b = (x + 0.0).to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

/// LSD radix sort of `u32` keys, 3 passes of 11 bits; a pass whose digit is
/// the same for every key is skipped.
pub(crate) fn radix_sort_u32(keys: &mut Vec<u32>) {
    const SMALL: usize = 512;
    if keys.len() <= SMALL {
        keys.sort_unstable();
        return;
    }
    let mut buf = vec![0u32; keys.len()];
    let mut counts = [[0usize; 2048]; 3];
    for &k in keys.iter() {
        counts[0][(k & 0x7ff) as usize] += 1;
        counts[1][((k >> 11) & 0x7ff) as usize] += 1;
        counts[2][(k >> 22) as usize] += 1;
    }
    let n = keys.len();
    for (pass, count) in counts.iter_mut().enumerate() {
        if count.contains(&n) {
            continue; // every key has the same digit: this pass is a no-op
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        let shift = 11 * pass as u32;
        for &k in keys.iter() {
            let d = ((k >> shift) & 0x7ff) as usize;
            buf[count[d]] = k;
            count[d] += 1;
        }
        std::mem::swap(keys, &mut buf);
    }
}

/// Twice the Mann–Whitney U statistic from the sorted order keys of positives
/// and negatives: each (positive, negative) pair counts 2 when the positive
/// scores higher and 1 when they tie. Exact in integers.
fn twice_u(pos: &[u32], neg: &[u32]) -> u128 {
    let (mut acc, mut i, mut j) = (0u128, 0usize, 0usize);
    while i < pos.len() {
        let v = pos[i];
        let mut e = i + 1;
        while e < pos.len() && pos[e] == v {
            e += 1;
        }
        while j < neg.len() && neg[j] < v {
            j += 1;
        }
        let mut t = j;
        while t < neg.len() && neg[t] == v {
            t += 1;
        }
        acc += (e - i) as u128 * (2 * j + (t - j)) as u128;
        i = e;
    }
    acc
}

/// Exact ROC AUC by the Mann–Whitney statistic: P(score_pos > score_neg) +
/// 0.5 P(tie), i.e. tied scores share their average rank (the convention of
/// scikit-learn's `roc_auc_score`). `None` when only one class is present,
/// where AUC is undefined.
///
/// Positives' and negatives' scores are radix-sorted as `u32` order keys (in
/// parallel) and merged; the pair count is exact integer arithmetic, so the
/// only rounding is the final division.
pub fn auc(labels: &[f32], scores: &[f32]) -> Option<f64> {
    debug_assert_eq!(labels.len(), scores.len());
    let positives = labels.iter().filter(|&&l| l > 0.5).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (mut pos, mut neg) = (Vec::with_capacity(positives), Vec::with_capacity(negatives));
    for (&l, &s) in labels.iter().zip(scores) {
        if l > 0.5 { pos.push(order_key(s)) } else { neg.push(order_key(s)) }
    }
    if labels.len() > 1 << 16 {
        rayon::join(|| radix_sort_u32(&mut pos), || radix_sort_u32(&mut neg));
    } else {
        radix_sort_u32(&mut pos);
        radix_sort_u32(&mut neg);
    }
    Some(twice_u(&pos, &neg) as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// AUC of one small group given as (order key, is positive) pairs; sorts in place.
fn auc_small(pairs: &mut [(u32, bool)]) -> Option<f64> {
    let p = pairs.iter().filter(|x| x.1).count();
    let n = pairs.len() - p;
    if p == 0 || n == 0 {
        return None;
    }
    pairs.sort_unstable();
    // walk tie groups: negatives below the group + half the tied negatives
    let (mut acc, mut neg_below, mut i) = (0u128, 0usize, 0usize);
    while i < pairs.len() {
        let v = pairs[i].0;
        let mut e = i;
        let (mut gp, mut gn) = (0usize, 0usize);
        while e < pairs.len() && pairs[e].0 == v {
            if pairs[e].1 { gp += 1 } else { gn += 1 }
            e += 1;
        }
        acc += gp as u128 * (2 * neg_below + gn) as u128;
        neg_below += gn;
        i = e;
    }
    Some(acc as f64 / (2.0 * p as f64 * n as f64))
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

/// Root mean squared error between labels and scores (labels may be any
/// real value, e.g. ratings). `None` on empty input.
pub fn rmse(labels: &[f32], scores: &[f32]) -> Option<f64> {
    if labels.is_empty() {
        return None;
    }
    let sse: f64 = labels.iter().zip(scores).map(|(&y, &s)| (s as f64 - y as f64).powi(2)).sum();
    Some((sse / labels.len() as f64).sqrt())
}

/// Mean absolute error between labels and scores. `None` on empty input.
pub fn mae(labels: &[f32], scores: &[f32]) -> Option<f64> {
    if labels.is_empty() {
        return None;
    }
    let sae: f64 = labels.iter().zip(scores).map(|(&y, &s)| (s as f64 - y as f64).abs()).sum();
    Some(sae / labels.len() as f64)
}

/// Group AUC: per-user AUC averaged over the users that have both classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gauc {
    /// Impression-weighted mean: each user weighs by their number of impressions.
    pub value: Option<f64>,
    /// Unweighted mean: every user counts once.
    pub unweighted: Option<f64>,
    /// Users with both clicks and non-clicks, who count.
    pub users_used: usize,
    /// Users with one class only, whose AUC is undefined.
    pub users_skipped: usize,
}

/// Per-user AUC: (user, impressions, AUC or `None` for one-class users),
/// ascending by user id.
pub fn per_user_auc(users: &[u32], labels: &[f32], scores: &[f32]) -> Vec<(u32, usize, Option<f64>)> {
    let mut order: Vec<u64> = users.iter().enumerate().map(|(i, &u)| ((u as u64) << 32) | i as u64).collect();
    order.sort_unstable();
    let mut bounds = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let u = order[start] >> 32;
        let mut end = start + 1;
        while end < order.len() && order[end] >> 32 == u {
            end += 1;
        }
        bounds.push((start, end));
        start = end;
    }
    bounds
        .par_iter()
        .map_init(Vec::new, |pairs, &(s, e)| {
            pairs.clear();
            pairs.extend(order[s..e].iter().map(|&x| {
                let i = (x & 0xffff_ffff) as usize;
                (order_key(scores[i]), labels[i] > 0.5)
            }));
            ((order[s] >> 32) as u32, e - s, auc_small(pairs))
        })
        .collect()
}

/// Group AUC, impression-weighted (`value`) and unweighted (`unweighted`);
/// users with one class only are skipped and counted.
pub fn gauc(users: &[u32], labels: &[f32], scores: &[f32]) -> Gauc {
    let (mut weighted, mut weight, mut plain, mut used, mut skipped) = (0.0, 0.0, 0.0, 0, 0);
    for (_, n, a) in per_user_auc(users, labels, scores) {
        match a {
            Some(a) => {
                weighted += a * n as f64;
                weight += n as f64;
                plain += a;
                used += 1;
            }
            None => skipped += 1,
        }
    }
    Gauc {
        value: (used > 0).then(|| weighted / weight),
        unweighted: (used > 0).then(|| plain / used as f64),
        users_used: used,
        users_skipped: skipped,
    }
}

/// One reliability bin of [`calibration`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except the last bin, which includes 1).
    pub hi: f64,
    pub count: usize,
    /// Mean predicted probability in the bin (0 when empty).
    pub mean_pred: f64,
    /// Observed positive rate in the bin (0 when empty).
    pub observed: f64,
}

/// Calibration of predicted probabilities.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Calibration {
    /// Mean predicted probability / observed positive rate (1 is perfectly
    /// calibrated on average); `None` when there are no positives or no rows.
    pub ratio: Option<f64>,
    /// Equal-width bins over [0, 1].
    pub bins: Vec<Bin>,
    /// Expected calibration error: sum over bins of count/n * |mean_pred - observed|.
    pub ece: f64,
}

/// Calibration with `bins` equal-width reliability bins over [0, 1];
/// scores outside [0, 1] are clamped into the first or last bin. Errors when
/// `bins` is 0.
pub fn calibration(labels: &[f32], scores: &[f32], bins: usize) -> crate::Result<Calibration> {
    if bins == 0 {
        return Err(crate::EvalError::InvalidArgument("calibration needs at least one bin".into()));
    }
    let mut count = vec![0usize; bins];
    let mut sum_pred = vec![0.0f64; bins];
    let mut sum_pos = vec![0.0f64; bins];
    let (mut total_pred, mut total_pos) = (0.0f64, 0.0f64);
    for (&y, &s) in labels.iter().zip(scores) {
        let p = (s as f64).clamp(0.0, 1.0);
        let b = ((p * bins as f64) as usize).min(bins - 1);
        let pos = if y > 0.5 { 1.0 } else { 0.0 };
        count[b] += 1;
        sum_pred[b] += p;
        sum_pos[b] += pos;
        total_pred += p;
        total_pos += pos;
    }
    let n = labels.len();
    let mut ece = 0.0;
    let bins: Vec<Bin> = (0..bins)
        .map(|b| {
            let c = count[b];
            let (mean_pred, observed) = if c == 0 { (0.0, 0.0) } else { (sum_pred[b] / c as f64, sum_pos[b] / c as f64) };
            if n > 0 {
                ece += c as f64 / n as f64 * (mean_pred - observed).abs();
            }
            Bin { lo: b as f64 / bins as f64, hi: (b + 1) as f64 / bins as f64, count: c, mean_pred, observed }
        })
        .collect();
    let ratio = (n > 0 && total_pos > 0.0).then(|| total_pred / total_pos);
    Ok(Calibration { ratio, bins, ece })
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

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn auc_matches_pairwise_definition_with_ties() {
        let mut next = xorshift(12345);
        for n in [5usize, 400, 3000] {
            let scores: Vec<f32> = (0..n).map(|_| (next() % 20) as f32 / 20.0).collect();
            let labels: Vec<f32> =
                scores.iter().map(|&s| if (next() % 100) as f32 / 100.0 < s { 1.0 } else { 0.0 }).collect();
            let fast = auc(&labels, &scores).unwrap();
            assert!((fast - auc_by_pairs(&labels, &scores)).abs() < 1e-12, "n={n}");
            if n > 100 {
                assert!(fast > 0.6, "scores carry signal, got {fast}");
            }
        }
    }

    #[test]
    fn radix_sort_sorts_negative_and_signed_zero_keys() {
        let mut next = xorshift(7);
        let xs: Vec<f32> = (0..5000).map(|i| ((next() % 2001) as f32 - 1000.0) / 7.0 * if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let mut keys: Vec<u32> = xs.iter().map(|&x| order_key(x)).collect();
        radix_sort_u32(&mut keys);
        let mut sorted = xs.clone();
        sorted.sort_by(f32::total_cmp);
        let expect: Vec<u32> = sorted.iter().map(|&x| order_key(x)).collect();
        assert_eq!(keys, expect);
        assert_eq!(order_key(-0.0), order_key(0.0));
        assert!(order_key(f32::NEG_INFINITY) < order_key(-1.0) && order_key(-1.0) < order_key(1e-30));
    }

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        assert_eq!(auc(&[0.0, 1.0], &[0.5, 0.5]), Some(0.5));
        assert_eq!(auc(&[1.0, 0.0], &[0.9, 0.1]), Some(1.0));
        assert_eq!(auc(&[1.0, 1.0], &[0.9, 0.1]), None);
        assert_eq!(auc(&[], &[]), None);
    }

    #[test]
    fn log_loss_known_value_and_clipping() {
        let v = log_loss(&[1.0, 0.0], &[0.8, 0.4]).unwrap();
        assert!((v - (-(0.8f64.ln()) - 0.6f64.ln()) / 2.0).abs() < 1e-6);
        let worst = log_loss(&[1.0], &[0.0]).unwrap();
        assert!(worst.is_finite() && worst > 15.0);
    }

    #[test]
    fn rmse_and_mae_known_values() {
        // errors 0.5, -1, 0 (as f32 exactly representable)
        let (l, s) = ([1.0, 0.0, 3.0], [0.5, 1.0, 3.0]);
        assert!((rmse(&l, &s).unwrap() - (1.25f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((mae(&l, &s).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(rmse(&[], &[]), None);
        assert_eq!(mae(&[], &[]), None);
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
        assert!((g.unweighted.unwrap() - 0.5).abs() < 1e-12);
        let none = gauc(&[1, 1], &[1.0, 1.0], &[0.2, 0.3]);
        assert_eq!((none.value, none.unweighted, none.users_used, none.users_skipped), (None, None, 0, 1));
    }

    #[test]
    fn calibration_known_bins() {
        // two bins: [0,0.5) gets 0.1 (y=0), 0.3 (y=1); [0.5,1] gets 0.5 (y=1), 1.0 (y=1)
        let c = calibration(&[0.0, 1.0, 1.0, 1.0], &[0.1, 0.3, 0.5, 1.0], 2).unwrap();
        assert_eq!(c.bins.len(), 2);
        assert_eq!((c.bins[0].count, c.bins[1].count), (2, 2));
        assert!((c.bins[0].mean_pred - 0.2).abs() < 1e-7 && (c.bins[0].observed - 0.5).abs() < 1e-12);
        assert!((c.bins[1].mean_pred - 0.75).abs() < 1e-7 && (c.bins[1].observed - 1.0).abs() < 1e-12);
        // ratio: mean pred 0.475 / observed 0.75
        assert!((c.ratio.unwrap() - 0.475 / 0.75).abs() < 1e-7);
        // ece: 0.5*|0.2-0.5| + 0.5*|0.75-1| = 0.15 + 0.125
        assert!((c.ece - 0.275).abs() < 1e-7);
        assert!(calibration(&[1.0], &[0.5], 0).is_err());
        assert_eq!(calibration(&[0.0], &[0.5], 4).unwrap().ratio, None);
    }
}
