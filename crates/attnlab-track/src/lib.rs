//! attnlab-track: an embedded SQLite run store modelled on MLflow tracking.
//!
//! Experiments group runs; a run holds params, tags and a metric history.
//! This is the only crate that talks to SQLite, so the schema and its
//! migrations live here and nowhere else. One [`Store`] wraps one connection;
//! several processes or threads may each open their own handle on the same
//! file (WAL journal, busy timeout, IMMEDIATE write transactions).

mod error;
mod model;
mod schema;
mod store;

pub use error::{ParseRunStatusError, Result, TrackError};
pub use model::{ExperimentRecord, MetricPoint, NewRun, RunRecord, RunStatus};
pub use store::Store;

/// Number of schema migrations this build knows; equals `PRAGMA user_version` of an up-to-date store.
pub fn schema_version() -> i64 {
    schema::latest_version()
}
