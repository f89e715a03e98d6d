//! Merging another store into this one: `attnlab runs import`, for the
//! per-task stores of an array job (SQLite on a shared network file system
//! is not safe for concurrent writers, so each task writes its own).

use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::Serialize;

use crate::error::{Result, TrackError};
use crate::store::Store;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Runs new to this store.
    pub added: usize,
    /// Runs this store had unfinished and the source had FINISHED: replaced.
    pub replaced: usize,
    /// Runs already here (the same or a less finished copy in the source).
    pub unchanged: usize,
    /// Artifact files copied.
    pub artifacts: usize,
    /// Parents of the imported runs (sweeps to settle).
    pub parents: Vec<String>,
}

/// A store file as given, or the `attnlab.db` files under a folder
/// (sorted): what `import` reads. A path that is neither, or a folder
/// without any, is [`TrackError::NoStoreFound`].
pub fn store_files(source: &Path) -> Result<Vec<PathBuf>> {
    let none = |reason: &str| TrackError::NoStoreFound { path: source.to_path_buf(), reason: reason.into() };
    if source.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    if !source.is_dir() {
        return Err(none("no such store file or folder"));
    }
    let mut found = Vec::new();
    let mut pending = vec![source.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let unreadable = |e: std::io::Error| none(&format!("cannot read {}: {e}", dir.display()));
        for entry in std::fs::read_dir(&dir).map_err(unreadable)? {
            let path = entry.map_err(unreadable)?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n == "attnlab.db") {
                found.push(path);
            }
        }
    }
    if found.is_empty() {
        return Err(none("no attnlab.db store found there"));
    }
    found.sort();
    Ok(found)
}

impl Store {
    /// Copies every run of the store at `source` that this store lacks,
    /// with its experiment (matched by name), params, tags, metrics and
    /// artifacts (rows and files). A run already here is kept, unless this
    /// copy is unfinished and the source's is FINISHED: then the source's
    /// replaces it. Importing the same store twice changes nothing. All rows
    /// go in one transaction; the source is opened (and migrated) as a
    /// store of its own first, so an older schema is upgraded, not misread.
    pub fn import(&self, source: &Path) -> Result<ImportReport> {
        const OP: &str = "import store";
        if !source.is_file() {
            return Err(TrackError::Open {
                path: source.to_path_buf(),
                source: rusqlite::Error::InvalidPath(source.to_path_buf()),
            });
        }
        let src = Store::open(source)?;
        let same = std::fs::canonicalize(source).ok() == std::fs::canonicalize(&self.path).ok();
        if same {
            return Ok(ImportReport { unchanged: src.run_count()?, ..Default::default() });
        }
        let src_artifacts = src.artifacts_root();
        drop(src);
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [source.to_string_lossy()])
            .map_err(self.err(OP))?;
        let outcome = self.write(OP, |tx| {
            // Children may arrive before their parents within a statement.
            tx.pragma_update(None, "defer_foreign_keys", true).map_err(self.err(OP))?;
            tx.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS import_plan (id TEXT PRIMARY KEY, replace INTEGER NOT NULL);
                 DELETE FROM import_plan;
                 INSERT INTO import_plan (id, replace)
                   SELECT s.id, m.id IS NOT NULL FROM src.runs s LEFT JOIN main.runs m ON m.id = s.id
                   WHERE m.id IS NULL OR (m.status <> 'FINISHED' AND s.status = 'FINISHED');",
            )
            .map_err(self.err(OP))?;
            let count = |sql: &str| -> Result<usize> {
                tx.query_row(sql, [], |row| row.get::<_, i64>(0)).map(|n| n as usize).map_err(self.err(OP))
            };
            let replaced = count("SELECT COUNT(*) FROM import_plan WHERE replace")?;
            let added = count("SELECT COUNT(*) FROM import_plan WHERE NOT replace")?;
            let unchanged = count("SELECT COUNT(*) FROM src.runs")? - added - replaced;
            let replaced_ids = "(SELECT id FROM import_plan WHERE replace)";
            let planned = "(SELECT id FROM import_plan)";
            for table in ["metrics", "params", "tags", "artifacts", "sync_state"] {
                tx.execute(&format!("DELETE FROM main.{table} WHERE run_id IN {replaced_ids}"), [])
                    .map_err(self.err(OP))?;
            }
            tx.execute_batch(&format!(
                "DELETE FROM main.runs WHERE id IN {replaced_ids};
                 INSERT OR IGNORE INTO main.experiments (name, created_ms)
                   SELECT name, created_ms FROM src.experiments;
                 INSERT INTO main.runs (id, experiment_id, name, model, seed, run_key, status, start_ms, end_ms,
                                        parent_run_id, pid, host, heartbeat_ms, proc_start, boot_id, pid_ns)
                   SELECT s.id, me.id, s.name, s.model, s.seed, s.run_key, s.status, s.start_ms, s.end_ms,
                          s.parent_run_id, s.pid, s.host, s.heartbeat_ms, s.proc_start, s.boot_id, s.pid_ns
                   FROM src.runs s
                   JOIN src.experiments se ON se.id = s.experiment_id
                   JOIN main.experiments me ON me.name = se.name
                   WHERE s.id IN {planned};
                 INSERT INTO main.params (run_id, key, value)
                   SELECT run_id, key, value FROM src.params WHERE run_id IN {planned};
                 INSERT INTO main.tags (run_id, key, value)
                   SELECT run_id, key, value FROM src.tags WHERE run_id IN {planned};
                 INSERT INTO main.metrics (run_id, key, value, step, timestamp_ms)
                   SELECT run_id, key, value, step, timestamp_ms FROM src.metrics
                   WHERE run_id IN {planned} ORDER BY id;
                 INSERT INTO main.artifacts (run_id, path, size, sha256, created_ms)
                   SELECT run_id, path, size, sha256, created_ms FROM src.artifacts WHERE run_id IN {planned};"
            ))
            .map_err(self.err(OP))?;
            // A run whose parent is neither here nor in the source becomes top-level.
            tx.execute(
                &format!(
                    "UPDATE main.runs SET parent_run_id = NULL WHERE id IN {planned}
                     AND parent_run_id IS NOT NULL AND parent_run_id NOT IN (SELECT id FROM main.runs)"
                ),
                [],
            )
            .map_err(self.err(OP))?;
            let mut stmt = tx
                .prepare(&format!(
                    "SELECT DISTINCT parent_run_id FROM main.runs WHERE id IN {planned} AND parent_run_id IS NOT NULL"
                ))
                .map_err(self.err(OP))?;
            let parents = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            let mut stmt = tx
                .prepare(&format!("SELECT run_id, path FROM src.artifacts WHERE run_id IN {planned}"))
                .map_err(self.err(OP))?;
            let files = stmt
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            // Files are copied before the rows commit: a failed copy rolls
            // the rows back, so no row ever points at a missing file.
            for (run_id, rel) in &files {
                self.copy_artifact(&src_artifacts, run_id, rel)?;
            }
            Ok(ImportReport { added, replaced, unchanged, artifacts: files.len(), parents })
        });
        let detach = self.conn.execute("DETACH DATABASE src", []).map_err(self.err(OP));
        let report = outcome?;
        detach?;
        Ok(report)
    }

    fn copy_artifact(&self, src_root: &Path, run_id: &str, rel: &str) -> Result<()> {
        let dest = self.artifact_path(run_id, rel)?;
        let from: PathBuf = src_root.join(run_id).join(rel);
        let io = |source: std::io::Error| TrackError::ImportArtifact { path: self.path.clone(), file: from.clone(), source };
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::copy(&from, &dest).map_err(io)?;
        Ok(())
    }

    fn run_count(&self) -> Result<usize> {
        self.conn
            .query_row("SELECT COUNT(*) FROM runs", params![], |row| row.get::<_, i64>(0))
            .map(|n| n as usize)
            .map_err(self.err("count runs"))
    }

    /// Sets a parent run's status from its children's (the latest attempt
    /// of each run key): FINISHED when every child finished, FAILED when none is still RUNNING but some did not
    /// finish, unchanged (RUNNING) while any child runs. Returns the status
    /// set, or `None` when it has no children yet.
    pub fn settle_parent(&self, parent: &str) -> Result<Option<crate::RunStatus>> {
        use crate::RunStatus;
        const OP: &str = "settle parent run";
        let statuses: Vec<String> = self.read(OP, |tx| {
            self.require_run(tx, parent)?;
            // a retried trial counts by its latest attempt
            let mut stmt = tx
                .prepare_cached(
                    "SELECT status FROM runs r WHERE parent_run_id = ?1 AND NOT EXISTS (
                       SELECT 1 FROM runs n WHERE n.parent_run_id = ?1 AND n.run_key = r.run_key
                       AND (n.start_ms > r.start_ms OR (n.start_ms = r.start_ms AND n.rowid > r.rowid)))",
                )
                .map_err(self.err(OP))?;
            let rows = stmt.query_map([parent], |row| row.get(0)).map_err(self.err(OP))?;
            rows.collect::<rusqlite::Result<Vec<String>>>().map_err(self.err(OP))
        })?;
        if statuses.is_empty() {
            return Ok(None);
        }
        let status = if statuses.iter().all(|s| s == RunStatus::Finished.as_str()) {
            RunStatus::Finished
        } else if statuses.iter().any(|s| s == RunStatus::Running.as_str()) {
            RunStatus::Running
        } else {
            RunStatus::Failed
        };
        self.finish_run(parent, status)?;
        Ok(Some(status))
    }
}
