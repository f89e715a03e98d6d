//! One off-policy evaluation of slot logs: the target policy, the reward
//! model fitted on each resample, every estimator with its CI, and, where
//! the truth is known, the relative estimation error.

use std::fmt::Write;

use super::bootstrap::{bootstrap, EstimatorResult};
use super::records::{record_terms, PolicyRows, RecordMatrix, RewardRows};
use super::slots::{slot_terms, SlotLogs, SlotPolicy, SlotRewardModel};
use super::Estimator;
use crate::{EvalError, Result};

/// The policy being evaluated.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// Every action equally likely in every slot.
    Uniform,
    /// Another log's empirical action distribution per slot.
    Logged(&'a SlotLogs),
    /// A distribution at each record's own context and slot (a trained
    /// model's policy); no truth is known.
    Records(&'a RecordMatrix),
}

/// The reward model of DM and the DR family.
#[derive(Debug, Clone, Copy)]
pub enum RewardModel<'a> {
    /// The item x slot CTR of the logs ([`SlotRewardModel`], with
    /// [`OpeConfig::reward_prior`]), refitted on every resample.
    SlotCtr,
    /// Fixed predictions at each record's context and slot (a trained click
    /// model's), for every action.
    Records(&'a RecordMatrix),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpeConfig {
    pub estimators: Vec<Estimator>,
    pub resamples: usize,
    pub seed: u64,
    /// Pseudo-records of the reward model's shrinkage ([`SlotRewardModel`]).
    pub reward_prior: f64,
}

/// Estimates, CIs and (with a truth) relative errors.
#[derive(Debug, Clone, PartialEq)]
pub struct OpeReport {
    pub records: usize,
    pub resamples: usize,
    pub results: Vec<EstimatorResult>,
    /// The target's true value, when known (a logged policy's mean reward).
    pub truth: Option<f64>,
    /// Per result: mean and std over the resamples of `|estimate − truth| / truth`.
    pub relative_errors: Vec<(f64, f64)>,
}

/// Evaluates `target` on `logs` with the item x slot CTR reward model.
/// The truth of a [`Target::Logged`] target is its log's mean reward (its
/// on-policy value); `truth` overrides it.
pub fn evaluate(logs: &SlotLogs, target: Target, truth: Option<f64>, config: &OpeConfig) -> Result<OpeReport> {
    evaluate_with(logs, target, RewardModel::SlotCtr, truth, config)
}

/// [`evaluate`] with a choice of reward model.
pub fn evaluate_with(logs: &SlotLogs, target: Target, reward: RewardModel, truth: Option<f64>, config: &OpeConfig) -> Result<OpeReport> {
    let slot_policy = match target {
        Target::Uniform => Some(SlotPolicy::uniform(logs.n_slots, logs.n_actions)),
        Target::Logged(other) => Some(SlotPolicy::empirical(other)?),
        Target::Records(_) => None,
    };
    let truth = match target {
        Target::Logged(other) => truth.or(Some(other.on_policy_value())),
        _ => truth,
    };
    let policy = match (&slot_policy, target) {
        (_, Target::Records(m)) => PolicyRows::Records(m),
        (Some(p), _) => PolicyRows::Slots(p),
        (None, _) => return Err(EvalError::InvalidArgument("a context-free target without a slot policy".into())),
    };
    let (estimators, resamples, seed) = (&config.estimators, config.resamples, config.seed);
    let results = match (reward, &slot_policy) {
        // the original path, one weighted sum per slot
        (RewardModel::SlotCtr, Some(p)) => bootstrap(logs.len(), estimators, resamples, 0.95, seed, |rows| {
            slot_terms(logs, rows, p, &SlotRewardModel::fit(logs, rows, config.reward_prior))
        })?,
        (RewardModel::SlotCtr, None) => bootstrap(logs.len(), estimators, resamples, 0.95, seed, |rows| {
            record_terms(logs, rows, policy, RewardRows::Slots(&SlotRewardModel::fit(logs, rows, config.reward_prior)))
        })?,
        // a fixed model: the terms of every record once, resampled
        (RewardModel::Records(q), _) => {
            let all: Vec<usize> = (0..logs.len()).collect();
            let terms = record_terms(logs, &all, policy, RewardRows::Records(q))?;
            bootstrap(logs.len(), estimators, resamples, 0.95, seed, |rows| Ok(terms.select(rows)))?
        }
    };
    let relative_errors = match truth {
        Some(t) if t > 0.0 => results.iter().map(|r| r.relative_error(t)).collect(),
        _ => Vec::new(),
    };
    Ok(OpeReport { records: logs.len(), resamples: config.resamples, results, truth, relative_errors })
}

impl OpeReport {
    /// `{"records", "resamples", "truth"?, "estimators": {NAME: {"estimate",
    /// "ci_low", "ci_high", "relative_error_mean"?, "relative_error_std"?}}}`.
    pub fn json(&self) -> serde_json::Value {
        let mut estimators = serde_json::Map::new();
        for (k, r) in self.results.iter().enumerate() {
            let mut e = serde_json::json!({ "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high });
            if let Some((m, s)) = self.relative_errors.get(k) {
                e["relative_error_mean"] = (*m).into();
                e["relative_error_std"] = (*s).into();
            }
            estimators.insert(r.estimator.clone(), e);
        }
        let mut out = serde_json::json!({ "records": self.records, "resamples": self.resamples, "estimators": estimators });
        if let Some(t) = self.truth {
            out["truth"] = t.into();
        }
        out
    }

    /// A plain-text table: estimate, 95% CI and, with a truth, the relative error.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let width = self.results.iter().map(|r| r.estimator.len()).max().unwrap_or(0).max(9);
        let _ = write!(out, "{:<width$}  {:>10}  {:>23}", "estimator", "estimate", "95% CI");
        if !self.relative_errors.is_empty() {
            let _ = write!(out, "  {:>17}", "rel. error");
        }
        out.push('\n');
        for (k, r) in self.results.iter().enumerate() {
            let ci = format!("[{:.6}, {:.6}]", r.ci_low, r.ci_high);
            let _ = write!(out, "{:<width$}  {:>10.6}  {ci:>23}", r.estimator, r.estimate);
            if let Some((m, s)) = self.relative_errors.get(k) {
                let _ = write!(out, "  {:>17}", format!("{m:.3} ± {s:.3}"));
            }
            out.push('\n');
        }
        if let Some(t) = self.truth {
            let _ = writeln!(out, "truth (on-policy mean reward): {t:.6}");
        }
        let _ = writeln!(out, "{} records, {} bootstrap resamples", self.records, self.resamples);
        out
    }
}
