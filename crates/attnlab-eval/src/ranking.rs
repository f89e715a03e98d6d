//! Top-K ranking metrics with RecBole's definitions, in one pass per user.
//!
//! # Definitions
//!
//! For a user `u` with ground-truth items `T` (|T| >= 1) and a ranked list
//! whose position `i` (1-based) holds a relevant item when `rel_i = 1`:
//!
//! - `hit@K` = 1 if any of the first K is relevant, else 0.
//! - `recall@K` = hits@K / |T|.
//! - `precision@K` = hits@K / K.
//! - `ndcg@K` = DCG@K / IDCG, DCG@K = sum_{i<=K} rel_i / log2(i+1), binary
//!   relevance, IDCG = sum_{i<=min(|T|,K)} 1 / log2(i+1).
//! - `mrr@K` = 1 / rank of the first relevant item if it is within K, else 0.
//! - `map@K` = (1 / min(|T|, K)) * sum_{i<=K} rel_i * precision@i — RecBole's
//!   normalisation (`metrics.MAP`: `sum_pre / ranges` with the ranges capped at
//!   the user's number of test items).
//! - `averagepopularity@K` = mean over the user's top K of the item's
//!   popularity (its interaction count in training data); lower means less
//!   popularity bias, so it counts as lower-is-better (RecBole marks it
//!   `smaller = True`).
//!
//! Every per-user value is averaged over users with |T| >= 1; users without
//! ground truth are skipped and counted. Two metrics are over the whole set of
//! top-K lists instead:
//!
//! - `itemcoverage@K` = |union of all top-K lists| / num_items.
//! - `giniindex@K` = sum_j (2j - N - 1) c_(j) / (N * total), over the items'
//!   recommendation counts `c` sorted ascending and indexed from
//!   N - (#recommended items) + 1 to N, N = num_items and total = number of
//!   recommended slots (RecBole's `get_gini`). Lower is better.
//!
//! - `exposuregini@K`: the Gini coefficient of the items' position-discounted
//!   exposure (`Σ 1 / log2(rank + 1)` over all top-K lists, see
//!   [`crate::exposure`]) over ids `0..num_items`, like `giniindex@K` but
//!   weighing a first place above a tenth. Lower is better.
//! - `longtailshare@K`: the share of that exposure going to long-tail items,
//!   the bottom 80% of the catalogue by training popularity. Higher means
//!   more attention for the long tail.
//!
//! Note that RecBole passes its `item_num`, which counts the padding id 0, as
//! `num_items`; pass the same number to reproduce its coverage and Gini.
//!
//! # Ties: pessimistic
//!
//! Candidates are ordered by score (descending); **among equal scores,
//! non-relevant items come before relevant ones**, then lower item ids first.
//! So a relevant item tied with an irrelevant one ranks below it, and a
//! constant scorer gets the worst possible rank for every relevant item:
//! a model cannot gain from ties. (RecBole leaves ties to `torch.topk`, which
//! is unspecified.) `-0.0` and `0.0` tie; NaN scores are rejected.
//!
//! # Candidates
//!
//! - *Full ranking*: one score per item id `0..num_items` for each user.
//!   With `exclude_history`, the user's training items are taken out of the
//!   candidates (what RecBole does by setting their scores to -inf); a
//!   ground-truth item that is also in the history can then never be hit.
//! - *Sampled candidates*: per user a list of candidate item ids and their
//!   scores (e.g. the positives plus sampled negatives, or the impressions of
//!   a labeled log). A ground-truth item missing from the candidates still
//!   counts in |T|.
//!
//! If a user has fewer candidates than K, the missing positions are
//! non-relevant (precision still divides by K) and average popularity is the
//! mean over the items actually listed.
//!
//! Top-K selection uses a bounded heap of the K best candidates seen so far
//! (O(n log K) worst case, O(n) when most items fall below the current K-th
//! score), never a sort of all items; users of a chunk run in parallel.

use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use crate::{EvalError, Metric, PerUser, RankingMetric, Result};

/// A candidate in the top-K heap. Its `Ord` says how much *worse* it is, so
/// the heap's maximum is the worst of the current top K.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    score: f32,
    relevant: bool,
    item: u32,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // lower score is worse; at equal score a relevant item is worse
        // (pessimistic); then a larger item id is worse
        other
            .score
            .total_cmp(&self.score)
            .then(self.relevant.cmp(&other.relevant))
            .then(self.item.cmp(&other.item))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The best `k` candidates, best first, under the pessimistic tie order.
/// `relevant` and `excluded` are asked only for candidates that could enter
/// the top K.
fn top_k(
    candidates: impl Iterator<Item = (u32, f32)>,
    k: usize,
    relevant: impl Fn(u32) -> bool,
    excluded: impl Fn(u32) -> bool,
    heap: &mut BinaryHeap<Entry>,
) -> Vec<Entry> {
    heap.clear();
    if k == 0 {
        return Vec::new();
    }
    for (item, score) in candidates {
        let score = score + 0.0; // -0.0 ties with 0.0
        if heap.len() == k && score < heap.peek().map_or(f32::NEG_INFINITY, |w| w.score) {
            continue; // strictly lower than the current K-th: cannot enter
        }
        if excluded(item) {
            continue;
        }
        let e = Entry { score, relevant: relevant(item), item };
        if heap.len() < k {
            heap.push(e);
        } else if let Some(mut worst) = heap.peek_mut()
            && e < *worst
        {
            *worst = e;
        }
    }
    let mut out: Vec<Entry> = heap.drain().collect();
    out.sort_unstable();
    out
}

/// What a [`RankingEvaluator`] needs besides the scores.
#[derive(Debug, Clone, Default)]
pub struct RankingOptions {
    /// Number of items (ids `0..num_items`): the row length of full-ranking
    /// scores and the denominator of ItemCoverage and GiniIndex. When `None`
    /// the row length of the first full-ranking chunk is used; sampled
    /// candidates then need it for coverage and Gini.
    pub num_items: Option<usize>,
    /// Popularity (training interactions) of each item id, for
    /// AveragePopularity; ids past the end count 0.
    pub item_popularity: Option<Vec<u64>>,
    /// Full ranking: take each user's history (training items) out of the candidates.
    pub exclude_history: bool,
}

/// Means and per-user values from a [`RankingEvaluator`].
#[derive(Debug, Clone, PartialEq)]
pub struct RankingReport {
    /// One value per requested metric, in the order requested.
    pub values: Vec<(Metric, f64)>,
    /// Per-user values of each per-user metric (all but ItemCoverage and GiniIndex).
    pub per_user: Vec<PerUser>,
    pub users_evaluated: usize,
    /// Users without ground-truth items.
    pub users_skipped: usize,
    /// For each K requested (ascending): each item's summed
    /// position-discounted exposure over the evaluated users' top-K lists,
    /// ids `0..num_items` (what disparity of exposure per provider needs,
    /// [`crate::exposure::disparity_of_exposure`]). Empty when the number of
    /// items is unknown.
    pub item_exposure: Vec<(u32, Vec<f64>)>,
}

/// Accumulates per-user ranking results chunk by chunk (so scores can be
/// computed on a device one chunk of users at a time) and returns means and
/// per-user vectors. All K of all metrics come from one top-K pass per user.
#[derive(Debug, Clone)]
pub struct RankingEvaluator {
    requested: Vec<(RankingMetric, usize)>,
    /// Requested per-user metrics; each has a column in `columns`.
    per_user: Vec<(RankingMetric, usize)>,
    max_k: usize,
    options: RankingOptions,
    users: Vec<u32>,
    columns: Vec<Vec<f64>>,
    /// For each distinct K requested: how often each item was in a top-K
    /// list, and its summed position-discounted exposure there.
    rec_counts: Vec<(usize, HashMap<u32, (u64, f64)>)>,
    rec_slots: Vec<u64>,
    skipped: usize,
    /// 1 / log2(i + 2) for i in 0..max_k.
    discount: Vec<f64>,
}

/// One user's scored result before it joins the evaluator.
struct UserOut {
    user: u32,
    values: Option<Vec<f64>>,
    top: Vec<u32>,
}

impl RankingEvaluator {
    /// An evaluator for these metrics, which must all be ranking metrics.
    pub fn new(metrics: &[Metric], options: RankingOptions) -> Result<Self> {
        let mut requested = Vec::new();
        for &m in metrics {
            match m {
                Metric::Ranking(r, k) if k >= 1 => requested.push((r, k as usize)),
                Metric::Ranking(..) => return Err(EvalError::InvalidArgument(format!("{}: K must be at least 1", m.name()))),
                other => {
                    return Err(EvalError::InvalidArgument(format!(
                        "`{}` is not a ranking metric; the ranking evaluator takes metrics of the form name@K",
                        other.name()
                    )));
                }
            }
        }
        if requested.is_empty() {
            return Err(EvalError::InvalidArgument("no ranking metric requested".into()));
        }
        if options.item_popularity.is_none()
            && let Some((r, _)) = requested.iter().find(|(r, _)| r.needs_popularity())
        {
            return Err(EvalError::InvalidArgument(format!("{}@K needs item popularity counts", r.name())));
        }
        let max_k = requested.iter().map(|&(_, k)| k).max().unwrap_or(1);
        let per_user: Vec<_> = requested.iter().copied().filter(|(r, _)| r.is_per_user()).collect();
        let mut ks: Vec<usize> = requested.iter().map(|&(_, k)| k).collect();
        ks.sort_unstable();
        ks.dedup();
        Ok(RankingEvaluator {
            columns: vec![Vec::new(); per_user.len()],
            rec_slots: vec![0; ks.len()],
            rec_counts: ks.into_iter().map(|k| (k, HashMap::new())).collect(),
            requested,
            per_user,
            max_k,
            options,
            users: Vec::new(),
            skipped: 0,
            discount: (0..max_k).map(|i| 1.0 / ((i + 2) as f64).log2()).collect(),
        })
    }

    /// The largest K requested: the length of each user's top list.
    pub fn max_k(&self) -> usize {
        self.max_k
    }

    /// Adds a chunk of users scored over all items: `scores` is row-major,
    /// `users.len()` rows of `num_items` scores (item id = column). `truth[i]`
    /// lists user i's ground-truth items; `history[i]` their training items,
    /// excluded when the options say so (pass `&[]` otherwise).
    pub fn add_full(&mut self, users: &[u32], scores: &[f32], truth: &[&[u32]], history: &[&[u32]]) -> Result<()> {
        if users.is_empty() {
            return Ok(());
        }
        if !scores.len().is_multiple_of(users.len()) || truth.len() != users.len() {
            return Err(EvalError::InvalidArgument(format!(
                "full ranking chunk: {} users, {} scores, {} truth lists",
                users.len(),
                scores.len(),
                truth.len()
            )));
        }
        let n = scores.len() / users.len();
        match self.options.num_items {
            Some(expect) if expect != n => {
                return Err(EvalError::InvalidArgument(format!("full ranking chunk has {n} items per user, expected {expect}")));
            }
            None => self.options.num_items = Some(n),
            _ => {}
        }
        let exclude = self.options.exclude_history;
        if exclude && history.len() != users.len() {
            return Err(EvalError::InvalidArgument(format!(
                "exclude_history needs one history list per user: {} users, {} lists",
                users.len(),
                history.len()
            )));
        }
        if let Some(index) = scores.iter().position(|s| s.is_nan()) {
            return Err(EvalError::NonFiniteScore { index });
        }
        let k = self.max_k;
        let outs: Vec<UserOut> = (0..users.len())
            .into_par_iter()
            .map_init(
                || (BinaryHeap::with_capacity(k + 1), Vec::new(), Vec::new()),
                |(heap, t, h), i| {
                    sorted_copy(truth[i], t);
                    if exclude {
                        sorted_copy(history[i], h);
                    } else {
                        h.clear();
                    }
                    let row = &scores[i * n..(i + 1) * n];
                    let top = top_k(
                        row.iter().enumerate().map(|(j, &s)| (j as u32, s)),
                        k,
                        |it| t.binary_search(&it).is_ok(),
                        |it| !h.is_empty() && h.binary_search(&it).is_ok(),
                        heap,
                    );
                    self.user_out(users[i], &top, t.len())
                },
            )
            .collect();
        self.absorb(outs);
        Ok(())
    }

    /// Adds a chunk of users with sampled candidates: user i's candidates are
    /// `candidates[i]` with scores `scores[i]`; `truth[i]` are their
    /// ground-truth items.
    pub fn add_sampled(&mut self, users: &[u32], candidates: &[&[u32]], scores: &[&[f32]], truth: &[&[u32]]) -> Result<()> {
        if candidates.len() != users.len() || scores.len() != users.len() || truth.len() != users.len() {
            return Err(EvalError::InvalidArgument(format!(
                "sampled chunk: {} users, {} candidate lists, {} score lists, {} truth lists",
                users.len(),
                candidates.len(),
                scores.len(),
                truth.len()
            )));
        }
        for (i, (c, s)) in candidates.iter().zip(scores).enumerate() {
            if c.len() != s.len() {
                return Err(EvalError::InvalidArgument(format!(
                    "user {}: {} candidates but {} scores",
                    users[i],
                    c.len(),
                    s.len()
                )));
            }
            if let Some(j) = s.iter().position(|x| x.is_nan()) {
                return Err(EvalError::InvalidArgument(format!("user {}: score of candidate {j} is NaN", users[i])));
            }
        }
        let k = self.max_k;
        let outs: Vec<UserOut> = (0..users.len())
            .into_par_iter()
            .map_init(
                || (BinaryHeap::with_capacity(k + 1), Vec::new()),
                |(heap, t), i| {
                    sorted_copy(truth[i], t);
                    let top = top_k(
                        candidates[i].iter().copied().zip(scores[i].iter().copied()),
                        k,
                        |it| t.binary_search(&it).is_ok(),
                        |_| false,
                        heap,
                    );
                    self.user_out(users[i], &top, t.len())
                },
            )
            .collect();
        self.absorb(outs);
        Ok(())
    }

    /// All per-user metrics of one user from their top list (best first).
    fn user_out(&self, user: u32, top: &[Entry], n_truth: usize) -> UserOut {
        let items: Vec<u32> = top.iter().map(|e| e.item).collect();
        if n_truth == 0 {
            return UserOut { user, values: None, top: items };
        }
        let k = self.max_k;
        // cumulative hits, DCG, sum of precision@i at relevant i, first hit rank, popularity
        let (mut hits, mut dcg, mut sum_prec, mut pop) = (vec![0u32; k], vec![0.0f64; k], vec![0.0f64; k], vec![0.0f64; k]);
        let mut first_hit = usize::MAX;
        let (mut h, mut d, mut sp, mut pp) = (0u32, 0.0f64, 0.0f64, 0.0f64);
        let popularity = self.options.item_popularity.as_deref();
        for i in 0..k {
            if let Some(e) = top.get(i) {
                if e.relevant {
                    h += 1;
                    d += self.discount[i];
                    sp += h as f64 / (i + 1) as f64;
                    first_hit = first_hit.min(i + 1);
                }
                if let Some(p) = popularity {
                    pp += p.get(e.item as usize).copied().unwrap_or(0) as f64;
                }
            }
            hits[i] = h;
            dcg[i] = d;
            sum_prec[i] = sp;
            pop[i] = pp;
        }
        let values = self
            .per_user
            .iter()
            .map(|&(m, kk)| {
                let at = kk - 1;
                let hk = hits[at] as f64;
                match m {
                    RankingMetric::Hit => (hk > 0.0) as u8 as f64,
                    RankingMetric::Recall => hk / n_truth as f64,
                    RankingMetric::Precision => hk / kk as f64,
                    RankingMetric::Ndcg => {
                        let ideal: f64 = self.discount[..n_truth.min(kk)].iter().sum();
                        dcg[at] / ideal
                    }
                    RankingMetric::Mrr => {
                        if first_hit <= kk { 1.0 / first_hit as f64 } else { 0.0 }
                    }
                    RankingMetric::Map => sum_prec[at] / n_truth.min(kk) as f64,
                    RankingMetric::AveragePopularity => {
                        let listed = top.len().min(kk);
                        if listed == 0 { 0.0 } else { pop[at] / listed as f64 }
                    }
                    RankingMetric::ItemCoverage
                    | RankingMetric::GiniIndex
                    | RankingMetric::ExposureGini
                    | RankingMetric::LongTailShare => unreachable!("not per-user"),
                }
            })
            .collect();
        UserOut { user, values: Some(values), top: items }
    }

    fn absorb(&mut self, outs: Vec<UserOut>) {
        for out in outs {
            let Some(values) = out.values else {
                self.skipped += 1;
                continue;
            };
            self.users.push(out.user);
            for (col, v) in self.columns.iter_mut().zip(values) {
                col.push(v);
            }
            for ((k, counts), slots) in self.rec_counts.iter_mut().zip(self.rec_slots.iter_mut()) {
                let listed = &out.top[..out.top.len().min(*k)];
                *slots += listed.len() as u64;
                for (rank, &it) in listed.iter().enumerate() {
                    let c = counts.entry(it).or_insert((0, 0.0));
                    c.0 += 1;
                    c.1 += self.discount[rank];
                }
            }
        }
    }

    /// Means over evaluated users (plus coverage and Gini over all their top-K
    /// lists) and per-user vectors. Metrics are omitted when no user had
    /// ground truth; coverage and Gini need `num_items`.
    pub fn finish(self) -> Result<RankingReport> {
        let n_users = self.users.len();
        let mut values = Vec::new();
        for &(m, k) in &self.requested {
            let metric = Metric::Ranking(m, k as u32);
            if n_users == 0 {
                continue;
            }
            let v = if m.is_per_user() {
                let col = self.per_user.iter().position(|&x| x == (m, k)).expect("per-user column");
                self.columns[col].iter().sum::<f64>() / n_users as f64
            } else {
                let num_items = self.options.num_items.ok_or_else(|| {
                    EvalError::InvalidArgument(format!("{} needs the number of items", metric.name()))
                })?;
                if num_items == 0 {
                    return Err(EvalError::InvalidArgument(format!("{} needs at least one item", metric.name())));
                }
                let idx = self.rec_counts.iter().position(|(kk, _)| *kk == k).expect("rec counts");
                let (counts, slots) = (&self.rec_counts[idx].1, self.rec_slots[idx]);
                match m {
                    RankingMetric::ItemCoverage => counts.len() as f64 / num_items as f64,
                    RankingMetric::GiniIndex => gini_index(counts.values().map(|c| c.0), num_items, slots),
                    _ => self.exposure_metric(m, &exposure_of(counts, num_items))?,
                }
            };
            values.push((metric, v));
        }
        let item_exposure = match self.options.num_items {
            Some(n) => self.rec_counts.iter().map(|(k, counts)| (*k as u32, exposure_of(counts, n))).collect(),
            None => Vec::new(),
        };
        let per_user = self
            .per_user
            .iter()
            .zip(self.columns)
            .map(|(&(m, k), values)| PerUser {
                metric: Metric::Ranking(m, k as u32).name(),
                users: self.users.iter().map(|&u| u64::from(u)).collect(),
                values,
            })
            .collect();
        Ok(RankingReport { values, per_user, users_evaluated: n_users, users_skipped: self.skipped, item_exposure })
    }
}

impl RankingEvaluator {
    /// ExposureGini or LongTailShare from the items' summed exposure.
    fn exposure_metric(&self, m: RankingMetric, exposure: &[f64]) -> Result<f64> {
        let num_items = exposure.len();
        if exposure.iter().all(|&e| e == 0.0) {
            return Ok(0.0); // nothing listed: nothing concentrated, no tail share
        }
        match m {
            RankingMetric::ExposureGini => crate::exposure::gini(exposure),
            _ => {
                let popularity = self.options.item_popularity.as_deref().unwrap_or_default();
                let counts: Vec<u64> = (0..num_items).map(|i| popularity.get(i).copied().unwrap_or(0)).collect();
                crate::exposure::long_tail_share(exposure, &crate::exposure::long_tail(&counts))
            }
        }
    }
}

/// Each item's summed exposure, ids `0..num_items`, from the top-K counts.
fn exposure_of(counts: &HashMap<u32, (u64, f64)>, num_items: usize) -> Vec<f64> {
    let mut exposure = vec![0.0; num_items];
    for (&item, &(_, e)) in counts {
        if let Some(slot) = exposure.get_mut(item as usize) {
            *slot += e;
        }
    }
    exposure
}

fn sorted_copy(src: &[u32], dst: &mut Vec<u32>) {
    dst.clear();
    dst.extend_from_slice(src);
    dst.sort_unstable();
    dst.dedup();
}

/// RecBole's `GiniIndex.get_gini` from recommendation counts.
fn gini_index(counts: impl Iterator<Item = u64>, num_items: usize, total_slots: u64) -> f64 {
    let mut sorted: Vec<u64> = counts.collect();
    if sorted.is_empty() || total_slots == 0 {
        return 0.0;
    }
    sorted.sort_unstable();
    let n = num_items as f64;
    let first = num_items as i64 - sorted.len() as i64 + 1;
    let s: f64 = sorted.iter().enumerate().map(|(j, &c)| (2.0 * (first + j as i64) as f64 - n - 1.0) * c as f64).sum();
    s / total_slots as f64 / n
}

/// Ranking metrics on labeled rows (e.g. impressions): each user's rows are
/// their candidates, rows with label > 0.5 their ground truth. `items` gives
/// the rows' item ids; without it, row indices stand in (enough for every
/// metric but ItemCoverage, AveragePopularity and GiniIndex).
pub fn labeled_ranking(
    users: &[u32],
    items: Option<&[u32]>,
    labels: &[f32],
    scores: &[f32],
    metrics: &[Metric],
    options: RankingOptions,
) -> Result<RankingReport> {
    if labels.len() != users.len() || scores.len() != users.len() || items.is_some_and(|i| i.len() != users.len()) {
        return Err(EvalError::LengthMismatch { labels: labels.len(), scores: scores.len(), users: users.len() });
    }
    let mut order: Vec<u64> = users.iter().enumerate().map(|(i, &u)| ((u as u64) << 32) | i as u64).collect();
    order.sort_unstable();
    let (mut group_users, mut cand, mut sc, mut truth) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut start = 0;
    while start < order.len() {
        let u = (order[start] >> 32) as u32;
        let mut end = start;
        let (mut c, mut s, mut t) = (Vec::new(), Vec::new(), Vec::new());
        while end < order.len() && (order[end] >> 32) as u32 == u {
            let row = (order[end] & 0xffff_ffff) as usize;
            let item = items.map_or(row as u32, |it| it[row]);
            c.push(item);
            s.push(scores[row]);
            if labels[row] > 0.5 {
                t.push(item);
            }
            end += 1;
        }
        group_users.push(u);
        cand.push(c);
        sc.push(s);
        truth.push(t);
        start = end;
    }
    let mut ev = RankingEvaluator::new(metrics, options)?;
    let c: Vec<&[u32]> = cand.iter().map(Vec::as_slice).collect();
    let s: Vec<&[f32]> = sc.iter().map(Vec::as_slice).collect();
    let t: Vec<&[u32]> = truth.iter().map(Vec::as_slice).collect();
    ev.add_sampled(&group_users, &c, &s, &t)?;
    ev.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_orders_pessimistically() {
        let mut heap = BinaryHeap::new();
        // items 0..4 all score 1.0; item 2 is relevant: it must come last
        let top = top_k((0..4u32).map(|i| (i, 1.0)), 4, |i| i == 2, |_| false, &mut heap);
        assert_eq!(top.iter().map(|e| e.item).collect::<Vec<_>>(), vec![0, 1, 3, 2]);
        // with K = 3 it falls out
        let top = top_k((0..4u32).map(|i| (i, 1.0)), 3, |i| i == 2, |_| false, &mut heap);
        assert_eq!(top.iter().map(|e| e.item).collect::<Vec<_>>(), vec![0, 1, 3]);
        // -0.0 ties with 0.0
        let top = top_k([(0u32, 0.0f32), (1, -0.0)].into_iter(), 1, |i| i == 0, |_| false, &mut heap);
        assert_eq!(top[0].item, 1);
    }

    #[test]
    fn gini_of_uniform_counts_is_zero_and_of_one_item_is_near_one() {
        assert!(gini_index([3u64, 3, 3, 3].into_iter(), 4, 12).abs() < 1e-12);
        // one item of 4 recommended everywhere: (2*4-4-1)*c / (c*4) = 3/4
        assert!((gini_index([5u64].into_iter(), 4, 5) - 0.75).abs() < 1e-12);
    }
}
