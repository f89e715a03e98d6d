use crate::interactions::{FeatureTable, Interactions};
use crate::{DataError, Result};

/// Which row of a group of duplicates survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    #[default]
    First,
    Last,
}

/// Drops repeated (user, item, timestamp) rows, or repeated (user, item)
/// rows when the table has no timestamps. Surviving rows keep their order.
/// Returns the table and the number of rows dropped.
pub fn dedup(data: &Interactions, keep: Keep) -> (Interactions, usize) {
    let n = data.len();
    let key = |r: usize| {
        (
            data.user[r],
            data.item[r],
            data.timestamp.as_ref().map_or(0, |t| t[r]),
        )
    };
    let mut order: Vec<usize> = (0..n).collect();
    // stable: within a group, rows stay in file order
    order.sort_by_key(|&r| key(r));
    let mut keep_row = vec![false; n];
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && key(order[j]) == key(order[i]) {
            j += 1;
        }
        keep_row[match keep {
            Keep::First => order[i],
            Keep::Last => order[j - 1],
        }] = true;
        i = j;
    }
    let rows: Vec<usize> = (0..n).filter(|&r| keep_row[r]).collect();
    let dropped = n - rows.len();
    (data.select(&rows), dropped)
}

/// What a k-core filter removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KCoreReport {
    pub rows_before: usize,
    pub rows_after: usize,
    /// Users / items with at least one row, before and after.
    pub users_before: usize,
    pub users_after: usize,
    pub items_before: usize,
    pub items_after: usize,
}

/// Keeps the largest set of rows in which every remaining user has at
/// least `min_user_inter` rows and every remaining item at least
/// `min_item_inter` (RecBole's `user_inter_num_interval` /
/// `item_inter_num_interval` lower bounds, iterated to a fixed point).
/// Rows are counted, not distinct items: deduplicate first if repeats
/// should not count. Ids are unchanged; [`compact`] re-numbers them.
///
/// Peeling with a work queue: each row and each id is removed at most
/// once, so this is O(rows + ids) however many rounds a pass-based filter
/// would need. The result is unique (the union of all subgraphs meeting the
/// bounds meets them too), so it is the same as repeated passes give.
pub fn k_core(
    data: &Interactions,
    min_user_inter: usize,
    min_item_inter: usize,
) -> (Interactions, KCoreReport) {
    let n = data.len();
    let (nu, ni) = (data.num_users(), data.num_items());
    let csr = |ids: &[u32], size: usize| {
        let mut start = vec![0usize; size + 1];
        for &id in ids {
            start[id as usize + 1] += 1;
        }
        for k in 0..size {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut rows = vec![0u32; ids.len()];
        for (r, &id) in ids.iter().enumerate() {
            rows[fill[id as usize]] = r as u32;
            fill[id as usize] += 1;
        }
        (start, rows)
    };
    let (u_start, u_rows) = csr(&data.user, nu);
    let (i_start, i_rows) = csr(&data.item, ni);
    let mut u_deg: Vec<usize> = (0..nu).map(|u| u_start[u + 1] - u_start[u]).collect();
    let mut i_deg: Vec<usize> = (0..ni).map(|i| i_start[i + 1] - i_start[i]).collect();
    let present = |deg: &[usize]| deg.iter().filter(|&&d| d > 0).count();
    let (users_before, items_before) = (present(&u_deg), present(&i_deg));
    let mut alive = vec![true; n];
    // (is_user, id); an id is queued once, when its degree first drops below its bound
    let mut queue: Vec<(bool, u32)> = Vec::new();
    let mut removed_u = vec![false; nu];
    let mut removed_i = vec![false; ni];
    for u in 0..nu {
        if u_deg[u] > 0 && u_deg[u] < min_user_inter {
            removed_u[u] = true;
            queue.push((true, u as u32));
        }
    }
    for i in 0..ni {
        if i_deg[i] > 0 && i_deg[i] < min_item_inter {
            removed_i[i] = true;
            queue.push((false, i as u32));
        }
    }
    while let Some((is_user, id)) = queue.pop() {
        let id = id as usize;
        let rows = if is_user {
            &u_rows[u_start[id]..u_start[id + 1]]
        } else {
            &i_rows[i_start[id]..i_start[id + 1]]
        };
        for &r in rows {
            let r = r as usize;
            if !alive[r] {
                continue;
            }
            alive[r] = false;
            if is_user {
                let i = data.item[r] as usize;
                i_deg[i] -= 1;
                if !removed_i[i] && i_deg[i] < min_item_inter {
                    removed_i[i] = true;
                    queue.push((false, i as u32));
                }
            } else {
                let u = data.user[r] as usize;
                u_deg[u] -= 1;
                if !removed_u[u] && u_deg[u] < min_user_inter {
                    removed_u[u] = true;
                    queue.push((true, u as u32));
                }
            }
        }
        if is_user {
            u_deg[id] = 0
        } else {
            i_deg[id] = 0
        }
    }
    let rows: Vec<usize> = (0..n).filter(|&r| alive[r]).collect();
    let out = data.select(&rows);
    let report = KCoreReport {
        rows_before: n,
        rows_after: rows.len(),
        users_before,
        users_after: present(&u_deg),
        items_before,
        items_after: present(&i_deg),
    };
    (out, report)
}

/// A table re-numbered to the users and items it still has rows for.
#[derive(Debug, Clone)]
pub struct Compacted {
    pub data: Interactions,
    /// Old user id -> new user id (`None`: dropped).
    pub user_map: Vec<Option<u32>>,
    /// Old item id -> new item id (`None`: dropped; PAD maps to PAD).
    pub item_map: Vec<Option<u32>>,
}

/// Drops users and items without rows from the vocabularies and side
/// feature tables and re-numbers the rest densely, keeping their relative
/// order (users from 0, items from 1).
pub fn compact(data: &Interactions) -> Compacted {
    let mut has_user = vec![false; data.num_users()];
    let mut has_item = vec![false; data.num_items()];
    data.user.iter().for_each(|&u| has_user[u as usize] = true);
    data.item.iter().for_each(|&i| has_item[i as usize] = true);
    let (users, user_map) = data.users.retain(|u| has_user[u as usize]);
    let (items, item_map) = data.items.retain(|i| has_item[i as usize]);
    let kept = |map: &[Option<u32>]| -> Vec<usize> {
        map.iter()
            .enumerate()
            .filter(|(_, m)| m.is_some())
            .map(|(old, _)| old)
            .collect()
    };
    let select = |t: &Option<FeatureTable>, rows: &[usize]| t.as_ref().map(|t| t.select(rows));
    let mut out = data.clone();
    out.user = data
        .user
        .iter()
        .map(|&u| user_map[u as usize].unwrap())
        .collect();
    out.item = data
        .item
        .iter()
        .map(|&i| item_map[i as usize].unwrap())
        .collect();
    out.user_features = select(&data.user_features, &kept(&user_map));
    out.item_features = select(&data.item_features, &kept(&item_map));
    out.users = users;
    out.items = items;
    Compacted {
        data: out,
        user_map,
        item_map,
    }
}

/// Sets `label` to 1 where `rating >= threshold`, else 0 (RecBole's
/// `threshold: {rating: 4}`). The table needs finite ratings.
pub fn label_from_threshold(data: &mut Interactions, threshold: f32) -> Result<()> {
    let Some(rating) = &data.rating else {
        return Err(DataError::Invalid {
            what: "label threshold",
            message: "the data has no rating column".into(),
        });
    };
    if !threshold.is_finite() {
        return Err(DataError::Invalid {
            what: "label threshold",
            message: format!("{threshold} is not finite"),
        });
    }
    if let Some(r) = rating.iter().position(|x| !x.is_finite()) {
        return Err(DataError::Invalid {
            what: "label threshold",
            message: format!("row {r} has the rating {}", rating[r]),
        });
    }
    data.label = Some(
        rating
            .iter()
            .map(|&x| (x >= threshold) as u8 as f32)
            .collect(),
    );
    Ok(())
}
