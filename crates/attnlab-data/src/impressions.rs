//! The columnar impression table: one row per (user, slot) shown, with the
//! user's behaviour history at that moment. Columns, not row structs, so the
//! trainer builds batches by gathering indices.

/// The padding id for items and categories in histories.
pub const PAD: u32 = 0;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Impressions {
    pub user: Vec<u32>,
    /// 1-based item id.
    pub item: Vec<u32>,
    /// 1-based category (topic) id of the item.
    pub category: Vec<u32>,
    /// 0-based slot in the feed.
    pub position: Vec<u32>,
    /// Seconds since the start of the simulated period.
    pub timestamp: Vec<u64>,
    /// 1.0 clicked, 0.0 not.
    pub click: Vec<f32>,
    /// Time spent after a click, 0 without one.
    pub dwell_ms: Vec<u32>,
    /// The simulator's true click probability (NaN for real logs).
    pub true_ctr: Vec<f32>,
    /// Row-major `[rows, history_len]` of the user's most recent clicked
    /// items before this impression, most recent last, left-padded with PAD.
    pub history_items: Vec<u32>,
    pub history_categories: Vec<u32>,
    pub history_len: usize,
}

/// Sizes of the id spaces, counting the padding row where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cardinalities {
    pub users: usize,
    /// Items + 1 (row 0 is padding).
    pub items: usize,
    /// Categories + 1 (row 0 is padding).
    pub categories: usize,
    pub positions: usize,
}

impl Impressions {
    pub fn len(&self) -> usize {
        self.click.len()
    }

    pub fn is_empty(&self) -> bool {
        self.click.is_empty()
    }

    pub fn history_of(&self, row: usize) -> &[u32] {
        &self.history_items[row * self.history_len..(row + 1) * self.history_len]
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Impressions {
        let pick = |col: &Vec<u32>| indices.iter().map(|&i| col[i]).collect();
        let window = |col: &Vec<u32>| {
            let k = self.history_len;
            indices.iter().flat_map(|&i| col[i * k..(i + 1) * k].iter().copied()).collect()
        };
        Impressions {
            user: pick(&self.user),
            item: pick(&self.item),
            category: pick(&self.category),
            position: pick(&self.position),
            timestamp: indices.iter().map(|&i| self.timestamp[i]).collect(),
            click: indices.iter().map(|&i| self.click[i]).collect(),
            dwell_ms: pick(&self.dwell_ms),
            true_ctr: indices.iter().map(|&i| self.true_ctr[i]).collect(),
            history_items: window(&self.history_items),
            history_categories: window(&self.history_categories),
            history_len: self.history_len,
        }
    }

    pub fn click_rate(&self) -> f64 {
        self.click.iter().map(|&c| c as f64).sum::<f64>() / self.len().max(1) as f64
    }
}
