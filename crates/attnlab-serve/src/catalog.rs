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
use attnlab_track::RunRecord;
use attnlab_models::{BuiltModel, NextItemModel};
use serde_json::{json, Value};

use crate::market::FeedModel;
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

impl Identity {
    /// The identity of store run `run` whose data have `data_fingerprint`.
    pub fn of_run(run: &RunRecord, data_fingerprint: String) -> Identity {
        Identity {
            run_id: run.id.clone(),
            name: run.name.clone(),
            model: run.model.clone(),
            experiment: run.experiment.clone(),
            spec_fingerprint: run.tags.get("spec.fingerprint").cloned().unwrap_or_default(),
            data_fingerprint,
            metrics: run.metrics.clone(),
        }
    }

    /// Whether `key` names this run: its id (or a prefix of 4+ characters) or its name.
    pub fn is(&self, key: &str) -> bool {
        key == self.name || (key.len() >= 4 && self.run_id.starts_with(&key.to_ascii_lowercase()))
    }

    /// The fields of `GET /v1/models` every model has.
    fn describe(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "run": self.run_id,
            "name": self.name,
            "model": self.model,
            "experiment": self.experiment,
            "spec_fingerprint": self.spec_fingerprint,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
        });
        v.as_object().cloned().unwrap_or_default()
    }
}

/// A served run: a next-item model (`/v1/recommend`) or a click model of a
/// simulated market (`/v1/rank`).
pub enum Served {
    Recommend(ServedModel),
    Rank(FeedModel),
}

impl Served {
    pub fn identity(&self) -> &Identity {
        match self {
            Served::Recommend(m) => &m.identity,
            Served::Rank(m) => &m.identity,
        }
    }

    /// The entry of `GET /v1/models`.
    pub fn describe(&self) -> Value {
        let mut v = self.identity().describe();
        let more = match self {
            Served::Recommend(m) => json!({ "serves": "/v1/recommend", "sequential": m.sequential, "users": m.users.len(), "items": m.items.len() }),
            Served::Rank(m) => json!({
                "serves": "/v1/rank",
                "users": m.sampler.users(),
                // item ids 1..=organic_items are organic, the rest up to `items` ads
                "items": m.sampler.items(),
                "organic_items": m.sampler.organic_items(),
                "ad_slots": m.policy.ad_slots,
                "budgets": m.budgets.as_ref().map(|b| b.lock().unwrap_or_else(|p| p.into_inner()).describe()),
            }),
        };
        v.extend(more.as_object().cloned().unwrap_or_default());
        Value::Object(v)
    }
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
        let identity = Identity::of_run(&loaded.run, data.fingerprint.clone());
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
}
