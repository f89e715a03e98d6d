//! Schema migrations, tracked by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` brings a store from version `i` to `i + 1`. Later changes
//! APPEND a new entry; never edit an entry that has shipped, because stores
//! already at that version will not run it again.

/// Ordered migrations; the store's `user_version` counts how many are applied.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: experiments, runs, params, tags, metrics.
    r#"
    CREATE TABLE experiments (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL UNIQUE,
        created_ms  INTEGER NOT NULL
    );
    CREATE TABLE runs (
        id             TEXT    PRIMARY KEY,
        experiment_id  INTEGER NOT NULL REFERENCES experiments(id),
        name           TEXT    NOT NULL,
        model          TEXT    NOT NULL,
        seed           INTEGER NOT NULL,
        run_key        TEXT    NOT NULL,
        status         TEXT    NOT NULL
                       CHECK (status IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
        start_ms       INTEGER NOT NULL,
        end_ms         INTEGER
    );
    CREATE INDEX runs_experiment ON runs(experiment_id, start_ms);
    CREATE INDEX runs_run_key ON runs(run_key);
    CREATE TABLE params (
        run_id  TEXT NOT NULL REFERENCES runs(id),
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE tags (
        run_id  TEXT NOT NULL REFERENCES runs(id),
        key     TEXT NOT NULL,
        value   TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE metrics (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id        TEXT    NOT NULL REFERENCES runs(id),
        key           TEXT    NOT NULL,
        value         REAL    NOT NULL,
        step          INTEGER NOT NULL,
        timestamp_ms  INTEGER NOT NULL
    );
    CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
    "#,
    // 2: run lineage and liveness, artifacts, per-target sync progress.
    //
    // `pid`, `host`, `proc_start` (the writer's start time in clock ticks
    // after boot, /proc/<pid>/stat field 22), `boot_id` and `pid_ns` (the
    // pid namespace, so containers sharing a host name are told apart)
    // identify the process that created a run, so a reaper can tell a dead writer from a
    // live one even when the pid has been reused. Runs written before this
    // migration keep NULL there and are only reaped by heartbeat staleness.
    r#"
    ALTER TABLE runs ADD COLUMN parent_run_id TEXT REFERENCES runs(id) ON DELETE SET NULL;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN heartbeat_ms INTEGER;
    ALTER TABLE runs ADD COLUMN proc_start INTEGER;
    ALTER TABLE runs ADD COLUMN boot_id TEXT;
    ALTER TABLE runs ADD COLUMN pid_ns TEXT;
    CREATE INDEX runs_parent ON runs(parent_run_id);
    CREATE INDEX runs_status ON runs(status);
    CREATE INDEX params_key_value ON params(key, value);
    CREATE INDEX tags_key_value ON tags(key, value);
    CREATE TABLE artifacts (
        run_id      TEXT    NOT NULL REFERENCES runs(id),
        path        TEXT    NOT NULL,
        size        INTEGER NOT NULL CHECK (size >= 0),
        sha256      TEXT    NOT NULL,
        created_ms  INTEGER NOT NULL,
        PRIMARY KEY (run_id, path)
    );
    CREATE TABLE sync_state (
        run_id           TEXT    NOT NULL REFERENCES runs(id),
        target           TEXT    NOT NULL,
        remote_run_id    TEXT    NOT NULL,
        metrics_upto_id  INTEGER NOT NULL DEFAULT 0,
        params_done      INTEGER NOT NULL DEFAULT 0 CHECK (params_done IN (0, 1)),
        tags_hash        TEXT,
        status_done      TEXT
                         CHECK (status_done IN ('RUNNING', 'FINISHED', 'FAILED', 'KILLED')),
        PRIMARY KEY (run_id, target)
    );
    "#,
];

/// The schema version this build writes and understands.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    fn normalise(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Migration 1 has shipped: stores at version 1 will never run it again,
    /// so its text must stay what the frozen fixture says.
    #[test]
    fn shipped_migration_1_is_unchanged() {
        let frozen = include_str!("../tests/fixtures/schema_v1.sql");
        assert_eq!(normalise(MIGRATIONS[0]), normalise(frozen));
    }
}
