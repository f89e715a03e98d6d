//! Off-policy value estimates from logged bandit feedback.
//!
//! Logs hold, per record `i`, the action `a_i` a logging policy `μ` took in
//! context `x_i`, its propensity `μ(a_i | x_i)` and the observed reward
//! `r_i`. A target policy `π` gives, per record, a distribution over the
//! actions. With importance weights `w_i = π(a_i | x_i) / μ(a_i | x_i)`:
//!
//! - [`ips`]: `V = (1/n) Σ w_i r_i`, unbiased when `μ > 0` wherever `π > 0`;
//!   `se = sd(w r) / √n`.
//! - [`snips`]: self-normalised, `V = Σ w_i r_i / Σ w_i`; biased by O(1/n)
//!   but usually of much lower variance, and invariant to a constant shift of
//!   the rewards; `se = √(Σ w_i² (r_i − V)²) / Σ w_i` (delta method).
//!
//! Both report a 95% normal CI and the effective sample size
//! `(Σ w)² / Σ w²`, which falls as `π` moves away from `μ`.

use super::{Z_95, mean_var};
use crate::{EvalError, Result};

/// Logged bandit feedback, one entry per record in each slice.
#[derive(Debug, Clone, Copy)]
pub struct LoggedBandit<'a> {
    /// The logged action of each record, `< n_actions`.
    pub actions: &'a [usize],
    /// `μ(a_i | x_i)`, in (0, 1].
    pub propensities: &'a [f64],
    pub rewards: &'a [f64],
}

/// The target policy's action distribution for each logged record.
#[derive(Debug, Clone, Copy)]
pub struct TargetPolicy<'a> {
    pub n_actions: usize,
    /// Row-major `records × n_actions`: row `i` is `π(· | x_i)`, summing to 1.
    pub probs: &'a [f64],
}

/// A value estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    /// Standard error (normal approximation).
    pub se: f64,
    /// 95% CI: `value ± 1.96 se`.
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: usize,
    /// `(Σ w)² / Σ w²`.
    pub effective_sample_size: f64,
    pub max_weight: f64,
}

fn bad(message: String) -> EvalError {
    EvalError::InvalidArgument(message)
}

/// Checks the inputs and returns the importance weights.
pub(crate) fn weights(logs: &LoggedBandit, target: &TargetPolicy) -> Result<Vec<f64>> {
    let n = logs.actions.len();
    let k = target.n_actions;
    if n == 0 || logs.propensities.len() != n || logs.rewards.len() != n || k == 0 || target.probs.len() != n * k {
        return Err(bad(format!(
            "{n} actions, {} propensities, {} rewards and {} target probabilities for {k} actions do not match",
            logs.propensities.len(),
            logs.rewards.len(),
            target.probs.len()
        )));
    }
    (0..n)
        .map(|i| {
            let (a, mu, r) = (logs.actions[i], logs.propensities[i], logs.rewards[i]);
            let row = &target.probs[i * k..(i + 1) * k];
            if a >= k {
                return Err(bad(format!("record {i}: action {a} is not below {k}")));
            }
            if !(mu > 0.0 && mu <= 1.0) {
                return Err(bad(format!("record {i}: propensity {mu} is not in (0, 1]")));
            }
            if !r.is_finite() {
                return Err(bad(format!("record {i}: reward {r} is not finite")));
            }
            if row.iter().any(|p| !(0.0..=1.0).contains(p)) || (row.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
                return Err(bad(format!("record {i}: target probabilities are not a distribution")));
            }
            Ok(row[a] / mu)
        })
        .collect()
}

fn estimate(value: f64, se: f64, w: &[f64]) -> Estimate {
    let (sum, sum_sq) = (w.iter().sum::<f64>(), w.iter().map(|x| x * x).sum::<f64>());
    Estimate {
        value,
        se,
        ci_low: value - Z_95 * se,
        ci_high: value + Z_95 * se,
        n: w.len(),
        effective_sample_size: if sum_sq > 0.0 { sum * sum / sum_sq } else { 0.0 },
        max_weight: w.iter().copied().fold(0.0, f64::max),
    }
}

/// Inverse propensity scoring; see the module doc.
pub fn ips(logs: &LoggedBandit, target: &TargetPolicy) -> Result<Estimate> {
    let w = weights(logs, target)?;
    let terms: Vec<f64> = w.iter().zip(logs.rewards).map(|(w, r)| w * r).collect();
    let (value, var) = mean_var(&terms);
    Ok(estimate(value, (var / terms.len() as f64).sqrt(), &w))
}

/// Self-normalised IPS; see the module doc. Undefined when every weight is
/// 0 (the target policy never takes a logged action).
pub fn snips(logs: &LoggedBandit, target: &TargetPolicy) -> Result<Estimate> {
    let w = weights(logs, target)?;
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return Err(EvalError::Undefined {
            metric: "snips".into(),
            reason: "the target policy gives probability 0 to every logged action".into(),
        });
    }
    let value = w.iter().zip(logs.rewards).map(|(w, r)| w * r).sum::<f64>() / total;
    let spread: f64 = w.iter().zip(logs.rewards).map(|(w, r)| (w * (r - value)).powi(2)).sum();
    Ok(estimate(value, spread.sqrt() / total, &w))
}
