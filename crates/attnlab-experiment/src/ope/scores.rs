//! A trained click run on the Open Bandit Dataset as a target policy and as
//! a reward model: its predicted click probability for every item in every
//! slot, at the context (user features and affinities) of each logged record.
//!
//! Records of one context share their scores, so each distinct context is
//! scored once (80 items x 3 slots); the candidates are encoded with the
//! run's own vocabularies ([`encode_obd`] appends them to the run's log).

use std::collections::HashMap;

use attnlab_data::{ObdLog, OBD_SLOTS};
use attnlab_eval::ope::RecordMatrix;
use attnlab_models::BuiltModel;
use attnlab_spec::Ranking;
use attnlab_train::{predict, DeviceInfo};

use crate::dataset::obd::{encode_obd, ExtraRows};
use crate::load_run::{short, LoadedRun};
use crate::{ExperimentError, Result};

/// Rows predicted at once.
const BATCH: usize = 8192;

/// Click probabilities per context, slot and item.
pub struct RunScores {
    pub n_items: usize,
    /// The context of each record.
    context_of: Vec<usize>,
    /// `contexts x slots x items`.
    probs: Vec<f64>,
}

impl RunScores {
    /// Scores every item in every slot for each record of `log` with `run`,
    /// which must have been trained on a log of the same campaign.
    pub fn of(run: &LoadedRun, log: &ObdLog, campaign: &str, device: &DeviceInfo) -> Result<RunScores> {
        let short = short(&run.run.id);
        let trained_on = run.spec.dataset.obd.map(|o| o.log());
        match &trained_on {
            Some(r) if r.campaign == campaign => {}
            Some(r) => {
                return Err(ExperimentError::bad(format!(
                    "run {short} ({}) was trained on {r}, whose items are not those of campaign `{campaign}`",
                    run.run.name
                )));
            }
            None => {
                return Err(ExperimentError::bad(format!(
                    "run {short} ({}) was not trained on the Open Bandit Dataset (dataset.source: obd)",
                    run.run.name
                )));
            }
        }
        let BuiltModel::Ctr(net) = &run.net else {
            return Err(ExperimentError::bad(format!("run {short}: {} is not a click model", run.run.model)));
        };
        let n_items = log.items.len();
        let (context_of, representatives) = contexts(log);
        let mut rows = Vec::with_capacity(representatives.len() * OBD_SLOTS * n_items);
        for &r in &representatives {
            for slot in 0..OBD_SLOTS as u8 {
                rows.extend((0..n_items as u32).map(|item| (r, item, slot)));
            }
        }
        let path = std::path::PathBuf::from(format!("run {short} (spec.resolved)"));
        let (data, sizes, own) = encode_obd(&run.spec, &path, Some(&ExtraRows { log, rows }))?;
        if !matches!(&run.data, crate::RunData::Impressions(trained) if *trained == sizes) {
            return Err(ExperimentError::bad(format!("run {short}: its data encodes to other id spaces than it was trained on")));
        }
        let candidates = data.select(&(own..data.len()).collect::<Vec<_>>());
        let probs = predict(net.as_ref(), &candidates, BATCH, device.device)?.into_iter().map(f64::from).collect();
        Ok(RunScores { n_items, context_of, probs })
    }

    /// The probabilities of every item in `slot` at record `i`'s context.
    pub fn at(&self, i: usize, slot: usize) -> &[f64] {
        let start = (self.context_of[i] * OBD_SLOTS + slot) * self.n_items;
        &self.probs[start..start + self.n_items]
    }

    /// The reward model: each record's predictions at its own slot.
    pub fn predictions(&self, log: &ObdLog) -> Result<RecordMatrix> {
        let values = (0..log.len()).flat_map(|i| self.at(i, log.position[i] as usize).to_vec()).collect();
        Ok(RecordMatrix::predictions(log.len(), self.n_items, values)?)
    }

    /// The target policy at each record's own slot.
    pub fn policy(&self, log: &ObdLog, ranking: Ranking, temperature: f64) -> Result<RecordMatrix> {
        let mut values = Vec::with_capacity(log.len() * self.n_items);
        for i in 0..log.len() {
            let slot = log.position[i] as usize;
            match ranking {
                Ranking::Top3 => {
                    let chosen = self.top_items(i, slot);
                    values.extend((0..self.n_items).map(|a| if a == chosen { 1.0 } else { 0.0 }));
                }
                Ranking::Softmax => values.extend(softmax(self.at(i, slot), temperature)),
            }
        }
        Ok(RecordMatrix::policy(log.len(), self.n_items, values)?)
    }

    /// The item a top-3 ranking shows in `slot` at record `i`'s context:
    /// slot 0 takes the highest score there, each later slot the highest
    /// of the items not shown above it.
    fn top_items(&self, i: usize, slot: usize) -> usize {
        let mut shown: Vec<usize> = Vec::with_capacity(slot + 1);
        for s in 0..=slot {
            let scores = self.at(i, s);
            let best = (0..self.n_items)
                .filter(|a| !shown.contains(a))
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            shown.push(best);
        }
        shown[slot]
    }
}

/// `softmax(logit(p) / temperature)`: a temperature of 1 makes each item's
/// probability proportional to its odds of a click.
fn softmax(probs: &[f64], temperature: f64) -> Vec<f64> {
    let logits: Vec<f64> = probs.iter().map(|&p| { let p = p.clamp(1e-7, 1.0 - 1e-7); (p / (1.0 - p)).ln() / temperature }).collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Each record's context id and one record per context: records with the
/// same user features and affinities are one context.
fn contexts(log: &ObdLog) -> (Vec<usize>, Vec<usize>) {
    let n_items = log.items.len();
    let mut index: HashMap<(Vec<u32>, Vec<u32>), usize> = HashMap::new();
    let mut representatives = Vec::new();
    let context_of = (0..log.len())
        .map(|r| {
            let users = log.user_features.iter().map(|c| c.ids[r]).collect();
            let affinity = log.affinity[r * n_items..(r + 1) * n_items].iter().map(|a| a.to_bits()).collect();
            *index.entry((users, affinity)).or_insert_with(|| {
                representatives.push(r);
                representatives.len() - 1
            })
        })
        .collect();
    (context_of, representatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_follows_the_odds() {
        let p = softmax(&[0.5, 0.2, 0.2], 1.0);
        // odds 1, 1/4, 1/4
        assert!((p[0] - 2.0 / 3.0).abs() < 1e-9 && (p[1] - 1.0 / 6.0).abs() < 1e-9, "{p:?}");
        let cold = softmax(&[0.5, 0.2, 0.2], 0.01);
        assert!(cold[0] > 0.999999);
        let hot = softmax(&[0.5, 0.2, 0.2], 1e6);
        assert!(hot.iter().all(|q| (q - 1.0 / 3.0).abs() < 1e-5));
    }

    #[test]
    fn top_three_never_repeats_an_item() {
        // one context; slot 0 prefers item 2, slot 1 prefers item 2 too, slot 2 item 0
        let scores = RunScores {
            n_items: 3,
            context_of: vec![0, 0, 0],
            probs: vec![0.1, 0.2, 0.9, 0.3, 0.1, 0.8, 0.7, 0.6, 0.5],
        };
        assert_eq!((scores.top_items(0, 0), scores.top_items(1, 1), scores.top_items(2, 2)), (2, 0, 1));
    }
}
