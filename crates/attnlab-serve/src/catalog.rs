//! A next-item model made ready to serve: its vocabularies, its
//! [`ServingState`] (what it knew of each user when it was tested, its
//! popularity ranking for cold starts), and the [`Scorer`] thread that owns
//! its weights. Built from a run of the store ([`ServedModel::new`]) or from
//! an exported bundle (`crate::bundle`), through one constructor.
//!
//! So the top-K for a known user with no new events is the evaluator's
//! ranking for that user; events then extend the history.

use std::collections::BTreeMap;
use std::sync::Arc;

use attnlab_data::Vocab;
use attnlab_experiment::{LoadedRun, RunData};
use attnlab_models::{BuiltModel, NextItemModel};
use serde_json::{json, Value};

use crate::metrics::Metrics;
use crate::scorer::{Batching, Scorer, ScoringModel};
use crate::state::ServingState;
use crate::{Result, ServeError};

/// Which run a served model is, as `GET /v1/models` shows it.
pub struct Identity {
    pub run_id: String,
    pub name: String,
    pub model: String,
    pub experiment: String,
    pub spec_fingerprint: String,
    pub data_fingerprint: String,
    pub metrics: BTreeMap<String, f64>,
}

pub struct ServedModel {
    pub identity: Identity,
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
        let state = ServingState::of(&data.prepared, net.sequential());
        let tag = |key: &str| loaded.run.tags.get(key).cloned().unwrap_or_default();
        let identity = Identity {
            run_id: loaded.run.id.clone(),
            name: loaded.run.name.clone(),
            model: loaded.run.model.clone(),
            experiment: loaded.run.experiment.clone(),
            spec_fingerprint: tag("spec.fingerprint"),
            data_fingerprint: data.fingerprint.clone(),
            metrics: loaded.run.metrics.clone(),
        };
        let data = *data;
        ServedModel::assemble(identity, state, (data.users, data.items), net, loaded.vs, batching, metrics, device)
    }

    /// A model whose weights are in `vs`, with its users' state: the
    /// weights move to a scoring thread.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        identity: Identity,
        state: ServingState,
        (users, items): (Vocab, Vocab),
        net: Box<dyn NextItemModel>,
        vs: tch::nn::VarStore,
        batching: Batching,
        metrics: Arc<Metrics>,
        device: tch::Device,
    ) -> Result<ServedModel> {
        let short = &identity.run_id[..8.min(identity.run_id.len())];
        let scoring = ScoringModel { net, vs, device, width: state.width, num_items: state.num_items };
        let scorer = Scorer::spawn(scoring, batching, metrics, short).map_err(ServeError::io("starting a scoring thread"))?;
        Ok(ServedModel {
            identity,
            sequential: state.sequential,
            width: state.width,
            base_history: state.base_history,
            seen: state.seen,
            popularity: state.popularity,
            users,
            items,
            scorer,
        })
    }

    /// The entry of `GET /v1/models`.
    pub fn describe(&self) -> Value {
        let id = &self.identity;
        json!({
            "run": id.run_id,
            "name": id.name,
            "model": id.model,
            "experiment": id.experiment,
            "spec_fingerprint": id.spec_fingerprint,
            "data_fingerprint": id.data_fingerprint,
            "metrics": id.metrics,
            "sequential": self.sequential,
            "users": self.users.len(),
            "items": self.items.len(),
        })
    }

    /// Whether `key` names this model: its run id (or a prefix of 4+ characters) or its name.
    pub fn is(&self, key: &str) -> bool {
        let id = &self.identity;
        key == id.name || (key.len() >= 4 && id.run_id.starts_with(&key.to_ascii_lowercase()))
    }
}
