//! Removing a run and everything that hangs off it.

use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Deletes a run with its params, tags, metrics, artifact rows and sync
    /// state in one transaction; its child runs become top-level (parent
    /// NULL). Then removes its artifact directory; if that fails the rows
    /// are already gone and the error names the directory left behind.
    /// Unknown run -> [`crate::TrackError::UnknownRun`].
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        const OP: &str = "delete run";
        self.write(OP, |tx| {
            self.require_run(tx, run_id)?;
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
