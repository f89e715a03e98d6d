//! What a served model knows of its users beyond its weights: each user's
//! history at test time, the items they had seen, and the items'
//! popularity. Computed from the run's prepared data when a run is loaded
//! from the store, and written into a bundle (`serving.json`) by
//! `attnlab export`, so that a bundle served without the store starts every
//! user exactly where the run does.
//!
//! A user's history is the input sequence the offline evaluator scored
//! their (first) test row with; the items they had seen are those of their
//! train and valid rows.

use attnlab_data::{Part, Prepared};
use serde_json::{json, Value};

use crate::{Result, ServeError};

#[derive(Debug, Clone, PartialEq)]
pub struct ServingState {
    /// Whether the model reads the history (SASRec) or only the user (BPR).
    pub sequential: bool,
    /// Input positions per row: the model's `max_len`, 1 for general models.
    pub width: usize,
    /// The longest sequence the model was built for (its positional table).
    pub max_len: usize,
    /// The item id space, PAD included.
    pub num_items: usize,
    /// Per user id, the history at test time (item ids, oldest first).
    pub base_history: Vec<Vec<u32>>,
    /// Per user id, the items of their train and valid rows (sorted).
    pub seen: Vec<Vec<u32>>,
    /// Train rows per item id: the cold-start ranking.
    pub popularity: Vec<u32>,
}

impl ServingState {
    /// The state of prepared data `p` for a model that reads histories when
    /// `reads_history`.
    pub fn of(p: &Prepared, reads_history: bool) -> ServingState {
        let sequences = p.sequences.as_ref().filter(|_| reads_history);
        let width = sequences.map_or(1, |s| s.max_len.max(1));
        let mut base_history: Vec<Option<Vec<u32>>> = vec![None; p.num_users];
        if let Some(seq) = sequences {
            for (k, &u) in p.test.user.iter().enumerate() {
                let slot = &mut base_history[u as usize];
                if slot.is_none() {
                    *slot = Some(seq.test.input(k, seq.max_len).iter().copied().filter(|&i| i != 0).collect());
                }
            }
        }
        let base_history = base_history
            .into_iter()
            .enumerate()
            .map(|(u, h)| match (h, sequences) {
                (Some(h), _) => h,
                // a user with no test row: their training sequence
                (None, Some(seq)) => seq.train.get(u).to_vec(),
                (None, None) => Vec::new(),
            })
            .collect();
        let mut seen: Vec<Vec<u32>> = (0..p.num_users).map(|u| p.train_items.get(u).to_vec()).collect();
        let valid = p.split(Part::Valid);
        for (&u, &i) in valid.user.iter().zip(&valid.item) {
            seen[u as usize].push(i);
        }
        for s in &mut seen {
            s.sort_unstable();
            s.dedup();
        }
        ServingState {
            sequential: sequences.is_some(),
            width,
            max_len: p.sequences.as_ref().map_or(1, |s| s.max_len),
            num_items: p.num_items,
            base_history,
            seen,
            popularity: p.item_popularity.clone(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "sequential": self.sequential,
            "width": self.width,
            "max_len": self.max_len,
            "num_items": self.num_items,
            "base_history": self.base_history,
            "seen": self.seen,
            "popularity": self.popularity,
        })
    }

    /// Reads [`ServingState::to_json`]'s output; `file` names it in errors.
    /// Every item id must lie in `1..num_items` and every user list must
    /// have `num_users` entries, so a damaged file is refused at load, not
    /// met by a request.
    pub fn from_json(v: &Value, file: &str, num_users: usize) -> Result<ServingState> {
        fn field<T: serde::de::DeserializeOwned>(v: &Value, file: &str, name: &str) -> Result<T> {
            let raw = v.get(name).ok_or_else(|| ServeError::bad(format!("{file}: field `{name}` is missing")))?;
            serde_json::from_value(raw.clone()).map_err(|e| ServeError::bad(format!("{file}: field `{name}`: {e}")))
        }
        let state = ServingState {
            sequential: field(v, file, "sequential")?,
            width: field(v, file, "width")?,
            max_len: field(v, file, "max_len")?,
            num_items: field(v, file, "num_items")?,
            base_history: field(v, file, "base_history")?,
            seen: field(v, file, "seen")?,
            popularity: field(v, file, "popularity")?,
        };
        let items = state.num_items as u32;
        for (name, lists) in [("base_history", &state.base_history), ("seen", &state.seen)] {
            if lists.len() != num_users {
                return Err(ServeError::bad(format!("{file}: field `{name}` has {} users, the vocabulary {num_users}", lists.len())));
            }
            if let Some((u, &i)) = lists.iter().enumerate().find_map(|(u, l)| l.iter().find(|&&i| i == 0 || i >= items).map(|i| (u, i))) {
                return Err(ServeError::bad(format!("{file}: field `{name}[{u}]`: item id {i} is outside 1..{items}")));
            }
        }
        if state.popularity.len() != state.num_items {
            return Err(ServeError::bad(format!("{file}: field `popularity` has {} items, `num_items` is {items}", state.popularity.len())));
        }
        if state.width == 0 || state.width > state.max_len.max(1) {
            return Err(ServeError::bad(format!("{file}: field `width`: {} is not in 1..={}", state.width, state.max_len.max(1))));
        }
        Ok(state)
    }
}
