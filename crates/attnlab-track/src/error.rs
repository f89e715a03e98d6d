//! Errors of the run store. Every variant carries the database path so a
//! message read in a log says which store failed, not only how.

use std::path::PathBuf;

/// Anything that can go wrong while opening, writing or reading a store.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory for run store {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// SQLite refused to open the file or to configure the connection.
    #[error("cannot open run store {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// A statement failed; `op` says what the store was doing at the time.
    #[error("run store {}: {op} failed: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The file was written by a newer build; we refuse rather than misread it.
    #[error(
        "run store {} has schema version {found}, but this build knows only up to {known}; upgrade attnlab",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// `import` could not copy an artifact file of the source store.
    #[error("run store {}: cannot import artifact {}: {source}", path.display(), file.display())]
    ImportArtifact {
        path: PathBuf,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("run store {}: no run with id {id:?}", path.display())]
    UnknownRun { path: PathBuf, id: String },

    /// `import` was given a path that is no store file and holds none.
    #[error("{}: {reason}", path.display())]
    NoStoreFound { path: PathBuf, reason: String },

    #[error("run store {}: no experiment named {name:?}", path.display())]
    UnknownExperiment { path: PathBuf, name: String },

    /// NaN or infinite metric value. SQLite would silently store NaN as NULL,
    /// so such points are rejected and their whole batch is rolled back.
    #[error("run store {}: metric {key:?} of run {run_id} has non-finite value {value}", path.display())]
    NonFinite {
        path: PathBuf,
        run_id: String,
        key: String,
        value: f64,
    },

    /// An artifact's relative path is absolute, empty, contains `..`, an
    /// empty component or a backslash, or is otherwise unusable.
    #[error("run store {}: invalid artifact path {rel:?}: {reason}", path.display())]
    InvalidArtifactPath {
        path: PathBuf,
        rel: String,
        reason: &'static str,
    },

    /// Reading, writing or removing an artifact file failed.
    #[error("run store {}: cannot {op} {}: {source}", path.display(), file.display())]
    ArtifactIo {
        path: PathBuf,
        op: &'static str,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A run id prefix shorter than `min` characters.
    #[error(
        "run store {}: run id prefix {prefix:?} is too short; give at least {min} characters",
        path.display()
    )]
    RunIdTooShort {
        path: PathBuf,
        prefix: String,
        min: usize,
    },

    /// No run id starts with the prefix.
    #[error("run store {}: no run id starts with {prefix:?}", path.display())]
    NoRunMatches { path: PathBuf, prefix: String },

    /// Several run ids start with the prefix; `candidates` lists them (up to
    /// [`crate::MAX_CANDIDATES`]) with `total` the full count.
    #[error(
        "run store {}: run id prefix {prefix:?} is ambiguous; it matches {total} runs: {}{}",
        path.display(),
        candidates.join(", "),
        if *total > candidates.len() { ", ..." } else { "" }
    )]
    AmbiguousRunId {
        path: PathBuf,
        prefix: String,
        candidates: Vec<String>,
        total: usize,
    },

    /// `delete_run` of a RUNNING run whose writer is alive (or on another host).
    #[error(
        "run store {}: run {id} is RUNNING, written by {owner}; stop that process first, \
         or pass --force if it is stuck",
        path.display()
    )]
    RunInUse { path: PathBuf, id: String, owner: String },

    /// `PRAGMA quick_check` found damage; nothing was written to the file.
    #[error(
        "run store {} is damaged ({detail}); attnlab wrote nothing to it. Recover what it holds with \
         `sqlite3 {} .recover | sqlite3 recovered.db` and use `--db recovered.db`, or start a new store with another --db",
        path.display(),
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },

    /// A row holds something this code never writes (e.g. an unknown status).
    #[error("run store {}: corrupt data: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, TrackError>;

/// A string that is not one of the four run statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run status {0:?} (expected RUNNING, FINISHED, FAILED or KILLED)")]
pub struct ParseRunStatusError(pub String);
