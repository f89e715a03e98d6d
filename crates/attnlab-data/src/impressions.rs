//! The columnar impression table: one row per (user, slot) shown, with the
//! user's behaviour history at that moment. Columns, not row structs, so the
//! trainer builds batches by gathering indices.

use crate::extra_fields::{ExtraColumns, ExtraFields};

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
    /// Whether the slot showed an ad.
    pub is_ad: Vec<bool>,
    /// 1-based advertiser of an ad, 0 for organic items.
    pub advertiser: Vec<u32>,
    /// The ad's bid (per click for CPC, per conversion for CPA
    /// advertisers), 0 for organic items.
    pub bid: Vec<f32>,
    /// What the advertiser paid for this impression: its bid on a CPC click
    /// or a CPA conversion, else 0.
    pub charge: Vec<f32>,
    /// 1.0 added to cart after the click, 0.0 not (every purchase was carted).
    pub cart: Vec<f32>,
    /// 1.0 purchased after the click, 0.0 not (always 0 without a click).
    pub conversion: Vec<f32>,
    /// The simulator's true P(conversion | click), on every row (NaN for
    /// real logs).
    pub true_cvr: Vec<f32>,
    /// The item's price; the revenue of a row is `conversion * price`.
    pub price: Vec<f32>,
    /// Row-major `[rows, history_len]` of the user's most recent clicked
    /// items before this impression, most recent last, left-padded with PAD.
    pub history_items: Vec<u32>,
    pub history_categories: Vec<u32>,
    pub history_len: usize,
    /// A real log's fields beyond the four above (none for the simulator).
    pub extra: ExtraColumns,
}

/// Sizes of the id spaces, counting the padding row where there is one,
/// and the schema of a log's extra fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cardinalities {
    pub users: usize,
    /// Items + 1 (row 0 is padding).
    pub items: usize,
    /// Categories + 1 (row 0 is padding).
    pub categories: usize,
    pub positions: usize,
    /// The extra fields of [`Impressions::extra`] ([`ExtraFields::NONE`]
    /// for the simulator).
    pub extra: ExtraFields,
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

    /// The rows at `indices`, in that order. Every column is carried (the
    /// destructuring below fails to compile when a column is added and not
    /// listed here).
    pub fn select(&self, indices: &[usize]) -> Impressions {
        fn pick<T: Copy>(col: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().map(|&i| col[i]).collect()
        }
        let Impressions {
            user,
            item,
            category,
            position,
            timestamp,
            click,
            dwell_ms,
            true_ctr,
            is_ad,
            advertiser,
            bid,
            charge,
            cart,
            conversion,
            true_cvr,
            price,
            history_items,
            history_categories,
            history_len,
            extra,
        } = self;
        let k = *history_len;
        let window = |col: &[u32]| {
            let mut out = Vec::with_capacity(indices.len() * k);
            for &i in indices {
                out.extend_from_slice(&col[i * k..(i + 1) * k]);
            }
            out
        };
        Impressions {
            user: pick(user, indices),
            item: pick(item, indices),
            category: pick(category, indices),
            position: pick(position, indices),
            timestamp: pick(timestamp, indices),
            click: pick(click, indices),
            dwell_ms: pick(dwell_ms, indices),
            true_ctr: pick(true_ctr, indices),
            is_ad: pick(is_ad, indices),
            advertiser: pick(advertiser, indices),
            bid: pick(bid, indices),
            charge: pick(charge, indices),
            cart: pick(cart, indices),
            conversion: pick(conversion, indices),
            true_cvr: pick(true_cvr, indices),
            price: pick(price, indices),
            history_items: window(history_items),
            history_categories: window(history_categories),
            history_len: k,
            extra: extra.select(indices),
        }
    }

    /// Cuts the rows into `..a`, `a..b` and `b..`, moving the columns: the
    /// first part keeps their memory (shrunk), only the later parts are
    /// copied, so a large log is not held twice (as [`Impressions::select`]
    /// would hold it).
    pub fn cut_in_three(self, a: usize, b: usize) -> [Impressions; 3] {
        let Impressions {
            user,
            item,
            category,
            position,
            timestamp,
            click,
            dwell_ms,
            true_ctr,
            is_ad,
            advertiser,
            bid,
            charge,
            cart,
            conversion,
            true_cvr,
            price,
            history_items,
            history_categories,
            history_len,
            extra,
        } = self;
        let k = history_len;
        let mut parts: [Impressions; 3] = Default::default();
        macro_rules! cut {
            ($($column:ident),*) => {$(
                for (part, rows) in parts.iter_mut().zip(cut_column($column, a, b)) {
                    part.$column = rows;
                }
            )*};
        }
        cut!(user, item, category, position, timestamp, click, dwell_ms, true_ctr, is_ad, advertiser, bid, charge, cart, conversion, true_cvr, price);
        for (part, rows) in parts.iter_mut().zip(cut_column(history_items, a * k, b * k)) {
            part.history_items = rows;
        }
        for (part, rows) in parts.iter_mut().zip(cut_column(history_categories, a * k, b * k)) {
            part.history_categories = rows;
        }
        let [e0, e1, e2] = extra.cut_in_three(a, b);
        for (part, extra) in parts.iter_mut().zip([e0, e1, e2]) {
            part.history_len = k;
            part.extra = extra;
        }
        parts
    }

    /// Reserves room for `rows` more rows in every column.
    pub fn reserve(&mut self, rows: usize) {
        self.user.reserve(rows);
        self.item.reserve(rows);
        self.category.reserve(rows);
        self.position.reserve(rows);
        self.timestamp.reserve(rows);
        self.click.reserve(rows);
        self.dwell_ms.reserve(rows);
        self.true_ctr.reserve(rows);
        self.is_ad.reserve(rows);
        self.advertiser.reserve(rows);
        self.bid.reserve(rows);
        self.charge.reserve(rows);
        self.cart.reserve(rows);
        self.conversion.reserve(rows);
        self.true_cvr.reserve(rows);
        self.price.reserve(rows);
        self.history_items.reserve(rows * self.history_len);
        self.history_categories.reserve(rows * self.history_len);
        self.extra.reserve(rows);
    }

    /// Share of clicked rows that converted (0 without clicks).
    pub fn conversion_rate_after_click(&self) -> f64 {
        let clicks = self.click.iter().map(|&c| c as f64).sum::<f64>();
        if clicks == 0.0 { 0.0 } else { self.conversion.iter().map(|&c| c as f64).sum::<f64>() / clicks }
    }

    pub fn click_rate(&self) -> f64 {
        self.click.iter().map(|&c| c as f64).sum::<f64>() / self.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use crate::{simulate, AdsConfig, SimulatorConfig};

    fn data() -> super::Impressions {
        let config = SimulatorConfig { users: 60, items: 80, topics: 5, sessions_per_user: 3, slots: 6, history_len: 4, ads: crate::AdsConfig { advertisers: 5, ..Default::default() }, ..SimulatorConfig::default() };
        let d = simulate(&config).unwrap();
        assert!(d.is_ad.iter().any(|&a| a) && d.conversion.iter().any(|&c| c > 0.5), "the table exercises every column");
        d
    }

    #[test]
    fn select_of_all_rows_is_the_original() {
        let d = data();
        let all: Vec<usize> = (0..d.len()).collect();
        assert_eq!(d.select(&all), d);
        let off = simulate(&SimulatorConfig { ads: AdsConfig::off(), users: 30, items: 40, topics: 4, slots: 5, ..SimulatorConfig::default() }).unwrap();
        assert_eq!(off.select(&(0..off.len()).collect::<Vec<_>>()), off);
    }

    #[test]
    fn select_carries_each_row_whole() {
        let d = data();
        let picked = [5usize, 0, 17, 17, 3];
        let s = d.select(&picked);
        assert_eq!(s.len(), picked.len());
        for (j, &i) in picked.iter().enumerate() {
            assert_eq!(s.select(&[j]), d.select(&[i]), "row {i}");
            assert_eq!((s.item[j], s.is_ad[j], s.price[j], s.true_cvr[j]), (d.item[i], d.is_ad[i], d.price[i], d.true_cvr[i]));
            assert_eq!(s.history_of(j), d.history_of(i));
        }
        assert!(d.select(&[]).is_empty());
    }

    #[test]
    fn select_carries_the_extra_fields_of_a_log() {
        let mut d = data();
        let n = d.len();
        d.extra.categorical = vec![(0..n as u32).map(|i| 2 + i % 7).collect(), (0..n as u32).map(|i| 2 + i % 3).collect()];
        d.extra.numeric = vec![(0..n).map(|i| i as f32 * 0.5).collect()];
        let s = d.select(&[4, 1, 4]);
        assert_eq!(s.extra.categorical, vec![vec![6, 3, 6], vec![3, 3, 3]]);
        assert_eq!(s.extra.numeric, vec![vec![2.0, 0.5, 2.0]]);
        assert_eq!(d.select(&(0..n).collect::<Vec<_>>()), d);
    }
}

/// `col[..a]` (its own memory, shrunk), `col[a..b]` and `col[b..]`.
pub(crate) fn cut_column<T: Copy>(mut col: Vec<T>, a: usize, b: usize) -> [Vec<T>; 3] {
    let third = col.split_off(b);
    let second = col.split_off(a);
    col.shrink_to_fit();
    [col, second, third]
}
