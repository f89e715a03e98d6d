//! The "Privacy" section, shown when some run trained privately (its
//! metrics hold `privacy.epsilon`) or federated (its params hold
//! `federated.rounds`): a table of every finished run's ε, δ, mechanism and
//! utility (the report's first test metric), utility against ε (a dot per
//! private run), and for federated runs the validation metric by round.

use serde::Serialize;

use crate::input::{MetricSpec, RunSummary};
use crate::svg::{self, spans_decades, Scale, ScatterSeries, Series};

/// The metric a private run logs after every epoch (or round).
pub const EPSILON_KEY: &str = "privacy.epsilon";

#[derive(Serialize)]
pub(crate) struct PrivacyView {
    /// The utility column, e.g. `test.auc`.
    utility: String,
    rows: Vec<PrivacyRow>,
    vs_epsilon: Option<String>,
    /// The validation key charted by round, e.g. `valid.auc`.
    round_metric: String,
    vs_round: Option<String>,
}

#[derive(Serialize)]
struct PrivacyRow {
    run: String,
    mechanism: String,
    epsilon: String,
    delta: String,
    utility: String,
}

fn param<'a>(r: &'a RunSummary, key: &str) -> Option<&'a str> {
    r.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn finished(r: &RunSummary) -> bool {
    r.status.trim().eq_ignore_ascii_case("FINISHED")
}

/// `None` when no run is private or federated. `labels` are the runs'
/// legend labels, aligned with `runs`.
pub(crate) fn build_privacy(runs: &[RunSummary], metrics: &[MetricSpec], labels: &[String]) -> Option<PrivacyView> {
    let federated = |r: &RunSummary| param(r, "federated.rounds").is_some();
    let private = |r: &RunSummary| r.metrics.contains_key(EPSILON_KEY);
    if !runs.iter().any(|r| private(r) || federated(r)) {
        return None;
    }
    let utility = metrics.iter().find(|m| m.key.starts_with("test.")).map_or_else(|| "test.auc".to_string(), |m| m.key.clone());
    let mut shown: Vec<usize> = (0..runs.len()).filter(|&i| finished(&runs[i])).collect();
    // most private first; non-private runs (ε = ∞) last
    let epsilon = |i: usize| runs[i].metrics.get(EPSILON_KEY).copied().unwrap_or(f64::INFINITY);
    shown.sort_by(|&a, &b| epsilon(a).total_cmp(&epsilon(b)));
    let rows = shown
        .iter()
        .map(|&i| {
            let r = &runs[i];
            let mechanism = match (param(r, "privacy.mechanism"), federated(r)) {
                (Some(m), _) => m.to_string(),
                (None, true) => "fedavg (no DP)".into(),
                (None, false) => "none".into(),
            };
            PrivacyRow {
                run: labels.get(i).cloned().unwrap_or_else(|| r.name.clone()),
                mechanism,
                epsilon: r.metrics.get(EPSILON_KEY).map_or_else(|| "∞".into(), |e| format!("{e:.3}")),
                delta: param(r, "privacy.delta").unwrap_or("–").to_string(),
                utility: r.metrics.get(&utility).map_or_else(|| "–".into(), |v| format!("{v:.4}")),
            }
        })
        .collect();

    let mut names: Vec<&str> = Vec::new();
    for &i in shown.iter().filter(|&&i| private(&runs[i])) {
        if !names.contains(&runs[i].name.as_str()) {
            names.push(&runs[i].name);
        }
    }
    let points: Vec<Vec<(f64, f64)>> = names
        .iter()
        .map(|n| {
            shown
                .iter()
                .filter(|&&i| runs[i].name == *n && private(&runs[i]))
                .filter_map(|&i| Some((epsilon(i), *runs[i].metrics.get(&utility)?)))
                .collect()
        })
        .collect();
    let series: Vec<ScatterSeries<'_>> = names.iter().zip(&points).map(|(n, p)| ScatterSeries { label: n, points: p }).collect();
    let scale = if spans_decades(points.iter().flatten().map(|p| p.0)) { Scale::Log } else { Scale::Linear };
    let vs_epsilon = svg::scatter_chart("epsilon", &utility, &scale, &series);

    let round_metric = format!("valid.{}", utility.trim_start_matches("test."));
    let fed: Vec<usize> = (0..runs.len()).filter(|&i| federated(&runs[i])).collect();
    let lines: Vec<Series<'_>> = fed
        .iter()
        .filter_map(|&i| {
            let points = runs[i].curves.get(&round_metric)?;
            Some(Series { label: labels.get(i).map_or(runs[i].name.as_str(), String::as_str), points })
        })
        .collect();
    let vs_round = svg::line_chart(&format!("{round_metric} by round"), &lines);
    Some(PrivacyView { utility, rows, vs_epsilon, round_metric, vs_round })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, eps: Option<f64>, auc: f64, federated: bool) -> RunSummary {
        let mut r = RunSummary { name: name.into(), status: "FINISHED".into(), ..Default::default() };
        r.metrics.insert("test.auc".into(), auc);
        if let Some(e) = eps {
            r.metrics.insert(EPSILON_KEY.into(), e);
            r.params.push(("privacy.mechanism".into(), "dp-sgd".into()));
            r.params.push(("privacy.delta".into(), "0.00001".into()));
        }
        if federated {
            r.params.push(("federated.rounds".into(), "3".into()));
            r.curves.insert("valid.auc".into(), vec![(1, 0.6), (2, 0.65), (3, 0.66)]);
        }
        r
    }

    #[test]
    fn lists_runs_by_epsilon_and_charts_utility() {
        let runs = [run("plain", None, 0.70, false), run("dp8", Some(8.0), 0.66, false), run("dp1", Some(1.0), 0.62, false), run("fed", None, 0.68, true)];
        let metrics = [MetricSpec { key: "test.auc".into(), label: "AUC".into(), higher_is_better: true }];
        let labels: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
        let view = build_privacy(&runs, &metrics, &labels).expect("private runs");
        let order: Vec<&str> = view.rows.iter().map(|r| r.run.as_str()).collect();
        assert_eq!(order[..2], ["dp1", "dp8"]);
        assert_eq!(view.rows[0].epsilon, "1.000");
        assert_eq!(view.rows[3].epsilon, "∞");
        assert!(view.rows.iter().any(|r| r.mechanism == "fedavg (no DP)"));
        let scatter = view.vs_epsilon.expect("utility against epsilon");
        assert_eq!(scatter.matches("class=\"point\"").count(), 2, "one dot per private run");
        assert!(view.vs_round.expect("federated rounds").contains("<svg"));
        assert!(build_privacy(&runs[..1], &metrics, &labels[..1]).is_none(), "no private run, no section");
    }
}
