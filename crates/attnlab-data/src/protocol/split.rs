//! Row order, grouping and the RecBole-compatible cuts.

use super::{GroupBy, Order, Protocol, Split};
use crate::interactions::Interactions;
use crate::{DataError, Result, Rng};

/// Sizes of the parts when `total` rows are cut by `ratios`, exactly as
/// RecBole 1.2.1's `Dataset._calcu_split_ids`:
///
/// ```text
/// ratios = [r / sum(ratios) for r in ratios]      # sum left to right
/// cnt = [int(r * total) for r in ratios]          # rounded down
/// cnt[0] = total - sum(cnt[1:])
/// for i in 1..len: if cnt[0] <= 1: break
///                  if 0 < ratios[-i] * total < 1: cnt[-i] += 1; cnt[0] -= 1
/// ```
///
/// (Python >= 3.12 sums floats with compensation; for ratios such as
/// `[0.8, 0.1, 0.1]` both sums are exactly 1.0.)
pub fn recbole_split_sizes(total: usize, ratios: &[f64]) -> Vec<usize> {
    let sum = ratios.iter().fold(0.0f64, |a, &r| a + r);
    let ratios: Vec<f64> = ratios.iter().map(|&r| r / sum).collect();
    let tot = total as f64;
    let mut cnt: Vec<usize> = ratios.iter().map(|&r| (r * tot) as usize).collect();
    let rest: usize = cnt[1..].iter().sum();
    // int(r * total) <= total for normalised ratios, but guard anyway
    cnt[0] = total.saturating_sub(rest);
    for i in 1..ratios.len() {
        if cnt[0] <= 1 {
            break;
        }
        let k = ratios.len() - i;
        let share = ratios[k] * tot;
        if 0.0 < share && share < 1.0 {
            cnt[k] += 1;
            cnt[0] -= 1;
        }
    }
    cnt
}

/// All row indices in the protocol's order.
pub(super) fn order_rows(data: &Interactions, order: Order, seed: u64) -> Result<Vec<u32>> {
    let mut rows: Vec<u32> = (0..data.len() as u32).collect();
    match order {
        Order::Random => Rng::new(seed).shuffle(&mut rows),
        Order::Time => {
            let Some(ts) = &data.timestamp else {
                return Err(DataError::Invalid {
                    what: "protocol",
                    message: "order `time` needs timestamps, and the data has none".into(),
                });
            };
            rows.sort_by_key(|&r| ts[r as usize]); // stable: ties keep table order
        }
    }
    Ok(rows)
}

/// Rows grouped by user (users ascending), each group in the global order.
pub(super) struct Groups {
    pub start: Vec<usize>,
    pub rows: Vec<u32>,
    /// The global order, for `GroupBy::None`.
    pub order: Vec<u32>,
}

impl Groups {
    pub fn user_rows(&self, u: usize) -> &[u32] {
        &self.rows[self.start[u]..self.start[u + 1]]
    }
}

pub(super) fn group(data: &Interactions, order: &[u32], _by: GroupBy, num_users: usize) -> Groups {
    let mut start = vec![0usize; num_users + 1];
    for &u in &data.user {
        start[u as usize + 1] += 1;
    }
    for k in 0..num_users {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut rows = vec![0u32; order.len()];
    for &r in order {
        let u = data.user[r as usize] as usize;
        rows[fill[u]] = r;
        fill[u] += 1;
    }
    Groups {
        start,
        rows,
        order: order.to_vec(),
    }
}

pub(super) struct Assigned {
    /// Row indices of train, valid, test; user-major, in group order.
    pub parts: [Vec<u32>; 3],
    /// Part (0 train, 1 valid, 2 test) of every row.
    pub part_of: Vec<u8>,
}

pub(super) fn assign(groups: &Groups, data: &Interactions, protocol: &Protocol) -> Result<Assigned> {
    let n = data.len();
    let mut part_of = vec![0u8; n];
    let num_users = groups.start.len() - 1;
    match (protocol.split, protocol.group_by) {
        (Split::Ratio(r), GroupBy::User) => {
            for u in 0..num_users {
                let rows = groups.user_rows(u);
                if rows.is_empty() {
                    continue;
                }
                let sizes = recbole_split_sizes(rows.len(), &r);
                mark(rows, &sizes, &mut part_of);
            }
        }
        (Split::Ratio(r), GroupBy::None) => {
            let sizes = recbole_split_sizes(n, &r);
            mark(&groups.order, &sizes, &mut part_of);
        }
        (Split::LeaveOneOut, _) => {
            for u in 0..num_users {
                let rows = groups.user_rows(u);
                let len = rows.len();
                // RecBole: legal_leave_one_num = min(2, len - 1); the last
                // one always goes to test
                let leave = 2.min(len.saturating_sub(1));
                if leave >= 1 {
                    part_of[rows[len - 1] as usize] = 2;
                }
                if leave == 2 {
                    part_of[rows[len - 2] as usize] = 1;
                }
            }
        }
    }
    let mut parts: [Vec<u32>; 3] = Default::default();
    for &r in &groups.rows {
        parts[part_of[r as usize] as usize].push(r);
    }
    Ok(Assigned { parts, part_of })
}

fn mark(rows: &[u32], sizes: &[usize], part_of: &mut [u8]) {
    let mut at = 0;
    for (k, &s) in sizes.iter().enumerate() {
        for &r in &rows[at..at + s] {
            part_of[r as usize] = k as u8;
        }
        at += s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Figures computed with RecBole 1.2.1's `_calcu_split_ids` in Python 3.11.
    #[test]
    fn rounding_matches_recbole() {
        let r = [0.8, 0.1, 0.1];
        let cases: &[(usize, [usize; 3])] = &[
            (1, [1, 0, 0]),
            (2, [1, 0, 1]),
            (3, [1, 1, 1]),
            (5, [3, 1, 1]),
            (9, [7, 1, 1]),
            (10, [8, 1, 1]),
            (19, [17, 1, 1]),
            (20, [16, 2, 2]),
            (27, [23, 2, 2]),
            (100_000, [80_000, 10_000, 10_000]),
        ];
        for &(n, want) in cases {
            assert_eq!(recbole_split_sizes(n, &r), want, "n = {n}");
        }
        assert_eq!(recbole_split_sizes(7, &[8.0, 1.0, 1.0]), vec![5, 1, 1]);
        assert_eq!(recbole_split_sizes(10, &[0.7, 0.0, 0.3]), vec![7, 0, 3]);
    }
}
