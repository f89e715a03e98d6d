//! Rendering of the report page (the binary writes it to disk).

use std::collections::HashMap;

use serde::Serialize;
use tera::{Context, Tera};

use crate::curves::{build_charts, Chart};
use crate::error::{ReportError, Result};
use crate::heatmaps::{build_attention, AttentionFigure};
use crate::input::{ReportInput, RunSummary};
use crate::sweep::{build_sweep, sweep_label, SweepView};

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../../../templates/report.html.tera");
/// The page's stylesheet and script, inlined so the file stands alone.
const STYLE: &str = include_str!("../../../templates/report.css");
const SCRIPT: &str = include_str!("../../../templates/report.js");
/// Per-seed rows under each mean ± std row of the over-seeds table.
const MAX_SEED_ROWS: usize = 20;
/// Shown for a missing or non-finite number.
const MISSING: &str = "–";
/// Rows of a per-run or per-group table; beyond it the table is cut with a
/// note, so 1,000 runs still give a page of bounded size.
pub(crate) const MAX_TABLE_ROWS: usize = 100;

/// Renders the report as one self-contained HTML document.
///
/// All input text is escaped by Tera's autoescaping (the template name ends
/// in `.html`); inserted raw are only the SVG built by [`crate::svg`], which
/// escapes its own text, the fixed stylesheet and script, and the JSON data
/// block, escaped for `<script>` by [`crate::data::script_json`].
pub fn render_html(input: &ReportInput) -> Result<String> {
    let mut tera = Tera::default();
    tera.add_raw_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(ReportError::template)?;
    let view = build_view(input)?;
    let ctx = Context::from_serialize(&view).map_err(ReportError::template)?;
    tera.render(TEMPLATE_NAME, &ctx).map_err(ReportError::template)
}

#[derive(Serialize)]
struct View<'a> {
    experiment: &'a str,
    summary: crate::summary::Summary,
    style: &'static str,
    script: &'static str,
    /// JSON for the script, already escaped for a `<script>` element.
    data: String,
    generated_at: &'a str,
    n_runs: usize,
    n_finished: usize,
    columns: Vec<Column<'a>>,
    rows: Vec<Row<'a>>,
    /// Set when `rows` holds only the first [`MAX_TABLE_ROWS`] runs.
    rows_note: Option<String>,
    /// More than one experiment: the tables get an experiment column.
    show_experiment: bool,
    /// Runs with different data/protocol fingerprints share the tables.
    protocol_groups: Vec<ProtocolGroup>,
    warnings: Vec<String>,
    charts: Vec<Chart>,
    charts_note: Option<String>,
    params: ParamTable,
    sweep: Option<SweepView>,
    privacy: Option<crate::privacy::PrivacyView>,
    attention: Vec<AttentionFigure>,
    attention_note: Option<String>,
    protocol: Vec<KeyValue<'a>>,
    notes: &'a [String],
    seed_summary: Vec<SeedSummary>,
    seed_summary_note: Option<String>,
    significance: &'a [crate::Significance],
    targets: &'a [crate::TargetVerdict],
    ab_test: Option<crate::market::AbTestView>,
    ope: Option<crate::ope::OpeView>,
}

#[derive(Serialize)]
struct Column<'a> {
    key: &'a str,
    label: &'a str,
    direction: &'static str,
    direction_title: &'static str,
}

#[derive(Serialize)]
struct Row<'a> {
    /// The run's legend label: charts and tables name it alike, so hiding
    /// it in a legend hides it everywhere.
    label: String,
    id: &'a str,
    name: &'a str,
    experiment: &'a str,
    /// The sweep trial's values, empty outside sweeps.
    trial: String,
    /// The letter of the run's protocol group (see [`ProtocolGroup`]).
    protocol: &'static str,
    model: &'a str,
    seed: u64,
    status: &'a str,
    /// One of a fixed set, so user text never lands in a class attribute.
    status_class: &'static str,
    duration: String,
    cells: Vec<Cell>,
}

/// A model's finished runs over its seeds: one row per experiment, run
/// name and sweep trial.
#[derive(Serialize)]
struct SeedSummary {
    name: String,
    seeds: usize,
    cells: Vec<Cell>,
    /// The group's runs (at most [`MAX_SEED_ROWS`]), shown under the mean.
    runs: Vec<SeedRun>,
}

#[derive(Serialize)]
struct SeedRun {
    seed: u64,
    cells: Vec<String>,
}

/// The runs sharing one data/protocol fingerprint, lettered A, B, ...
#[derive(Serialize)]
struct ProtocolGroup {
    letter: &'static str,
    fingerprint: String,
    runs: usize,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    best: bool,
}

/// Params with one value across all runs, then a run-by-param table of
/// exactly the params whose values differ (a missing param counts as a
/// value of its own).
#[derive(Serialize)]
struct ParamTable {
    shared: Vec<(String, String)>,
    differing: Vec<String>,
    /// `(run label, value per differing param)`, capped at [`MAX_TABLE_ROWS`].
    rows: Vec<(String, Vec<String>)>,
    note: Option<String>,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'a str,
    value: &'a str,
}

fn build_view(input: &ReportInput) -> Result<View<'_>> {
    let labels = legend_labels(&input.runs);
    let (protocol_groups, letters) = protocol_groups(&input.runs);
    let mut warnings = input.warnings.clone();
    if protocol_groups.len() > 1 {
        warnings.push(format!(
            "These runs used {} different data/protocol fingerprints (column P: {}); numbers from different groups are not directly comparable.",
            protocol_groups.len(),
            protocol_groups.iter().map(|g| format!("{} = {} ({} run{})", g.letter, g.fingerprint, g.runs, if g.runs == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut experiments: Vec<&str> = input.runs.iter().map(|r| r.experiment.as_str()).collect();
    experiments.sort_unstable();
    experiments.dedup();
    let (charts, charts_note) = build_charts(&input.runs, &labels);
    let (attention, attention_left_out) = build_attention(&input.attention);
    let (seed_summary, seed_summary_note) = build_seed_summary(input);
    let finished: Vec<bool> = input.runs.iter().map(|r| is_finished(&r.status)).collect();

    let best = input.best_per_metric();

    let columns = input
        .metrics
        .iter()
        .map(|m| Column {
            key: &m.key,
            label: &m.label,
            direction: if m.higher_is_better { "↑" } else { "↓" },
            direction_title: if m.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            },
        })
        .collect();

    let rows: Vec<Row<'_>> = input
        .runs
        .iter()
        .zip(&finished)
        .zip(&letters)
        .zip(&labels)
        .take(MAX_TABLE_ROWS)
        .map(|(((r, &fin), &protocol), label)| Row {
            label: label.clone(),
            id: &r.id,
            name: &r.name,
            experiment: &r.experiment,
            trial: sweep_label(r),
            protocol,
            model: &r.model,
            seed: r.seed,
            status: &r.status,
            status_class: status_class(&r.status),
            duration: fmt_duration(r.duration_s),
            cells: input
                .metrics
                .iter()
                .zip(&best)
                .map(|(m, b)| {
                    let v = r.metrics.get(&m.key).copied();
                    Cell {
                        text: fmt_metric(v),
                        // Exact equality is intended: ties are all marked.
                        best: fin && v.is_some() && v == *b,
                    }
                })
                .collect(),
        })
        .collect();

    let params = build_params(&input.runs, &labels);
    let run_data = rows
        .iter()
        .zip(&input.runs)
        .map(|(row, r)| {
            let differing = params.differing.iter().map(|k| (k.clone(), param_value(r, k))).collect();
            crate::data::RunData {
                label: row.label.clone(),
                params: differing,
                metrics: row.cells.iter().map(|c| c.text.clone()).collect(),
            }
        })
        .collect();
    let data = crate::data::script_json(&crate::data::page_data(input, run_data, &charts))?;

    Ok(View {
        experiment: &input.experiment,
        summary: crate::summary::build_summary(input, &labels),
        style: STYLE,
        script: SCRIPT,
        data,
        generated_at: &input.generated_at,
        n_runs: input.runs.len(),
        n_finished: finished.iter().filter(|f| **f).count(),
        columns,
        rows,
        rows_note: (input.runs.len() > MAX_TABLE_ROWS).then(|| {
            format!(
                "The first {MAX_TABLE_ROWS} of {} runs are listed (best values are marked over all of them); `attnlab report --format csv` lists every run.",
                input.runs.len()
            )
        }),
        show_experiment: experiments.len() > 1,
        protocol_groups,
        warnings,
        charts,
        charts_note,
        params,
        sweep: build_sweep(&input.runs, &input.metrics, &labels),
        privacy: crate::privacy::build_privacy(&input.runs, &input.metrics, &labels),
        attention,
        attention_note: (attention_left_out > 0).then(|| format!("{attention_left_out} more runs saved attention samples that are not drawn.")),
        protocol: input
            .protocol
            .iter()
            .map(|(k, v)| KeyValue { key: k, value: v })
            .collect(),
        notes: &input.notes,
        seed_summary,
        seed_summary_note,
        significance: &input.significance,
        targets: &input.targets,
        ab_test: crate::market::build_ab_test(input.ab_test.as_ref()),
        ope: crate::ope::build_ope(input.ope.as_ref()),
    })
}

/// A run's name with its experiment (when the report has several) and its
/// sweep trial: what tells runs apart before their seeds do.
fn display_name(r: &RunSummary, many_experiments: bool) -> String {
    let mut name = if many_experiments { format!("{}/{}", r.experiment, r.name) } else { r.name.clone() };
    if !r.sweep.is_empty() {
        name.push_str(&format!(" [{}]", sweep_label(r)));
    }
    name
}

fn many_experiments(runs: &[RunSummary]) -> bool {
    runs.iter().any(|r| r.experiment != runs[0].experiment)
}

/// Run names, disambiguated by seed when several runs share a name (the
/// usual case for multi-seed experiments), and by position as a last resort.
fn legend_labels(runs: &[RunSummary]) -> Vec<String> {
    let many = many_experiments(runs);
    let names: Vec<String> = runs.iter().map(|r| display_name(r, many)).collect();
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for n in &names {
        *name_count.entry(n).or_default() += 1;
    }
    let labels: Vec<String> = runs
        .iter()
        .zip(&names)
        .map(|(r, name)| {
            if name_count[name.as_str()] > 1 {
                format!("{name} (seed {})", r.seed)
            } else {
                name.clone()
            }
        })
        .collect();
    let mut label_count: HashMap<&str, usize> = HashMap::new();
    for l in &labels {
        *label_count.entry(l).or_default() += 1;
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if label_count[l.as_str()] > 1 {
                format!("{l} #{}", i + 1)
            } else {
                l.clone()
            }
        })
        .collect()
}

fn build_params(runs: &[RunSummary], labels: &[String]) -> ParamTable {
    // Keys in order of first appearance: callers list important ones first.
    let mut keys: Vec<&str> = Vec::new();
    for r in runs {
        for (k, _) in &r.params {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let (mut shared, mut differing) = (Vec::new(), Vec::new());
    for key in keys {
        let first = param_value(&runs[0], key);
        if runs.iter().all(|r| param_value(r, key) == first) {
            shared.push((key.to_string(), first));
        } else {
            differing.push(key.to_string());
        }
    }
    let rows = if differing.is_empty() {
        Vec::new()
    } else {
        runs.iter()
            .zip(labels)
            .take(MAX_TABLE_ROWS)
            .map(|(r, label)| (label.clone(), differing.iter().map(|k| param_value(r, k)).collect()))
            .collect()
    };
    let note = (!differing.is_empty() && runs.len() > MAX_TABLE_ROWS)
        .then(|| format!("The first {MAX_TABLE_ROWS} of {} runs are listed.", runs.len()));
    ParamTable { shared, differing, rows, note }
}

/// A run's value of `key`, or [`MISSING`] (a value of its own).
fn param_value(r: &RunSummary, key: &str) -> String {
    r.params.iter().find(|(k, _)| k == key).map_or_else(|| MISSING.to_string(), |(_, v)| v.clone())
}

/// Runs grouped by data/protocol fingerprint in order of first appearance,
/// and each run's group letter (empty when all runs share one).
fn protocol_groups(runs: &[RunSummary]) -> (Vec<ProtocolGroup>, Vec<&'static str>) {
    const LETTERS: [&str; 26] = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z",
    ];
    let mut groups: Vec<ProtocolGroup> = Vec::new();
    let mut letters = Vec::with_capacity(runs.len());
    for r in runs {
        let fingerprint = if r.data_fingerprint.is_empty() { "(none recorded)".to_string() } else { r.data_fingerprint.clone() };
        let k = match groups.iter().position(|g| g.fingerprint == fingerprint) {
            Some(k) => k,
            None => {
                groups.push(ProtocolGroup { letter: LETTERS[groups.len().min(25)], fingerprint, runs: 0 });
                groups.len() - 1
            }
        };
        groups[k].runs += 1;
        letters.push(groups[k].letter);
    }
    if groups.len() <= 1 {
        letters.iter_mut().for_each(|l| *l = "");
    }
    (groups, letters)
}

pub(crate) fn is_finished(status: &str) -> bool {
    status.trim().eq_ignore_ascii_case("FINISHED")
}

fn status_class(status: &str) -> &'static str {
    match status.trim().to_ascii_uppercase().as_str() {
        "FINISHED" => "finished",
        "FAILED" | "KILLED" | "CRASHED" => "failed",
        "RUNNING" | "SCHEDULED" | "QUEUED" => "running",
        _ => "other",
    }
}

pub(crate) fn fmt_metric(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => {
            let s = if v.abs() >= 1e9 {
                format!("{v:.4e}")
            } else {
                format!("{v:.4}")
            };
            // Tiny negatives round to "-0.0000"; the sign is noise there.
            if s == "-0.0000" { "0.0000".to_string() } else { s }
        }
        _ => MISSING.to_string(),
    }
}

fn fmt_duration(d: Option<f64>) -> String {
    match d {
        Some(d) if d.is_finite() && d >= 0.0 => {
            if d < 60.0 {
                format!("{d:.1} s")
            } else if d < 3600.0 {
                let s = d.round() as u64;
                format!("{}m {:02}s", s / 60, s % 60)
            } else {
                // `as` saturates, so absurd durations cannot overflow.
                let m = (d / 60.0).round() as u64;
                format!("{}h {:02}m", m / 60, m % 60)
            }
        }
        _ => MISSING.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_formatting() {
        assert_eq!(fmt_metric(Some(0.73125)), "0.7312");
        assert_eq!(fmt_metric(Some(-0.00001)), "0.0000");
        assert_eq!(fmt_metric(Some(f64::NAN)), MISSING);
        assert_eq!(fmt_metric(None), MISSING);
    }

    #[test]
    fn duration_formatting() {
        assert_eq!(fmt_duration(Some(12.34)), "12.3 s");
        assert_eq!(fmt_duration(Some(125.0)), "2m 05s");
        assert_eq!(fmt_duration(Some(7260.0)), "2h 01m");
        assert_eq!(fmt_duration(Some(-1.0)), MISSING);
        assert_eq!(fmt_duration(Some(f64::INFINITY)), MISSING);
        assert_eq!(fmt_duration(None), MISSING);
    }

    #[test]
    fn duplicate_names_get_distinct_labels() {
        let run = |name: &str, seed| RunSummary {
            name: name.into(),
            seed,
            ..Default::default()
        };
        let labels = legend_labels(&[run("din", 1), run("din", 2), run("dnn", 1), run("x", 3), run("x", 3)]);
        assert_eq!(
            labels,
            ["din (seed 1)", "din (seed 2)", "dnn", "x (seed 3) #4", "x (seed 3) #5"]
        );
    }
}

/// Mean ± sample std of every metric column over the finished runs of each
/// experiment, run name and sweep trial (its seeds), shown only when some
/// group has more than one seed; the best mean per column is marked. At
/// most [`MAX_TABLE_ROWS`] groups are listed (the best marks count them all).
fn build_seed_summary(input: &ReportInput) -> (Vec<SeedSummary>, Option<String>) {
    let many = many_experiments(&input.runs);
    let mut groups: Vec<(String, Vec<&RunSummary>)> = Vec::new();
    for r in input.runs.iter().filter(|r| is_finished(&r.status)) {
        let name = display_name(r, many);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, members)) => members.push(r),
            None => groups.push((name, vec![r])),
        }
    }
    if groups.iter().all(|(_, m)| m.len() <= 1) {
        return (Vec::new(), None);
    }
    let stats = |members: &[&RunSummary], key: &str| -> Option<(f64, f64)> {
        let v: Vec<f64> = members.iter().filter_map(|r| r.metrics.get(key).copied()).filter(|v| v.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Some((mean, var.sqrt()))
    };
    let table: Vec<Vec<Option<(f64, f64)>>> =
        groups.iter().map(|(_, m)| input.metrics.iter().map(|c| stats(m, &c.key)).collect()).collect();
    let best: Vec<Option<f64>> = input
        .metrics
        .iter()
        .enumerate()
        .map(|(j, m)| {
            table.iter().filter_map(|row| row[j]).map(|s| s.0).reduce(|a, b| if m.higher_is_better { a.max(b) } else { a.min(b) })
        })
        .collect();
    let note = (groups.len() > MAX_TABLE_ROWS).then(|| format!("The first {MAX_TABLE_ROWS} of {} groups are listed.", groups.len()));
    let rows = groups
        .into_iter()
        .zip(table)
        .take(MAX_TABLE_ROWS)
        .map(|((name, members), stats)| SeedSummary {
            name,
            seeds: members.len(),
            runs: members
                .iter()
                .take(MAX_SEED_ROWS)
                .map(|r| SeedRun {
                    seed: r.seed,
                    cells: input.metrics.iter().map(|m| fmt_metric(r.metrics.get(&m.key).copied())).collect(),
                })
                .collect(),
            cells: stats
                .iter()
                .zip(&best)
                .map(|(s, best)| match s {
                    Some((mean, std)) => Cell { text: format!("{mean:.4} ± {std:.4}"), best: Some(*mean) == *best },
                    None => Cell { text: MISSING.into(), best: false },
                })
                .collect(),
        })
        .collect();
    (rows, note)
}
