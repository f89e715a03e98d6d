//! Plain record types passed into and out of the store.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::error::ParseRunStatusError;

/// Milliseconds since the Unix epoch; a clock before 1970 reads as 0.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Everything needed to register a run before training starts.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// Experiment name; created if it does not exist yet.
    pub experiment: String,
    pub name: String,
    pub model: String,
    pub seed: u64,
    /// Content fingerprint of spec + seed + data + code, so identical runs can be found.
    pub run_key: String,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// Run this one belongs to (a sweep or a multi-seed group); must exist.
    pub parent: Option<String>,
}

/// One observation of a metric at a training step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricPoint {
    pub key: String,
    pub value: f64,
    pub step: i64,
    pub timestamp_ms: i64,
}

impl MetricPoint {
    /// A point stamped with the current wall-clock time.
    pub fn now(key: impl Into<String>, value: f64, step: i64) -> Self {
        MetricPoint {
            key: key.into(),
            value,
            step,
            timestamp_ms: now_ms(),
        }
    }
}

/// Lifecycle state of a run; stored as the upper-case names MLflow uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 4] = [
        RunStatus::Running,
        RunStatus::Finished,
        RunStatus::Failed,
        RunStatus::Killed,
    ];

    /// The spelling stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = ParseRunStatusError;

    /// Accepts the stored spelling in any case, so CLI filters like `--status failed` work.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseRunStatusError(s.to_owned()))
    }
}

/// A run as read back from the store, with its summary metrics.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub experiment: String,
    pub name: String,
    pub model: String,
    pub seed: u64,
    pub run_key: String,
    pub status: RunStatus,
    pub start_ms: i64,
    /// `None` while the run is still RUNNING.
    pub end_ms: Option<i64>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// For each key, the value at the largest step (ties: latest timestamp, then latest insert).
    pub metrics: BTreeMap<String, f64>,
    /// The run this one belongs to; `None` for top-level runs and once the parent is deleted.
    pub parent: Option<String>,
    /// Process id of the writer that created the run (`None` for runs from schema v1).
    pub pid: Option<i64>,
    /// Host name of that writer.
    pub host: Option<String>,
    /// Last sign of life (ms since the epoch): creation, then each [`crate::Store::heartbeat`].
    pub heartbeat_ms: Option<i64>,
}

/// An experiment and how many runs it holds.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentRecord {
    pub id: i64,
    pub name: String,
    pub created_ms: i64,
    pub runs: usize,
}
