//! The per-record numbers every estimator is built from.

use crate::market::ips::weights;
use crate::market::{LoggedBandit, TargetPolicy};
use crate::{EvalError, Result};

/// Per record `i`: `weight` `w_i = π(a_i|x_i)/μ(a_i|x_i)`, `reward` `r_i`,
/// `q_logged` `q̂(x_i, a_i)` and `q_target` `Σ_a π(a|x_i) q̂(x_i, a)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Terms {
    pub weight: Vec<f64>,
    pub reward: Vec<f64>,
    pub q_logged: Vec<f64>,
    pub q_target: Vec<f64>,
}

impl Terms {
    /// From logs, the target's per-record distribution and a reward model
    /// `q` (row-major `records x actions`, like `target.probs`).
    pub fn from_matrices(logs: &LoggedBandit, target: &TargetPolicy, q: &[f64]) -> Result<Terms> {
        let weight = weights(logs, target)?;
        let k = target.n_actions;
        if q.len() != target.probs.len() {
            return Err(EvalError::InvalidArgument(format!(
                "{} reward-model predictions for {} records x {k} actions",
                q.len(),
                logs.actions.len()
            )));
        }
        if let Some(i) = q.iter().position(|v| !v.is_finite()) {
            return Err(EvalError::InvalidArgument(format!("record {}: reward-model prediction is not finite", i / k)));
        }
        let rows = |i: usize| (&target.probs[i * k..(i + 1) * k], &q[i * k..(i + 1) * k]);
        Ok(Terms {
            reward: logs.rewards.to_vec(),
            q_logged: logs.actions.iter().enumerate().map(|(i, &a)| rows(i).1[a]).collect(),
            q_target: (0..weight.len()).map(|i| rows(i).0.iter().zip(rows(i).1).map(|(p, q)| p * q).sum()).collect(),
            weight,
        })
    }

    pub fn len(&self) -> usize {
        self.weight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weight.is_empty()
    }

    /// The records `rows` (with repeats: a bootstrap resample).
    pub fn select(&self, rows: &[usize]) -> Terms {
        let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect();
        Terms {
            weight: pick(&self.weight),
            reward: pick(&self.reward),
            q_logged: pick(&self.q_logged),
            q_target: pick(&self.q_target),
        }
    }
}
