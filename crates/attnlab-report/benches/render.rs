//! `cargo bench -p attnlab-report`: the time to render a 1,000-run report
//! (10 models x 100 seeds, 50 epochs of two curves each) from memory. The
//! end-to-end figure, store reads included, is `scripts/bench-report.sh`.

use std::collections::BTreeMap;
use std::time::Instant;

use attnlab_report::{render_html, MetricSpec, ReportInput, RunSummary};

fn main() {
    let mut runs = Vec::new();
    for m in 0..10 {
        for seed in 0..100u64 {
            let mut curves = BTreeMap::new();
            for key in ["train.loss", "valid.auc"] {
                curves.insert(key.to_string(), (1..=50).map(|e| (e, 0.5 + 0.001 * e as f64 + 0.0001 * seed as f64)).collect());
            }
            runs.push(RunSummary {
                id: format!("{m}-{seed}"),
                name: format!("model{m}"),
                model: "DIN".into(),
                seed,
                status: "FINISHED".into(),
                params: vec![("model.dim".into(), (8 * (m + 1)).to_string())],
                metrics: BTreeMap::from([("test.auc".into(), 0.6 + 0.01 * m as f64 + 0.0001 * seed as f64)]),
                curves,
                experiment: "big".into(),
                data_fingerprint: "f00d".into(),
                ..Default::default()
            });
        }
    }
    let input = ReportInput {
        experiment: "big".into(),
        metrics: vec![MetricSpec { key: "test.auc".into(), label: "Test AUC".into(), higher_is_better: true }],
        runs,
        ..Default::default()
    };
    let rounds = 5;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes = render_html(&input).expect("render").len();
    }
    let per = started.elapsed().as_secs_f64() / f64::from(rounds);
    println!("render_html, 1,000 runs: {:.1} ms per report, {bytes} bytes", per * 1000.0);
}
