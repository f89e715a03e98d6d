//! Learning-rate schedules over optimiser steps: an optional linear warmup,
//! then constant, linear, cosine or step decay. A pure function of the step,
//! so a resumed run needs only its global step.

use crate::TrainError;

/// What follows the warmup.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decay {
    /// `lr` until the end.
    Constant,
    /// Linearly from `lr` to `final_lr` at the last step.
    Linear { final_lr: f64 },
    /// Half a cosine from `lr` to `final_lr` at the last step.
    Cosine { final_lr: f64 },
    /// `lr * gamma^k` after `k * every_steps` steps.
    Step { every_steps: usize, gamma: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Peak learning rate.
    pub lr: f64,
    /// Steps of linear warmup: step `s < warmup_steps` uses `lr * (s + 1) / warmup_steps`.
    pub warmup_steps: usize,
    pub decay: Decay,
}

impl Schedule {
    pub fn constant(lr: f64) -> Schedule {
        Schedule { lr, warmup_steps: 0, decay: Decay::Constant }
    }

    /// The learning rate of the 0-based optimiser step `step` out of
    /// `total_steps` planned. Decays run over `total_steps - warmup_steps`
    /// and hold their final value beyond it.
    pub fn lr_at(&self, step: usize, total_steps: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let after = step - self.warmup_steps;
        let span = total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = (after as f64 / span as f64).min(1.0);
        match self.decay {
            Decay::Constant => self.lr,
            Decay::Linear { final_lr } => final_lr + (self.lr - final_lr) * (1.0 - progress),
            Decay::Cosine { final_lr } => {
                final_lr + (self.lr - final_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Decay::Step { every_steps, gamma } => self.lr * gamma.powi((after / every_steps.max(1)) as i32),
        }
    }

    /// A schedule that cannot run is [`TrainError::Config`], naming the setting.
    pub fn check(&self) -> crate::Result<()> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        let invalid = |message: String| Err(TrainError::Config(message));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return invalid(format!("lr must be > 0, got {}", self.lr));
        }
        match self.decay {
            Decay::Linear { final_lr } | Decay::Cosine { final_lr } if !ok(final_lr) => {
                invalid(format!("schedule final_lr must be >= 0, got {final_lr}"))
            }
            Decay::Step { every_steps: 0, .. } => invalid("step decay needs every_steps >= 1".into()),
            Decay::Step { gamma, .. } if !(ok(gamma) && gamma > 0.0) => invalid(format!("step decay gamma must be > 0, got {gamma}")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lrs(s: &Schedule, total: usize) -> Vec<f64> {
        (0..total + 2).map(|i| s.lr_at(i, total)).collect()
    }

    #[test]
    fn constant() {
        assert_eq!(lrs(&Schedule::constant(0.1), 3), vec![0.1; 5]);
    }

    #[test]
    fn warmup_then_linear_decay() {
        let s = Schedule { lr: 1.0, warmup_steps: 4, decay: Decay::Linear { final_lr: 0.0 } };
        assert_eq!(lrs(&s, 8), vec![0.25, 0.5, 0.75, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0]);
        let s = Schedule { lr: 2.0, warmup_steps: 0, decay: Decay::Linear { final_lr: 1.0 } };
        assert_eq!(lrs(&s, 4), vec![2.0, 1.75, 1.5, 1.25, 1.0, 1.0]);
    }

    #[test]
    fn warmup_then_cosine_decay() {
        let s = Schedule { lr: 1.0, warmup_steps: 2, decay: Decay::Cosine { final_lr: 0.0 } };
        let got = lrs(&s, 6);
        let half = std::f64::consts::FRAC_1_SQRT_2;
        let want = [0.5, 1.0, 1.0, 0.5 * (1.0 + half), 0.5, 0.5 * (1.0 - half), 0.0, 0.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
        let s = Schedule { lr: 3.0, warmup_steps: 0, decay: Decay::Cosine { final_lr: 1.0 } };
        assert_eq!(s.lr_at(0, 10), 3.0);
        assert_eq!(s.lr_at(5, 10), 2.0);
        assert_eq!(s.lr_at(10, 10), 1.0);
    }

    #[test]
    fn step_decay() {
        let s = Schedule { lr: 1.0, warmup_steps: 1, decay: Decay::Step { every_steps: 2, gamma: 0.5 } };
        assert_eq!(lrs(&s, 7), vec![1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]);
    }

    #[test]
    fn checks_its_parameters() {
        assert!(Schedule::constant(0.0).check().is_err());
        assert!(Schedule { lr: 1.0, warmup_steps: 0, decay: Decay::Step { every_steps: 0, gamma: 0.5 } }.check().is_err());
        assert!(Schedule { lr: 1.0, warmup_steps: 0, decay: Decay::Cosine { final_lr: -1.0 } }.check().is_err());
        assert!(Schedule { lr: 1.0, warmup_steps: 3, decay: Decay::Linear { final_lr: 0.0 } }.check().is_ok());
    }
}
