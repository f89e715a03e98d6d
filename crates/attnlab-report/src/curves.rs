//! The learning-curve charts, kept to a bounded size whatever the number
//! of runs: with few runs one line each; with many, one mean line per model
//! with its min-max band; every line down-sampled to at most
//! [`MAX_CURVE_POINTS`] points, keeping each bucket's extremes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::input::RunSummary;
use crate::svg::{self, Band, Series};

/// Beyond this many lines a chart is unreadable: runs are grouped.
pub(crate) const MAX_SERIES: usize = 12;
/// Points per drawn line (and band); enough for a smooth curve at 450 px.
pub(crate) const MAX_CURVE_POINTS: usize = 120;

#[derive(Serialize)]
pub(crate) struct Chart {
    pub key: String,
    pub svg: String,
    /// Values are positive and span decades: the page offers a log axis.
    pub log: bool,
    /// The drawn lines, for the page's script.
    #[serde(skip)]
    pub lines: Vec<DrawnLine>,
}

/// `(legend label, points)` of a line as drawn.
pub(crate) type DrawnLine = (String, Vec<(i64, f64)>);

/// The charts, one per curve key, and a note when runs were grouped or
/// groups left out.
pub(crate) fn build_charts(runs: &[RunSummary], labels: &[String]) -> (Vec<Chart>, Option<String>) {
    let mut keys: Vec<&str> = runs.iter().flat_map(|r| r.curves.keys().map(String::as_str)).collect();
    keys.sort_unstable();
    keys.dedup();
    let with_curves = runs.iter().filter(|r| !r.curves.is_empty()).count();
    let (groups, note) = groups(runs, labels, with_curves);

    let lines_per_key: Vec<(&str, Vec<Line>)> = keys.iter().map(|&key| (key, lines(runs, &groups, key))).collect();
    let charts = lines_per_key
        .iter()
        .filter_map(|(key, lines)| {
            // One series per group (empty when it lacks this curve) so a
            // group's colour is the same in every chart.
            let series: Vec<Series<'_>> = lines.iter().map(|(l, p, _)| Series { label: l, points: p }).collect();
            let bands: Vec<Band<'_>> = lines.iter().map(|(_, _, b)| b.as_slice()).collect();
            let shared = shared_range(&lines_per_key, metric_of(key));
            let svg = svg::line_chart_on(key, &series, &bands, shared)?;
            let drawn: Vec<DrawnLine> =
                lines.iter().filter(|(_, p, _)| !p.is_empty()).map(|(l, p, _)| (l.clone(), svg::drawn_points(p))).collect();
            let log = svg::spans_decades(drawn.iter().flat_map(|(_, p)| p.iter().map(|v| v.1)));
            Some(Chart { key: key.to_string(), svg, log, lines: drawn })
        })
        .collect();
    (charts, note)
}

/// A drawn line: legend label, points, and the min-max band of a group.
type Line = (String, Vec<(i64, f64)>, Vec<(i64, f64, f64)>);

/// The line of every group for one curve key.
fn lines(runs: &[RunSummary], groups: &[(String, Vec<usize>)], key: &str) -> Vec<Line> {
    groups
        .iter()
        .map(|(label, members)| {
            let curves: Vec<&[(i64, f64)]> = members.iter().filter_map(|&i| runs[i].curves.get(key).map(Vec::as_slice)).collect();
            if members.len() == 1 {
                (label.clone(), downsample(curves.first().copied().unwrap_or(&[]), MAX_CURVE_POINTS), Vec::new())
            } else {
                let (mean, band) = mean_and_band(&curves);
                (label.clone(), downsample(&mean, MAX_CURVE_POINTS), downsample_band(&band, MAX_CURVE_POINTS))
            }
        })
        .collect()
}

/// The metric a curve key measures: `valid.auc` and `train.auc` both
/// measure `auc`, so their charts share a value axis.
fn metric_of(key: &str) -> &str {
    key.rsplit_once('.').map_or(key, |(_, metric)| metric)
}

/// The value range of every chart of `metric` together, when more than one
/// chart shows it (small multiples); `None` for a chart of its own.
fn shared_range(all: &[(&str, Vec<Line>)], metric: &str) -> Option<(f64, f64)> {
    let same: Vec<&Vec<Line>> = all.iter().filter(|(k, _)| metric_of(k) == metric).map(|(_, l)| l).collect();
    if same.len() < 2 {
        return None;
    }
    let values = same.iter().flat_map(|lines| {
        lines.iter().flat_map(|(_, p, b)| p.iter().map(|v| v.1).chain(b.iter().flat_map(|v| [v.1, v.2])))
    });
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    (lo <= hi).then_some((lo, hi))
}

/// `(legend label, run indices)`: a run each when few enough, else one per
/// run name, else one per model class; at most [`MAX_SERIES`] groups.
fn groups(runs: &[RunSummary], labels: &[String], with_curves: usize) -> (Vec<(String, Vec<usize>)>, Option<String>) {
    if with_curves <= MAX_SERIES {
        return (runs.iter().enumerate().map(|(i, _)| (labels[i].clone(), vec![i])).collect(), None);
    }
    let by = |key: &dyn Fn(&RunSummary) -> String| -> Vec<(String, Vec<usize>)> {
        let mut order: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, r) in runs.iter().enumerate().filter(|(_, r)| !r.curves.is_empty()) {
            let k = key(r);
            match order.iter_mut().find(|(g, _)| *g == k) {
                Some((_, members)) => members.push(i),
                None => order.push((k, vec![i])),
            }
        }
        order
    };
    let mut grouped = by(&|r| r.name.clone());
    if grouped.len() > MAX_SERIES {
        grouped = by(&|r| r.model.clone());
    }
    let left_out = grouped.len().saturating_sub(MAX_SERIES);
    grouped.truncate(MAX_SERIES);
    let labelled = grouped.into_iter().map(|(k, m)| (format!("{k} (mean of {})", m.len()), m)).collect();
    let mut note = format!(
        "{with_curves} runs have curves: each line is the mean over a model's runs at each step, the band their min-max range."
    );
    if left_out > 0 {
        note.push_str(&format!(" {left_out} more models are left out of the charts."));
    }
    (labelled, Some(note))
}

/// Per step, the mean over the curves that have it, and `(step, min, max)`.
fn mean_and_band(curves: &[&[(i64, f64)]]) -> (Vec<(i64, f64)>, Vec<(i64, f64, f64)>) {
    let mut at: BTreeMap<i64, (f64, usize, f64, f64)> = BTreeMap::new();
    for &(step, v) in curves.iter().flat_map(|c| c.iter()).filter(|p| p.1.is_finite()) {
        let e = at.entry(step).or_insert((0.0, 0, f64::INFINITY, f64::NEG_INFINITY));
        *e = (e.0 + v, e.1 + 1, e.2.min(v), e.3.max(v));
    }
    let mean = at.iter().map(|(&s, &(sum, n, _, _))| (s, sum / n as f64)).collect();
    let band = at.iter().map(|(&s, &(_, _, lo, hi))| (s, lo, hi)).collect();
    (mean, band)
}

/// At most `max` points (`max >= 4`) in step order: the first and last
/// points, and of every bucket between them its minimum and its maximum,
/// so spikes survive (a plain stride would drop them).
pub(crate) fn downsample(points: &[(i64, f64)], max: usize) -> Vec<(i64, f64)> {
    if points.len() <= max {
        return points.to_vec();
    }
    let inner = &points[1..points.len() - 1];
    let buckets = (max - 2) / 2;
    let mut out = vec![points[0]];
    for b in 0..buckets {
        let chunk = &inner[b * inner.len() / buckets..(b + 1) * inner.len() / buckets];
        let lo = chunk.iter().enumerate().min_by(|a, b| a.1.1.total_cmp(&b.1.1)).map(|(i, _)| i);
        let hi = chunk.iter().enumerate().max_by(|a, b| a.1.1.total_cmp(&b.1.1)).map(|(i, _)| i);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
            out.push(chunk[first]);
            if second != first {
                out.push(chunk[second]);
            }
        }
    }
    out.push(points[points.len() - 1]);
    out
}

/// [`downsample`] for a band: the widest extent of every bucket.
fn downsample_band(band: &[(i64, f64, f64)], max: usize) -> Vec<(i64, f64, f64)> {
    if band.len() <= max {
        return band.to_vec();
    }
    let buckets = max;
    (0..buckets)
        .filter_map(|b| {
            let chunk = &band[b * band.len() / buckets..(b + 1) * band.len() / buckets];
            let step = chunk.get(chunk.len() / 2)?.0;
            let lo = chunk.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
            let hi = chunk.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max);
            Some((step, lo, hi))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_bounds_points_and_keeps_extremes() {
        let pts: Vec<(i64, f64)> = (0..10_000).map(|i| (i, if i == 4321 { 9.0 } else if i == 777 { -9.0 } else { (i as f64).sin() })).collect();
        let d = downsample(&pts, 100);
        assert!(d.len() <= 100, "{}", d.len());
        assert!(d.contains(&(4321, 9.0)) && d.contains(&(777, -9.0)), "spikes survive");
        assert_eq!((d[0], d[d.len() - 1]), (pts[0], pts[9999]));
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "steps stay in order");
        assert_eq!(downsample(&pts[..50], 100).len(), 50);
    }

    #[test]
    fn mean_and_band_per_step() {
        let (mean, band) = mean_and_band(&[&[(1, 0.5), (2, 0.7)], &[(1, 0.7)]]);
        assert_eq!(mean, vec![(1, 0.6), (2, 0.7)]);
        assert_eq!(band, vec![(1, 0.5, 0.7), (2, 0.7, 0.7)]);
    }
}
