//! Per-user item sets (CSR) and sampled negatives.

use super::SampledCandidates;
use crate::{DataError, Result, Rng};

/// Per-user item lists: user `u` has `items[offsets[u]..offsets[u + 1]]`
/// (`offsets.len() == users + 1`). Sets are sorted and distinct; sequences
/// keep their order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Csr {
    pub offsets: Vec<u64>,
    pub items: Vec<u32>,
}

impl Csr {
    pub fn users(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The items of user `u` (empty for users beyond the table).
    pub fn get(&self, u: usize) -> &[u32] {
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Whether the sorted set of `u` holds `item`.
    pub fn contains(&self, u: usize, item: u32) -> bool {
        self.get(u).binary_search(&item).is_ok()
    }

    /// The distinct items of each user, sorted.
    pub fn distinct_per_user(num_users: usize, users: &[u32], items: &[u32]) -> Csr {
        let mut start = vec![0usize; num_users + 1];
        for &u in users {
            start[u as usize + 1] += 1;
        }
        for k in 0..num_users {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut flat = vec![0u32; users.len()];
        for (&u, &i) in users.iter().zip(items) {
            flat[fill[u as usize]] = i;
            fill[u as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(num_users + 1);
        offsets.push(0u64);
        let mut out = Vec::with_capacity(flat.len());
        for u in 0..num_users {
            let g = &mut flat[start[u]..start[u + 1]];
            g.sort_unstable();
            let mut last = None;
            for &i in g.iter() {
                if last != Some(i) {
                    out.push(i);
                    last = Some(i);
                }
            }
            offsets.push(out.len() as u64);
        }
        Csr { offsets, items: out }
    }

    fn zip_sets(&self, other: &Csr, keep: impl Fn(bool, bool) -> bool) -> Csr {
        let users = self.users().max(other.users());
        let mut offsets = Vec::with_capacity(users + 1);
        offsets.push(0u64);
        let mut items = Vec::new();
        for u in 0..users {
            let (a, b) = (self.get(u), other.get(u));
            let (mut i, mut j) = (0, 0);
            while i < a.len() || j < b.len() {
                let (x, in_a, in_b) = match (a.get(i), b.get(j)) {
                    (Some(&x), Some(&y)) if x == y => (x, true, true),
                    (Some(&x), Some(&y)) if x < y => (x, true, false),
                    (Some(_), Some(&y)) => (y, false, true),
                    (Some(&x), None) => (x, true, false),
                    (None, Some(&y)) => (y, false, true),
                    (None, None) => unreachable!(),
                };
                if keep(in_a, in_b) {
                    items.push(x);
                }
                i += in_a as usize;
                j += in_b as usize;
            }
            offsets.push(items.len() as u64);
        }
        Csr { offsets, items }
    }

    /// Per user, the items of `self` not in `other` (both sorted sets).
    pub fn minus(&self, other: &Csr) -> Csr {
        self.zip_sets(other, |a, b| a && !b)
    }

    /// Per user, the items in either (both sorted sets).
    pub fn union(&self, other: &Csr) -> Csr {
        self.zip_sets(other, |a, b| a || b)
    }
}

/// `n` distinct negatives for each row of `users`: items `1..num_items`
/// that are not in the user's `positives`, uniformly or (with `weights`)
/// proportionally to `weights[item]` (items of weight 0 are never drawn).
pub(super) fn sample(
    users: &[u32],
    positives: &Csr,
    num_items: usize,
    n: usize,
    weights: Option<&[u32]>,
    rng: &mut Rng,
) -> Result<SampledCandidates> {
    let cumulative: Option<Vec<f64>> = weights.map(|w| {
        let mut acc = 0.0;
        w.iter()
            .map(|&x| {
                acc += x as f64;
                acc
            })
            .collect()
    });
    let drawable = |i: u32| weights.is_none_or(|w| w[i as usize] > 0);
    let total_drawable = (1..num_items as u32).filter(|&i| drawable(i)).count();
    let mut chosen = vec![false; num_items];
    let mut items = Vec::with_capacity(users.len() * n);
    for &u in users {
        let pos = positives.get(u as usize);
        let eligible = total_drawable - pos.iter().filter(|&&i| drawable(i)).count();
        if eligible < n {
            return Err(DataError::Invalid {
                what: "candidates",
                message: format!(
                    "user {u} has only {eligible} items that can be drawn as negatives, {n} are asked for"
                ),
            });
        }
        let row_start = items.len();
        let mut attempts = 0usize;
        while items.len() - row_start < n && attempts < 64 * n + 64 {
            attempts += 1;
            let i = match &cumulative {
                Some(c) => rng.weighted(c) as u32,
                None => 1 + rng.below(num_items - 1) as u32,
            };
            if i == crate::PAD || !drawable(i) || chosen[i as usize] || pos.binary_search(&i).is_ok() {
                continue;
            }
            chosen[i as usize] = true;
            items.push(i);
        }
        if items.len() - row_start < n {
            // the user's positives cover most of the mass: draw the rest
            // exactly from the eligible items (weighted reservoir keys)
            let mut keyed: Vec<(f64, u32)> = (1..num_items as u32)
                .filter(|&i| drawable(i) && !chosen[i as usize] && pos.binary_search(&i).is_err())
                .map(|i| {
                    let w = weights.map_or(1.0, |w| w[i as usize] as f64);
                    (rng.uniform().max(f64::MIN_POSITIVE).ln() / w, i)
                })
                .collect();
            let need = n - (items.len() - row_start);
            keyed.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for &(_, i) in &keyed[..need] {
                chosen[i as usize] = true;
                items.push(i);
            }
        }
        for &i in &items[row_start..] {
            chosen[i as usize] = false;
        }
    }
    Ok(SampledCandidates { per_row: n, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a = Csr::distinct_per_user(3, &[0, 0, 0, 2, 2], &[5, 1, 5, 7, 3]);
        assert_eq!(a.offsets, vec![0, 2, 2, 4]);
        assert_eq!((a.get(0), a.get(1), a.get(2)), (&[1, 5][..], &[][..], &[3, 7][..]));
        let b = Csr::distinct_per_user(3, &[0, 1, 2], &[5, 9, 4]);
        assert_eq!(a.minus(&b).get(0), &[1]);
        assert_eq!(a.union(&b).get(2), &[3, 4, 7]);
        assert_eq!(a.union(&b).get(1), &[9]);
        assert!(a.contains(2, 7) && !a.contains(2, 4) && a.get(9).is_empty());
    }

    #[test]
    fn exact_fallback_when_few_items_are_left() {
        // 10 items, the user has 7: exactly 2 remain besides... ask for all 3
        let pos = Csr::distinct_per_user(1, &[0; 7], &[1, 2, 3, 4, 5, 7, 9]);
        let mut rng = Rng::new(1);
        let s = sample(&[0, 0], &pos, 11, 3, None, &mut rng).unwrap();
        for k in 0..2 {
            let mut r = s.row(k).to_vec();
            r.sort();
            assert_eq!(r, vec![6, 8, 10]);
        }
        assert!(sample(&[0], &pos, 11, 4, None, &mut rng).is_err());
    }
}
