//! A finished run back as a ready model: its resolved spec (stored with the
//! run), its model built with the run's params and id spaces, and its best
//! checkpoint loaded. What the offline A/B test scores with, and what a
//! front end that serves a model needs.
//!
//! The id spaces ("vocabularies") of a simulated world are rebuilt from the
//! spec alone, those of an Open Bandit Dataset log by encoding the log again
//! (they depend on its training rows only); runs on other file data would
//! need their prepared vocabularies, which are not stored, so they are
//! refused.

use std::path::{Path, PathBuf};

use attnlab_data::Cardinalities;
use attnlab_models::BuiltModel;
use attnlab_spec::{DataSource, ModelSpec, Spec};
use attnlab_track::{RunRecord, Store};
use attnlab_train::DeviceInfo;
use tch::nn::VarStore;

use crate::dataset::obd::encode_obd;
use crate::dataset::simulator_config;
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
    /// The id spaces the model was built for.
    pub sizes: Cardinalities,
    /// The model's weights (the run's best checkpoint).
    pub vs: VarStore,
    pub net: BuiltModel,
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

/// Loads run `run_id` (an id or a unique prefix) of `store` onto `device`.
pub fn load_run(store: &Store, run_id: &str, device: &DeviceInfo) -> Result<LoadedRun> {
    let id = store.resolve_run_id(run_id)?;
    let run = store.run(&id)?;
    let spec = RunSpec::of(&run)?;
    load_record(run, spec, device)
}

/// Builds the model of `run` (whose spec is `spec`) and loads its best checkpoint.
pub fn load_record(run: RunRecord, RunSpec { spec, model }: RunSpec, device: &DeviceInfo) -> Result<LoadedRun> {
    let short = short(&run.id).to_string();
    let sizes = match spec.dataset.source {
        DataSource::Simulator => simulator_config(&spec).cardinalities(),
        DataSource::Obd => encode_obd(&spec, Path::new(&format!("run {short} (spec.resolved)")), None)?.1,
        _ => {
            return Err(ExperimentError::bad(format!(
                "run {short} ({}) was trained on file data, whose vocabularies are not stored; only simulator and OBD runs can be loaded",
                run.name
            )));
        }
    };
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
    let net = attnlab_models::build_any(&run.model, &vs.root(), &sizes, &model.params)?;
    attnlab_train::finetune::init_from(&vs, &best).map_err(|e| ExperimentError::from(e).context(format!("loading {}", best.display())))?;
    Ok(LoadedRun { run, spec, model, sizes, vs, net })
}
