//! Claiming a run identity. Two `attnlab run` processes of one spec into
//! one store must never train the same model x seed x trial at once (both
//! would write the same checkpoint folder): the check for a live or
//! finished attempt and the insert of the new RUNNING row share one
//! IMMEDIATE transaction, so exactly one process wins.

use rusqlite::{OptionalExtension, params};

use crate::error::Result;
use crate::host::{Liveness, host_name};
use crate::model::{NewRun, RunStatus};
use crate::reaper::{running_writer, running_writers_of_key};
use crate::store::Store;

/// What [`Store::claim_run`] found for a run identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process now owns the RUNNING run `id`. `previous` is the status
    /// of the identity's latest earlier attempt (KILLED: a checkpoint to
    /// resume from).
    Created { id: String, previous: Option<RunStatus> },
    /// The identity already FINISHED as run `id` (and re-running was not asked).
    Finished { id: String },
    /// Another process is training it right now; `owner` says who.
    InUse { id: String, owner: String },
}

impl Store {
    /// Claims the identity `new.run_key`: refuses it while an attempt is
    /// RUNNING under a live writer (or one this host cannot check), returns
    /// the finished run unless `rerun_finished`, and otherwise creates the
    /// run as [`Store::create_run`] does. A RUNNING attempt whose writer is
    /// dead is marked KILLED on the way, so the new run resumes it.
    pub fn claim_run(&self, new: &NewRun, rerun_finished: bool) -> Result<Claim> {
        const OP: &str = "claim run";
        let here = host_name();
        self.write(OP, |tx| {
            for writer in running_writers_of_key(tx, &new.run_key).map_err(self.err(OP))? {
                if writer.writer(&here) != Liveness::Dead {
                    return Ok(Claim::InUse { id: writer.id().to_owned(), owner: writer.owner() });
                }
                tx.prepare_cached(
                    "UPDATE runs SET status = ?1, end_ms = COALESCE(heartbeat_ms, start_ms) WHERE id = ?2 AND status = 'RUNNING'",
                )
                .and_then(|mut stmt| stmt.execute(params![RunStatus::Killed.as_str(), writer.id()]))
                .map_err(self.err(OP))?;
            }
            if !rerun_finished {
                let finished: Option<String> = tx
                    .prepare_cached("SELECT id FROM runs WHERE run_key = ?1 AND status = 'FINISHED' ORDER BY start_ms DESC, rowid DESC LIMIT 1")
                    .and_then(|mut stmt| stmt.query_row([&new.run_key], |row| row.get(0)).optional())
                    .map_err(self.err(OP))?;
                if let Some(id) = finished {
                    return Ok(Claim::Finished { id });
                }
            }
            let previous: Option<String> = tx
                .prepare_cached("SELECT status FROM runs WHERE run_key = ?1 ORDER BY start_ms DESC, rowid DESC LIMIT 1")
                .and_then(|mut stmt| stmt.query_row([&new.run_key], |row| row.get(0)).optional())
                .map_err(self.err(OP))?;
            let previous = previous
                .map(|s| s.parse::<RunStatus>().map_err(|e| self.corrupt(format!("run key {}: {e}", new.run_key))))
                .transpose()?;
            let id = uuid::Uuid::new_v4().simple().to_string();
            self.insert_run(tx, &id, new)?;
            Ok(Claim::Created { id, previous })
        })
    }

    /// Whether run `run_id` is still RUNNING under a live writer (or one this
    /// host cannot check): what a process refused by [`Store::claim_run`]
    /// polls, cheaply, before it claims again.
    pub fn in_use(&self, run_id: &str) -> Result<bool> {
        const OP: &str = "check run in use";
        let here = host_name();
        self.read(OP, |tx| {
            let writer = running_writer(tx, run_id).map_err(self.err(OP))?;
            Ok(writer.is_some_and(|w| w.writer(&here) != Liveness::Dead))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_run() -> NewRun {
        NewRun { experiment: "e".into(), name: "din".into(), model: "DIN".into(), seed: 1, run_key: "k".into(), ..Default::default() }
    }

    fn created(claim: Claim) -> (String, Option<RunStatus>) {
        match claim {
            Claim::Created { id, previous } => (id, previous),
            other => panic!("expected a new run, got {other:?}"),
        }
    }

    #[test]
    fn an_identity_has_one_live_attempt_and_a_finished_one_is_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("s.db")).unwrap();
        let (first, previous) = created(store.claim_run(&new_run(), false).unwrap());
        assert_eq!(previous, None);
        // this process is alive: a second claim is refused, naming it
        assert!(store.in_use(&first).unwrap());
        match store.claim_run(&new_run(), true).unwrap() {
            Claim::InUse { id, owner } => {
                assert_eq!(id, first);
                assert!(owner.contains(&format!("pid {}", std::process::id())), "{owner}");
            }
            other => panic!("expected in use, got {other:?}"),
        }
        store.finish_run(&first, RunStatus::Finished).unwrap();
        assert!(!store.in_use(&first).unwrap());
        assert_eq!(store.claim_run(&new_run(), false).unwrap(), Claim::Finished { id: first.clone() });
        let (again, previous) = created(store.claim_run(&new_run(), true).unwrap());
        assert_eq!(previous, Some(RunStatus::Finished), "a forced re-run");
        assert_ne!(again, first);
        assert_eq!(store.runs("e").unwrap().len(), 2);
    }

    #[test]
    fn an_attempt_whose_writer_died_is_killed_and_resumed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("s.db")).unwrap();
        let (dead, _) = created(store.claim_run(&new_run(), false).unwrap());
        // a pid that cannot exist stands for a writer that died
        store.conn.execute("UPDATE runs SET pid = 2147483647, proc_start = 1 WHERE id = ?1", [&dead]).unwrap();
        assert!(!store.in_use(&dead).unwrap(), "a dead writer's run is not in use");
        let (_, previous) = created(store.claim_run(&new_run(), false).unwrap());
        assert_eq!(previous, Some(RunStatus::Killed));
        assert_eq!(store.run(&dead).unwrap().status, RunStatus::Killed);
    }
}
