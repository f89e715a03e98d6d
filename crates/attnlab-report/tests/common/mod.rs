//! Inputs shared by the report's test files.

use std::collections::BTreeMap;

use attnlab_report::{MetricSpec, ReportInput, RunSummary};

/// 10 models x 100 seeds, 50 epochs of two curves each: the large case
/// whose page must stay small and open quickly.
pub fn thousand_runs() -> ReportInput {
    let mut runs = Vec::new();
    for m in 0..10 {
        for seed in 0..100u64 {
            let name = format!("model{m}");
            let auc = 0.6 + 0.01 * f64::from(m) + 0.0001 * seed as f64;
            let mut curves = BTreeMap::new();
            for key in ["train.loss", "valid.auc"] {
                curves.insert(key.to_string(), (1..=50).map(|e| (e, 0.5 + 0.001 * e as f64 + 0.0001 * seed as f64)).collect());
            }
            runs.push(RunSummary {
                id: format!("{name}-{seed}-{auc}"),
                model: name.to_uppercase(),
                name,
                seed,
                status: "FINISHED".into(),
                params: vec![("model.dim".into(), (8 * (m + 1)).to_string()), ("seed".into(), seed.to_string())],
                metrics: BTreeMap::from([("test.auc".into(), auc), ("best.valid.auc".into(), auc + 0.01)]),
                curves,
                experiment: "exp".into(),
                data_fingerprint: "fp1".into(),
                ..Default::default()
            });
        }
    }
    ReportInput {
        metrics: vec![MetricSpec { key: "test.auc".into(), label: "Test AUC".into(), higher_is_better: true }],
        runs,
        ..Default::default()
    }
}
