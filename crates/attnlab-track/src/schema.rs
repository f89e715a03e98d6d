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
];

/// The schema version this build writes and understands.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}
