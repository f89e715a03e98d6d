//! Plain-data input of a report. Defined here rather than borrowed from the
//! tracking crate so the report can be produced from any source.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything shown in one comparison report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportInput {
    pub experiment: String,
    pub description: Option<String>,
    /// Caller-supplied timestamp text; the report never reads the clock so
    /// output stays deterministic.
    pub generated_at: String,
    /// Columns of the results table, in order.
    pub metrics: Vec<MetricSpec>,
    pub runs: Vec<RunSummary>,
    /// Key/value lines of the "Protocol" panel.
    pub protocol: Vec<(String, String)>,
    /// Free-form notes, e.g. "best possible test AUC (simulator oracle): 0.7312".
    pub notes: Vec<String>,
    /// Paired comparisons of runs against a baseline on per-user values.
    pub significance: Vec<Significance>,
    /// Published numbers and whether the runs reproduce them.
    pub targets: Vec<TargetVerdict>,
    /// Shown prominently at the top, e.g. that experiments with different
    /// protocols were compared anyway (`--force`).
    pub warnings: Vec<String>,
    /// Attention weights of sample users, one entry per attention model run.
    pub attention: Vec<crate::AttentionRun>,
    /// The experiment's latest offline A/B test on the simulated ad market.
    pub ab_test: Option<crate::AbTestReport>,
    /// The experiment's latest off-policy evaluation.
    pub ope: Option<crate::OpeSection>,
}

impl ReportInput {
    /// Per metric column, the best value among finished runs with a finite
    /// value (what tables mark as best).
    pub fn best_per_metric(&self) -> Vec<Option<f64>> {
        self.metrics
            .iter()
            .map(|m| {
                self.runs
                    .iter()
                    .filter(|r| crate::html::is_finished(&r.status))
                    .filter_map(|r| r.metrics.get(&m.key).copied().filter(|v| v.is_finite()))
                    .reduce(|a, b| if m.higher_is_better { a.max(b) } else { a.min(b) })
            })
            .collect()
    }
}

/// One reproduction target, already judged (all fields are display text).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetVerdict {
    pub model: String,
    pub metric: String,
    pub published: String,
    pub measured: String,
    pub diff: String,
    /// REPRODUCED, WITHIN NOISE or NOT REPRODUCED.
    pub verdict: String,
    pub source: String,
}

/// One run compared with the baseline on one metric, user by user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Significance {
    /// The compared run, e.g. `din (seed 2024)`.
    pub run: String,
    pub baseline: String,
    pub metric: String,
    /// Users present in both runs.
    pub users: usize,
    /// Mean of (run - baseline) per user, with its bootstrap 95% interval.
    pub mean_diff: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub t_p: f64,
    pub wilcoxon_p: f64,
    /// Wilcoxon p-value after Holm's correction across the table.
    pub holm_p: f64,
    /// `***`, `**`, `*` or empty, from the Holm-corrected p-value.
    pub stars: String,
}

/// One column of the results table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSpec {
    /// Key into [`RunSummary::metrics`], e.g. `"test.auc"`.
    pub key: String,
    /// Column header, e.g. `"Test AUC"`.
    pub label: String,
    /// Decides which value is marked best: max if true, min otherwise.
    pub higher_is_better: bool,
}

/// Summary of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    pub id: String,
    /// Short run name, e.g. `"din"`; used in the table and chart legends.
    pub name: String,
    /// Model name, e.g. `"DIN"`.
    pub model: String,
    pub seed: u64,
    /// Run status, e.g. `"FINISHED"`; only finished runs compete for "best".
    pub status: String,
    pub duration_s: Option<f64>,
    pub params: Vec<(String, String)>,
    /// Summary values keyed like [`MetricSpec::key`].
    pub metrics: BTreeMap<String, f64>,
    /// Per-epoch history, e.g. `"valid.auc" -> [(1, 0.61), (2, 0.65)]`.
    pub curves: BTreeMap<String, Vec<(i64, f64)>>,
    /// The experiment the run belongs to (several in a side-by-side report).
    pub experiment: String,
    /// The data/protocol fingerprint: runs with different ones are not
    /// directly comparable, and the report says so.
    pub data_fingerprint: String,
    /// The sweep trial's values as `(key, value)` texts; empty outside sweeps.
    pub sweep: Vec<(String, String)>,
}
