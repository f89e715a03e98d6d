//! Large synthetic files in real formats, for measuring how cost grows with
//! size: a RecBole atomic `.inter` whose item popularity and user activity
//! are fitted to ml-100k's shape ([`interactions`]), and a Criteo-layout
//! click log with heavy-tailed categorical cardinalities ([`criteo`]).
//!
//! Both are written row by row to a writer (memory is the size of the
//! catalogue, never of the file), deterministically from a seed with the
//! crate's own [`Rng`](crate::Rng): the same settings give the same bytes on
//! every machine. The caller owns the file (the command line writes it
//! atomically).

pub mod criteo;
pub mod interactions;
mod shape;

pub use shape::{Shape, ML100K_SHAPE};

use std::path::Path;

use crate::DataError;

/// What a generator wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthReport {
    pub rows: u64,
}

/// Rows between two calls of a generator's progress callback.
pub const PROGRESS_EVERY: u64 = 1_000_000;

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
