//! The shape of an interaction file that the generator reproduces, measured
//! the same way on any file: how concentrated item popularity is and how
//! user activity is spread.

/// Quantiles of user activity in [`Shape::activity`].
pub const ACTIVITY_QUANTILES: [f64; 6] = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99];

/// Popularity and activity of a data set, independent of its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Share of all interactions that fall on the ⌈1%⌉ most popular items.
    pub top1_item_share: f64,
    /// Interactions per user at [`ACTIVITY_QUANTILES`] (ascending, the
    /// `floor(q (n - 1))`-th of the sorted counts), over the mean.
    pub activity: [f64; 6],
}

/// ml-100k's shape (RecBole's `ml-100k.inter`: 943 users, 1,682 items,
/// 100,000 ratings), measured with [`Shape::measure`].
pub const ML100K_SHAPE: Shape = Shape { top1_item_share: 0.07634, activity: [0.2169, 0.3112, 0.6130, 1.3956, 2.2821, 4.1021] };

impl Shape {
    /// The shape of a file from its interactions per user and per item
    /// (users and items without interactions left out).
    pub fn measure(user_counts: &[u64], item_counts: &[u64]) -> Shape {
        let mut items: Vec<u64> = item_counts.iter().copied().filter(|&c| c > 0).collect();
        items.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = items.iter().sum();
        let top = items.len().div_ceil(100);
        let top1_item_share = if total == 0 { 0.0 } else { items[..top].iter().sum::<u64>() as f64 / total as f64 };
        let mut users: Vec<u64> = user_counts.iter().copied().filter(|&c| c > 0).collect();
        users.sort_unstable();
        let mean = users.iter().sum::<u64>() as f64 / users.len().max(1) as f64;
        let activity = ACTIVITY_QUANTILES.map(|q| match users.len() {
            0 => 0.0,
            n => users[(q * (n - 1) as f64) as usize] as f64 / mean,
        });
        Shape { top1_item_share, activity }
    }

    /// The largest relative difference of any statistic from `target`'s.
    pub fn max_relative_error(&self, target: &Shape) -> f64 {
        std::iter::once((self.top1_item_share, target.top1_item_share))
            .chain(self.activity.iter().copied().zip(target.activity))
            .map(|(got, want)| (got - want).abs() / want)
            .fold(0.0, f64::max)
    }
}
