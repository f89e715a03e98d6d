//! A loaded next-item run made ready to serve: its vocabularies, what it
//! knew of each user when it was tested, its popularity ranking for cold
//! starts, and the [`Scorer`] thread that owns its weights.
//!
//! A user's starting point is the run's test: their history is the input
//! sequence the offline evaluator scored their (first) test row with, and
//! the items they had seen are those of their train and valid rows. So the
//! top-K for a known user with no new events is the evaluator's ranking for
//! that user; events then extend the history.

use std::collections::BTreeMap;
use std::sync::Arc;

use attnlab_data::{Part, Vocab};
use attnlab_experiment::{LoadedRun, RunData};
use attnlab_models::BuiltModel;
use serde_json::{json, Value};

use crate::metrics::Metrics;
use crate::scorer::{Batching, Scorer, ScoringModel};
use crate::{Result, ServeError};

pub struct ServedModel {
    pub run_id: String,
    pub name: String,
    pub model: String,
    pub experiment: String,
    pub spec_fingerprint: String,
    pub data_fingerprint: String,
    pub metrics: BTreeMap<String, f64>,
    pub users: Vocab,
    pub items: Vocab,
    /// Whether the model reads the history (SASRec) or only the user (BPR).
    pub sequential: bool,
    /// Input positions per row: the model's `max_len`, 1 for general models.
    pub width: usize,
    /// Per user id, the history at test time (item ids, oldest first).
    pub base_history: Vec<Vec<u32>>,
    /// Per user id, the items of their train and valid rows (sorted).
    pub seen: Vec<Vec<u32>>,
    /// Train rows per item id: the cold-start ranking.
    pub popularity: Vec<u32>,
    pub scorer: Scorer,
}

impl ServedModel {
    /// Takes a loaded next-item run; its weights move to a scoring thread.
    pub fn new(loaded: LoadedRun, batching: Batching, metrics: Arc<Metrics>, device: tch::Device) -> Result<ServedModel> {
        let short = &loaded.run.id[..8.min(loaded.run.id.len())];
        let (net, data) = match (loaded.net, loaded.data) {
            (BuiltModel::NextItem(net), RunData::Interactions(data)) => (net, data),
            _ => {
                return Err(ServeError::bad(format!(
                    "run {short} ({}) is not a next-item model; /v1/recommend serves next-item runs",
                    loaded.run.model
                )));
            }
        };
        let p = &data.prepared;
        let sequences = p.sequences.as_ref().filter(|_| net.sequential());
        let width = sequences.map_or(1, |s| s.max_len.max(1));
        let mut base_history: Vec<Option<Vec<u32>>> = vec![None; p.num_users];
        if let Some(seq) = sequences {
            for (k, &u) in p.test.user.iter().enumerate() {
                let slot = &mut base_history[u as usize];
                if slot.is_none() {
                    *slot = Some(seq.test.input(k, seq.max_len).iter().copied().filter(|&i| i != 0).collect());
                }
            }
        }
        let base_history = base_history
            .into_iter()
            .enumerate()
            .map(|(u, h)| match (h, sequences) {
                (Some(h), _) => h,
                // a user with no test row: their training sequence
                (None, Some(seq)) => seq.train.get(u).to_vec(),
                (None, None) => Vec::new(),
            })
            .collect();
        let mut seen: Vec<Vec<u32>> = (0..p.num_users).map(|u| p.train_items.get(u).to_vec()).collect();
        let valid = p.split(Part::Valid);
        for (&u, &i) in valid.user.iter().zip(&valid.item) {
            seen[u as usize].push(i);
        }
        for s in &mut seen {
            s.sort_unstable();
            s.dedup();
        }
        let tag = |key: &str| loaded.run.tags.get(key).cloned().unwrap_or_default();
        let scoring = ScoringModel { net, vs: loaded.vs, device, width, num_items: p.num_items };
        let scorer = Scorer::spawn(scoring, batching, metrics, short).map_err(ServeError::io("starting a scoring thread"))?;
        Ok(ServedModel {
            run_id: loaded.run.id.clone(),
            name: loaded.run.name.clone(),
            model: loaded.run.model.clone(),
            experiment: loaded.run.experiment.clone(),
            spec_fingerprint: tag("spec.fingerprint"),
            data_fingerprint: data.fingerprint.clone(),
            metrics: loaded.run.metrics.clone(),
            sequential: sequences.is_some(),
            width,
            base_history,
            seen,
            popularity: p.item_popularity.clone(),
            users: data.users,
            items: data.items,
            scorer,
        })
    }

    /// The entry of `GET /v1/models`.
    pub fn describe(&self) -> Value {
        json!({
            "run": self.run_id,
            "name": self.name,
            "model": self.model,
            "experiment": self.experiment,
            "spec_fingerprint": self.spec_fingerprint,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
            "sequential": self.sequential,
            "users": self.users.len(),
            "items": self.items.len(),
        })
    }

    /// Whether `key` names this model: its run id (or a prefix of 4+ characters) or its name.
    pub fn is(&self, key: &str) -> bool {
        key == self.name || (key.len() >= 4 && self.run_id.starts_with(&key.to_ascii_lowercase()))
    }
}
