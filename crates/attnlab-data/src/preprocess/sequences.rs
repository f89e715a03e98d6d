use rayon::prelude::*;

use crate::interactions::Interactions;
use crate::{DataError, PAD, Result};

/// Each user's items in time order, one fixed-width row per user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequences {
    /// The user of each row, ascending; users without rows are left out.
    pub users: Vec<u32>,
    /// Row-major `[users.len(), max_len]`: the user's most recent
    /// `max_len` items, oldest first, most recent last, left-padded with PAD.
    pub items: Vec<u32>,
    /// Items in each row (at most `max_len`).
    pub lengths: Vec<u32>,
    pub max_len: usize,
    /// Users whose history was longer than `max_len` (oldest items dropped).
    pub truncated: usize,
}

impl Sequences {
    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Row `k`, padding included.
    pub fn row(&self, k: usize) -> &[u32] {
        &self.items[k * self.max_len..(k + 1) * self.max_len]
    }

    /// Row `k` without its padding.
    pub fn items_of(&self, k: usize) -> &[u32] {
        &self.row(k)[self.max_len - self.lengths[k] as usize..]
    }
}

/// Groups rows by user and orders each user's rows by timestamp, ties (and
/// tables without timestamps) in table order. Users are sorted in parallel.
pub fn build_sequences(data: &Interactions, max_len: usize) -> Result<Sequences> {
    if max_len == 0 {
        return Err(DataError::Invalid {
            what: "sequence length",
            message: "max_len must be at least 1".into(),
        });
    }
    let nu = data.num_users();
    // counting sort by user: stable, so each user's rows stay in table order
    let mut start = vec![0usize; nu + 1];
    for &u in &data.user {
        start[u as usize + 1] += 1;
    }
    for k in 0..nu {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut rows = vec![0u32; data.len()];
    for (r, &u) in data.user.iter().enumerate() {
        rows[fill[u as usize]] = r as u32;
        fill[u as usize] += 1;
    }
    let users: Vec<u32> = (0..nu as u32)
        .filter(|&u| start[u as usize + 1] > start[u as usize])
        .collect();
    // split the row array into one mutable slice per present user
    let mut groups: Vec<&mut [u32]> = Vec::with_capacity(users.len());
    let mut rest: &mut [u32] = &mut rows;
    for &u in &users {
        let len = start[u as usize + 1] - start[u as usize];
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        groups.push(head);
        rest = tail;
    }
    let mut items = vec![PAD; users.len() * max_len];
    let mut lengths = vec![0u32; users.len()];
    let truncated = groups
        .par_iter_mut()
        .zip(items.par_chunks_mut(max_len))
        .zip(lengths.par_iter_mut())
        .map(|((group, out), length)| {
            if let Some(ts) = &data.timestamp {
                group.sort_by_key(|&r| ts[r as usize]); // stable
            }
            let keep = group.len().min(max_len);
            let recent = &group[group.len() - keep..];
            for (slot, &r) in out[max_len - keep..].iter_mut().zip(recent) {
                *slot = data.item[r as usize];
            }
            *length = keep as u32;
            (group.len() > max_len) as usize
        })
        .sum();
    Ok(Sequences {
        users,
        items,
        lengths,
        max_len,
        truncated,
    })
}
