//! Reproduction targets: each published number against what the runs measured.

use std::collections::BTreeMap;

use attnlab_eval::{verdict, Target};
use attnlab_spec::TargetSpec;
use attnlab_eval::TaskMetric;

/// One target with its verdict, ready for a table (the report's own row type).
pub use attnlab_report::TargetVerdict as TargetRow;

/// `runs`: (run name, test metrics by name) of every finished run.
pub fn target_rows(targets: &[TargetSpec], runs: &[(String, BTreeMap<String, f64>)]) -> Vec<TargetRow> {
    targets
        .iter()
        .map(|t| {
            // the spec may write NDCG@10; runs log ndcg@10
            let metric = TaskMetric::parse(&t.metric).map(|m| m.name()).unwrap_or_else(|_| t.metric.clone());
            let measured: Vec<f64> = runs
                .iter()
                .filter(|(name, _)| name == &t.model)
                .filter_map(|(_, metrics)| metrics.get(&format!("test.{metric}")).copied())
                .collect();
            let target = Target {
                model: t.model.clone(),
                metric: metric.clone(),
                value: t.value,
                tolerance: t.tolerance,
                std: t.std,
                source: t.source.clone(),
            };
            let spread = t.tolerance.or(t.std).map_or(String::new(), |d| format!(" ± {d}"));
            let (measured_text, diff, status) = match verdict(&target, &measured) {
                Ok(v) => (
                    format!("{:.4} ± {:.4} (n={})", v.mean, v.std, measured.len()),
                    format!("{:+.4}", v.diff),
                    v.status.to_string(),
                ),
                Err(e) => ("-".into(), "-".into(), format!("NO MEASUREMENT ({e})")),
            };
            TargetRow {
                model: t.model.clone(),
                metric,
                published: format!("{}{spread}", t.value),
                measured: measured_text,
                diff,
                verdict: status,
                source: t.source.clone(),
            }
        })
        .collect()
}
