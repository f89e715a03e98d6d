//! `attnlab sync mlflow`: mirror runs to an MLflow tracking server.

use std::path::Path;
use std::time::Duration;

use attnlab_experiment::sync::push;

use crate::exit::open_existing_store;

pub fn sync_mlflow(uri: &str, experiment: Option<&str>, target: Option<&str>, budget: Duration, store_path: &Path) -> anyhow::Result<()> {
    let store = open_existing_store(store_path)?;
    let report = push(&store, uri, experiment, target, budget)?;
    println!(
        "mlflow {uri}: {} runs created, {} updated, {} up to date; sent {} metric points, {} params, {} tags",
        report.runs_created,
        report.runs_updated,
        report.runs_skipped_up_to_date,
        report.metrics_sent,
        report.params_sent,
        report.tags_sent
    );
    if !report.failures.is_empty() {
        for (run, message) in &report.failures {
            eprintln!("run {run}: {message}");
        }
        anyhow::bail!("{} run(s) could not be synced", report.failures.len());
    }
    Ok(())
}
