//! The seven estimators, as functions of [`Terms`]; formulas in the
//! module doc of [`crate::ope`].

use super::Terms;
use crate::{EvalError, Result};

/// An OPE estimator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Estimator {
    /// Direct method: the reward model's value of the target.
    Dm,
    /// Inverse propensity weighting.
    Ipw,
    /// Self-normalised IPW.
    Snipw,
    /// Doubly robust.
    Dr,
    /// Self-normalised doubly robust.
    Sndr,
    /// DR whose correction is dropped where the weight exceeds `tau`.
    SwitchDr { tau: f64 },
    /// DR with optimistic shrinkage of the weights, `λw / (w² + λ)`.
    DrOs { lambda: f64 },
}

/// The names [`Estimator::parse`] knows, in the order of the module table.
pub const ESTIMATORS: [&str; 7] = ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dros"];

impl Estimator {
    /// `name` from [`ESTIMATORS`]; `tau` and `lambda` are Switch-DR's and
    /// DRos's hyper-parameters (each >= 0, may be infinite).
    pub fn parse(name: &str, tau: f64, lambda: f64) -> Result<Estimator> {
        for (what, v) in [("switch-dr tau", tau), ("dros lambda", lambda)] {
            if v.is_nan() || v < 0.0 {
                return Err(EvalError::InvalidArgument(format!("{what} must be >= 0, got {v}")));
            }
        }
        Ok(match name.trim() {
            "dm" => Estimator::Dm,
            "ipw" => Estimator::Ipw,
            "snipw" => Estimator::Snipw,
            "dr" => Estimator::Dr,
            "sndr" => Estimator::Sndr,
            "switch-dr" => Estimator::SwitchDr { tau },
            "dros" => Estimator::DrOs { lambda },
            other => return Err(EvalError::UnknownMetric { name: other.to_string(), known: ESTIMATORS.join(", ") }),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Estimator::Dm => "dm",
            Estimator::Ipw => "ipw",
            Estimator::Snipw => "snipw",
            Estimator::Dr => "dr",
            Estimator::Sndr => "sndr",
            Estimator::SwitchDr { .. } => "switch-dr",
            Estimator::DrOs { .. } => "dros",
        }
    }

    /// The name with its hyper-parameter, e.g. `switch-dr(tau=10)`.
    pub fn label(&self) -> String {
        match self {
            Estimator::SwitchDr { tau } => format!("switch-dr(tau={tau})"),
            Estimator::DrOs { lambda } => format!("dros(lambda={lambda})"),
            other => other.name().to_string(),
        }
    }

    /// The estimate from `t`. Self-normalised estimators are undefined when
    /// every weight is 0.
    pub fn value(&self, t: &Terms) -> Result<f64> {
        if t.is_empty() {
            return Err(EvalError::Undefined { metric: self.name().into(), reason: "no records".into() });
        }
        let n = t.len() as f64;
        let mean = |f: &dyn Fn(usize) -> f64| (0..t.len()).map(f).sum::<f64>() / n;
        let residual = |i: usize| t.reward[i] - t.q_logged[i];
        let self_normalised = |f: &dyn Fn(usize) -> f64| {
            let total: f64 = t.weight.iter().sum();
            if total > 0.0 {
                Ok((0..t.len()).map(|i| t.weight[i] * f(i)).sum::<f64>() / total)
            } else {
                Err(EvalError::Undefined {
                    metric: self.name().into(),
                    reason: "the target policy gives probability 0 to every logged action".into(),
                })
            }
        };
        Ok(match *self {
            Estimator::Dm => mean(&|i| t.q_target[i]),
            Estimator::Ipw => mean(&|i| t.weight[i] * t.reward[i]),
            Estimator::Snipw => self_normalised(&|i| t.reward[i])?,
            Estimator::Dr => mean(&|i| t.q_target[i] + t.weight[i] * residual(i)),
            Estimator::Sndr => mean(&|i| t.q_target[i]) + self_normalised(&residual)?,
            Estimator::SwitchDr { tau } => {
                mean(&|i| t.q_target[i] + if t.weight[i] <= tau { t.weight[i] * residual(i) } else { 0.0 })
            }
            Estimator::DrOs { lambda } => mean(&|i| t.q_target[i] + shrunk(t.weight[i], lambda) * residual(i)),
        })
    }
}

/// DRos's weight `λw / (w² + λ)`, with its limits at λ = 0 (0) and λ = ∞ (w).
fn shrunk(w: f64, lambda: f64) -> f64 {
    if lambda == 0.0 {
        0.0
    } else if lambda.is_infinite() {
        w
    } else {
        lambda * w / (w * w + lambda)
    }
}
