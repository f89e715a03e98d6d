//! How far each run has been pushed to each remote tracking server, so a
//! sync sends only what is new: metrics by their monotonically increasing
//! row id, params once, tags when their hash changes, the status once final.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::Result;
use crate::model::{MetricPoint, RunStatus};
use crate::store::Store;

/// Progress of one run towards one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncState {
    pub run_id: String,
    /// Which server and where on it, e.g. `http://mlflow:5000#experiment=ctr`.
    pub target: String,
    /// The run's id on the target.
    pub remote_run_id: String,
    /// Largest `metrics.id` already pushed; push rows with a larger id next (0: none yet).
    pub metrics_upto_id: i64,
    /// Params are immutable once a run is created, so they are sent once.
    pub params_done: bool,
    /// Hash of the tag set last pushed; `None` before the first push.
    pub tags_hash: Option<String>,
    /// Status last pushed; `None` before the first push.
    pub status_done: Option<RunStatus>,
}

impl Store {
    /// The sync progress of a run towards `target`, if it has been synced there.
    /// Unknown run -> [`crate::TrackError::UnknownRun`].
    pub fn sync_state(&self, run_id: &str, target: &str) -> Result<Option<SyncState>> {
        const OP: &str = "read sync state";
        self.read(OP, |tx| {
            self.require_run(tx, run_id)?;
            let row = tx
                .query_row(
                    "SELECT remote_run_id, metrics_upto_id, params_done, tags_hash, status_done
                     FROM sync_state WHERE run_id = ?1 AND target = ?2",
                    params![run_id, target],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, bool>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, Option<String>>(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(self.err(OP))?;
            row.map(|(remote_run_id, metrics_upto_id, params_done, tags_hash, status)| {
                let status_done = status
                    .map(|s| {
                        s.parse::<RunStatus>()
                            .map_err(|e| self.corrupt(format!("sync state of run {run_id}: {e}")))
                    })
                    .transpose()?;
                Ok(SyncState {
                    run_id: run_id.to_owned(),
                    target: target.to_owned(),
                    remote_run_id,
                    metrics_upto_id,
                    params_done,
                    tags_hash,
                    status_done,
                })
            })
            .transpose()
        })
    }

    /// Inserts or replaces the progress of `state.run_id` towards `state.target`.
    /// Unknown run -> [`crate::TrackError::UnknownRun`].
    pub fn set_sync_state(&self, state: &SyncState) -> Result<()> {
        const OP: &str = "write sync state";
        self.write(OP, |tx| {
            self.require_run(tx, &state.run_id)?;
            tx.execute(
                "INSERT INTO sync_state
                     (run_id, target, remote_run_id, metrics_upto_id, params_done, tags_hash, status_done)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(run_id, target) DO UPDATE SET
                     remote_run_id = excluded.remote_run_id,
                     metrics_upto_id = excluded.metrics_upto_id,
                     params_done = excluded.params_done,
                     tags_hash = excluded.tags_hash,
                     status_done = excluded.status_done",
                params![
                    state.run_id,
                    state.target,
                    state.remote_run_id,
                    state.metrics_upto_id,
                    state.params_done,
                    state.tags_hash,
                    state.status_done.map(RunStatus::as_str),
                ],
            )
            .map_err(self.err(OP))?;
            Ok(())
        })
    }

    /// Up to `limit` metric points of a run with row id greater than
    /// `after_id`, by id, each with its id. Ids grow with every insert
    /// (AUTOINCREMENT) and writers commit one at a time, so a reader never
    /// sees a gap that a later commit fills: pushing up to the last id
    /// returned and resuming after it misses nothing.
    /// Unknown run -> [`crate::TrackError::UnknownRun`].
    pub fn metrics_after(
        &self,
        run_id: &str,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<(i64, MetricPoint)>> {
        const OP: &str = "read new metrics";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(OP, |tx| {
            self.require_run(tx, run_id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id, key, value, step, timestamp_ms FROM metrics
                     WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                )
                .map_err(self.err(OP))?;
            let points = stmt
                .query_map(params![run_id, after_id, limit], |row| {
                    Ok((
                        row.get(0)?,
                        MetricPoint {
                            key: row.get(1)?,
                            value: row.get(2)?,
                            step: row.get(3)?,
                            timestamp_ms: row.get(4)?,
                        },
                    ))
                })
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            Ok(points)
        })
    }
}
