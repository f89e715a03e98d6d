//! `attnlab report`: one self-contained HTML page per experiment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use attnlab_eval::{compare, holm, read_per_user_file, stars, Metric, PerUser};
use anyhow::Context;
use attnlab_report::{render_table, write_html, MetricSpec, ReportInput, RunSummary, Significance, TableFormat, TargetVerdict};
use attnlab_track::{RunRecord, RunStatus, Store};
use attnlab_train::TaskMetric;

use crate::exit::BadInput;
use crate::targets::target_rows;

/// Tags shown in the protocol panel, in this order.
const PROTOCOL_TAGS: &[&str] =
    &["spec.path", "spec.fingerprint", "data.fingerprint", "attnlab.version", "libtorch.version", "device"];

pub fn report(
    experiment: &str,
    output: Option<PathBuf>,
    baseline: Option<&str>,
    format: &str,
    store_path: &Path,
) -> anyhow::Result<()> {
    let table_format = match format {
        "html" => None,
        other => Some(TableFormat::parse(other).ok_or_else(|| BadInput(format!("--format `{other}`: html, md, latex or csv")))?),
    };
    let name = experiment_name(experiment)?;
    let store = crate::exit::open_existing_store(store_path)?;
    let runs = store.runs(&name)?;
    let input = ReportInput {
        experiment: name.clone(),
        description: None,
        generated_at: utc_now(),
        metrics: metric_columns(&runs),
        runs: runs.iter().map(|r| summarise(&store, r)).collect::<anyhow::Result<_>>()?,
        protocol: protocol_panel(&runs),
        notes: notes(&runs),
        significance: significance(&store, &runs, baseline)?,
        targets: targets(&runs),
    };
    if let Some(table_format) = table_format {
        let table = render_table(&input, table_format);
        match output {
            Some(path) => std::fs::write(&path, table).with_context(|| format!("writing {}", path.display()))?,
            None => print!("{table}"),
        }
        return Ok(());
    }
    let output = output.unwrap_or_else(|| PathBuf::from("reports").join(format!("{name}.html")));
    write_html(&input, &output)?;
    println!("report: {}", output.display());
    Ok(())
}

/// Every finished run against the baseline model (the same seed where there
/// is one), metric by metric, on the per-user test values each run saved.
fn significance(store: &Store, runs: &[RunRecord], baseline: Option<&str>) -> anyhow::Result<Vec<Significance>> {
    let finished: Vec<&RunRecord> = runs.iter().filter(|r| r.status == RunStatus::Finished).collect();
    let Some(first) = finished.first() else { return Ok(Vec::new()) };
    let base = baseline.unwrap_or(&first.name);
    if !finished.iter().any(|r| r.name == base) {
        let names: BTreeSet<&str> = finished.iter().map(|r| r.name.as_str()).collect();
        return Err(BadInput(format!("--baseline `{base}` is not a finished run of this experiment (runs: {names:?})")).into());
    }
    let per_user = |r: &RunRecord| -> anyhow::Result<Vec<PerUser>> {
        let path = store.artifact_path(&r.id, "per_user/test.csv")?;
        Ok(if path.is_file() { read_per_user_file(&path)? } else { Vec::new() })
    };
    let label = |r: &RunRecord| format!("{} (seed {})", r.name, r.seed);
    let mut rows = Vec::new();
    for other in finished.iter().filter(|r| r.name != base) {
        let Some(reference) = finished
            .iter()
            .find(|r| r.name == base && r.seed == other.seed)
            .or_else(|| finished.iter().find(|r| r.name == base))
        else {
            continue;
        };
        let reference_values = per_user(reference)?;
        for values in per_user(other)? {
            let Some(b) = reference_values.iter().find(|b| b.metric == values.metric) else { continue };
            // too few shared users to compare is not an error of the report
            let Ok(c) = compare(b, &values, 0) else { continue };
            rows.push(Significance {
                run: label(other),
                baseline: label(reference),
                metric: values.metric.clone(),
                users: c.n,
                mean_diff: c.mean_diff,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                t_p: c.t_p,
                wilcoxon_p: c.wilcoxon_p,
                holm_p: f64::NAN,
                stars: String::new(),
            });
        }
    }
    let adjusted = holm(&rows.iter().map(|r| r.wilcoxon_p).collect::<Vec<_>>());
    for (row, p) in rows.iter_mut().zip(adjusted) {
        row.holm_p = p;
        row.stars = stars(p).to_string();
    }
    Ok(rows)
}

/// The targets of the spec the runs were made from (its resolved text is
/// stored with every run), judged on the finished runs.
fn targets(runs: &[RunRecord]) -> Vec<TargetVerdict> {
    let Some(text) = runs.iter().rev().find_map(|r| r.tags.get("spec.resolved")) else { return Vec::new() };
    let Ok(spec) = attnlab_spec::parse_spec(text, Path::new("spec.resolved"), &[]) else { return Vec::new() };
    let finished: Vec<(String, std::collections::BTreeMap<String, f64>)> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Finished)
        .map(|r| (r.name.clone(), r.metrics.clone()))
        .collect();
    target_rows(&spec.targets, &finished)
        .into_iter()
        .map(|t| TargetVerdict {
            model: t.model,
            metric: t.metric,
            published: t.published,
            measured: t.measured,
            diff: t.diff,
            verdict: t.verdict,
            source: t.source,
        })
        .collect()
}

/// A spec file names its experiment; anything else is the name itself.
fn experiment_name(arg: &str) -> anyhow::Result<String> {
    let path = Path::new(arg);
    let is_spec = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
    if is_spec {
        return Ok(attnlab_spec::load_spec(path, &[])?.spec.name);
    }
    Ok(arg.to_string())
}

/// One column per `test.<metric>` logged by any run, point-wise metrics
/// first, then multi-task and ranking metrics by name.
fn metric_columns(runs: &[RunRecord]) -> Vec<MetricSpec> {
    let logged: BTreeSet<&str> = runs.iter().flat_map(|r| r.metrics.keys().map(String::as_str)).collect();
    let mut metrics: Vec<TaskMetric> =
        logged.iter().filter_map(|k| k.strip_prefix("test.")).filter_map(|m| TaskMetric::parse(m).ok()).collect();
    let rank = |m: &TaskMetric| match m {
        TaskMetric::Metric(p) => Metric::ALL.iter().position(|a| a == p).unwrap_or(usize::MAX),
        _ => 6,
    };
    metrics.sort_by_key(|m| (rank(m), m.name()));
    metrics
        .into_iter()
        .map(|m| MetricSpec {
            key: format!("test.{}", m.name()),
            label: format!("Test {}", m.name().to_uppercase()),
            higher_is_better: m.higher_is_better(),
        })
        .collect()
}

fn summarise(store: &Store, r: &RunRecord) -> anyhow::Result<RunSummary> {
    let mut curves = std::collections::BTreeMap::new();
    for key in store.metric_keys(&r.id)? {
        if key == "train.loss" || key.starts_with("valid.") {
            let points = store.metric_history(&r.id, &key)?.into_iter().map(|p| (p.step, p.value)).collect();
            curves.insert(key, points);
        }
    }
    Ok(RunSummary {
        id: r.id.clone(),
        name: r.name.clone(),
        model: r.model.clone(),
        seed: r.seed,
        status: r.status.to_string(),
        duration_s: r.end_ms.map(|end| (end - r.start_ms) as f64 / 1000.0),
        // the parent (a fine-tuning source or a sweep) shows with the params
        params: r
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(r.parent.iter().map(|p| ("parent run".to_string(), p.clone())))
            .collect(),
        metrics: r.metrics.clone(),
        curves,
    })
}

fn protocol_panel(runs: &[RunRecord]) -> Vec<(String, String)> {
    PROTOCOL_TAGS
        .iter()
        .map(|&tag| {
            let values: BTreeSet<&str> = runs.iter().filter_map(|r| r.tags.get(tag).map(String::as_str)).collect();
            (tag.to_string(), values.into_iter().collect::<Vec<_>>().join(" | "))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn notes(runs: &[RunRecord]) -> Vec<String> {
    let mut notes = Vec::new();
    let oracles: BTreeSet<&str> = runs.iter().filter_map(|r| r.tags.get("data.oracle_test_auc").map(String::as_str)).collect();
    for o in oracles {
        notes.push(format!("Best possible test AUC (the simulator's true click probabilities): {o}"));
    }
    let fingerprints: BTreeSet<&str> = runs.iter().filter_map(|r| r.tags.get("data.fingerprint").map(String::as_str)).collect();
    if fingerprints.len() > 1 {
        notes.push(format!(
            "Warning: these runs used {} different data/protocol fingerprints; their numbers are not directly comparable.",
            fingerprints.len()
        ));
    }
    for r in runs.iter().filter(|r| r.tags.contains_key("error")) {
        notes.push(format!("Run {} ({}, seed {}) failed: {}", &r.id[..8.min(r.id.len())], r.name, r.seed, r.tags["error"]));
    }
    notes
}

/// Now as `YYYY-MM-DD HH:MM:SS UTC`, without a date-time dependency.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil-from-days (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem % 3600 / 60, rem % 60)
}
