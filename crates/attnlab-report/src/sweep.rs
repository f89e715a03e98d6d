//! The "Sweep" section of a swept experiment: the selection metric against
//! each swept parameter (a scatter per parameter, log axis for one that
//! spans decades) and parallel coordinates over all of them.

use serde::Serialize;

use crate::input::{MetricSpec, RunSummary};
use crate::svg::{self, spans_decades, ParallelAxis, ParallelLine, Scale, ScatterSeries};

/// At most this many runs are drawn (each is a dot per scatter and a line
/// in the parallel coordinates), so the section has a bounded size.
pub(crate) const MAX_SWEEP_RUNS: usize = 1_000;

#[derive(Serialize)]
pub(crate) struct SweepView {
    /// The plotted metric key, e.g. `best.valid.auc`.
    metric: String,
    trials: usize,
    runs: usize,
    scatters: Vec<SweepChart>,
    parallel: Option<String>,
    note: Option<String>,
}

#[derive(Serialize)]
struct SweepChart {
    param: String,
    log: bool,
    svg: String,
}

/// `None` when no finished run carries sweep values.
pub(crate) fn build_sweep(runs: &[RunSummary], metrics: &[MetricSpec], labels: &[String]) -> Option<SweepView> {
    let swept: Vec<usize> = (0..runs.len())
        .filter(|&i| !runs[i].sweep.is_empty() && runs[i].status.trim().eq_ignore_ascii_case("FINISHED"))
        .collect();
    let metric = selection_metric(swept.iter().map(|&i| &runs[i]), metrics)?;
    let mut drawn: Vec<usize> = swept.into_iter().filter(|&i| runs[i].metrics.get(&metric).is_some_and(|v| v.is_finite())).collect();
    let total = drawn.len();
    drawn.truncate(MAX_SWEEP_RUNS);
    if drawn.is_empty() {
        return None;
    }
    let mut params: Vec<&str> = Vec::new();
    for &i in &drawn {
        for (k, _) in &runs[i].sweep {
            if !params.contains(&k.as_str()) {
                params.push(k);
            }
        }
    }
    let scales: Vec<Scale> = params.iter().map(|p| scale_of(drawn.iter().filter_map(|&i| value_of(&runs[i], p)))).collect();
    let coord = |i: usize, p: usize| -> f64 {
        let Some(text) = value_of(&runs[i], params[p]) else { return f64::NAN };
        match &scales[p] {
            Scale::Categories(names) => names.iter().position(|n| n == text).map_or(f64::NAN, |k| k as f64),
            _ => text.parse().unwrap_or(f64::NAN),
        }
    };

    // One scatter series per run name (model), in order of appearance.
    let mut names: Vec<&str> = Vec::new();
    for &i in &drawn {
        if !names.contains(&runs[i].name.as_str()) {
            names.push(&runs[i].name);
        }
    }
    let scatters = params
        .iter()
        .enumerate()
        .filter_map(|(p, param)| {
            let points: Vec<Vec<(f64, f64)>> = names
                .iter()
                .map(|n| drawn.iter().filter(|&&i| runs[i].name == *n).map(|&i| (coord(i, p), runs[i].metrics[&metric])).collect())
                .collect();
            let series: Vec<ScatterSeries<'_>> = names.iter().zip(&points).map(|(n, pts)| ScatterSeries { label: n, points: pts }).collect();
            svg::scatter_chart(param, &metric, &scales[p], &series)
                .map(|svg| SweepChart { param: param.to_string(), log: scales[p] == Scale::Log, svg })
        })
        .collect();

    let mut axes: Vec<ParallelAxis> = params.iter().zip(&scales).map(|(p, s)| ParallelAxis { label: p.to_string(), scale: s.clone() }).collect();
    axes.push(ParallelAxis { label: metric.clone(), scale: Scale::Linear });
    let lines: Vec<ParallelLine> = drawn
        .iter()
        .map(|&i| {
            let value = runs[i].metrics[&metric];
            let mut values: Vec<f64> = (0..params.len()).map(|p| coord(i, p)).collect();
            values.push(value);
            ParallelLine { label: format!("{}: {metric} {value:.4}", labels[i]), values, colour_value: value }
        })
        .collect();
    let mut trials: Vec<String> = drawn.iter().map(|&i| sweep_label(&runs[i])).collect();
    trials.sort_unstable();
    trials.dedup();
    Some(SweepView {
        trials: trials.len(),
        runs: drawn.len(),
        scatters,
        parallel: svg::parallel_coordinates(&axes, &lines, &metric),
        note: (total > drawn.len()).then(|| format!("The first {} of {total} swept runs are drawn.", drawn.len())),
        metric,
    })
}

/// The trial's values as `k=v k=v`.
pub(crate) fn sweep_label(r: &RunSummary) -> String {
    r.sweep.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

fn value_of<'a>(r: &'a RunSummary, param: &str) -> Option<&'a str> {
    r.sweep.iter().find(|(k, _)| k == param).map(|(_, v)| v.as_str())
}

/// The metric trials are chosen on: the validation value at the best epoch
/// (`best.valid.*`), else the first results column.
fn selection_metric<'a>(runs: impl Iterator<Item = &'a RunSummary> + Clone, metrics: &[MetricSpec]) -> Option<String> {
    let valid = runs.clone().flat_map(|r| r.metrics.keys()).find(|k| k.starts_with("best.valid."));
    valid
        .cloned()
        .or_else(|| metrics.iter().find(|m| runs.clone().any(|r| r.metrics.contains_key(&m.key))).map(|m| m.key.clone()))
}

/// Numbers: log when positive across decades, else linear; anything else
/// (optimizer names, booleans, lists) as categories in order of appearance.
fn scale_of<'a>(values: impl Iterator<Item = &'a str>) -> Scale {
    let texts: Vec<&str> = values.collect();
    let numbers: Option<Vec<f64>> = texts.iter().map(|t| t.parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    match numbers {
        Some(n) if spans_decades(n.iter().copied()) => Scale::Log,
        Some(_) => Scale::Linear,
        None => {
            let mut names: Vec<String> = Vec::new();
            for t in texts {
                if !names.iter().any(|n| n == t) {
                    names.push(t.to_string());
                }
            }
            Scale::Categories(names)
        }
    }
}
