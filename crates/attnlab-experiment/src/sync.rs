//! Mirroring runs to an MLflow tracking server.

use std::time::Duration;

use attnlab_track::mlflow::MlflowClient;
use attnlab_track::{sync_to_mlflow, RunFilter, Store, SyncReport};

use crate::{ExperimentError, Result};

/// What the mirror at the end of a run may spend on a server: a dead one
/// costs this, and the next sync sends what was not sent.
pub const MIRROR_BUDGET: Duration = Duration::from_secs(20);

/// Pushes what is new since the last sync (all experiments, or one) to the
/// server at `uri`, into MLflow experiment `target` (default: the same
/// name), spending at most `budget` on the server.
pub fn push(store: &Store, uri: &str, experiment: Option<&str>, target: Option<&str>, budget: Duration) -> Result<SyncReport> {
    let client = MlflowClient::new(uri).map_err(|e| ExperimentError::bad(format!("--uri: {e}")))?.with_budget(budget);
    let filter = RunFilter { experiment: experiment.map(str::to_string), ..Default::default() };
    Ok(sync_to_mlflow(store, &client, &filter, target)?)
}

/// The server a spec's runs are mirrored to: `tracking.mlflow`, else `env_uri`
/// (`ATTNLAB_MLFLOW_URI`) when set and not empty.
pub fn mirror_uri(spec: &attnlab_spec::Spec, env_uri: Option<String>) -> Option<String> {
    spec.tracking.mlflow.clone().or_else(|| env_uri.filter(|u| !u.is_empty()))
}
