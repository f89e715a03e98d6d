//! Files attached to a run, kept beside the database under
//! `<store dir>/artifacts/<run id>/<relative path>`; the `artifacts` table
//! records each file's size and sha256.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, TrackError};
use crate::model::now_ms;
use crate::store::Store;

/// Where an artifact's content comes from.
#[derive(Clone, Copy, Debug)]
pub enum ArtifactSource<'a> {
    Bytes(&'a [u8]),
    /// A file to copy; it is read once, streamed, and left untouched.
    File(&'a Path),
}

/// One stored artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArtifactRecord {
    pub run_id: String,
    /// The validated relative path, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Lower-case hex sha256 of the content.
    pub sha256: String,
    pub created_ms: i64,
}

/// Why a relative artifact path is refused, or `None` when it is fine.
fn rel_path_problem(rel: &str) -> Option<&'static str> {
    if rel.is_empty() {
        return Some("the path is empty");
    }
    if rel.contains('\\') {
        return Some("backslashes are not allowed; separate components with '/'");
    }
    if rel.contains('\0') {
        return Some("the path contains a NUL byte");
    }
    if rel.starts_with('/') {
        return Some("absolute paths are not allowed");
    }
    for component in rel.split('/') {
        match component {
            "" => return Some("empty component (leading, trailing or doubled '/')"),
            "." | ".." => return Some("'.' and '..' components are not allowed"),
            _ => {}
        }
    }
    None
}

/// A run id is used as a directory name; ids made by `create_run` are hex,
/// but anything that could escape the artifacts directory is refused.
fn run_id_is_a_plain_name(run_id: &str) -> bool {
    !run_id.is_empty()
        && run_id != "."
        && run_id != ".."
        && !run_id.contains(['/', '\\', '\0'])
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl Store {
    /// `<directory of the database file>/artifacts`.
    pub fn artifacts_root(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("artifacts")
    }

    /// Where the artifact `rel` of `run_id` lives (or would live). Pure path
    /// arithmetic after validation: the file need not exist.
    /// A bad `rel` is [`TrackError::InvalidArtifactPath`].
    pub fn artifact_path(&self, run_id: &str, rel: &str) -> Result<PathBuf> {
        if let Some(reason) = rel_path_problem(rel) {
            return Err(TrackError::InvalidArtifactPath {
                path: self.path.clone(),
                rel: rel.to_owned(),
                reason,
            });
        }
        if !run_id_is_a_plain_name(run_id) {
            return Err(self.unknown_run(run_id));
        }
        Ok(self.artifacts_root().join(run_id).join(rel))
    }

    /// Stores `source` as artifact `rel` of a run, replacing an artifact of
    /// the same path. The content is streamed into a temporary file in the
    /// destination directory (hashing as it goes), synced, and renamed over
    /// the destination, so readers never see a half-written file. The rename
    /// and the row happen under the store's write lock, so concurrent
    /// writers of one path leave the row describing the file that won.
    pub fn log_artifact(
        &self,
        run_id: &str,
        rel: &str,
        source: ArtifactSource<'_>,
    ) -> Result<ArtifactRecord> {
        const OP: &str = "log artifact";
        let dest = self.artifact_path(run_id, rel)?;
        self.read(OP, |tx| self.require_run(tx, run_id))?;
        let io_err = |op: &'static str, file: &Path| {
            let (path, file) = (self.path.clone(), file.to_path_buf());
            move |source| TrackError::ArtifactIo {
                path,
                op,
                file,
                source,
            }
        };
        // `artifact_path` validated `rel`, so the destination has a parent and a file name.
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
        let file_name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(
            ".{file_name}.tmp-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let copied = write_hashed(&temp, source, &io_err);
        let (size, sha256) = match copied {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&temp);
                return Err(e);
            }
        };
        let record = ArtifactRecord {
            run_id: run_id.to_owned(),
            path: rel.to_owned(),
            size,
            sha256,
            created_ms: now_ms(),
        };
        let size_sql = i64::try_from(size)
            .map_err(|_| self.corrupt(format!("artifact {rel:?} is too large ({size} bytes)")))?;
        let result = self.write(OP, |tx| {
            self.require_run(tx, run_id)?;
            std::fs::rename(&temp, &dest).map_err(io_err("move into place", &dest))?;
            tx.execute(
                "INSERT INTO artifacts (run_id, path, size, sha256, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(run_id, path) DO UPDATE SET
                     size = excluded.size, sha256 = excluded.sha256, created_ms = excluded.created_ms",
                params![run_id, rel, size_sql, record.sha256, record.created_ms],
            )
            .map_err(self.err(OP))?;
            Ok(())
        });
        if result.is_err() {
            // No-op when the rename happened; otherwise do not leave the temp file behind.
            let _ = std::fs::remove_file(&temp);
        }
        result.map(|()| record)
    }

    /// The artifacts of a run, by path. Unknown run -> [`TrackError::UnknownRun`].
    pub fn artifacts(&self, run_id: &str) -> Result<Vec<ArtifactRecord>> {
        const OP: &str = "list artifacts";
        self.read(OP, |tx| {
            self.require_run(tx, run_id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT path, size, sha256, created_ms FROM artifacts
                     WHERE run_id = ?1 ORDER BY path",
                )
                .map_err(self.err(OP))?;
            let rows = stmt
                .query_map([run_id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            rows.into_iter()
                .map(|(path, size, sha256, created_ms)| {
                    let size = u64::try_from(size).map_err(|_| {
                        self.corrupt(format!("artifact {path:?} has negative size {size}"))
                    })?;
                    Ok(ArtifactRecord {
                        run_id: run_id.to_owned(),
                        path,
                        size,
                        sha256,
                        created_ms,
                    })
                })
                .collect()
        })
    }

    /// Removes `<artifacts root>/<run id>`; a directory that never existed is fine.
    pub(crate) fn remove_artifact_dir(&self, run_id: &str) -> Result<()> {
        if !run_id_is_a_plain_name(run_id) {
            return Ok(());
        }
        let dir = self.artifacts_root().join(run_id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(TrackError::ArtifactIo {
                path: self.path.clone(),
                op: "remove artifact directory",
                file: dir,
                source,
            }),
        }
    }
}

/// Streams `source` into a new file at `temp`, returning (size, sha256 hex);
/// the file is synced before returning so the rename that follows publishes
/// complete content.
fn write_hashed<E>(
    temp: &Path,
    source: ArtifactSource<'_>,
    io_err: &impl Fn(&'static str, &Path) -> E,
) -> std::result::Result<(u64, String), TrackError>
where
    E: FnOnce(std::io::Error) -> TrackError,
{
    let mut out = File::options()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(io_err("create", temp))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    match source {
        ArtifactSource::Bytes(bytes) => {
            out.write_all(bytes).map_err(io_err("write", temp))?;
            hasher.update(bytes);
            size = bytes.len() as u64;
        }
        ArtifactSource::File(src) => {
            let mut input = File::open(src).map_err(io_err("read", src))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err("read", src)(e)),
                };
                let chunk = &buf[..n];
                out.write_all(chunk).map_err(io_err("write", temp))?;
                hasher.update(chunk);
                size += n as u64;
            }
        }
    }
    out.sync_all().map_err(io_err("sync", temp))?;
    Ok((size, hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::rel_path_problem;

    #[test]
    fn relative_paths_are_validated() {
        for ok in ["model.pt", "plots/auc.svg", "a/b/c.d", "weird name.txt", "..hidden", "a..b"] {
            assert_eq!(rel_path_problem(ok), None, "{ok}");
        }
        for bad in [
            "", "/etc/passwd", "../up", "a/../b", "a/..", "./a", "a//b", "a/", "a\\b", "C:\\x",
            "a\0b",
        ] {
            assert!(rel_path_problem(bad).is_some(), "{bad:?} should be refused");
        }
    }
}
