//! Dataset statistics for `attnlab data stats`: what a researcher checks
//! first. Counts, interactions per user and per item, sparsity, the time
//! span and label balance for every kind of data; for impressions also the
//! click and conversion rates by position and the dwell time of clicks.

use std::fmt;

use serde::Serialize;

use crate::interactions::Interactions;
use crate::protocol::Prepared;

/// A count's distribution (nearest-rank quantiles) over users, items or
/// clicks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LengthDist {
    pub min: usize,
    pub p50: usize,
    pub p90: usize,
    pub max: usize,
    pub mean: f64,
}

impl LengthDist {
    /// `None` for no values.
    pub fn of(mut values: Vec<usize>) -> Option<LengthDist> {
        if values.is_empty() {
            return None;
        }
        values.sort_unstable();
        let n = values.len();
        // nearest rank: the smallest value with at least q of the values at or below it
        let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let mean = values.iter().sum::<usize>() as f64 / n as f64;
        Some(LengthDist { min: values[0], p50: rank(0.5), p90: rank(0.9), max: values[n - 1], mean })
    }
}

/// The rates of one feed position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PositionRates {
    /// 0-based.
    pub position: u32,
    pub impressions: usize,
    pub click_rate: f64,
    /// Conversions over impressions.
    pub conversion_rate: f64,
}

/// What only impressions have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImpressionStats {
    pub by_position: Vec<PositionRates>,
    /// Conversions over clicks.
    pub conversion_rate_after_click: f64,
    /// Dwell time (ms) of clicked impressions; `None` without clicks.
    pub dwell_ms: Option<LengthDist>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetStats {
    /// Users / items with at least one interaction.
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// interactions / (users * items).
    pub density: f64,
    /// 1 - density.
    pub sparsity: f64,
    /// `None` for an empty table.
    pub per_user: Option<LengthDist>,
    /// Rows per item with at least one row.
    pub per_item: Option<LengthDist>,
    /// First and last timestamp, when the data has times.
    pub time_span: Option<[i64; 2]>,
    /// Share of rows with label 1, when there are labels.
    pub positive_rate: Option<f64>,
    /// Train / valid / test rows of prepared data.
    pub splits: Option<[usize; 3]>,
    /// The protocol of prepared data.
    pub protocol: Option<String>,
    /// Rates by position and dwell times, for impressions.
    pub impressions: Option<ImpressionStats>,
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
        let times = self.timestamp.as_deref().map(|t| [t]);
        compute(
            [&self.user[..]],
            [&self.item[..]],
            labels.as_ref().map(|l| &l[..]),
            times.as_ref().map(|t| &t[..]),
            self.num_users(),
            self.num_items(),
        )
    }
}

impl StatsSource for Prepared {
    fn dataset_stats(&self) -> DatasetStats {
        let parts = [&self.train, &self.valid, &self.test];
        let labels: Option<Vec<&[f32]>> = parts.iter().map(|p| p.label.as_deref()).collect();
        let times: Option<Vec<&[i64]>> = parts.iter().map(|p| p.timestamp.as_deref()).collect();
        let mut s = compute(
            parts.map(|p| &p.user[..]),
            parts.map(|p| &p.item[..]),
            labels.as_deref(),
            times.as_deref(),
            self.num_users,
            self.num_items,
        );
        s.splits = Some(parts.map(|p| p.len()));
        s.protocol = Some(self.protocol.describe());
        s
    }
}

/// Impressions split by time: rows are impressions, labels clicks.
impl StatsSource for crate::Splits {
    fn dataset_stats(&self) -> DatasetStats {
        let parts = [&self.train, &self.valid, &self.test];
        let max = |col: fn(&crate::Impressions) -> &Vec<u32>| {
            parts.iter().flat_map(|p| col(p).iter()).max().map_or(0, |&m| m as usize + 1)
        };
        let clicks: Vec<&[f32]> = parts.iter().map(|p| &p.click[..]).collect();
        let times: Vec<Vec<i64>> = parts.iter().map(|p| p.timestamp.iter().map(|&t| t as i64).collect()).collect();
        let times: Vec<&[i64]> = times.iter().map(|t| &t[..]).collect();
        let mut s = compute(
            parts.map(|p| &p.user[..]),
            parts.map(|p| &p.item[..]),
            Some(&clicks),
            Some(&times),
            max(|p| &p.user),
            max(|p| &p.item),
        );
        s.splits = Some(parts.map(|p| p.len()));
        s.protocol = Some("temporal split of impressions (label: click)".into());
        s.impressions = Some(impression_stats(&parts));
        s
    }
}

fn impression_stats(parts: &[&crate::Impressions]) -> ImpressionStats {
    // (impressions, clicks, conversions) per position
    let mut by_position: Vec<(usize, f64, f64)> = Vec::new();
    let mut dwell = Vec::new();
    for p in parts {
        for r in 0..p.len() {
            let pos = p.position[r] as usize;
            if by_position.len() <= pos {
                by_position.resize(pos + 1, (0, 0.0, 0.0));
            }
            let slot = &mut by_position[pos];
            slot.0 += 1;
            slot.1 += p.click[r] as f64;
            slot.2 += p.conversion[r] as f64;
            if p.click[r] > 0.5 {
                dwell.push(p.dwell_ms[r] as usize);
            }
        }
    }
    let clicks: f64 = by_position.iter().map(|s| s.1).sum();
    let conversions: f64 = by_position.iter().map(|s| s.2).sum();
    ImpressionStats {
        by_position: by_position
            .iter()
            .enumerate()
            .filter(|(_, s)| s.0 > 0)
            .map(|(pos, &(n, c, v))| PositionRates { position: pos as u32, impressions: n, click_rate: c / n as f64, conversion_rate: v / n as f64 })
            .collect(),
        conversion_rate_after_click: if clicks > 0.0 { conversions / clicks } else { 0.0 },
        dwell_ms: LengthDist::of(dwell),
    }
}

fn compute<const N: usize>(
    users: [&[u32]; N],
    items: [&[u32]; N],
    labels: Option<&[&[f32]]>,
    times: Option<&[&[i64]]>,
    num_users: usize,
    num_items: usize,
) -> DatasetStats {
    let mut per_user = vec![0usize; num_users];
    let mut per_item = vec![0usize; num_items];
    for u in users.iter().flat_map(|c| c.iter()) {
        per_user[*u as usize] += 1;
    }
    for i in items.iter().flat_map(|c| c.iter()) {
        per_item[*i as usize] += 1;
    }
    let interactions: usize = users.iter().map(|c| c.len()).sum();
    let user_counts: Vec<usize> = per_user.into_iter().filter(|&c| c > 0).collect();
    let item_counts: Vec<usize> = per_item.into_iter().filter(|&c| c > 0).collect();
    let (n_users, n_items) = (user_counts.len(), item_counts.len());
    let (per_user, per_item) = (LengthDist::of(user_counts), LengthDist::of(item_counts));
    let positive_rate = labels.filter(|_| interactions > 0).map(|ls| {
        let pos = ls.iter().flat_map(|l| l.iter()).filter(|&&x| x > 0.5).count();
        pos as f64 / interactions as f64
    });
    let time_span = times.and_then(|ts| {
        let all = ts.iter().flat_map(|t| t.iter().copied());
        Some([all.clone().min()?, all.max()?])
    });
    let cells = n_users as f64 * n_items as f64;
    let density = if cells > 0.0 { interactions as f64 / cells } else { 0.0 };
    DatasetStats {
        users: n_users,
        items: n_items,
        interactions,
        density,
        sparsity: 1.0 - density,
        per_user,
        per_item,
        time_span,
        positive_rate,
        splits: None,
        protocol: None,
        impressions: None,
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
        row(f, "sparsity", format!("{:.4}%", self.sparsity * 100.0))?;
        if let Some(r) = self.positive_rate {
            row(f, "positive rate", format!("{:.2}%", r * 100.0))?;
        }
        if let Some([first, last]) = self.time_span {
            row(f, "time span (s)", format!("{first}..{last}"))?;
            row(f, "time span (days)", format!("{:.1}", (last - first) as f64 / 86_400.0))?;
        }
        let dist = |f: &mut fmt::Formatter<'_>, title: &str, d: &Option<LengthDist>| -> fmt::Result {
            let Some(d) = d else { return Ok(()) };
            writeln!(f, "{title}")?;
            writeln!(f, "  {:>8} {:>8} {:>8} {:>8} {:>10}", "min", "p50", "p90", "max", "mean")?;
            writeln!(f, "  {:>8} {:>8} {:>8} {:>8} {:>10.2}", d.min, d.p50, d.p90, d.max, d.mean)
        };
        dist(f, "interactions per user", &self.per_user)?;
        dist(f, "interactions per item", &self.per_item)?;
        if let Some(imp) = &self.impressions {
            writeln!(f, "by position")?;
            writeln!(f, "  {:>8} {:>12} {:>10} {:>10}", "position", "impressions", "CTR", "CVR")?;
            for p in &imp.by_position {
                writeln!(f, "  {:>8} {:>12} {:>9.3}% {:>9.3}%", p.position, p.impressions, p.click_rate * 100.0, p.conversion_rate * 100.0)?;
            }
            row(f, "conversions per click", format!("{:.2}%", imp.conversion_rate_after_click * 100.0))?;
            dist(f, "dwell ms of clicks", &imp.dwell_ms)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{simulate, split_temporal, AdsConfig, SimulatorConfig};

    #[test]
    fn impressions_show_rates_by_position_and_dwell() {
        let config = SimulatorConfig { users: 60, items: 80, topics: 5, sessions_per_user: 4, slots: 6, history_len: 3, ads: AdsConfig { advertisers: 5, ..Default::default() }, ..SimulatorConfig::default() };
        let d = simulate(&config).unwrap();
        let s = stats(&split_temporal(&d, [0.8, 0.1, 0.1]).unwrap());
        let imp = s.impressions.as_ref().unwrap();
        assert_eq!(imp.by_position.len(), 6);
        assert!(imp.by_position.iter().all(|p| p.impressions == 240));
        let clicks_at = |pos: u32| d.click.iter().zip(&d.position).filter(|(c, p)| **c > 0.5 && **p == pos).count();
        assert_eq!(imp.by_position[0].click_rate, clicks_at(0) as f64 / 240.0);
        assert!(imp.by_position[0].click_rate > imp.by_position[5].click_rate, "examination falls with position: {imp:?}");
        let dwell = imp.dwell_ms.unwrap();
        let clicked: Vec<u32> = d.dwell_ms.iter().zip(&d.click).filter(|(_, c)| **c > 0.5).map(|(&w, _)| w).collect();
        assert_eq!((dwell.min, dwell.max), (*clicked.iter().min().unwrap() as usize, *clicked.iter().max().unwrap() as usize));
        assert_eq!(s.time_span, Some([*d.timestamp.iter().min().unwrap() as i64, *d.timestamp.iter().max().unwrap() as i64]));
        assert!((s.sparsity + s.density - 1.0).abs() < 1e-12);
        let per_item = s.per_item.unwrap();
        assert!((per_item.mean * s.items as f64 - d.len() as f64).abs() < 1e-6);
        let text = s.to_string();
        for needle in ["by position", "interactions per item", "dwell ms of clicks", "sparsity", "time span"] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
    }

    #[test]
    fn length_dist_uses_nearest_ranks() {
        let d = LengthDist::of(vec![5, 1, 3, 2, 4, 10, 6, 7, 8, 9]).unwrap();
        assert_eq!((d.min, d.p50, d.p90, d.max), (1, 5, 9, 10));
        assert_eq!(LengthDist::of(Vec::new()), None);
    }
}
