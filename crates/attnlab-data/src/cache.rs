//! The prepared-data cache: `<cache_root>/<fingerprint>/prepared.bin`.
//!
//! # File format (little-endian)
//!
//! ```text
//! magic            8 bytes  "ATTNPREP"
//! format version   u32      fingerprint::FORMAT_VERSION
//! columns          u32      count, then per column:
//!   name           u16 length + UTF-8 bytes
//!   type           u8       1 u32, 2 i64, 3 f32, 4 u64, 5 bytes
//!   elements       u64
//! payload length   u64      bytes (must equal the sum of the columns)
//! checksum         32 bytes blake3 of every byte before it and the payload
//! payload                   the columns' values, in column order
//! ```
//!
//! # Atomicity
//!
//! An entry is prepared in `<cache_root>/.tmp-<pid>-<random>/`, its file
//! fsynced, and the directory renamed to `<fingerprint>/`; only complete
//! entries ever carry a fingerprint's name. A process killed while writing
//! leaves a `.tmp-*` directory that is never read, and removed by the next
//! [`load_or_prepare`] once its process is gone. If another process renames
//! its entry into place first, ours is discarded. An entry that fails to
//! read (truncated, checksum mismatch, wrong version) is a miss with a
//! warning, rebuilt and replaced; never a panic.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::fingerprint::{FORMAT_VERSION, Fingerprint};
use crate::protocol::Prepared;
use crate::{DataError, Result};

mod format;
pub use format::{read_file, write_file};

const MAGIC: &[u8; 8] = b"ATTNPREP";
const FILE: &str = "prepared.bin";
const TMP_PREFIX: &str = ".tmp-";

/// Whether [`load_or_prepare`] read the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Prepared afresh; `warnings` say why an existing entry was not used
    /// (corrupt, unreadable) or what could not be cleaned or written.
    Miss { warnings: Vec<String> },
}

/// The directory of `fingerprint`'s entry.
pub fn entry_dir(cache_root: &Path, fingerprint: &Fingerprint) -> PathBuf {
    cache_root.join(fingerprint.as_str())
}

/// Reads `fingerprint`'s entry, or runs `prepare` and stores its result.
/// Errors of `prepare` are returned as they are; a cache that cannot be
/// read or written only adds a warning.
pub fn load_or_prepare<E: From<DataError>>(
    cache_root: &Path,
    fingerprint: &Fingerprint,
    prepare: impl FnOnce() -> std::result::Result<Prepared, E>,
) -> std::result::Result<(Prepared, CacheOutcome), E> {
    let mut warnings = Vec::new();
    clean_stale_temps(cache_root, &mut warnings);
    let dir = entry_dir(cache_root, fingerprint);
    let file = dir.join(FILE);
    let mut stale_entry = false;
    if dir.exists() {
        match read_file(&file) {
            Ok(p) => return Ok((p, CacheOutcome::Hit)),
            Err(e) => {
                warnings.push(format!("ignoring the cache entry {}: {e}", dir.display()));
                stale_entry = true;
            }
        }
    }
    let prepared = prepare()?;
    if let Err(e) = store(cache_root, &dir, &prepared, stale_entry) {
        warnings.push(format!("could not write the cache entry {}: {e}", dir.display()));
    }
    Ok((prepared, CacheOutcome::Miss { warnings }))
}

/// Writes `prepared` as `fingerprint`'s entry, atomically, replacing a
/// corrupt one when `replace` (a valid entry written meanwhile by another
/// process is kept).
fn store(cache_root: &Path, dir: &Path, prepared: &Prepared, replace: bool) -> Result<()> {
    fs::create_dir_all(cache_root).map_err(|e| DataError::io(cache_root, e))?;
    let tmp = cache_root.join(format!("{TMP_PREFIX}{}-{:016x}", std::process::id(), random_u64()));
    fs::create_dir(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let result = (|| {
        write_file(&tmp.join(FILE), prepared)?;
        sync_dir(&tmp);
        if replace && dir.exists() && read_file(&dir.join(FILE)).is_err() {
            // move the corrupt entry aside first, so the rename below can land
            let trash = cache_root.join(format!("{TMP_PREFIX}{}-{:016x}", std::process::id(), random_u64()));
            if fs::rename(dir, &trash).is_ok() {
                let _ = fs::remove_dir_all(&trash);
            }
        }
        match fs::rename(&tmp, dir) {
            Ok(()) => {
                sync_dir(cache_root);
                Ok(())
            }
            // another process won the race: its entry stands, ours goes
            Err(_) if dir.join(FILE).exists() => {
                let _ = fs::remove_dir_all(&tmp);
                Ok(())
            }
            Err(e) => Err(DataError::io(dir, e)),
        }
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn random_u64() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    crate::Rng::new(nanos ^ addr.rotate_left(32) ^ std::process::id() as u64).next_u64()
}

/// Removes `.tmp-<pid>-*` directories whose process no longer runs (on
/// Linux, by `/proc/<pid>`; elsewhere, those older than a day).
fn clean_stale_temps(cache_root: &Path, warnings: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(cache_root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        let alive = match pid {
            Some(p) if p == std::process::id() => true,
            Some(p) if Path::new("/proc/self").exists() => Path::new(&format!("/proc/{p}")).exists(),
            _ => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age.as_secs() < 86_400),
        };
        if !alive && let Err(e) = fs::remove_dir_all(entry.path()) {
            warnings.push(format!("could not remove the stale {}: {e}", entry.path().display()));
        }
    }
}

/// Why a cache file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheReadError {
    #[error("cannot read it: {0}")]
    Io(String),
    #[error("it is corrupt: {0}")]
    Corrupt(String),
    #[error("it was written by format version {found}, this is version {FORMAT_VERSION}")]
    Version { found: u32 },
}
