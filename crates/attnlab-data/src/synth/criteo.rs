//! A click log in the Criteo display-ads layout (Kaggle `train.txt`, what
//! [`CtrSchema::criteo`](crate::CtrSchema::criteo) reads): tab-separated, no
//! header, the label, 13 integer columns I1..I13 and 26 categorical columns
//! C1..C26 of 8-hex-digit hashed tokens, empty where missing.
//!
//! # Generative model
//!
//! - Categorical column `c` draws a value's rank from a power law
//!   `(r + 1)^-1.05` over [`CARDINALITIES`]`[c]` values (the distinct counts
//!   of the real 45.8M-row file, from 3 to 10.1M), by the closed-form
//!   inverse of its distribution, so nothing of size `cardinality` is held.
//!   The distinct values seen then grow with the number of rows, as in the
//!   real file. A rank becomes its token through a bijection, so two ranks
//!   never share a token.
//! - Integer column `c`: `floor(exp(N(ln m - 0.72, 1.2²))) - o` with the
//!   column's mean scale `m` and offset `o` (I2 goes down to -1).
//! - Missing values at roughly the real file's rate per column.
//! - The label is Bernoulli with a logit of `-1.3` plus an effect of each of
//!   C1..C4's values (each in [-0.8, 0.8]) and `0.35 ln(1 + I1)`: a click
//!   rate near 26% (the real file's is 25.6%) that a model can learn.

use std::fmt::Write as _;
use std::io::Write;

use super::{mix32, write_err, SynthReport, PROGRESS_EVERY};
use crate::{DataError, Result, Rng};

/// Distinct values of C1..C26 in Criteo's 45,840,617-row Kaggle file.
pub const CARDINALITIES: [u32; 26] = [
    1460, 583, 10_131_227, 2_202_608, 305, 24, 12517, 633, 3, 93145, 5683, 8_351_593, 3194, 27, 14992, 5_461_306, 10, 5652,
    2173, 4, 7_046_547, 18, 15, 286_181, 105, 142_572,
];

/// Share of missing values of C1..C26.
const CAT_MISSING: [f64; 26] =
    [0.0, 0.0, 0.03, 0.03, 0.0, 0.12, 0.0, 0.0, 0.0, 0.0, 0.0, 0.03, 0.0, 0.0, 0.0, 0.03, 0.0, 0.0, 0.44, 0.44, 0.03, 0.76, 0.0, 0.03, 0.44, 0.44];

/// Mean scale, offset and share missing of I1..I13.
const NUMERIC: [(f64, i64, f64); 13] = [
    (3.5, 0, 0.45),
    (105.0, 1, 0.0),
    (26.0, 0, 0.21),
    (7.0, 0, 0.22),
    (18500.0, 0, 0.03),
    (116.0, 0, 0.22),
    (16.0, 0, 0.04),
    (12.0, 0, 0.0005),
    (106.0, 0, 0.04),
    (1.6, 1, 0.45),
    (2.7, 0, 0.04),
    (2.0, 1, 0.77),
    (8.0, 0, 0.22),
];

/// Exponent of the categorical power law.
/// (1.05: the large columns then keep a long tail of rare values as in
/// the real file, about 20% of rows distinct in C3 at 4.5M rows.)
const ALPHA: f64 = 1.05;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriteoConfig {
    pub rows: u64,
    pub seed: u64,
}

impl CriteoConfig {
    pub fn check(&self) -> Result<()> {
        if self.rows == 0 {
            return Err(DataError::Invalid { what: "synthetic criteo log", message: "rows must be at least 1".into() });
        }
        Ok(())
    }
}

/// A rank in `0..n` from the density `(r + 1)^-ALPHA` on `[0, n)`, by the
/// inverse of its distribution at `u` in [0, 1).
fn power_law_rank(u: f64, n: u32) -> u32 {
    let a = 1.0 - ALPHA;
    let tail = 1.0 - (f64::from(n) + 1.0).powf(a);
    let x = (1.0 - u * tail).powf(1.0 / a) - 1.0;
    (x.max(0.0) as u32).min(n - 1)
}

/// A value's effect on the click logit, in [-1, 1], fixed by column and rank.
fn effect(column: usize, rank: u32) -> f64 {
    let h = mix32(rank ^ mix32(0x5eed_0000 + column as u32));
    f64::from(h) / f64::from(u32::MAX) * 2.0 - 1.0
}

/// Writes `config.rows` rows to `out`; `progress` is called with the rows
/// written every [`PROGRESS_EVERY`] rows. `path` only names the
/// destination in errors.
pub fn write_criteo(config: &CriteoConfig, out: &mut dyn Write, path: &std::path::Path, progress: &mut dyn FnMut(u64)) -> Result<SynthReport> {
    config.check()?;
    let io = write_err(path);
    let mut rng = Rng::new(config.seed);
    let salts: Vec<u32> = (0..26u32).map(|c| mix32(0xc0ffee + c)).collect();
    let mut line = String::with_capacity(512);
    let mut ranks = [0u32; 26];
    let mut numeric = [None::<i64>; 13];
    for row in 1..=config.rows {
        line.clear();
        for (c, &(mean, offset, missing)) in NUMERIC.iter().enumerate() {
            numeric[c] = (rng.uniform() >= missing).then(|| {
                let z = mean.ln() - 0.72 + 1.2 * rng.normal();
                z.exp().floor() as i64 - offset
            });
        }
        for (c, rank) in ranks.iter_mut().enumerate() {
            *rank = if rng.uniform() < CAT_MISSING[c] { u32::MAX } else { power_law_rank(rng.uniform(), CARDINALITIES[c]) };
        }
        let mut logit = -1.3 + 0.35 * (numeric[0].unwrap_or(0).max(0) as f64).ln_1p();
        for (c, &rank) in ranks.iter().enumerate().take(4) {
            if rank != u32::MAX {
                logit += 0.8 * effect(c, rank);
            }
        }
        let label = rng.bernoulli(1.0 / (1.0 + (-logit).exp())) as u8;
        let _ = write!(line, "{label}");
        for value in numeric {
            line.push('\t');
            if let Some(v) = value {
                let _ = write!(line, "{v}");
            }
        }
        for (c, &rank) in ranks.iter().enumerate() {
            line.push('\t');
            if rank != u32::MAX {
                let _ = write!(line, "{:08x}", mix32(rank ^ salts[c]));
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(&io)?;
        if row.is_multiple_of(PROGRESS_EVERY) {
            progress(row);
        }
    }
    Ok(SynthReport { rows: config.rows })
}
