//! A finished run back as a ready model: its resolved spec (stored with the
//! run), its model built with the run's params and id spaces, and its best
//! checkpoint loaded. What the offline A/B test scores with, and what a
//! front end that serves a model needs.
//!
//! The id spaces ("vocabularies") of a simulated world are rebuilt from the
//! spec alone, those of an Open Bandit Dataset log by encoding the log again
//! (they depend on its training rows only). Those of interaction files (original user and item tokens
//! <-> dense ids) are not stored with a run: they are rebuilt by reading and
//! preparing the run's files again, and the result is checked against the
//! run's data fingerprint, so a file changed since the run is refused rather
//! than served with shifted ids.

use std::path::{Path, PathBuf};

use attnlab_data::{Cardinalities, Vocab};
use attnlab_models::{BuiltModel, NextItemSizes};
use attnlab_spec::{DataSource, LoadedSpec, ModelSpec, Spec};
use attnlab_track::{RunRecord, Store};
use attnlab_train::DeviceInfo;
use tch::nn::VarStore;

use crate::dataset::obd::encode_obd;
use crate::dataset::{interaction_vocabularies, prepare, simulator_config, Dataset};
use crate::{ExperimentError, Result};

/// A run's resolved spec and its model's entry in it.
pub struct RunSpec {
    pub spec: Spec,
    pub model: ModelSpec,
}

/// A run ready to predict.
pub struct LoadedRun {
    pub run: RunRecord,
    pub spec: Spec,
    pub model: ModelSpec,
    /// The id spaces the model was built for, and their data.
    pub data: RunData,
    /// The model's weights (the run's best checkpoint).
    pub vs: VarStore,
    pub net: BuiltModel,
}

/// What a loaded run's ids mean.
pub enum RunData {
    /// Impressions (a simulated world, an OBD log): their id spaces.
    Impressions(Cardinalities),
    /// Interaction files, prepared again as the run saw them.
    Interactions(Box<InteractionData>),
}

/// A next-item run's data: the prepared splits and the vocabularies.
pub struct InteractionData {
    pub prepared: attnlab_data::Prepared,
    /// User tokens <-> ids `0..num_users`.
    pub users: Vocab,
    /// Item tokens <-> ids `1..num_items` (0 is padding).
    pub items: Vocab,
    /// The data fingerprint, equal to the run's `data.fingerprint` tag.
    pub fingerprint: String,
    /// Each model's item side features, by model name.
    pub item_features: crate::dataset::ModelItemFeatures,
}

/// The first 8 characters of a run id, as messages show it.
pub(crate) fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

impl RunSpec {
    /// The spec the run was made from (its `spec.resolved` tag).
    pub fn of(run: &RunRecord) -> Result<RunSpec> {
        let short = short(&run.id);
        let text = run.tags.get("spec.resolved").ok_or_else(|| ExperimentError::bad(format!("run {short} has no resolved spec")))?;
        let spec = attnlab_spec::parse_spec(text, Path::new(&format!("run {short} (spec.resolved)")), &[])?;
        let model = spec
            .models
            .iter()
            .find(|m| m.name == run.name)
            .cloned()
            .ok_or_else(|| ExperimentError::bad(format!("run {short}: its spec has no model named `{}`", run.name)))?;
        Ok(RunSpec { spec, model })
    }
}

/// Loads run `run_id` (an id or a unique prefix) of `store` onto `device`;
/// a run on interaction files has them prepared again under `cache_root`.
pub fn load_run(store: &Store, run_id: &str, device: &DeviceInfo, cache_root: &Path) -> Result<LoadedRun> {
    let id = store.resolve_run_id(run_id)?;
    let run = store.run(&id)?;
    let spec = RunSpec::of(&run)?;
    load_record_in(run, spec, device, Some(cache_root))
}

/// Builds the model of simulator or OBD run `run` (whose spec is `spec`) and loads
/// its best checkpoint.
pub fn load_record(run: RunRecord, spec: RunSpec, device: &DeviceInfo) -> Result<LoadedRun> {
    load_record_in(run, spec, device, None)
}

fn load_record_in(run: RunRecord, RunSpec { spec, model }: RunSpec, device: &DeviceInfo, cache_root: Option<&Path>) -> Result<LoadedRun> {
    let short = short(&run.id).to_string();
    let best = run.tags.get("checkpoint.dir").map(|d| PathBuf::from(d).join("best.safetensors"));
    let best = match best {
        Some(path) if path.is_file() => path,
        _ => {
            return Err(ExperimentError::bad(format!(
                "run {short} ({}) has no best checkpoint (was it run with train.checkpoints: false, or its folder removed?)",
                run.name
            )));
        }
    };
    let vs = VarStore::new(device.device);
    let (net, data) = match (spec.dataset.source, cache_root) {
        (DataSource::Simulator | DataSource::Obd, _) => {
            let sizes = match spec.dataset.source {
                DataSource::Obd => encode_obd(&spec, Path::new(&format!("run {short} (spec.resolved)")), None)?.1,
                _ => simulator_config(&spec).cardinalities(),
            };
            let train = spec.train_for(&model)?;
            (crate::impression_model::build_impression_model(&model, &train, &vs.root(), &sizes)?, RunData::Impressions(sizes))
        }
        (DataSource::RecboleAtomic, Some(cache_root)) => {
            let data = interaction_data(&run, &spec, cache_root)?;
            let p = &data.prepared;
            let sizes = NextItemSizes { users: p.num_users, items: p.num_items, max_len: p.sequences.as_ref().map_or(1, |s| s.max_len) };
            let net = attnlab_models::build_next_item(&run.model, &vs.root(), &sizes, &model.params, Some(p.item_popularity.as_slice()), data.item_features.get(&model.name))?;
            (BuiltModel::NextItem(net), RunData::Interactions(Box::new(data)))
        }
        _ => {
            return Err(ExperimentError::bad(format!(
                "run {short} ({}) was trained on file data; only simulator, OBD and interaction-file (next-item) runs can be loaded here",
                run.name
            )));
        }
    };
    attnlab_train::finetune::init_from(&vs, &best).map_err(|e| ExperimentError::from(e).context(format!("loading {}", best.display())))?;
    Ok(LoadedRun { run, spec, model, data, vs, net })
}

/// The run's interaction files prepared again, with their vocabularies;
/// refused when the files no longer give the run's data fingerprint.
fn interaction_data(run: &RunRecord, spec: &Spec, cache_root: &Path) -> Result<InteractionData> {
    let short = short(&run.id);
    let loaded = LoadedSpec {
        spec: spec.clone(),
        path: PathBuf::from(format!("run {short} (spec.resolved)")),
        overrides: Vec::new(),
        fingerprint: run.tags.get("spec.fingerprint").cloned().unwrap_or_default(),
    };
    let prepared = prepare(&loaded, cache_root)?;
    let expected = run.tags.get("data.fingerprint").map(String::as_str).unwrap_or_default();
    if prepared.data_fingerprint != expected {
        return Err(ExperimentError::bad(format!(
            "run {short} ({}): its data files changed since it ran (data fingerprint {} now, {expected} then)",
            run.name, prepared.data_fingerprint
        )));
    }
    let (users, items) = interaction_vocabularies(&loaded)?;
    match prepared.data {
        Dataset::Interactions { prepared: data, item_features, .. } => {
            Ok(InteractionData { prepared: data, users, items, fingerprint: prepared.data_fingerprint, item_features })
        }
        _ => Err(ExperimentError::bad(format!("run {short}: its data are not interactions"))),
    }
}
