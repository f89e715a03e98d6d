//! Target policies and reward models that depend on each record's context,
//! not only on its slot: what a trained click model gives. Each is a
//! row-major `records x actions` matrix whose row `i` is taken at record
//! `i`'s own context and slot: `π(·|x_i, k_i)` for a policy, `q̂(x_i, ·, k_i)`
//! for a reward model.

use super::slots::{SlotLogs, SlotPolicy, SlotRewardModel};
use super::Terms;
use crate::{EvalError, Result};

/// One row per record, one column per action.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMatrix {
    pub n_actions: usize,
    pub values: Vec<f64>,
}

impl RecordMatrix {
    /// Per-record distributions: every row non-negative and summing to 1.
    pub fn policy(n_records: usize, n_actions: usize, values: Vec<f64>) -> Result<RecordMatrix> {
        let m = RecordMatrix::predictions(n_records, n_actions, values)?;
        for i in 0..n_records {
            let row = m.row(i);
            let sum: f64 = row.iter().sum();
            if row.iter().any(|&p| p < 0.0) || (sum - 1.0).abs() > 1e-6 {
                return Err(EvalError::InvalidArgument(format!("record {i}: the target's probabilities sum to {sum}, not 1")));
            }
        }
        Ok(m)
    }

    /// Per-record reward predictions: every value finite.
    pub fn predictions(n_records: usize, n_actions: usize, values: Vec<f64>) -> Result<RecordMatrix> {
        if n_actions == 0 || values.len() != n_records * n_actions {
            return Err(EvalError::InvalidArgument(format!(
                "{} values for {n_records} records x {n_actions} actions",
                values.len()
            )));
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(EvalError::InvalidArgument(format!("record {}: value {} is not finite", k / n_actions, values[k])));
        }
        Ok(RecordMatrix { n_actions, values })
    }

    pub fn records(&self) -> usize {
        self.values.len() / self.n_actions
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_actions..(i + 1) * self.n_actions]
    }
}

/// A target policy at each record: per slot, or per record.
#[derive(Debug, Clone, Copy)]
pub enum PolicyRows<'a> {
    Slots(&'a SlotPolicy),
    Records(&'a RecordMatrix),
}

impl PolicyRows<'_> {
    fn row<'s>(&'s self, logs: &SlotLogs, i: usize) -> &'s [f64] {
        match self {
            PolicyRows::Slots(p) => p.row(logs.slots[i]),
            PolicyRows::Records(m) => m.row(i),
        }
    }

    fn shape(&self) -> (usize, Option<usize>) {
        match self {
            PolicyRows::Slots(p) => (p.n_actions, None),
            PolicyRows::Records(m) => (m.n_actions, Some(m.records())),
        }
    }
}

/// A reward model at each record: the item x slot CTR (refitted on every
/// resample by the caller) or fixed per-record predictions.
#[derive(Debug, Clone, Copy)]
pub enum RewardRows<'a> {
    Slots(&'a SlotRewardModel),
    Records(&'a RecordMatrix),
}

impl RewardRows<'_> {
    fn row<'s>(&'s self, logs: &SlotLogs, i: usize) -> &'s [f64] {
        match self {
            RewardRows::Slots(m) => m.row(logs.slots[i]),
            RewardRows::Records(m) => m.row(i),
        }
    }

    fn shape(&self) -> (usize, Option<usize>) {
        match self {
            RewardRows::Slots(m) => (m.n_actions, None),
            RewardRows::Records(m) => (m.n_actions, Some(m.records())),
        }
    }
}

/// [`Terms`] of the records `rows` for `target` with reward model `model`.
pub fn record_terms(logs: &SlotLogs, rows: &[usize], target: PolicyRows, model: RewardRows) -> Result<Terms> {
    for (what, (actions, records)) in [("target policy", target.shape()), ("reward model", model.shape())] {
        if actions != logs.n_actions || records.is_some_and(|r| r != logs.len()) {
            return Err(EvalError::InvalidArgument(format!(
                "the {what} covers {actions} actions{}, the logs {} actions and {} records",
                records.map(|r| format!(" and {r} records")).unwrap_or_default(),
                logs.n_actions,
                logs.len()
            )));
        }
    }
    let mut t = Terms::default();
    for &i in rows {
        let (a, p, q) = (logs.actions[i], target.row(logs, i), model.row(logs, i));
        t.weight.push(p[a] / logs.propensities[i]);
        t.reward.push(logs.rewards[i]);
        t.q_logged.push(q[a]);
        t.q_target.push(p.iter().zip(q).map(|(p, q)| p * q).sum());
    }
    Ok(t)
}
