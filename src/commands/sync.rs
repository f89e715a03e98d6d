//! `attnlab sync mlflow`: mirror runs to an MLflow tracking server.

use std::path::Path;
use std::time::Duration;

use attnlab_track::mlflow::MlflowClient;
use attnlab_track::{sync_to_mlflow, RunFilter, Store, SyncReport};

use crate::exit::{open_existing_store, BadInput};

/// What the mirror at the end of `attnlab run` may spend on a server: a
/// dead one costs this, and the next sync sends what was not sent.
const MIRROR_BUDGET: Duration = Duration::from_secs(20);

pub fn sync_mlflow(uri: &str, experiment: Option<&str>, target: Option<&str>, budget: Duration, store_path: &Path) -> anyhow::Result<()> {
    let store = open_existing_store(store_path)?;
    let report = push_within(&store, uri, experiment, target, budget)?;
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

/// Pushes what is new since the last sync (all experiments, or one),
/// within [`MIRROR_BUDGET`].
pub fn push(store: &Store, uri: &str, experiment: Option<&str>, target: Option<&str>) -> anyhow::Result<SyncReport> {
    push_within(store, uri, experiment, target, MIRROR_BUDGET)
}

fn push_within(store: &Store, uri: &str, experiment: Option<&str>, target: Option<&str>, budget: Duration) -> anyhow::Result<SyncReport> {
    let client = MlflowClient::new(uri).map_err(|e| BadInput(format!("--uri: {e}")))?.with_budget(budget);
    let filter = RunFilter { experiment: experiment.map(str::to_string), ..Default::default() };
    Ok(sync_to_mlflow(store, &client, &filter, target)?)
}
