//! Who gets seen: how a set of rankings shares users' attention among
//! items, providers and user groups.
//!
//! # Exposure
//!
//! A ranking gives the item at (1-based) rank `i` the exposure `1 / log2(i + 1)`
//! (the examination model behind NDCG), or the examination probability of
//! slot `i` when the caller knows it (`Discount::Examination`, e.g. the
//! simulator's position curve). An item's exposure is the sum over all
//! rankings; nothing is normalised until a metric asks for shares.
//!
//! # Metrics
//!
//! - `gini`: the Gini coefficient of item exposure over *all* items of the
//!   catalogue (items never shown count as zero): 0 when every item gets the
//!   same exposure, `1 - 1/n` when one item gets all of it. Sorted ascending,
//!   `G = sum_i (2i - n - 1) x_i / (n sum x)` with `i` from 1.
//! - `entropy`: Shannon entropy (nats) of the exposure shares, and the same
//!   divided by `ln n` (1 = uniform over the catalogue).
//! - `long_tail_share`: the share of exposure that goes to long-tail items,
//!   the bottom 80% of the catalogue by training popularity (the head is the
//!   `ceil(0.2 n)` most popular items, ties by lower id, so the split is
//!   deterministic).
//! - Disparity of exposure (Singh & Joachims, "Fairness of Exposure in
//!   Rankings", KDD 2018): a group `g` (a provider) receives the exposure share
//!   `E_g` and holds the relevance share `R_g`; fair exposure means
//!   `E_g / R_g` is the same for every group. [`disparity_of_exposure`] gives
//!   each group's ratio and the largest difference between two groups' ratios,
//!   zero exactly when exposure is proportional to relevance.
//! - Group gaps ([`group_gap`]): a per-user metric's mean in each user group
//!   (gender, age bucket, activity quartile, ...), the gap between the best
//!   and worst group, and a percentile bootstrap CI of that pair's difference
//!   (users resampled within each group).

use std::collections::BTreeMap;

use crate::significance::SplitMix64;
use crate::{EvalError, Result};

/// How much attention the item at a rank receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Discount {
    /// `1 / log2(rank + 1)` for 1-based ranks: NDCG's position discount.
    Log2,
    /// The examination probability of each slot, slot 0 first; ranks past the
    /// end of the list receive nothing.
    Examination(Vec<f64>),
}

impl Discount {
    /// The exposure of 0-based `position`.
    pub fn at(&self, position: usize) -> f64 {
        match self {
            Discount::Log2 => 1.0 / ((position + 2) as f64).log2(),
            Discount::Examination(p) => p.get(position).copied().unwrap_or(0.0),
        }
    }
}

/// Each item's summed exposure over `rankings` (item ids, best first), for
/// item ids `0..num_items`. An id outside the catalogue is an error.
pub fn item_exposure(rankings: &[&[u32]], num_items: usize, discount: &Discount) -> Result<Vec<f64>> {
    if let Discount::Examination(p) = discount {
        if let Some(bad) = p.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(EvalError::InvalidArgument(format!("examination probabilities must be finite and >= 0, got {bad}")));
        }
    }
    let mut exposure = vec![0.0; num_items];
    for ranking in rankings {
        for (position, &item) in ranking.iter().enumerate() {
            let slot = exposure.get_mut(item as usize).ok_or_else(|| {
                EvalError::InvalidArgument(format!("item id {item} is outside the catalogue of {num_items} items"))
            })?;
            *slot += discount.at(position);
        }
    }
    Ok(exposure)
}

fn check_exposure(values: &[f64], what: &str) -> Result<f64> {
    if values.is_empty() {
        return Err(EvalError::Undefined { metric: what.into(), reason: "no items".into() });
    }
    if let Some(bad) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(EvalError::InvalidArgument(format!("{what}: exposure must be finite and >= 0, got {bad}")));
    }
    let total: f64 = values.iter().sum();
    if total <= 0.0 {
        return Err(EvalError::Undefined { metric: what.into(), reason: "no exposure at all".into() });
    }
    Ok(total)
}

/// The Gini coefficient of `values` (0 = equal shares).
pub fn gini(values: &[f64]) -> Result<f64> {
    let total = check_exposure(values, "exposure gini")?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let weighted: f64 = sorted.iter().enumerate().map(|(i, x)| (2.0 * (i + 1) as f64 - n - 1.0) * x).sum();
    Ok(weighted / (n * total))
}

/// Shannon entropy in nats of the shares of `values`, and that entropy over
/// `ln n` (1 for uniform shares; 1 as well for a catalogue of one item).
pub fn entropy(values: &[f64]) -> Result<(f64, f64)> {
    let total = check_exposure(values, "exposure entropy")?;
    let h: f64 = values.iter().filter(|v| **v > 0.0).map(|v| v / total).map(|p| -p * p.ln()).sum();
    let normalised = if values.len() > 1 { h / (values.len() as f64).ln() } else { 1.0 };
    Ok((h, normalised))
}

/// Which items are long-tail: all but the `ceil(0.2 n)` most popular by
/// training count (ties go to the lower id).
pub fn long_tail(popularity: &[u64]) -> Vec<bool> {
    let head = (popularity.len() as f64 * 0.2).ceil() as usize;
    let mut order: Vec<usize> = (0..popularity.len()).collect();
    order.sort_by(|&a, &b| popularity[b].cmp(&popularity[a]).then(a.cmp(&b)));
    let mut tail = vec![true; popularity.len()];
    for &i in &order[..head] {
        tail[i] = false;
    }
    tail
}

/// The share of all exposure that long-tail items receive.
pub fn long_tail_share(exposure: &[f64], tail: &[bool]) -> Result<f64> {
    if exposure.len() != tail.len() {
        return Err(EvalError::InvalidArgument(format!(
            "{} exposure values but {} long-tail flags",
            exposure.len(),
            tail.len()
        )));
    }
    let total = check_exposure(exposure, "long-tail share")?;
    Ok(exposure.iter().zip(tail).filter(|(_, t)| **t).map(|(e, _)| e).sum::<f64>() / total)
}

/// One group's exposure against its relevance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupExposure {
    pub group: String,
    pub exposure_share: f64,
    pub relevance_share: f64,
    /// `exposure_share / relevance_share`: 1 is fair; `None` for a group with
    /// no relevance (its exposure cannot be judged by this measure).
    pub ratio: Option<f64>,
}

/// Disparity of exposure among groups (providers).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Disparity {
    pub groups: Vec<GroupExposure>,
    /// The largest `|ratio_a - ratio_b|` over groups with relevance.
    pub max_ratio_gap: f64,
}

/// Per-group exposure and relevance shares, for items `0..n` with
/// `exposure[i]`, `relevance[i]` (e.g. the true click probability, or the
/// number of test users for whom the item is relevant) and `group[i]`
/// (`None`: the item has no provider and is left out of both shares).
pub fn disparity_of_exposure(exposure: &[f64], relevance: &[f64], group: &[Option<&str>]) -> Result<Disparity> {
    if exposure.len() != relevance.len() || exposure.len() != group.len() {
        return Err(EvalError::InvalidArgument(format!(
            "disparity of exposure needs one value per item: {} exposures, {} relevances, {} groups",
            exposure.len(),
            relevance.len(),
            group.len()
        )));
    }
    if let Some(bad) = relevance.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(EvalError::InvalidArgument(format!("relevance must be finite and >= 0, got {bad}")));
    }
    let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for ((e, r), g) in exposure.iter().zip(relevance).zip(group) {
        if let Some(g) = g {
            let s = sums.entry(g).or_default();
            s.0 += e;
            s.1 += r;
        }
    }
    let total_e: f64 = sums.values().map(|s| s.0).sum();
    let total_r: f64 = sums.values().map(|s| s.1).sum();
    if sums.len() < 2 || total_e <= 0.0 || total_r <= 0.0 {
        return Err(EvalError::Undefined {
            metric: "disparity of exposure".into(),
            reason: "needs at least two groups, some exposure and some relevance".into(),
        });
    }
    let groups: Vec<GroupExposure> = sums
        .into_iter()
        .map(|(g, (e, r))| {
            let (exposure_share, relevance_share) = (e / total_e, r / total_r);
            let ratio = (relevance_share > 0.0).then(|| exposure_share / relevance_share);
            GroupExposure { group: g.to_string(), exposure_share, relevance_share, ratio }
        })
        .collect();
    let ratios: Vec<f64> = groups.iter().filter_map(|g| g.ratio).collect();
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    Ok(Disparity { groups, max_ratio_gap: if ratios.is_empty() { 0.0 } else { max - min } })
}

/// A per-user metric in each user group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupGap {
    /// `(group, users, mean)`, groups in name order.
    pub groups: Vec<(String, usize, f64)>,
    /// The groups with the highest and the lowest mean.
    pub best: String,
    pub worst: String,
    /// `mean(best) - mean(worst)`.
    pub gap: f64,
    /// Percentile bootstrap CI of that difference.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Means of `values` per group of `groups` (aligned with `values`), the gap
/// between the best and the worst group and its bootstrap CI at `level`.
pub fn group_gap(values: &[f64], groups: &[&str], resamples: usize, level: f64, seed: u64) -> Result<GroupGap> {
    if values.len() != groups.len() {
        return Err(EvalError::InvalidArgument(format!("{} values but {} group labels", values.len(), groups.len())));
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(EvalError::InvalidArgument(format!("group gap: value {bad} is not finite")));
    }
    if resamples == 0 || !(level > 0.0 && level < 1.0) {
        return Err(EvalError::InvalidArgument(format!("group gap needs resamples > 0 and 0 < level < 1 (got {resamples}, {level})")));
    }
    let mut by_group: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (v, g) in values.iter().zip(groups) {
        by_group.entry(g).or_default().push(*v);
    }
    if by_group.len() < 2 {
        return Err(EvalError::Undefined { metric: "group gap".into(), reason: "needs at least two user groups".into() });
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let stats: Vec<(String, usize, f64)> = by_group.iter().map(|(g, v)| (g.to_string(), v.len(), mean(v))).collect();
    let best = stats.iter().max_by(|a, b| a.2.total_cmp(&b.2)).map(|s| s.0.clone()).unwrap_or_default();
    let worst = stats.iter().min_by(|a, b| a.2.total_cmp(&b.2)).map(|s| s.0.clone()).unwrap_or_default();
    let (a, b) = (&by_group[best.as_str()], &by_group[worst.as_str()]);
    let gap = mean(a) - mean(b);
    let mut rng = SplitMix64::new(seed);
    let mut resample_mean = |v: &[f64]| (0..v.len()).map(|_| v[rng.below(v.len())]).sum::<f64>() / v.len() as f64;
    let mut diffs: Vec<f64> = (0..resamples).map(|_| resample_mean(a) - resample_mean(b)).collect();
    let (ci_low, ci_high) = crate::significance::percentile_interval(&mut diffs, level);
    Ok(GroupGap { groups: stats, best, worst, gap, ci_low, ci_high })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn exposure_sums_the_position_discounts() {
        let r1: &[u32] = &[2, 0];
        let r2: &[u32] = &[0, 1, 3];
        let e = item_exposure(&[r1, r2], 5, &Discount::Log2).unwrap();
        // item 0: rank 2 in r1 (1/log2 3) + rank 1 in r2 (1); item 4 never shown
        assert!(close(e[0], 1.0 / 3f64.log2() + 1.0));
        assert!(close(e[1], 1.0 / 3f64.log2()));
        assert!(close(e[2], 1.0));
        assert!(close(e[3], 0.5));
        assert_eq!(e[4], 0.0);
        let exam = Discount::Examination(vec![0.9, 0.5]);
        let e = item_exposure(&[r2], 4, &exam).unwrap();
        assert_eq!(e, vec![0.9, 0.5, 0.0, 0.0], "past the curve's end a slot gets nothing");
        assert!(item_exposure(&[&[7]], 5, &Discount::Log2).is_err());
    }

    #[test]
    fn gini_and_entropy_by_hand() {
        assert!(close(gini(&[1.0, 1.0, 1.0, 1.0]).unwrap(), 0.0));
        // one item of four takes everything: 1 - 1/n
        assert!(close(gini(&[0.0, 0.0, 4.0, 0.0]).unwrap(), 0.75));
        // [1, 2, 3]: (-2*1 + 0*2 + 2*3) / (3 * 6) = 4/18
        assert!(close(gini(&[3.0, 1.0, 2.0]).unwrap(), 4.0 / 18.0));
        let (h, norm) = entropy(&[1.0, 1.0, 1.0, 1.0]).unwrap();
        assert!(close(h, 4f64.ln()) && close(norm, 1.0));
        let (h, norm) = entropy(&[1.0, 0.0, 0.0, 3.0]).unwrap();
        let expected = -(0.25 * 0.25f64.ln() + 0.75 * 0.75f64.ln());
        assert!(close(h, expected) && close(norm, expected / 4f64.ln()));
        assert!(gini(&[0.0, 0.0]).is_err(), "no exposure at all has no Gini");
        assert!(gini(&[1.0, -1.0]).is_err());
    }

    #[test]
    fn long_tail_is_the_bottom_eighty_percent() {
        // 10 items: the 2 most popular are the head; the tie at 5 goes to the lower id
        let pop = [5, 1, 9, 5, 0, 0, 2, 3, 1, 0];
        let tail = long_tail(&pop);
        let head: Vec<usize> = (0..10).filter(|&i| !tail[i]).collect();
        assert_eq!(head, vec![0, 2]);
        let exposure = [1.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert!(close(long_tail_share(&exposure, &tail).unwrap(), 0.25));
    }

    #[test]
    fn disparity_is_zero_when_exposure_follows_relevance() {
        let groups = [Some("a"), Some("a"), Some("b"), None];
        let relevance = [1.0, 2.0, 1.0, 5.0];
        // exposure proportional to relevance within the grouped items
        let fair = [0.5, 1.0, 0.5, 0.0];
        let d = disparity_of_exposure(&fair, &relevance, &groups).unwrap();
        assert!(d.max_ratio_gap.abs() < 1e-12);
        assert!(d.groups.iter().all(|g| (g.ratio.unwrap() - 1.0).abs() < 1e-12));
        // everything to group a: a gets 1 / 0.75, b gets 0
        let unfair = [1.0, 1.0, 0.0, 3.0];
        let d = disparity_of_exposure(&unfair, &relevance, &groups).unwrap();
        assert!(close(d.groups[0].exposure_share, 1.0) && close(d.groups[0].relevance_share, 0.75));
        assert!(close(d.max_ratio_gap, 1.0 / 0.75));
        assert!(disparity_of_exposure(&unfair, &relevance, &[Some("a"), Some("a"), None, None]).is_err());
    }

    #[test]
    fn group_gap_and_its_interval() {
        let values = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let groups = ["F", "F", "F", "F", "M", "M", "M", "M"];
        let g = group_gap(&values, &groups, 200, 0.95, 7).unwrap();
        assert_eq!((g.best.as_str(), g.worst.as_str()), ("F", "M"));
        assert!(close(g.gap, 1.0) && close(g.ci_low, 1.0) && close(g.ci_high, 1.0), "no spread, no width");
        let values = [0.9, 0.1, 0.8, 0.2, 0.5, 0.4, 0.6, 0.3];
        let g = group_gap(&values, &groups, 2000, 0.95, 7).unwrap();
        assert!(close(g.gap, 0.5 - 0.45));
        assert!(g.ci_low < g.gap && g.gap < g.ci_high, "{g:?}");
        assert_eq!(g.groups, vec![("F".to_string(), 4, 0.5), ("M".to_string(), 4, 0.45)]);
        assert!(group_gap(&[1.0], &["F"], 10, 0.95, 1).is_err(), "one group has no gap");
    }
}
