//! The SQLite-backed run store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::{Result, TrackError};
use crate::host::ProcessIdentity;
use crate::model::{ExperimentRecord, MetricPoint, NewRun, RunRecord, RunStatus, now_ms};
use crate::schema::{MIGRATIONS, latest_version};

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to a run store file. Open one `Store` per thread or
/// process; they coordinate through SQLite's locks, not through Rust.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

/// The columns of `runs` joined with the experiment name, before details are attached.
pub(crate) struct RunRow {
    id: String,
    experiment: String,
    name: String,
    model: String,
    seed: i64,
    run_key: String,
    status: String,
    start_ms: i64,
    end_ms: Option<i64>,
    parent: Option<String>,
    pid: Option<i64>,
    host: Option<String>,
    heartbeat_ms: Option<i64>,
}

/// Columns read by [`run_row`]; queries alias `runs` as `r` and `experiments` as `e`.
pub(crate) const RUN_COLUMNS: &str = "r.id, e.name, r.name, r.model, r.seed, r.run_key, r.status, \
     r.start_ms, r.end_ms, r.parent_run_id, r.pid, r.host, r.heartbeat_ms";

pub(crate) fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: row.get(0)?,
        experiment: row.get(1)?,
        name: row.get(2)?,
        model: row.get(3)?,
        seed: row.get(4)?,
        run_key: row.get(5)?,
        status: row.get(6)?,
        start_ms: row.get(7)?,
        end_ms: row.get(8)?,
        parent: row.get(9)?,
        pid: row.get(10)?,
        host: row.get(11)?,
        heartbeat_ms: row.get(12)?,
    })
}

/// Metric rows per multi-row INSERT statement (5 bound values each, far
/// below SQLite's limit of 32766 parameters).
pub(crate) const METRIC_ROWS_PER_INSERT: usize = 64;

/// `INSERT INTO metrics ... VALUES (?,?,?,?,?), ...` for
/// [`METRIC_ROWS_PER_INSERT`] rows, built once.
fn multi_row_metric_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows = vec!["(?, ?, ?, ?, ?)"; METRIC_ROWS_PER_INSERT].join(", ");
        format!("INSERT INTO metrics (run_id, key, value, step, timestamp_ms) VALUES {rows}")
    })
}

/// Seeds are full-range `u64` but SQLite integers are `i64`: store the bit
/// pattern, so every seed round-trips exactly (large seeds read as negative in raw SQL).
fn seed_to_sql(seed: u64) -> i64 {
    seed as i64
}

fn seed_from_sql(seed: i64) -> u64 {
    seed as u64
}

/// `PRAGMA quick_check`: the b-tree pages and their records are well
/// formed (it skips only index-content checks, which would read every
/// index entry). Damage is [`TrackError::Damaged`]; any other failure
/// (e.g. a lock held too long) is an open error.
fn check_integrity(conn: &Connection, path: &Path) -> Result<()> {
    let damaged = |detail: String| TrackError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    let problems = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        });
    match problems {
        Ok(lines) if lines.iter().all(|l| l == "ok") => Ok(()),
        // SQLite's own lines name the page and the fault; a few suffice.
        Ok(lines) => Err(damaged(lines.into_iter().take(3).collect::<Vec<_>>().join("; "))),
        Err(e) if matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)) => {
            Err(damaged(e.to_string()))
        }
        Err(source) => Err(TrackError::Open {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A `file:` URI for `path`: the characters URIs give meaning to are escaped.
fn file_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri
}

/// The error a read-only open of a WAL store gives where SQLite may not
/// create the `-shm` file beside it.
fn is_read_only_wal(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

impl Store {
    /// Opens (creating parent dirs and the file) a store; WAL journal,
    /// synchronous=NORMAL, foreign_keys=ON, busy_timeout 10 s; applies schema
    /// migrations by `PRAGMA user_version` inside one IMMEDIATE transaction,
    /// so two processes opening a fresh file at once cannot both migrate it.
    /// A store whose version is newer than this build knows is
    /// [`TrackError::SchemaTooNew`].
    pub fn open(path: &Path) -> Result<Store> {
        let path = path.to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| TrackError::CreateDir {
                path: path.clone(),
                source,
            })?;
        }
        let open_err = |source| TrackError::Open {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(open_err)?;
        // The busy timeout goes first so the pragmas below wait for other openers too.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Before anything can write (even the switch to WAL): a damaged
        // file is left exactly as it is, for `.recover` to work on.
        check_integrity(&conn, &path)?;
        // journal_mode answers with the resulting mode; WAL lets readers run beside one writer.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        // Room for every statement the store prepares, so none is re-parsed.
        conn.set_prepared_statement_cache_capacity(64);
        let store = Store { conn, path };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store for reading only, so reading commands work
    /// on a store in a read-only folder or file. The file is opened
    /// read-only; where SQLite cannot create the WAL's shared-memory file
    /// beside it (a read-only folder), it is opened `immutable`, which is
    /// sound because nobody can write there either. A store older than this
    /// build is opened with [`Store::open`] instead, which migrates it (and
    /// so needs write access, as before).
    pub fn open_for_reading(path: &Path) -> Result<Store> {
        let open_err = |source| TrackError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let read_only = |uri: &str| -> rusqlite::Result<(Connection, i64)> {
            let conn = Connection::open_with_flags(uri, flags)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
            Ok((conn, version))
        };
        let uri = file_uri(path);
        let (conn, version) = match read_only(&uri) {
            Ok(opened) => opened,
            Err(e) if is_read_only_wal(&e) => read_only(&format!("{uri}?immutable=1")).map_err(open_err)?,
            Err(e) => return Err(open_err(e)),
        };
        let store = Store { conn, path: path.to_path_buf() };
        if version < latest_version() {
            drop(store);
            return Store::open(path);
        }
        store.check_version(version)?;
        Ok(store)
    }

    /// The file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Get-or-create an experiment by name; returns its id.
    pub fn ensure_experiment(&self, name: &str) -> Result<i64> {
        self.write("ensure experiment", |tx| {
            self.ensure_experiment_in(tx, name)
        })
    }

    /// Creates a RUNNING run with start time now, its params and tags, in one
    /// transaction (creating the experiment if needed). Returns the run id, a
    /// uuid v4 as 32 hex digits. A key repeated in `params` or `tags` keeps its last value.
    ///
    /// The run records who writes it: this process's pid, its start time and
    /// boot id, and the host name, with a first heartbeat at the start time,
    /// so [`Store::reap_dead_runs`] can later tell a crashed writer from a live
    /// one. A `parent` that does not exist is [`TrackError::UnknownRun`].
    pub fn create_run(&self, new: &NewRun) -> Result<String> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.write("create run", |tx| self.insert_run(tx, &id, new))?;
        Ok(id)
    }

    /// Creates the run `id` as [`Store::create_run`] would, unless a run
    /// with that id already exists; returns whether it was created. Lets
    /// processes that write separate stores (array-job tasks) share one
    /// parent run, which `attnlab runs import` later finds under one id.
    pub fn ensure_run_with_id(&self, id: &str, new: &NewRun) -> Result<bool> {
        self.write("create run", |tx| {
            let exists = tx
                .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
                .and_then(|mut stmt| stmt.exists([id]))
                .map_err(self.err("look up run"))?;
            if !exists {
                self.insert_run(tx, id, new)?;
            }
            Ok(!exists)
        })
    }

    pub(crate) fn insert_run(&self, tx: &Transaction<'_>, id: &str, new: &NewRun) -> Result<()> {
        let me = ProcessIdentity::current();
        {
            if let Some(parent) = &new.parent {
                self.require_run(tx, parent)?;
            }
            let experiment_id = self.ensure_experiment_in(tx, &new.experiment)?;
            let start_ms = now_ms();
            tx.execute(
                "INSERT INTO runs (id, experiment_id, name, model, seed, run_key, status, start_ms, end_ms,
                                   parent_run_id, pid, host, heartbeat_ms, proc_start, boot_id, pid_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, ?11, ?8, ?12, ?13, ?14)",
                params![
                    id,
                    experiment_id,
                    new.name,
                    new.model,
                    seed_to_sql(new.seed),
                    new.run_key,
                    RunStatus::Running.as_str(),
                    start_ms,
                    new.parent,
                    me.pid,
                    me.host,
                    me.start_ticks,
                    me.boot_id,
                    me.pid_ns,
                ],
            )
            .map_err(self.err("create run"))?;
            self.upsert_pairs(tx, "params", id, &new.params)?;
            self.upsert_pairs(tx, "tags", id, &new.tags)?;
            Ok(())
        }
    }

    /// Appends metric points in ONE transaction, so a step's worth of
    /// metrics costs a single fsync-free commit in WAL. Rows go in 64 at a
    /// time through one cached multi-row INSERT (the remainder one by one),
    /// which is what makes large batches fast. Every value is checked before anything is written: a non-finite
    /// one fails the whole batch ([`TrackError::NonFinite`]) and nothing of
    /// it is stored.
    pub fn log_metrics(&self, run_id: &str, points: &[MetricPoint]) -> Result<()> {
        const OP: &str = "log metrics";
        if let Some(p) = points.iter().find(|p| !p.value.is_finite()) {
            // Still an unknown-run error first, as callers would expect.
            self.read(OP, |tx| self.require_run(tx, run_id))?;
            return Err(TrackError::NonFinite {
                path: self.path.clone(),
                run_id: run_id.to_owned(),
                key: p.key.clone(),
                value: p.value,
            });
        }
        self.write(OP, |tx| {
            self.require_run(tx, run_id)?;
            let mut chunks = points.chunks_exact(METRIC_ROWS_PER_INSERT);
            if chunks.len() > 0 {
                let mut insert = tx
                    .prepare_cached(multi_row_metric_insert())
                    .map_err(self.err(OP))?;
                for chunk in &mut chunks {
                    let mut bind = |i: usize, value: &dyn rusqlite::ToSql| {
                        insert.raw_bind_parameter(i, value).map_err(self.err(OP))
                    };
                    for (row, p) in chunk.iter().enumerate() {
                        let first = row * 5 + 1;
                        bind(first, &run_id)?;
                        bind(first + 1, &p.key)?;
                        bind(first + 2, &p.value)?;
                        bind(first + 3, &p.step)?;
                        bind(first + 4, &p.timestamp_ms)?;
                    }
                    insert.raw_execute().map_err(self.err(OP))?;
                }
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO metrics (run_id, key, value, step, timestamp_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .map_err(self.err(OP))?;
                for p in rest {
                    insert
                        .execute(params![run_id, p.key, p.value, p.step, p.timestamp_ms])
                        .map_err(self.err(OP))?;
                }
            }
            Ok(())
        })
    }

    /// Records that the run's writer is alive (heartbeat = now). Writers call
    /// it at least once per epoch; the reaper judges runs on other hosts by it.
    pub fn heartbeat(&self, run_id: &str) -> Result<()> {
        const OP: &str = "heartbeat";
        self.write(OP, |tx| {
            let changed = tx
                .execute(
                    "UPDATE runs SET heartbeat_ms = ?1 WHERE id = ?2",
                    params![now_ms(), run_id],
                )
                .map_err(self.err(OP))?;
            if changed == 0 {
                return Err(self.unknown_run(run_id));
            }
            Ok(())
        })
    }

    /// Sets tags on a run, replacing the values of keys it already has.
    pub fn set_tags(&self, run_id: &str, tags: &[(String, String)]) -> Result<()> {
        self.write("set tags", |tx| {
            self.require_run(tx, run_id)?;
            self.upsert_pairs(tx, "tags", run_id, tags)
        })
    }

    /// Sets status and end time (now). Setting `Running` again clears the
    /// end time, since a running run has not ended. Unknown run id ->
    /// [`TrackError::UnknownRun`].
    pub fn finish_run(&self, run_id: &str, status: RunStatus) -> Result<()> {
        const OP: &str = "finish run";
        let end_ms = (status != RunStatus::Running).then(now_ms);
        self.write(OP, |tx| {
            let changed = tx
                .execute(
                    "UPDATE runs SET status = ?1, end_ms = ?2 WHERE id = ?3",
                    params![status.as_str(), end_ms, run_id],
                )
                .map_err(self.err(OP))?;
            if changed == 0 {
                return Err(self.unknown_run(run_id));
            }
            Ok(())
        })
    }

    /// All experiments, sorted by name, with how many runs each holds.
    pub fn experiments(&self) -> Result<Vec<ExperimentRecord>> {
        const OP: &str = "list experiments";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.id, e.name, e.created_ms, COUNT(r.id)
                 FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id
                 GROUP BY e.id ORDER BY e.name",
            )
            .map_err(self.err(OP))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(self.err(OP))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, created_ms, runs) = row.map_err(self.err(OP))?;
            let runs = usize::try_from(runs)
                .map_err(|_| self.corrupt(format!("negative run count {runs}")))?;
            out.push(ExperimentRecord {
                id,
                name,
                created_ms,
                runs,
            });
        }
        Ok(out)
    }

    /// All runs of an experiment, oldest first, each with params, tags and
    /// summary metrics. Read in one transaction so the list is a consistent
    /// snapshot even while other processes write.
    /// Unknown experiment -> [`TrackError::UnknownExperiment`].
    pub fn runs(&self, experiment: &str) -> Result<Vec<RunRecord>> {
        const OP: &str = "list runs";
        self.read(OP, |tx| {
            let experiment_id: i64 = tx
                .query_row(
                    "SELECT id FROM experiments WHERE name = ?1",
                    [experiment],
                    |row| row.get(0),
                )
                .optional()
                .map_err(self.err(OP))?
                .ok_or_else(|| TrackError::UnknownExperiment {
                    path: self.path.clone(),
                    name: experiment.to_owned(),
                })?;
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT {RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id
                     WHERE r.experiment_id = ?1 ORDER BY r.start_ms, r.rowid"
                ))
                .map_err(self.err(OP))?;
            let rows = stmt
                .query_map([experiment_id], run_row)
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            rows.into_iter().map(|row| self.complete(tx, row)).collect()
        })
    }

    /// One run with its params, tags and summary metrics.
    pub fn run(&self, run_id: &str) -> Result<RunRecord> {
        const OP: &str = "read run";
        self.read(OP, |tx| {
            let row = tx
                .query_row(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id
                         WHERE r.id = ?1"
                    ),
                    [run_id],
                    run_row,
                )
                .optional()
                .map_err(self.err(OP))?
                .ok_or_else(|| self.unknown_run(run_id))?;
            self.complete(tx, row)
        })
    }

    /// The newest FINISHED run with this content key, if any: a run whose
    /// spec, seed, data and code are unchanged need not run again.
    pub fn finished_run_by_key(&self, run_key: &str) -> Result<Option<RunRecord>> {
        self.latest_run_by_key(run_key, Some(RunStatus::Finished))
    }

    /// The most recent run with this key (in `status`, or in any status).
    pub fn latest_run_by_key(&self, run_key: &str, status: Option<RunStatus>) -> Result<Option<RunRecord>> {
        const OP: &str = "find run by key";
        self.read(OP, |tx| {
            let row = tx
                .query_row(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id
                         WHERE r.run_key = ?1 AND (?2 IS NULL OR r.status = ?2)
                         ORDER BY r.start_ms DESC, r.rowid DESC LIMIT 1"
                    ),
                    params![run_key, status.map(RunStatus::as_str)],
                    run_row,
                )
                .optional()
                .map_err(self.err(OP))?;
            row.map(|row| self.complete(tx, row)).transpose()
        })
    }

    /// Every point of one metric of a run, by step then timestamp (then insert order).
    /// A key never logged gives an empty list; an unknown run is an error.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        const OP: &str = "read metric history";
        self.read(OP, |tx| {
            self.require_run(tx, run_id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT key, value, step, timestamp_ms FROM metrics
                     WHERE run_id = ?1 AND key = ?2 ORDER BY step, timestamp_ms, id",
                )
                .map_err(self.err(OP))?;
            let points = stmt
                .query_map(params![run_id, key], |row| {
                    Ok(MetricPoint {
                        key: row.get(0)?,
                        value: row.get(1)?,
                        step: row.get(2)?,
                        timestamp_ms: row.get(3)?,
                    })
                })
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            Ok(points)
        })
    }

    /// All metric keys logged for a run, sorted.
    pub fn metric_keys(&self, run_id: &str) -> Result<Vec<String>> {
        const OP: &str = "read metric keys";
        self.read(OP, |tx| {
            self.require_run(tx, run_id)?;
            let mut stmt = tx
                .prepare_cached("SELECT DISTINCT key FROM metrics WHERE run_id = ?1 ORDER BY key")
                .map_err(self.err(OP))?;
            let keys = stmt
                .query_map([run_id], |row| row.get(0))
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(self.err(OP))?;
            Ok(keys)
        })
    }

    // ---- internals -------------------------------------------------------

    /// Brings the schema up to date. The version is read once without a lock
    /// so opening an up-to-date store (the common case) never takes the write
    /// lock; otherwise it is re-read under IMMEDIATE, so a concurrent opener
    /// that migrated first is seen and nothing is applied twice.
    fn migrate(&self) -> Result<()> {
        const OP: &str = "migrate schema";
        let known = latest_version();
        let current = self.user_version(&self.conn)?;
        if current == known {
            return Ok(());
        }
        self.check_version(current)?;
        self.write(OP, |tx| {
            let current = self.user_version(tx)?;
            self.check_version(current)?;
            let applied = usize::try_from(current).unwrap_or(0);
            for migration in MIGRATIONS.iter().skip(applied) {
                tx.execute_batch(migration).map_err(self.err(OP))?;
            }
            // PRAGMA does not take bound parameters; `known` is our own integer.
            tx.pragma_update(None, "user_version", known)
                .map_err(self.err(OP))?;
            Ok(())
        })
    }

    fn user_version(&self, conn: &Connection) -> Result<i64> {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.err("read schema version"))
    }

    fn check_version(&self, found: i64) -> Result<()> {
        let known = latest_version();
        if found > known {
            return Err(TrackError::SchemaTooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        if found < 0 {
            return Err(self.corrupt(format!("negative schema version {found}")));
        }
        Ok(())
    }

    /// Runs `f` in an IMMEDIATE transaction: the write lock is taken up front,
    /// so a concurrent writer waits on the busy timeout instead of failing
    /// with "database is locked" when a deferred reader tries to upgrade.
    /// An error from `f` drops the transaction, which rolls it back.
    pub(crate) fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(self.err(op))?;
        let value = f(&tx)?;
        tx.commit().map_err(self.err(op))?;
        Ok(value)
    }

    /// Runs `f` in a read transaction so multi-query reads see one snapshot.
    pub(crate) fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Deferred)
            .map_err(self.err(op))?;
        let value = f(&tx)?;
        tx.commit().map_err(self.err(op))?;
        Ok(value)
    }

    fn ensure_experiment_in(&self, tx: &Transaction<'_>, name: &str) -> Result<i64> {
        const OP: &str = "ensure experiment";
        tx.execute(
            "INSERT INTO experiments (name, created_ms) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
            params![name, now_ms()],
        )
        .map_err(self.err(OP))?;
        tx.query_row(
            "SELECT id FROM experiments WHERE name = ?1",
            [name],
            |row| row.get(0),
        )
        .map_err(self.err(OP))
    }

    /// Insert-or-replace key/value pairs into `params` or `tags` (fixed table names only).
    fn upsert_pairs(
        &self,
        tx: &Transaction<'_>,
        table: &'static str,
        run_id: &str,
        pairs: &[(String, String)],
    ) -> Result<()> {
        let op = if table == "params" {
            "write params"
        } else {
            "write tags"
        };
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO {table} (run_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT(run_id, key) DO UPDATE SET value = excluded.value"
            ))
            .map_err(self.err(op))?;
        for (key, value) in pairs {
            stmt.execute(params![run_id, key, value])
                .map_err(self.err(op))?;
        }
        Ok(())
    }

    pub(crate) fn require_run(&self, conn: &Connection, run_id: &str) -> Result<()> {
        let exists = conn
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
            .and_then(|mut stmt| stmt.query_row([run_id], |_| Ok(())).optional())
            .map_err(self.err("look up run"))?;
        exists.ok_or_else(|| self.unknown_run(run_id))
    }

    /// Attaches params, tags and summary metrics to a run row.
    pub(crate) fn complete(&self, conn: &Connection, row: RunRow) -> Result<RunRecord> {
        const OP: &str = "read run details";
        let status = row
            .status
            .parse::<RunStatus>()
            .map_err(|e| self.corrupt(format!("run {}: {e}", row.id)))?;
        let params = self.pairs(
            conn,
            "SELECT key, value FROM params WHERE run_id = ?1",
            &row.id,
            OP,
        )?;
        let tags = self.pairs(
            conn,
            "SELECT key, value FROM tags WHERE run_id = ?1",
            &row.id,
            OP,
        )?;
        // Summary = last value by (step, timestamp, insert order), per key.
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, value FROM (
                     SELECT key, value, ROW_NUMBER() OVER (
                         PARTITION BY key ORDER BY step DESC, timestamp_ms DESC, id DESC
                     ) AS rank
                     FROM metrics WHERE run_id = ?1
                 ) WHERE rank = 1",
            )
            .map_err(self.err(OP))?;
        let metrics = stmt
            .query_map([&row.id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?))
            })
            .map_err(self.err(OP))?
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(self.err(OP))?;
        Ok(RunRecord {
            id: row.id,
            experiment: row.experiment,
            name: row.name,
            model: row.model,
            seed: seed_from_sql(row.seed),
            run_key: row.run_key,
            status,
            start_ms: row.start_ms,
            end_ms: row.end_ms,
            params,
            tags,
            metrics,
            parent: row.parent,
            pid: row.pid,
            host: row.host,
            heartbeat_ms: row.heartbeat_ms,
        })
    }

    fn pairs(
        &self,
        conn: &Connection,
        sql: &str,
        run_id: &str,
        op: &'static str,
    ) -> Result<BTreeMap<String, String>> {
        let mut stmt = conn.prepare_cached(sql).map_err(self.err(op))?;
        let pairs = stmt
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err(op))?
            .collect::<rusqlite::Result<BTreeMap<_, _>>>()
            .map_err(self.err(op))?;
        Ok(pairs)
    }

    pub(crate) fn err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> TrackError + '_ {
        move |source| TrackError::Sqlite {
            path: self.path.clone(),
            op,
            source,
        }
    }

    pub(crate) fn unknown_run(&self, run_id: &str) -> TrackError {
        TrackError::UnknownRun {
            path: self.path.clone(),
            id: run_id.to_owned(),
        }
    }

    pub(crate) fn corrupt(&self, detail: String) -> TrackError {
        TrackError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }
}
