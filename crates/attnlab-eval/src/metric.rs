//! The metrics a spec can name.

use crate::{auc, gauc, log_loss, EvalError, Result};

/// What a model predicted on one split, aligned row by row.
#[derive(Debug, Clone, Copy)]
pub struct Predictions<'a> {
    pub users: &'a [u32],
    pub labels: &'a [f32],
    /// Probabilities in [0, 1].
    pub scores: &'a [f32],
}

impl<'a> Predictions<'a> {
    pub fn new(users: &'a [u32], labels: &'a [f32], scores: &'a [f32]) -> Result<Self> {
        if labels.len() != scores.len() || users.len() != labels.len() {
            return Err(EvalError::LengthMismatch { labels: labels.len(), scores: scores.len(), users: users.len() });
        }
        if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
            return Err(EvalError::NonFiniteScore { index });
        }
        Ok(Predictions { users, labels, scores })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Auc,
    /// Impression-weighted per-user AUC.
    Gauc,
    LogLoss,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Auc, Metric::Gauc, Metric::LogLoss];

    pub fn parse(name: &str) -> Result<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name.to_ascii_lowercase()).ok_or_else(|| {
            EvalError::UnknownMetric {
                name: name.to_string(),
                known: Metric::ALL.map(|m| m.name()).join(", "),
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Auc => "auc",
            Metric::Gauc => "gauc",
            Metric::LogLoss => "logloss",
        }
    }

    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::LogLoss)
    }

    /// `None` where the metric is undefined on this data (e.g. one class only).
    pub fn compute(self, p: &Predictions) -> Option<f64> {
        match self {
            Metric::Auc => auc(p.labels, p.scores),
            Metric::Gauc => gauc(p.users, p.labels, p.scores).value,
            Metric::LogLoss => log_loss(p.labels, p.scores),
        }
    }

    /// True when `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() { a > b } else { a < b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_direction() {
        assert_eq!(Metric::parse("AUC").unwrap(), Metric::Auc);
        assert!(Metric::parse("acu").unwrap_err().to_string().contains("known: auc, gauc, logloss"));
        assert!(Metric::Auc.better(0.8, 0.7) && !Metric::LogLoss.better(0.8, 0.7));
    }

    #[test]
    fn predictions_reject_misaligned_or_nan() {
        assert!(Predictions::new(&[1], &[1.0, 0.0], &[0.5, 0.5]).is_err());
        assert_eq!(Predictions::new(&[1, 1], &[1.0, 0.0], &[0.5, f32::NAN]).unwrap_err(), EvalError::NonFiniteScore { index: 1 });
    }
}
