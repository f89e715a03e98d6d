//! attnlab-track: an embedded SQLite run store modelled on MLflow tracking.
//!
//! Experiments group runs; a run holds params, tags and a metric history.
//! This is the only crate that talks to SQLite, so the schema and its
//! migrations live here and nowhere else. One [`Store`] wraps one connection;
//! several processes or threads may each open their own handle on the same
//! file (WAL journal, busy timeout, IMMEDIATE write transactions).
//!
//! Beyond the basics ([`Store::create_run`], [`Store::log_metrics`],
//! [`Store::finish_run`], [`Store::runs`]):
//!
//! - **Lineage.** [`NewRun::parent`] groups runs (a sweep, the seeds of one
//!   configuration); deleting a parent leaves its children top-level.
//! - **Crash recovery.** A run records its writer (pid, process start time,
//!   boot id, host) and a heartbeat ([`Store::heartbeat`]).
//!   [`Store::reap_dead_runs`] marks KILLED the RUNNING runs whose writer is
//!   gone, keeping the metrics they logged.
//! - **Artifacts.** [`Store::log_artifact`] copies a file atomically to
//!   `<store dir>/artifacts/<run id>/<rel path>` and records its size and sha256.
//! - **Queries.** [`Store::find_runs`] filters in SQL by [`RunFilter`];
//!   [`diff_runs`] keeps what differs between runs; [`Store::resolve_run_id`]
//!   expands a short id prefix.
//! - **Sync bookkeeping.** [`SyncState`] records per remote target what has
//!   been pushed; [`Store::metrics_after`] reads the metrics logged since.
//! - **MLflow mirror.** [`sync_to_mlflow`] pushes runs to an MLflow server,
//!   idempotently and resumably (see [`sync`]).
//! - **Provenance.** [`Provenance::collect`] gathers git commit, lock-file
//!   hash, machine and command line as `prov.*` tags (no SQLite involved).
//! - [`Store::delete_run`] removes a run with everything that hangs off it.
//! - **Merging.** [`Store::import`] copies another store's runs in (the
//!   per-task stores of an array job); [`Store::settle_parent`] sets a
//!   sweep's parent run from its children.
//!
//! Schema changes are append-only migrations (`schema.rs`), applied on open.

mod artifacts;
mod claim;
mod delete;
mod error;
mod host;
mod import;
mod model;
mod provenance;
mod query;
mod reaper;
mod schema;
mod store;
mod sync_state;
pub mod mlflow;
pub mod sync;

pub use error::{ParseRunStatusError, Result, TrackError};
pub use model::{ExperimentRecord, MetricPoint, NewRun, RunRecord, RunStatus};
pub use store::Store;
pub use claim::Claim;
pub use import::{store_files, ImportReport};
pub use artifacts::{ArtifactRecord, ArtifactSource};
pub use provenance::{Provenance, peak_memory_bytes};
pub use query::{DiffRow, MAX_CANDIDATES, MIN_PREFIX, RunDiff, RunFilter, diff_runs};
pub use sync_state::SyncState;
pub use sync::{SyncError, SyncReport, sync_to_mlflow};

/// Number of schema migrations this build knows; equals `PRAGMA user_version` of an up-to-date store.
pub fn schema_version() -> i64 {
    schema::latest_version()
}
