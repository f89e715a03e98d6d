//! Rendering of the report page and atomic writing to disk.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tera::{Context, Tera};

use crate::error::{ReportError, Result};
use crate::input::{ReportInput, RunSummary};
use crate::svg::{self, Series};

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../../../templates/report.html.tera");
/// Shown for a missing or non-finite number.
const MISSING: &str = "–";

/// Renders the report as one self-contained HTML document.
///
/// All input text is escaped by Tera's autoescaping (the template name ends
/// in `.html`); only the SVG built by [`crate::svg`] is inserted raw, and it
/// escapes its own text.
pub fn render_html(input: &ReportInput) -> Result<String> {
    let mut tera = Tera::default();
    tera.add_raw_template(TEMPLATE_NAME, TEMPLATE)
        .map_err(ReportError::template)?;
    let view = build_view(input);
    let ctx = Context::from_serialize(&view).map_err(ReportError::template)?;
    tera.render(TEMPLATE_NAME, &ctx).map_err(ReportError::template)
}

/// Renders the report and writes it to `path` atomically: the page goes to a
/// temporary file in the same directory which is then renamed over `path`,
/// so readers never see a half-written report. Creates the parent directory.
pub fn write_html(input: &ReportInput, path: &Path) -> Result<()> {
    let html = render_html(input)?;
    let file_name = path.file_name().ok_or_else(|| ReportError::InvalidPath {
        path: path.to_path_buf(),
        reason: "path does not name a file",
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|e| ReportError::io(&dir, e))?;

    // Unique per process and call, so concurrent writers never share a temp.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);

    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| ReportError::io(&tmp, e))?;
        f.write_all(html.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| ReportError::io(&tmp, e))?;
        drop(f);
        fs::rename(&tmp, path).map_err(|e| ReportError::io(path, e))
    })();
    if result.is_err() {
        // Best effort: the original error matters more than cleanup failing.
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[derive(Serialize)]
struct View<'a> {
    experiment: &'a str,
    description: Option<&'a str>,
    generated_at: &'a str,
    n_runs: usize,
    n_finished: usize,
    columns: Vec<Column<'a>>,
    rows: Vec<Row<'a>>,
    charts: Vec<Chart<'a>>,
    params: ParamTable,
    protocol: Vec<KeyValue<'a>>,
    notes: &'a [String],
    seed_summary: Vec<SeedSummary<'a>>,
    significance: &'a [crate::Significance],
    targets: &'a [crate::TargetVerdict],
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
    id: &'a str,
    name: &'a str,
    model: &'a str,
    seed: u64,
    status: &'a str,
    /// One of a fixed set, so user text never lands in a class attribute.
    status_class: &'static str,
    duration: String,
    cells: Vec<Cell>,
}

/// A model's finished runs over its seeds: one row per run name.
#[derive(Serialize)]
struct SeedSummary<'a> {
    name: &'a str,
    seeds: usize,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct Cell {
    text: String,
    best: bool,
}

#[derive(Serialize)]
struct Chart<'a> {
    key: &'a str,
    svg: String,
}

#[derive(Serialize)]
struct ParamTable {
    runs: Vec<String>,
    rows: Vec<ParamRow>,
}

#[derive(Serialize)]
struct ParamRow {
    key: String,
    values: Vec<String>,
    /// Values differ between runs; highlighted since that is what a
    /// comparison is usually about.
    differs: bool,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'a str,
    value: &'a str,
}

fn build_view(input: &ReportInput) -> View<'_> {
    let finished: Vec<bool> = input.runs.iter().map(|r| is_finished(&r.status)).collect();

    // Best value per metric column among finished runs with a finite value.
    let best: Vec<Option<f64>> = input
        .metrics
        .iter()
        .map(|m| {
            input
                .runs
                .iter()
                .zip(&finished)
                .filter(|(_, f)| **f)
                .filter_map(|(r, _)| r.metrics.get(&m.key).copied())
                .filter(|v| v.is_finite())
                .reduce(|a, b| {
                    if m.higher_is_better { a.max(b) } else { a.min(b) }
                })
        })
        .collect();

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

    let rows = input
        .runs
        .iter()
        .zip(&finished)
        .map(|(r, &fin)| Row {
            id: &r.id,
            name: &r.name,
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

    View {
        experiment: &input.experiment,
        description: input.description.as_deref(),
        generated_at: &input.generated_at,
        n_runs: input.runs.len(),
        n_finished: finished.iter().filter(|f| **f).count(),
        columns,
        rows,
        charts: build_charts(&input.runs),
        params: build_params(&input.runs),
        protocol: input
            .protocol
            .iter()
            .map(|(k, v)| KeyValue { key: k, value: v })
            .collect(),
        notes: &input.notes,
        seed_summary: build_seed_summary(input),
        significance: &input.significance,
        targets: &input.targets,
    }
}

fn build_charts(runs: &[RunSummary]) -> Vec<Chart<'_>> {
    let labels = legend_labels(runs);
    let mut keys: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.curves.keys().map(String::as_str))
        .collect();
    keys.sort_unstable();
    keys.dedup();

    keys.into_iter()
        .filter_map(|key| {
            // One series per run (empty when the run lacks this curve) so a
            // run's colour is the same in every chart.
            let series: Vec<Series<'_>> = runs
                .iter()
                .zip(&labels)
                .map(|(r, label)| Series {
                    label,
                    points: r.curves.get(key).map(Vec::as_slice).unwrap_or(&[]),
                })
                .collect();
            svg::line_chart(key, &series).map(|svg| Chart { key, svg })
        })
        .collect()
}

/// Run names, disambiguated by seed when several runs share a name (the
/// usual case for multi-seed experiments), and by position as a last resort.
fn legend_labels(runs: &[RunSummary]) -> Vec<String> {
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for r in runs {
        *name_count.entry(&r.name).or_default() += 1;
    }
    let labels: Vec<String> = runs
        .iter()
        .map(|r| {
            if name_count[r.name.as_str()] > 1 {
                format!("{} (seed {})", r.name, r.seed)
            } else {
                r.name.clone()
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

fn build_params(runs: &[RunSummary]) -> ParamTable {
    // Keys in order of first appearance: callers list important ones first.
    let mut keys: Vec<&str> = Vec::new();
    for r in runs {
        for (k, _) in &r.params {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let rows = keys
        .into_iter()
        .map(|key| {
            let values: Vec<String> = runs
                .iter()
                .map(|r| {
                    r.params
                        .iter()
                        .find(|(k, _)| k == key)
                        .map_or_else(|| MISSING.to_string(), |(_, v)| v.clone())
                })
                .collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            ParamRow {
                key: key.to_string(),
                values,
                differs,
            }
        })
        .collect();
    ParamTable {
        runs: legend_labels(runs),
        rows,
    }
}

fn is_finished(status: &str) -> bool {
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

fn fmt_metric(v: Option<f64>) -> String {
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

/// Mean ± sample std of every metric column over each run name's finished
/// runs (its seeds), shown only when some name has more than one seed; the
/// best mean per column is marked.
fn build_seed_summary(input: &ReportInput) -> Vec<SeedSummary<'_>> {
    let mut names: Vec<&str> = Vec::new();
    for r in input.runs.iter().filter(|r| is_finished(&r.status)) {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let stats = |name: &str, key: &str| -> Option<(f64, f64, usize)> {
        let v: Vec<f64> = input
            .runs
            .iter()
            .filter(|r| r.name == name && is_finished(&r.status))
            .filter_map(|r| r.metrics.get(key).copied())
            .filter(|v| v.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
        Some((mean, var.sqrt(), v.len()))
    };
    let seeds = |name: &str| input.runs.iter().filter(|r| r.name == name && is_finished(&r.status)).count();
    if names.iter().all(|n| seeds(n) <= 1) {
        return Vec::new();
    }
    let best: Vec<Option<f64>> = input
        .metrics
        .iter()
        .map(|m| {
            names.iter().filter_map(|n| stats(n, &m.key)).map(|s| s.0).reduce(|a, b| if m.higher_is_better { a.max(b) } else { a.min(b) })
        })
        .collect();
    names
        .iter()
        .map(|&name| SeedSummary {
            name,
            seeds: seeds(name),
            cells: input
                .metrics
                .iter()
                .zip(&best)
                .map(|(m, best)| match stats(name, &m.key) {
                    Some((mean, std, _)) => Cell { text: format!("{mean:.4} ± {std:.4}"), best: Some(mean) == *best },
                    None => Cell { text: "–".into(), best: false },
                })
                .collect(),
        })
        .collect()
}
