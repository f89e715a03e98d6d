//! Logs whose only context is the slot an item was shown in, as in the
//! Open Bandit Dataset, where the logging policy's propensity is the
//! probability of the item in that slot. Target policies here are
//! context-free per slot, so the weights and the reward model are
//! `slots x actions` tables.

use super::Terms;
use crate::{EvalError, Result};

/// Validated slot logs, one entry per record in each column.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotLogs {
    pub actions: Vec<usize>,
    pub slots: Vec<usize>,
    /// `μ(a_i | slot_i)`, in (0, 1].
    pub propensities: Vec<f64>,
    pub rewards: Vec<f64>,
    pub n_actions: usize,
    pub n_slots: usize,
}

impl SlotLogs {
    pub fn new(actions: Vec<usize>, slots: Vec<usize>, propensities: Vec<f64>, rewards: Vec<f64>, n_actions: usize, n_slots: usize) -> Result<SlotLogs> {
        let n = actions.len();
        if n == 0 || slots.len() != n || propensities.len() != n || rewards.len() != n {
            return Err(EvalError::InvalidArgument(format!(
                "{n} actions, {} slots, {} propensities and {} rewards do not match",
                slots.len(),
                propensities.len(),
                rewards.len()
            )));
        }
        for i in 0..n {
            let bad = |m: String| Err(EvalError::InvalidArgument(format!("record {i}: {m}")));
            if actions[i] >= n_actions {
                return bad(format!("action {} is not below {n_actions}", actions[i]));
            }
            if slots[i] >= n_slots {
                return bad(format!("slot {} is not below {n_slots}", slots[i]));
            }
            if !(propensities[i] > 0.0 && propensities[i] <= 1.0) {
                return bad(format!("propensity {} is not in (0, 1]", propensities[i]));
            }
            if !rewards[i].is_finite() {
                return bad(format!("reward {} is not finite", rewards[i]));
            }
        }
        Ok(SlotLogs { actions, slots, propensities, rewards, n_actions, n_slots })
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The mean reward: the logging policy's own value.
    pub fn on_policy_value(&self) -> f64 {
        self.rewards.iter().sum::<f64>() / self.len() as f64
    }
}

/// A per-slot distribution over actions, row-major `slots x actions`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotPolicy {
    pub n_slots: usize,
    pub n_actions: usize,
    pub probs: Vec<f64>,
}

impl SlotPolicy {
    pub fn uniform(n_slots: usize, n_actions: usize) -> SlotPolicy {
        SlotPolicy { n_slots, n_actions, probs: vec![1.0 / n_actions as f64; n_slots * n_actions] }
    }

    /// Each slot's empirical action distribution in `logs`: how often the
    /// logging policy showed each item there.
    pub fn empirical(logs: &SlotLogs) -> Result<SlotPolicy> {
        let (k, s) = (logs.n_actions, logs.n_slots);
        let mut counts = vec![0.0; s * k];
        for (&a, &slot) in logs.actions.iter().zip(&logs.slots) {
            counts[slot * k + a] += 1.0;
        }
        for slot in 0..s {
            let row = &mut counts[slot * k..(slot + 1) * k];
            let total: f64 = row.iter().sum();
            if total == 0.0 {
                return Err(EvalError::InvalidArgument(format!("slot {slot} has no records: no action distribution")));
            }
            row.iter_mut().for_each(|c| *c /= total);
        }
        Ok(SlotPolicy { n_slots: s, n_actions: k, probs: counts })
    }

    pub fn prob(&self, slot: usize, action: usize) -> f64 {
        self.probs[slot * self.n_actions + action]
    }

    /// The row of `slot`, over actions.
    pub fn row(&self, slot: usize) -> &[f64] {
        &self.probs[slot * self.n_actions..(slot + 1) * self.n_actions]
    }
}

/// The reward model DM and the DR family use when there is no trained
/// model: the mean reward of each action x slot, shrunk toward the slot's
/// mean reward by `prior` pseudo-records,
/// `q̂(a, k) = (Σ r + prior · r̄_k) / (n(a, k) + prior)`. With click rates
/// around 0.4 % most cells hold no click, so the raw cell mean (prior 0)
/// would predict 0 for them.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotRewardModel {
    pub n_actions: usize,
    /// Row-major `slots x actions`.
    pub q: Vec<f64>,
}

impl SlotRewardModel {
    /// Fits on the records `rows` of `logs` (with repeats: a resample).
    pub fn fit(logs: &SlotLogs, rows: &[usize], prior: f64) -> SlotRewardModel {
        let (k, s) = (logs.n_actions, logs.n_slots);
        let (mut sum, mut n) = (vec![0.0; s * k], vec![0.0; s * k]);
        let (mut slot_sum, mut slot_n) = (vec![0.0; s], vec![0.0; s]);
        for &i in rows {
            let (slot, cell) = (logs.slots[i], logs.slots[i] * k + logs.actions[i]);
            sum[cell] += logs.rewards[i];
            n[cell] += 1.0;
            slot_sum[slot] += logs.rewards[i];
            slot_n[slot] += 1.0;
        }
        let overall = slot_sum.iter().sum::<f64>() / rows.len().max(1) as f64;
        let q = (0..s * k)
            .map(|cell| {
                let slot = cell / k;
                let slot_mean = if slot_n[slot] > 0.0 { slot_sum[slot] / slot_n[slot] } else { overall };
                let total = n[cell] + prior;
                if total > 0.0 { (sum[cell] + prior * slot_mean) / total } else { slot_mean }
            })
            .collect();
        SlotRewardModel { n_actions: k, q }
    }

    pub fn predict(&self, slot: usize, action: usize) -> f64 {
        self.q[slot * self.n_actions + action]
    }

    /// The row of `slot`, over actions.
    pub fn row(&self, slot: usize) -> &[f64] {
        &self.q[slot * self.n_actions..(slot + 1) * self.n_actions]
    }
}

/// [`Terms`] of the records `rows` for `target` with reward model `model`.
pub fn slot_terms(logs: &SlotLogs, rows: &[usize], target: &SlotPolicy, model: &SlotRewardModel) -> Result<Terms> {
    if (target.n_slots, target.n_actions) != (logs.n_slots, logs.n_actions) || model.q.len() != target.probs.len() {
        return Err(EvalError::InvalidArgument(format!(
            "the target policy covers {} slots x {} actions, the logs {} x {}",
            target.n_slots, target.n_actions, logs.n_slots, logs.n_actions
        )));
    }
    // Σ_a π(a|k) q̂(a, k), once per slot
    let value: Vec<f64> =
        (0..logs.n_slots).map(|s| target.row(s).iter().zip(model.row(s)).map(|(p, q)| p * q).sum()).collect();
    let mut t = Terms::default();
    for &i in rows {
        let (a, s) = (logs.actions[i], logs.slots[i]);
        t.weight.push(target.prob(s, a) / logs.propensities[i]);
        t.reward.push(logs.rewards[i]);
        t.q_logged.push(model.predict(s, a));
        t.q_target.push(value[s]);
    }
    Ok(t)
}
