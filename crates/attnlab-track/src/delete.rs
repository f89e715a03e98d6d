//! Removing a run and everything that hangs off it.

use crate::error::{Result, TrackError};
use crate::host::{Liveness, host_name};
use crate::reaper::running_writer;
use crate::store::Store;

impl Store {
    /// Deletes a run with its params, tags, metrics, artifact rows and sync
    /// state in one transaction; its child runs become top-level (parent
    /// NULL). Then removes its artifact directory; if that fails the rows
    /// are already gone and the error names the directory left behind.
    /// Unknown run -> [`crate::TrackError::UnknownRun`].
    ///
    /// A RUNNING run whose writer is alive, or cannot be checked from this
    /// host, is refused ([`TrackError::RunInUse`]): deleting it under a
    /// training process would lose that run's result. `force` deletes it
    /// anyway (a stuck writer). A RUNNING run whose writer is dead goes
    /// without `force`. The check and the delete share one IMMEDIATE
    /// transaction, so the writer cannot finish in between.
    pub fn delete_run(&self, run_id: &str, force: bool) -> Result<()> {
        const OP: &str = "delete run";
        self.write(OP, |tx| {
            self.require_run(tx, run_id)?;
            if !force {
                let writer = running_writer(tx, run_id).map_err(self.err(OP))?;
                if let Some(writer) = writer.filter(|w| w.writer(&host_name()) != Liveness::Dead) {
                    return Err(TrackError::RunInUse {
                        path: self.path.clone(),
                        id: run_id.to_owned(),
                        owner: writer.owner(),
                    });
                }
            }
            for sql in [
                "DELETE FROM metrics WHERE run_id = ?1",
                "DELETE FROM params WHERE run_id = ?1",
                "DELETE FROM tags WHERE run_id = ?1",
                "DELETE FROM artifacts WHERE run_id = ?1",
                "DELETE FROM sync_state WHERE run_id = ?1",
                "UPDATE runs SET parent_run_id = NULL WHERE parent_run_id = ?1",
                "DELETE FROM runs WHERE id = ?1",
            ] {
                tx.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute([run_id]))
                    .map_err(self.err(OP))?;
            }
            Ok(())
        })?;
        self.remove_artifact_dir(run_id)
    }
}
