//! The percentile bootstrap over records: every estimator recomputed on
//! each resample, including the self-normalisation and, through
//! `terms_of`, whatever the caller fits on the records (the reward model).

use super::{Estimator, Terms};
use crate::significance::{percentile_interval, SplitMix64};
use crate::{EvalError, Result};

/// One estimator's estimate on all records and its bootstrap CI.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorResult {
    /// The estimator with its hyper-parameter, e.g. `switch-dr(tau=10)`.
    pub estimator: String,
    pub estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The estimate on each resample.
    pub samples: Vec<f64>,
}

impl EstimatorResult {
    /// Mean and sample standard deviation over the resamples of the
    /// relative error `|estimate − truth| / truth`.
    pub fn relative_error(&self, truth: f64) -> (f64, f64) {
        let errors: Vec<f64> = self.samples.iter().map(|s| (s - truth).abs() / truth).collect();
        let (mean, var) = crate::market::mean_var(&errors);
        (mean, var.sqrt())
    }
}

/// Estimates on all `n` records and percentile CIs at `level` over
/// `resamples` resamples of `n` records drawn with replacement
/// ([`SplitMix64`] seeded with `seed`). `terms_of(rows)` gives the terms of
/// the records `rows`.
pub fn bootstrap(
    n: usize,
    estimators: &[Estimator],
    resamples: usize,
    level: f64,
    seed: u64,
    terms_of: impl Fn(&[usize]) -> Result<Terms>,
) -> Result<Vec<EstimatorResult>> {
    if n == 0 || estimators.is_empty() || resamples < 2 || !(level > 0.0 && level < 1.0) {
        return Err(EvalError::InvalidArgument(format!(
            "the bootstrap needs records, estimators, at least 2 resamples and 0 < level < 1 \
             (got {n} records, {} estimators, {resamples} resamples, level {level})",
            estimators.len()
        )));
    }
    let all: Vec<usize> = (0..n).collect();
    let full = terms_of(&all)?;
    let mut samples = vec![Vec::with_capacity(resamples); estimators.len()];
    let mut rng = SplitMix64::new(seed);
    let mut rows = vec![0; n];
    for _ in 0..resamples {
        rows.iter_mut().for_each(|r| *r = rng.below(n));
        let terms = terms_of(&rows)?;
        for (e, out) in estimators.iter().zip(&mut samples) {
            out.push(e.value(&terms)?);
        }
    }
    estimators
        .iter()
        .zip(samples)
        .map(|(e, samples)| {
            let (ci_low, ci_high) = percentile_interval(&mut samples.clone(), level);
            Ok(EstimatorResult { estimator: e.label(), estimate: e.value(&full)?, ci_low, ci_high, samples })
        })
        .collect()
}
