//! Reproduction targets: a published number and whether our runs (one value
//! per seed) reproduce it.
//!
//! Rules of [`verdict`], with `mean` and `std` (sample std, n - 1; 0 for a
//! single seed) of the n measured values and `diff = mean - value`:
//! - **Reproduced** when `|diff| <= tolerance`, the target's `tolerance`,
//!   or else the paper's `std`; with neither, only an exact match;
//! - **WithinNoise** when `|diff| <= 2 sqrt(std^2 / n + paper_std^2)`
//!   (about a 95% band for the difference of our mean and the paper's
//!   value, the paper's std counting as 0 when not given);
//! - **NotReproduced** otherwise.
//!
//! With one seed our own noise is unknown and counts as 0, so only the
//! paper's std (if any) widens the band. No measurement is an error.

use crate::{EvalError, Result};

/// A published result to reproduce.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    pub model: String,
    pub metric: String,
    pub value: f64,
    /// Largest |difference| we accept as reproduced.
    pub tolerance: Option<f64>,
    /// The paper's standard deviation across its seeds, if it gives one.
    pub std: Option<f64>,
    /// Where the number comes from (paper, table, row).
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    Reproduced,
    WithinNoise,
    NotReproduced,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Reproduced => "REPRODUCED",
            Status::WithinNoise => "WITHIN NOISE",
            Status::NotReproduced => "NOT REPRODUCED",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Mean of the measured values.
    pub mean: f64,
    /// Their sample standard deviation (0 for one seed).
    pub std: f64,
    /// `mean - target.value`.
    pub diff: f64,
    pub status: Status,
}

/// Judges `measured` (one value per seed) against `target`; see the module
/// doc for the rules. Errors on no measurement, a non-finite value, or a
/// negative or non-finite tolerance or std.
pub fn verdict(target: &Target, measured: &[f64]) -> Result<Verdict> {
    let bad = |m: String| Err(EvalError::InvalidArgument(format!("target {} {}: {m}", target.model, target.metric)));
    if measured.is_empty() {
        return bad("no measured value".into());
    }
    if !target.value.is_finite() || measured.iter().any(|v| !v.is_finite()) {
        return bad("values must be finite".into());
    }
    for (name, v) in [("tolerance", target.tolerance), ("std", target.std)] {
        if matches!(v, Some(v) if !(v >= 0.0 && v.is_finite())) {
            return bad(format!("{name} must be finite and >= 0"));
        }
    }
    let n = measured.len() as f64;
    let mean = measured.iter().sum::<f64>() / n;
    let std = if measured.len() < 2 { 0.0 } else { (measured.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() };
    let diff = mean - target.value;
    let paper_std = target.std.unwrap_or(0.0);
    let tolerance = target.tolerance.or(target.std).unwrap_or(0.0);
    let status = if diff.abs() <= tolerance {
        Status::Reproduced
    } else if diff.abs() <= 2.0 * (std * std / n + paper_std * paper_std).sqrt() {
        Status::WithinNoise
    } else {
        Status::NotReproduced
    };
    Ok(Verdict { mean, std, diff, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(tolerance: Option<f64>, std: Option<f64>) -> Target {
        Target { model: "sasrec".into(), metric: "ndcg@10".into(), value: 0.30, tolerance, std, source: "paper, Table 2".into() }
    }

    #[test]
    fn reproduced_within_tolerance() {
        let v = verdict(&target(Some(0.01), None), &[0.295, 0.305, 0.309]).unwrap();
        assert_eq!(v.status, Status::Reproduced);
        assert!((v.mean - 0.303).abs() < 1e-12 && (v.diff - 0.003).abs() < 1e-12);
        assert!((v.std - 0.007_211_102_550_927_979).abs() < 1e-12);
    }

    #[test]
    fn paper_std_is_the_tolerance_when_none_is_given() {
        assert_eq!(verdict(&target(None, Some(0.005)), &[0.304]).unwrap().status, Status::Reproduced);
        // |diff| = 0.008 > 0.005 but <= 2 * 0.005
        assert_eq!(verdict(&target(None, Some(0.005)), &[0.308]).unwrap().status, Status::WithinNoise);
        assert_eq!(verdict(&target(None, Some(0.005)), &[0.311]).unwrap().status, Status::NotReproduced);
    }

    #[test]
    fn within_noise_from_our_seeds() {
        // mean 0.32, std 0.0231, n = 4: band 2 * 0.0231 / 2 = 0.0231 >= |diff| = 0.02
        let v = verdict(&target(Some(0.01), None), &[0.30, 0.34, 0.30, 0.34]).unwrap();
        assert!((v.std - 0.023_094_010_767_585_03).abs() < 1e-12);
        assert_eq!(v.status, Status::WithinNoise);
    }

    #[test]
    fn not_reproduced() {
        let v = verdict(&target(Some(0.01), Some(0.002)), &[0.25, 0.26, 0.255]).unwrap();
        assert_eq!(v.status, Status::NotReproduced);
        assert!(v.diff < 0.0);
    }

    #[test]
    fn single_seed_has_no_noise_of_its_own() {
        let v = verdict(&target(Some(0.01), None), &[0.32]).unwrap();
        assert_eq!((v.std, v.status), (0.0, Status::NotReproduced));
        // only the paper's std widens the band: 0.02 <= 2 * 0.012
        assert_eq!(verdict(&target(Some(0.01), Some(0.012)), &[0.32]).unwrap().status, Status::WithinNoise);
        // neither tolerance nor std: only an exact match reproduces
        assert_eq!(verdict(&target(None, None), &[0.30]).unwrap().status, Status::Reproduced);
        assert_eq!(verdict(&target(None, None), &[0.3001]).unwrap().status, Status::NotReproduced);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(verdict(&target(Some(0.01), None), &[]).is_err());
        assert!(verdict(&target(Some(0.01), None), &[f64::NAN]).is_err());
        assert!(verdict(&target(Some(-0.01), None), &[0.3]).is_err());
        assert!(verdict(&target(None, Some(f64::INFINITY)), &[0.3]).is_err());
    }

    #[test]
    fn status_prints_as_in_reports() {
        assert_eq!(Status::WithinNoise.to_string(), "WITHIN NOISE");
        assert_eq!(Status::NotReproduced.to_string(), "NOT REPRODUCED");
    }
}
