//! Dataset statistics for `attnlab data stats`.

use std::fmt;

use crate::interactions::Interactions;
use crate::protocol::Prepared;

/// Per-user interaction counts (users with at least one row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthDist {
    pub min: usize,
    pub p50: usize,
    pub p90: usize,
    pub max: usize,
    pub mean: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStats {
    /// Users / items with at least one interaction.
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// interactions / (users * items).
    pub density: f64,
    /// `None` for an empty table.
    pub per_user: Option<LengthDist>,
    /// Share of rows with label 1, when there are labels.
    pub positive_rate: Option<f64>,
    /// Train / valid / test rows of prepared data.
    pub splits: Option<[usize; 3]>,
    /// The protocol of prepared data.
    pub protocol: Option<String>,
}

/// What [`stats`] summarises.
pub trait StatsSource {
    fn dataset_stats(&self) -> DatasetStats;
}

/// Statistics of a table or of prepared data (all splits together).
pub fn stats<T: StatsSource + ?Sized>(data: &T) -> DatasetStats {
    data.dataset_stats()
}

impl StatsSource for Interactions {
    fn dataset_stats(&self) -> DatasetStats {
        let labels = self.label.as_deref().map(|l| [l]);
        compute(
            [&self.user[..]],
            [&self.item[..]],
            labels.as_ref().map(|l| &l[..]),
            self.num_users(),
            self.num_items(),
        )
    }
}

impl StatsSource for Prepared {
    fn dataset_stats(&self) -> DatasetStats {
        let parts = [&self.train, &self.valid, &self.test];
        let labels: Option<Vec<&[f32]>> = parts.iter().map(|p| p.label.as_deref()).collect();
        let mut s = compute(
            parts.map(|p| &p.user[..]),
            parts.map(|p| &p.item[..]),
            labels.as_deref(),
            self.num_users,
            self.num_items,
        );
        s.splits = Some(parts.map(|p| p.len()));
        s.protocol = Some(self.protocol.describe());
        s
    }
}

/// Simulated impressions split by time: rows are impressions, labels clicks.
impl StatsSource for crate::Splits {
    fn dataset_stats(&self) -> DatasetStats {
        let parts = [&self.train, &self.valid, &self.test];
        let max = |col: fn(&crate::Impressions) -> &Vec<u32>| {
            parts.iter().flat_map(|p| col(p).iter()).max().map_or(0, |&m| m as usize + 1)
        };
        let clicks: Vec<&[f32]> = parts.iter().map(|p| &p.click[..]).collect();
        let mut s = compute(
            parts.map(|p| &p.user[..]),
            parts.map(|p| &p.item[..]),
            Some(&clicks),
            max(|p| &p.user),
            max(|p| &p.item),
        );
        s.splits = Some(parts.map(|p| p.len()));
        s.protocol = Some("temporal split of simulated impressions (label: click)".into());
        s
    }
}

fn compute<const N: usize>(
    users: [&[u32]; N],
    items: [&[u32]; N],
    labels: Option<&[&[f32]]>,
    num_users: usize,
    num_items: usize,
) -> DatasetStats {
    let mut per_user = vec![0usize; num_users];
    let mut seen_item = vec![false; num_items];
    for u in users.iter().flat_map(|c| c.iter()) {
        per_user[*u as usize] += 1;
    }
    for i in items.iter().flat_map(|c| c.iter()) {
        seen_item[*i as usize] = true;
    }
    let interactions: usize = users.iter().map(|c| c.len()).sum();
    let mut counts: Vec<usize> = per_user.into_iter().filter(|&c| c > 0).collect();
    counts.sort_unstable();
    let n_users = counts.len();
    let n_items = seen_item.iter().filter(|&&s| s).count();
    // nearest rank: the smallest count with at least q of the users at or below it
    let rank = |q: f64| counts[((q * n_users as f64).ceil() as usize).clamp(1, n_users) - 1];
    let per_user = (n_users > 0).then(|| LengthDist {
        min: counts[0],
        p50: rank(0.5),
        p90: rank(0.9),
        max: counts[n_users - 1],
        mean: interactions as f64 / n_users as f64,
    });
    let positive_rate = labels.filter(|_| interactions > 0).map(|ls| {
        let pos = ls.iter().flat_map(|l| l.iter()).filter(|&&x| x > 0.5).count();
        pos as f64 / interactions as f64
    });
    let cells = n_users as f64 * n_items as f64;
    DatasetStats {
        users: n_users,
        items: n_items,
        interactions,
        density: if cells > 0.0 { interactions as f64 / cells } else { 0.0 },
        per_user,
        positive_rate,
        splits: None,
        protocol: None,
    }
}

impl fmt::Display for DatasetStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let row = |f: &mut fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "  {k:<22} {v:>12}");
        writeln!(f, "dataset")?;
        row(f, "users", self.users.to_string())?;
        row(f, "items", self.items.to_string())?;
        row(f, "interactions", self.interactions.to_string())?;
        row(f, "density", format!("{:.4}%", self.density * 100.0))?;
        if let Some(r) = self.positive_rate {
            row(f, "positive rate", format!("{:.2}%", r * 100.0))?;
        }
        if let Some(d) = &self.per_user {
            writeln!(f, "interactions per user")?;
            writeln!(f, "  {:>8} {:>8} {:>8} {:>8} {:>10}", "min", "p50", "p90", "max", "mean")?;
            writeln!(f, "  {:>8} {:>8} {:>8} {:>8} {:>10.2}", d.min, d.p50, d.p90, d.max, d.mean)?;
        }
        if let Some(s) = self.splits {
            writeln!(f, "splits")?;
            let total: usize = s.iter().sum();
            for (name, n) in ["train", "valid", "test"].into_iter().zip(s) {
                let share = if total > 0 { n as f64 / total as f64 * 100.0 } else { 0.0 };
                writeln!(f, "  {name:<8} {n:>12} {share:>7.2}%")?;
            }
        }
        if let Some(p) = &self.protocol {
            writeln!(f, "protocol: {p}")?;
        }
        Ok(())
    }
}
