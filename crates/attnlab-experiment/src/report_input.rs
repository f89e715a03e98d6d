//! What `attnlab report` shows, read from the store: one experiment's runs,
//! or several side by side when their protocols match, with significance
//! against a baseline, reproduction targets, attention samples, the A/B
//! test, the off-policy evaluation and notes, as the report crate's [`ReportInput`].

mod protocol;

use std::collections::BTreeSet;
use std::path::Path;

use attnlab_eval::{compare, holm, read_per_user_file, stars, Metric, PerUser, TaskMetric};
use attnlab_report::{
    AttentionRun, AttentionSample, MetricSpec, ReportInput, RunSummary, Significance, TargetVerdict, ATTENTION_ARTIFACT,
};
use attnlab_track::{RunRecord, RunStatus, Store};

use crate::ab_test::split_ab_tests;
use crate::ope::split_ope;
use crate::targets::target_rows;
use crate::{ExperimentError, Result, SWEEP_MODEL};
use protocol::{differences, Protocol};

/// Runs compared with the baseline at most: each comparison reads two
/// per-user files and bootstraps, and the table must stay readable.
const MAX_COMPARISONS: usize = 100;

/// Tags shown in the protocol panel, in this order.
const PROTOCOL_TAGS: &[&str] =
    &["spec.path", "spec.fingerprint", "data.fingerprint", "attnlab.version", "libtorch.version", "device"];

/// The report of experiments `names` (several only when their protocols
/// match, or with a warning under `force`), compared with the `baseline`
/// model (default: the first finished run's).
pub fn report_input(store: &Store, names: &[String], baseline: Option<&str>, force: bool) -> Result<ReportInput> {
    let mut by_experiment = Vec::new();
    for name in names {
        // a sweep's parent run only groups its trials: it has no results of its own
        let runs = store.runs(name)?.into_iter().filter(|r| r.model != SWEEP_MODEL).collect::<Vec<_>>();
        by_experiment.push((name.clone(), runs));
    }
    let mut warnings = Vec::new();
    if by_experiment.len() > 1 {
        let protocols: Vec<(String, Protocol)> = by_experiment.iter().map(|(n, runs)| (n.clone(), Protocol::of(runs))).collect();
        let diffs = differences(&protocols);
        if !diffs.is_empty() {
            let reason = diffs.join("; ");
            if !force {
                return Err(ExperimentError::bad(format!(
                    "the experiments do not share a protocol, so their numbers are not comparable: {reason} \
                     (--force compares them anyway, with a warning)"
                )));
            }
            warnings.push(format!("Compared with --force although the protocols differ: {reason}."));
        }
    }
    let runs: Vec<RunRecord> = by_experiment.iter().flat_map(|(_, runs)| runs.iter().cloned()).collect();
    let many = names.len() > 1;
    let mut notes = notes(&runs);
    // an A/B test is a section of its own, not a row of the results
    let (ab_test, runs) = split_ab_tests(&store, runs, &mut notes)?;
    let (ope, runs) = split_ope(store, runs, &mut notes)?;
    Ok(ReportInput {
        experiment: names.join(" vs "),
        description: if many { None } else { description(&runs) },
        generated_at: utc_now(),
        metrics: metric_columns(&runs),
        runs: runs.iter().map(|r| summarise(&store, r)).collect::<Result<_>>()?,
        protocol: protocol_panel(&runs),
        significance: significance(&store, &runs, baseline, many, &mut notes)?,
        targets: by_experiment.iter().flat_map(|(name, runs)| targets(runs, many.then_some(name.as_str()))).collect(),
        attention: attention(&store, &runs, many, &mut notes)?,
        ab_test,
        ope,
        notes,
        warnings,
    })
}

/// A run as the report's tables name it: `din (seed 2024)`, prefixed by its
/// experiment when several are compared.
fn run_label(r: &RunRecord, many: bool) -> String {
    if many { format!("{}/{} (seed {})", r.experiment, r.name, r.seed) } else { format!("{} (seed {})", r.name, r.seed) }
}

/// Every finished run against the baseline model (the same seed where there
/// is one), metric by metric, on the per-user test values each run saved.
/// At most [`MAX_COMPARISONS`] runs are compared (noted when more exist).
fn significance(
    store: &Store,
    runs: &[RunRecord],
    baseline: Option<&str>,
    many: bool,
    notes: &mut Vec<String>,
) -> Result<Vec<Significance>> {
    let finished: Vec<&RunRecord> = runs.iter().filter(|r| r.status == RunStatus::Finished).collect();
    let Some(first) = finished.first() else { return Ok(Vec::new()) };
    let base = baseline.unwrap_or(&first.name);
    if !finished.iter().any(|r| r.name == base) {
        let names: BTreeSet<&str> = finished.iter().map(|r| r.name.as_str()).collect();
        return Err(ExperimentError::bad(format!("--baseline `{base}` is not a finished run of this experiment (runs: {names:?})")));
    }
    let per_user = |r: &RunRecord| -> Result<Vec<PerUser<String>>> {
        let path = store.artifact_path(&r.id, "per_user/test.csv")?;
        Ok(if path.is_file() { read_per_user_file(&path)? } else { Vec::new() })
    };
    let label = |r: &RunRecord| run_label(r, many);
    let mut rows = Vec::new();
    let others: Vec<&&RunRecord> = finished.iter().filter(|r| r.name != base).collect();
    if others.len() > MAX_COMPARISONS {
        notes.push(format!(
            "Significance: the first {MAX_COMPARISONS} of {} runs are compared with the baseline.",
            others.len()
        ));
    }
    for other in others.into_iter().take(MAX_COMPARISONS) {
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

/// The description of the spec the latest run was made from (the report
/// shows it, escaped and cut to a glance, under the title).
fn description(runs: &[RunRecord]) -> Option<String> {
    let text = runs.iter().rev().find_map(|r| r.tags.get("spec.resolved"))?;
    attnlab_spec::parse_spec(text, Path::new("spec.resolved"), &[]).ok()?.description
}

/// The targets of the spec the runs were made from (its resolved text is
/// stored with every run), judged on the finished runs; the model is
/// prefixed with `experiment` when given.
fn targets(runs: &[RunRecord], experiment: Option<&str>) -> Vec<TargetVerdict> {
    let Some(text) = runs.iter().rev().find_map(|r| r.tags.get("spec.resolved")) else { return Vec::new() };
    let Ok(spec) = attnlab_spec::parse_spec(text, Path::new("spec.resolved"), &[]) else { return Vec::new() };
    let finished: Vec<(String, std::collections::BTreeMap<String, f64>)> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Finished)
        .map(|r| (r.name.clone(), r.metrics.clone()))
        .collect();
    target_rows(&spec.targets, &finished)
        .into_iter()
        .map(|t| TargetVerdict { model: experiment.map_or_else(|| t.model.clone(), |e| format!("{e}/{}", t.model)), ..t })
        .collect()
}

/// One column per `test.<metric>` logged by any run (the exposure metrics
/// among them), point-wise metrics first, then multi-task and ranking
/// metrics by name; then the cold items' metrics (`test.cold.<metric>`) and
/// the user-group gaps (`test.gap.<column>.<metric>`, lower is fairer), the
/// gap's CI bounds left to the run's own page.
fn metric_columns(runs: &[RunRecord]) -> Vec<MetricSpec> {
    columns(&runs.iter().flat_map(|r| r.metrics.keys().map(String::as_str)).collect())
}

/// [`metric_columns`] of the logged metric keys.
fn columns(logged: &BTreeSet<&str>) -> Vec<MetricSpec> {
    // (prefix, metric): "" for plain test metrics, "cold", "gap.gender"
    let mut metrics: Vec<(&str, TaskMetric)> = logged
        .iter()
        .filter_map(|k| k.strip_prefix("test."))
        .filter_map(|k| match TaskMetric::parse(k) {
            Ok(m) => Some(("", m)),
            Err(_) => {
                let (prefix, metric) = k.rsplit_once('.')?;
                let known = prefix == "cold" || prefix.strip_prefix("gap.").is_some_and(|c| !c.contains('.'));
                known.then(|| TaskMetric::parse(metric).ok().map(|m| (prefix, m))).flatten()
            }
        })
        .collect();
    let rank = |m: &TaskMetric| match m {
        TaskMetric::Metric(p) => Metric::ALL.iter().position(|a| a == p).unwrap_or(usize::MAX),
        // the providers' disparity of exposure: after the plain exposure metrics
        TaskMetric::ExposureDisparity(_) => usize::MAX,
        _ => 6,
    };
    let group = |prefix: &str| match prefix {
        "" => 0,
        "cold" => 1,
        _ => 2,
    };
    metrics.sort_by_key(|(prefix, m)| (group(prefix), *prefix, rank(m), m.name()));
    metrics
        .into_iter()
        .map(|(prefix, m)| match prefix {
            "" => MetricSpec { key: format!("test.{}", m.name()), label: format!("Test {}", m.name().to_uppercase()), higher_is_better: m.higher_is_better() },
            _ => MetricSpec {
                key: format!("test.{prefix}.{}", m.name()),
                label: format!("Test {} {}", prefix.replace('.', " "), m.name().to_uppercase()),
                higher_is_better: prefix == "cold" && m.higher_is_better(),
            },
        })
        .collect()
}

fn summarise(store: &Store, r: &RunRecord) -> Result<RunSummary> {
    let mut curves = std::collections::BTreeMap::new();
    for key in store.metric_keys(&r.id)? {
        if key == "train.loss" || key.starts_with("valid.") || key == "privacy.epsilon" {
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
        experiment: r.experiment.clone(),
        data_fingerprint: r.tags.get("data.fingerprint").cloned().unwrap_or_default(),
        sweep: r.tags.get("sweep.values").map(|v| parse_sweep_values(v)).unwrap_or_default(),
    })
}

/// `lr=0.01 attention_hidden=[36, 18]` -> `[("lr", "0.01"), ("attention_hidden", "[36, 18]")]`:
/// a word starts a new pair when it is `key=...` with a plain dotted key,
/// otherwise it continues the previous value (lists hold spaces).
fn parse_sweep_values(label: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for word in label.split(' ') {
        let starts_pair = word
            .split_once('=')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')));
        match (starts_pair, out.last_mut()) {
            (false, Some((_, value))) => {
                value.push(' ');
                value.push_str(word);
            }
            _ => {
                let (k, v) = word.split_once('=').unwrap_or((word, ""));
                out.push((k.to_string(), v.to_string()));
            }
        }
    }
    out.retain(|(k, _)| !k.is_empty());
    out
}

/// The attention sample of the first finished run of each run name (per
/// experiment) that saved one; one per model keeps the section small.
fn attention(store: &Store, runs: &[RunRecord], many: bool, notes: &mut Vec<String>) -> Result<Vec<AttentionRun>> {
    let mut out: Vec<AttentionRun> = Vec::new();
    let mut done: BTreeSet<(&str, &str)> = BTreeSet::new();
    for r in runs.iter().filter(|r| r.status == RunStatus::Finished) {
        if done.contains(&(r.experiment.as_str(), r.name.as_str())) {
            continue;
        }
        let path = store.artifact_path(&r.id, ATTENTION_ARTIFACT)?;
        if !path.is_file() {
            continue;
        }
        done.insert((&r.experiment, &r.name));
        let text = std::fs::read_to_string(&path).map_err(|source| ExperimentError::Io { what: format!("reading {}", path.display()), source })?;
        match serde_json::from_str::<AttentionSample>(&text) {
            Ok(sample) => out.push(AttentionRun { run: run_label(r, many), sample }),
            Err(e) => notes.push(format!("The attention sample of run {} ({}) is unreadable: {e}", &r.id[..8.min(r.id.len())], path.display())),
        }
    }
    Ok(out)
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
    for r in runs.iter().filter(|r| r.tags.contains_key("error")) {
        notes.push(format!("Run {} ({}, seed {}) failed: {}", &r.id[..8.min(r.id.len())], r.name, r.seed, r.tags["error"]));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::{columns, parse_sweep_values};

    /// Exposure metrics are plain ranking columns, the providers' disparity
    /// of exposure right after them; cold-item metrics and group gaps get
    /// their own columns after those (a gap: lower is better); CI bounds,
    /// per-provider shares and unknown keys get none.
    #[test]
    fn cold_and_gap_metrics_get_columns_after_the_plain_ones() {
        let logged = [
            "test.ndcg@10",
            "test.exposuregini@10",
            "test.longtailshare@10",
            "test.exposure.disparity@10",
            "test.exposure.share.A@10",
            "test.cold.ndcg@10",
            "test.gap.gender.ndcg@10",
            "test.gap.gender.ndcg@10.ci_low",
            "test.other.ndcg@10",
            "train.seconds",
        ];
        let columns = columns(&logged.into_iter().collect());
        let got: Vec<(&str, &str, bool)> = columns.iter().map(|c| (c.key.as_str(), c.label.as_str(), c.higher_is_better)).collect();
        assert_eq!(
            got,
            [
                ("test.ndcg@10", "Test NDCG@10", true),
                ("test.exposuregini@10", "Test EXPOSUREGINI@10", false),
                ("test.longtailshare@10", "Test LONGTAILSHARE@10", true),
                ("test.exposure.disparity@10", "Test EXPOSURE.DISPARITY@10", false),
                ("test.cold.ndcg@10", "Test cold NDCG@10", true),
                ("test.gap.gender.ndcg@10", "Test gap gender NDCG@10", false),
            ]
        );
    }

    #[test]
    fn sweep_labels_split_into_pairs_with_lists_kept_whole() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(parse_sweep_values("lr=0.01 embed_dim=8"), pairs(&[("lr", "0.01"), ("embed_dim", "8")]));
        assert_eq!(
            parse_sweep_values("attention_hidden=[36, 18] train.optimizer.name=adam"),
            pairs(&[("attention_hidden", "[36, 18]"), ("train.optimizer.name", "adam")])
        );
        assert!(parse_sweep_values("").is_empty());
    }
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
