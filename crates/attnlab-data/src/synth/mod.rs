//! Large synthetic files in real formats, for measuring how cost grows with
//! size: a RecBole atomic `.inter` whose item popularity and user activity
//! have ml-100k's shape at any size ([`interactions`]), and a Criteo-layout
//! click log with heavy-tailed categorical cardinalities ([`criteo`]).
//!
//! Both are written row by row to a writer (memory is the size of the
//! catalogue, never of the file), deterministically from a seed with the
//! crate's own [`Rng`](crate::Rng): the same settings give the same bytes on
//! every machine. [`write_atomically`] puts a file in place only once it is
//! complete.

pub mod criteo;
pub mod interactions;
mod shape;

pub use shape::{Shape, ML100K_SHAPE};

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::{DataError, Result};

/// Rows between two calls of a generator's progress callback.
pub const PROGRESS_EVERY: u64 = 1_000_000;

/// Writes `path` through a temporary file beside it, renamed into place
/// only when `write` succeeded: a failed or interrupted run leaves no
/// half-written file.
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file());
    let value = write(&mut out)?;
    out.flush().map_err(|e| DataError::io(path, e))?;
    drop(out);
    tmp.persist(path).map_err(|e| DataError::io(path, e.error))?;
    Ok(value)
}

/// `io::Error` while writing `path` as a [`DataError`].
fn write_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| DataError::io(path, e)
}

/// A bijection of `u32` (Wellons' lowbias32): distinct inputs give distinct
/// outputs, so hashed tokens never collide within a column.
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}
