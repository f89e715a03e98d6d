//! An evaluation computed from other runs (an offline A/B test, an
//! off-policy evaluation) kept as one finished run of its experiment: its
//! figures as metrics at step 0 and its whole report as an artifact, which
//! `report_input` reads back for its section ([`split_evaluation`]).

use attnlab_track::{ArtifactSource, MetricPoint, NewRun, RunRecord, RunStatus, Store};

use crate::load_run::short;
use crate::{ExperimentError, Result};

pub(crate) struct EvaluationRun<'a> {
    pub experiment: &'a str,
    /// Also the run's name: one kind of evaluation, one name.
    pub model: &'a str,
    pub seed: u64,
    /// What makes the evaluation what it is; its hash is the run key.
    pub identity: &'a str,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub metrics: Vec<MetricPoint>,
    /// Artifact name and the report's JSON.
    pub report: (&'a str, Vec<u8>),
}

/// Stores `evaluation` as a finished run; returns its id.
pub(crate) fn store_evaluation(store: &Store, evaluation: EvaluationRun<'_>) -> Result<String> {
    let EvaluationRun { experiment, model, seed, identity, params, tags, metrics, report: (artifact, json) } = evaluation;
    let run_id = store.create_run(&NewRun {
        experiment: experiment.to_string(),
        name: model.into(),
        model: model.into(),
        seed,
        run_key: blake3::hash(identity.as_bytes()).to_hex()[..16].to_string(),
        params,
        tags,
        parent: None,
    })?;
    store.log_metrics(&run_id, &metrics)?;
    store.log_artifact(&run_id, artifact, ArtifactSource::Bytes(&json))?;
    store.finish_run(&run_id, RunStatus::Finished)?;
    Ok(run_id)
}

/// The report of the latest finished `model` run among `runs` (read from
/// its `artifact`), and the other runs. An unreadable artifact becomes a
/// note naming `what` it held.
pub(crate) fn split_evaluation<T: serde::de::DeserializeOwned>(
    store: &Store,
    runs: Vec<RunRecord>,
    (model, artifact, what): (&str, &str, &str),
    notes: &mut Vec<String>,
) -> Result<(Option<T>, Vec<RunRecord>)> {
    let (evaluations, others): (Vec<RunRecord>, Vec<RunRecord>) = runs.into_iter().partition(|r| r.model == model);
    let Some(latest) = evaluations.iter().filter(|r| r.status == RunStatus::Finished).max_by_key(|r| r.start_ms) else {
        return Ok((None, others));
    };
    let path = store.artifact_path(&latest.id, artifact)?;
    let text = std::fs::read_to_string(&path).map_err(|source| ExperimentError::Io { what: format!("reading {}", path.display()), source })?;
    match serde_json::from_str::<T>(&text) {
        Ok(report) => Ok((Some(report), others)),
        Err(e) => {
            notes.push(format!("The {what} of run {} ({}) is unreadable: {e}", short(&latest.id), path.display()));
            Ok((None, others))
        }
    }
}
