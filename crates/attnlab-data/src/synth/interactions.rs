//! A RecBole atomic `.inter` (`user_id:token item_id:token rating:float
//! timestamp:float`) with exactly `users` users, `items` items and
//! `interactions` rows, whose shape follows ml-100k's.
//!
//! # Generative model
//!
//! - Item popularity: the item at rank fraction `x = (r + ½) / items` has
//!   weight `(x + c)^-0.6 - (1 + c)^-0.6`. A user takes an item once, so
//!   the shares these weights give depend on how much of the catalogue a
//!   mean user takes (the density, interactions / (users x items)): the
//!   denser, the flatter. `c` is therefore set by the density
//!   ([`head_offset`]), from 0.0045 at ml-100k's 6.3% to 0.0253 at 0.5%,
//!   each value found by simulating this generator so that the top 1% of
//!   items hold ml-100k's 0.076 of the interactions. At ml-100k's density
//!   the top 5, 10, 20 and 50% then hold about 0.28, 0.43, 0.62 and 0.89
//!   (ml-100k: 0.26, 0.43, 0.65, 0.93). A density in the rank *fraction*
//!   keeps the shares independent of the catalogue's size.
//! - User activity: the user at rank fraction `x` has weight
//!   `(x + 0.53)^-2.95`, fitted to ml-100k's activity quantiles over the
//!   mean ([`super::ML100K_SHAPE`]; within 10% at every size measured);
//!   every user gets one interaction, the rest are shared out by weight
//!   (largest remainders), at most `items` each.
//! - Every item is interacted with at least once (as in MovieLens): each is
//!   first given to a user drawn by activity who still has room.
//! - A user's other items are drawn by popularity without repetition.
//! - Timestamps: each user is active in a window of 5 to 100% of `span`
//!   seconds from `start`, their interactions at uniform times in it.
//! - Ratings 1-5 with ml-100k's frequencies.
//!
//! Ranks are mapped to ids through seeded permutations, so neither user nor
//! item ids say anything about activity or popularity. Rows are written
//! user by user, each user's in time order; memory is O(users + items).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::Write;

use super::{write_err, SynthReport, PROGRESS_EVERY};
use crate::{DataError, Result, Rng};

/// ml-100k's cumulative rating frequencies for 1..=5.
const RATINGS: [f64; 5] = [0.0611, 0.1748, 0.4463, 0.7880, 1.0];

/// The atomic header the generator writes.
pub const HEADER: &str = "user_id:token\titem_id:token\trating:float\ttimestamp:float";

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionsConfig {
    pub users: u32,
    pub items: u32,
    pub interactions: u64,
    pub seed: u64,
    /// Unix seconds of the earliest possible interaction.
    pub start: i64,
    /// Seconds the data spans.
    pub span: i64,
}

impl InteractionsConfig {
    /// `users x items x interactions` from `seed`, over three years from 2015-01-01.
    pub fn new(users: u32, items: u32, interactions: u64, seed: u64) -> InteractionsConfig {
        InteractionsConfig { users, items, interactions, seed, start: 1_420_070_400, span: 3 * 365 * 86_400 }
    }

    /// Every way the numbers cannot describe a file: at least one of each,
    /// every user and every item used, no pair twice.
    pub fn check(&self) -> Result<()> {
        let invalid = |message: String| Err(DataError::Invalid { what: "synthetic interactions", message });
        if self.users == 0 || self.items == 0 {
            return invalid("users and items must be at least 1".into());
        }
        let (u, i, n) = (u64::from(self.users), u64::from(self.items), self.interactions);
        if n < u.max(i) {
            return invalid(format!("{n} interactions cannot cover {u} users and {i} items (each needs one)"));
        }
        if n > u * i {
            return invalid(format!("{n} interactions exceed the {} distinct (user, item) pairs", u * i));
        }
        if self.span <= 0 {
            return invalid(format!("span must be positive, got {}", self.span));
        }
        Ok(())
    }
}

/// (density, `c`) pairs: the popularity offset that gives ml-100k's top-1%
/// share at that density, found by simulation (see the module docs).
const HEAD_OFFSETS: [(f64, f64); 4] = [(0.005, 0.0253), (0.012, 0.0212), (0.028, 0.0155), (0.063, 0.0045)];

/// The popularity offset `c` for `density`: [`HEAD_OFFSETS`] interpolated
/// in the density's logarithm, constant beyond its ends.
pub fn head_offset(density: f64) -> f64 {
    let (first, last) = (HEAD_OFFSETS[0], HEAD_OFFSETS[HEAD_OFFSETS.len() - 1]);
    if density <= first.0 {
        return first.1;
    }
    if density >= last.0 {
        return last.1;
    }
    let i = HEAD_OFFSETS.partition_point(|&(d, _)| d <= density);
    let ((d0, c0), (d1, c1)) = (HEAD_OFFSETS[i - 1], HEAD_OFFSETS[i]);
    let t = (density.ln() - d0.ln()) / (d1.ln() - d0.ln());
    c0 + t * (c1 - c0)
}

/// Item popularity at rank fraction `x` with offset `c` (see the module docs).
fn item_weight(x: f64, c: f64) -> f64 {
    (x + c).powf(-0.6) - (1.0 + c).powf(-0.6)
}

/// User activity at rank fraction `x` (see the module docs).
fn user_weight(x: f64) -> f64 {
    (x + 0.53).powf(-2.95)
}

/// Weights of `n` ranks at their midpoints.
fn weights(n: u32, f: impl Fn(f64) -> f64) -> Vec<f64> {
    (0..n).map(|r| f((f64::from(r) + 0.5) / f64::from(n))).collect()
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    w.iter()
        .scan(0.0, |acc, &x| {
            *acc += x;
            Some(*acc)
        })
        .collect()
}

/// Interactions per user rank: one each, the rest by weight with the
/// largest remainders rounded up, capped at `cap`; sums to `total`.
fn counts(weights: &[f64], total: u64, cap: u64) -> Vec<u64> {
    let n = weights.len() as u64;
    let rest = (total - n) as f64;
    let sum: f64 = weights.iter().sum();
    let share: Vec<f64> = weights.iter().map(|w| rest * w / sum).collect();
    let mut counts: Vec<u64> = share.iter().map(|s| 1 + s.floor() as u64).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (share[b] - share[b].floor()).total_cmp(&(share[a] - share[a].floor())).then(a.cmp(&b)));
    // the fractional parts sum to fewer than one per user
    let left = total - counts.iter().sum::<u64>();
    for &r in order.iter().take(left as usize) {
        counts[r] += 1;
    }
    // over the cap: the excess goes, one by one, to the most active users with room
    let mut excess: u64 = counts.iter_mut().map(|c| std::mem::replace(c, (*c).min(cap)).saturating_sub(cap)).sum();
    while excess > 0 {
        for c in counts.iter_mut().filter(|c| **c < cap) {
            if excess == 0 {
                break;
            }
            *c += 1;
            excess -= 1;
        }
    }
    counts
}

/// Every item rank once, each to a user drawn by activity who still has
/// room in their quota: per user rank, the item ranks they must take.
fn every_item_once(rng: &mut Rng, user_cum: &[f64], quota: &[u64], items: u32) -> Vec<Vec<u32>> {
    let mut forced: Vec<Vec<u32>> = vec![Vec::new(); quota.len()];
    let has_room = |forced: &[Vec<u32>], u: usize| (forced[u].len() as u64) < quota[u];
    for rank in 0..items {
        let mut u = rng.weighted(user_cum);
        for _ in 0..64 {
            if has_room(&forced, u) {
                break;
            }
            u = rng.weighted(user_cum);
        }
        while !has_room(&forced, u) {
            u = (u + 1) % quota.len(); // the quotas sum to at least `items`: someone has room
        }
        forced[u].push(rank);
    }
    forced
}

/// Adds item ranks drawn by popularity to `ranks` until it holds `n`, none
/// twice (`taken`: the ranks already in it). `keys` is scratch space.
fn draw_items(
    rng: &mut Rng,
    n: usize,
    ranks: &mut Vec<u32>,
    item_w: &[f64],
    item_cum: &[f64],
    taken: &mut HashSet<u32>,
    keys: &mut Vec<(f64, u32)>,
) {
    taken.clear();
    taken.extend(ranks.iter().copied());
    if n * 4 <= item_w.len() {
        // a small share of the catalogue: rejection is cheap
        while ranks.len() < n {
            let rank = rng.weighted(item_cum) as u32;
            if taken.insert(rank) {
                ranks.push(rank);
            }
        }
        return;
    }
    // a large share: weighted sampling without replacement by exponential
    // keys (Efraimidis-Spirakis)
    keys.clear();
    keys.extend(item_w.iter().enumerate().map(|(k, w)| (rng.uniform().max(f64::MIN_POSITIVE).ln() / w, k as u32)));
    keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, rank) in keys.iter() {
        if ranks.len() == n {
            break;
        }
        if taken.insert(rank) {
            ranks.push(rank);
        }
    }
}

/// Writes the file's rows (header first) to `out`; `progress` is called
/// with the rows written every [`PROGRESS_EVERY`] rows. `path` only names
/// the destination in errors.
pub fn write_interactions(
    config: &InteractionsConfig,
    out: &mut dyn Write,
    path: &std::path::Path,
    progress: &mut dyn FnMut(u64),
) -> Result<SynthReport> {
    config.check()?;
    let io = write_err(path);
    let mut rng = Rng::new(config.seed);
    let n_users = config.users as usize;
    let mut user_ids: Vec<u32> = (1..=config.users).collect();
    rng.shuffle(&mut user_ids);
    let mut item_ids: Vec<u32> = (1..=config.items).collect();
    rng.shuffle(&mut item_ids);
    let density = config.interactions as f64 / (f64::from(config.users) * f64::from(config.items));
    let c = head_offset(density);
    let item_w = weights(config.items, |x| item_weight(x, c));
    let item_cum = cumulative(&item_w);
    let user_w = weights(config.users, user_weight);
    let user_cum = cumulative(&user_w);
    let quota = counts(&user_w, config.interactions, u64::from(config.items));

    let mut forced = every_item_once(&mut rng.fork(1), &user_cum, &quota, config.items);

    writeln!(out, "{HEADER}").map_err(&io)?;
    let mut rows = 0u64;
    let mut draw = rng.fork(2);
    let mut taken: HashSet<u32> = HashSet::new();
    let mut keys: Vec<(f64, u32)> = Vec::new();
    let mut line = String::new();
    // users in id order; user id `user_ids[r]` has activity rank r
    let mut by_id: Vec<usize> = (0..n_users).collect();
    by_id.sort_by_key(|&r| user_ids[r]);
    for r in by_id {
        let n = quota[r] as usize;
        let mut ranks = std::mem::take(&mut forced[r]);
        draw_items(&mut draw, n, &mut ranks, &item_w, &item_cum, &mut taken, &mut keys);
        draw.shuffle(&mut ranks);
        let length = ((0.05 + 0.95 * draw.uniform()) * config.span as f64) as i64;
        let begin = config.start + ((config.span - length) as f64 * draw.uniform()) as i64;
        let mut times: Vec<i64> = (0..n).map(|_| begin + (draw.uniform() * length as f64) as i64).collect();
        times.sort_unstable();
        for (rank, time) in ranks.iter().zip(times) {
            let x = draw.uniform();
            let rating = RATINGS.partition_point(|&c| c <= x) + 1;
            line.clear();
            let _ = writeln!(line, "{}\t{}\t{rating}\t{time}", user_ids[r], item_ids[*rank as usize]);
            out.write_all(line.as_bytes()).map_err(&io)?;
            rows += 1;
            if rows.is_multiple_of(PROGRESS_EVERY) {
                progress(rows);
            }
        }
    }
    Ok(SynthReport { rows })
}

/// `dir/NAME.inter`, NAME being the folder's own name (RecBole's layout).
pub fn inter_path(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| DataError::Invalid { what: "output folder", message: format!("{}: needs a name for NAME.inter", dir.display()) })?;
    Ok(dir.join(format!("{name}.inter")))
}
