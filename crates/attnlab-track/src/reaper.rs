//! Crash recovery: runs whose writer died without finishing them.
//!
//! A process killed by SIGKILL, the OOM killer or a power cut leaves its
//! run RUNNING forever. [`Store::reap_dead_runs`] finds such runs and marks
//! them KILLED, ending them at their last heartbeat. Metrics already logged
//! are kept: every batch was its own committed transaction.

use std::time::Duration;

use rusqlite::params;

use crate::error::Result;
use crate::host::{Liveness, Recorded, host_name, liveness};
use crate::model::{RunStatus, now_ms};
use crate::store::Store;

/// A RUNNING run and what it recorded about its writer.
pub(crate) struct Candidate {
    id: String,
    pid: Option<i64>,
    host: Option<String>,
    proc_start: Option<i64>,
    boot_id: Option<String>,
    pid_ns: Option<String>,
    last_seen_ms: i64,
}

/// The columns [`candidate`] reads.
const CANDIDATE_COLUMNS: &str = "id, pid, host, proc_start, boot_id, pid_ns, COALESCE(heartbeat_ms, start_ms)";

fn candidate(row: &rusqlite::Row<'_>) -> rusqlite::Result<Candidate> {
    Ok(Candidate {
        id: row.get(0)?,
        pid: row.get(1)?,
        host: row.get(2)?,
        proc_start: row.get(3)?,
        boot_id: row.get(4)?,
        pid_ns: row.get(5)?,
        last_seen_ms: row.get(6)?,
    })
}

/// The RUNNING attempts of one run identity, read inside the caller's transaction.
pub(crate) fn running_writers_of_key(tx: &rusqlite::Transaction<'_>, run_key: &str) -> rusqlite::Result<Vec<Candidate>> {
    tx.prepare_cached(&format!("SELECT {CANDIDATE_COLUMNS} FROM runs WHERE run_key = ?1 AND status = 'RUNNING'"))?
        .query_map([run_key], candidate)?
        .collect()
}

impl Candidate {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Whether the recorded writer still runs; a writer on another host
    /// (or one that recorded nothing) cannot be checked from here.
    pub(crate) fn writer(&self, here: &str) -> Liveness {
        match (self.host.as_deref(), self.pid) {
            (Some(host), Some(pid)) if host == here => liveness(Recorded {
                pid,
                start_ticks: self.proc_start,
                boot_id: self.boot_id.as_deref(),
                pid_ns: self.pid_ns.as_deref(),
            }),
            _ => Liveness::Unknown,
        }
    }

    /// "pid 123 on host h", for messages.
    pub(crate) fn owner(&self) -> String {
        let pid = self.pid.map_or_else(|| "an unrecorded pid".to_owned(), |p| format!("pid {p}"));
        format!("{pid} on host {}", self.host.as_deref().unwrap_or("unknown"))
    }
}

/// The writer of one run if it is RUNNING, read inside the caller's transaction.
pub(crate) fn running_writer(tx: &rusqlite::Transaction<'_>, run_id: &str) -> rusqlite::Result<Option<Candidate>> {
    use rusqlite::OptionalExtension;
    tx.prepare_cached(&format!("SELECT {CANDIDATE_COLUMNS} FROM runs WHERE id = ?1 AND status = 'RUNNING'"))?
        .query_row([run_id], candidate)
        .optional()
}

impl Store {
    /// Marks KILLED (end time = last heartbeat, or start for runs that never
    /// had one) every RUNNING run whose writer is gone, and returns their ids,
    /// oldest first.
    ///
    /// - A run written on THIS host is dead when its process no longer exists,
    ///   is a zombie, or its pid now belongs to a process that started at a
    ///   different time (pid reuse), or the machine has rebooted since.
    /// - A run from another host (or an older store that did not record its
    ///   writer, or another container) cannot be checked; it is reaped only
    ///   when `stale_after` is given and its last heartbeat is older than that.
    ///
    /// Candidates are judged and updated inside one IMMEDIATE transaction, so
    /// a writer cannot finish its run between the check and the update.
    pub fn reap_dead_runs(&self, stale_after: Option<Duration>) -> Result<Vec<String>> {
        const OP: &str = "reap dead runs";
        let here = host_name();
        let now = now_ms();
        let stale_ms = stale_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        self.write(OP, |tx| {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {CANDIDATE_COLUMNS} FROM runs WHERE status = 'RUNNING' ORDER BY start_ms, rowid"
                ))
                .map_err(self.err(OP))?;
            let candidates = stmt
                .query_map([], candidate)
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            let mut update = tx
                .prepare_cached(
                    "UPDATE runs SET status = ?1, end_ms = COALESCE(heartbeat_ms, start_ms)
                     WHERE id = ?2 AND status = 'RUNNING'",
                )
                .map_err(self.err(OP))?;
            let mut reaped = Vec::new();
            for c in candidates {
                let dead = match c.writer(&here) {
                    Liveness::Dead => true,
                    Liveness::Alive => false,
                    Liveness::Unknown => {
                        stale_ms.is_some_and(|limit| now.saturating_sub(c.last_seen_ms) > limit)
                    }
                };
                if dead {
                    update
                        .execute(params![RunStatus::Killed.as_str(), c.id])
                        .map_err(self.err(OP))?;
                    reaped.push(c.id);
                }
            }
            Ok(reaped)
        })
    }
}
