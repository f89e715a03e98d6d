//! Off-policy evaluation of an OPE spec on the Open Bandit Dataset, stored
//! as a run.
//!
//! The logs and any logged target or truth are read from the spec's data
//! folder; a run target (`run:EXPERIMENT/MODEL` or `run:ID`) and a run
//! reward model are loaded from the store ([`crate::load_run`]) and score
//! every item in every slot at each record's context ([`scores`]). The
//! estimation is `attnlab_eval::ope::evaluate_with`. The result becomes a
//! finished run of the spec's experiment with model [`OPE_MODEL`]: metrics
//! `ope.<estimator>.{estimate,ci_low,ci_high}` (and, with a truth,
//! `ope.truth` and `ope.<estimator>.rel_error_{mean,std}`), and the
//! report's [`OpeSection`] as the [`OPE_ARTIFACT`] artifact, which
//! `attnlab report` shows ([`split_ope`]).

pub mod scores;

use std::path::Path;

use attnlab_data::{load_obd, ObdLog, OBD_SLOTS};
use attnlab_eval::ope::{evaluate_with, Estimator, OpeConfig, OpeReport, RewardModel, SlotLogs, Target};
use attnlab_spec::{ObdRef, OpeFile, OpeTarget, RunRef};
use attnlab_track::{MetricPoint, RunRecord, RunStatus, Store};
use attnlab_train::DeviceInfo;
use attnlab_report::{OpeRow, OpeSection, OPE_ARTIFACT};

use crate::evaluation_run::{split_evaluation, store_evaluation, EvaluationRun};
use crate::identity::VERSION;
use crate::load_run::{load_record, short, RunSpec};
use crate::{ExperimentError, Result};
use scores::RunScores;

/// The model name of an OPE result run.
pub const OPE_MODEL: &str = "ope";

/// An evaluation and the id of the run it was stored as.
pub struct OpeOutcome {
    pub report: OpeReport,
    /// What the report shows, also the run's [`OPE_ARTIFACT`].
    pub section: OpeSection,
    pub run_id: String,
}

/// Evaluates `file` (read from `path`, or `command line`) and stores the
/// result in `store`. Runs score on the CPU: a few hundred contexts x 240
/// candidates is little work, and the estimates stay the same on every
/// machine.
pub fn run_ope(file: &OpeFile, path: &Path, store: &Store) -> Result<OpeOutcome> {
    let device = &DeviceInfo { device: tch::Device::Cpu, label: "cpu".into() };
    let spec = &file.ope;
    let in_spec = |field: &str, e: &dyn std::fmt::Display| ExperimentError::bad(format!("{}: ope.{field}: {e}", path.display()));
    let log = load(&spec.logs, &spec.data)?;
    let logs = slot_logs(&log)?;
    let estimators = spec
        .estimators
        .iter()
        .map(|e| Estimator::parse(e.name(), spec.switch_tau, spec.dros_lambda))
        .collect::<Result<Vec<_>, _>>()?;
    let config = OpeConfig { estimators, resamples: spec.bootstrap as usize, seed: spec.seed, reward_prior: spec.reward_prior };
    let truth = match &spec.truth {
        Some(r) => Some(load(r, &spec.data)?.ctr()),
        None => None,
    };
    let mut runs: Vec<(String, RunScores)> = Vec::new();
    let mut scores_of = |r: &RunRef, field: &str| -> Result<usize> {
        let run = find_run(store, r).map_err(|e| in_spec(field, &e))?;
        if let Some(k) = runs.iter().position(|(id, _)| *id == run.id) {
            return Ok(k);
        }
        // an OBD run's id spaces come from its spec: no prepared-data cache is needed
        let loaded = RunSpec::of(&run).and_then(|spec| load_record(run.clone(), spec, device)).map_err(|e| in_spec(field, &e))?;
        let scores = RunScores::of(&loaded, &log, &spec.logs.campaign, device).map_err(|e| in_spec(field, &e))?;
        runs.push((run.id, scores));
        Ok(runs.len() - 1)
    };
    let target_run = match &spec.target {
        OpeTarget::Run(r) => Some(scores_of(r, "target")?),
        _ => None,
    };
    let reward_run = spec.reward_model.as_ref().map(|r| scores_of(r, "reward_model")).transpose()?;
    let target_logs = match &spec.target {
        OpeTarget::Logged(r) => Some(slot_logs(&load(r, &spec.data)?)?),
        _ => None,
    };
    let target_policy = target_run.map(|k| runs[k].1.policy(&log, spec.ranking, spec.temperature)).transpose()?;
    let predictions = reward_run.map(|k| runs[k].1.predictions(&log)).transpose()?;
    let target = match (&spec.target, &target_logs, &target_policy) {
        (OpeTarget::Logged(_), Some(other), _) => Target::Logged(other),
        (OpeTarget::Run(_), _, Some(policy)) => Target::Records(policy),
        _ => Target::Uniform,
    };
    let reward = predictions.as_ref().map_or(RewardModel::SlotCtr, RewardModel::Records);
    let report = evaluate_with(&logs, target, reward, truth, &config)?;
    let run_id_of = |k: Option<usize>| k.map(|k| runs[k].0.clone());
    let truth_from = match (&spec.truth, &spec.target) {
        (Some(t), _) | (None, OpeTarget::Logged(t)) => Some(t.to_string()),
        _ => None,
    };
    let section = OpeSection {
        logs: spec.logs.to_string(),
        target: spec.target.to_string(),
        target_run: run_id_of(target_run),
        reward_model: spec.reward_model.as_ref().map_or("item x slot CTR of the logs".into(), |r| r.to_string()),
        reward_model_run: run_id_of(reward_run),
        truth: report.truth,
        truth_from,
        records: report.records,
        resamples: report.resamples,
        rows: report
            .results
            .iter()
            .enumerate()
            .map(|(k, r)| OpeRow {
                estimator: r.estimator.clone(),
                estimate: r.estimate,
                ci_low: r.ci_low,
                ci_high: r.ci_high,
                relative_error: report.relative_errors.get(k).copied(),
            })
            .collect(),
    };
    let run_id = store_result(store, file, path, &report, &section)?;
    Ok(OpeOutcome { report, section, run_id })
}

/// The finished run a reference names: a run id prefix, or the model's
/// finished run in the experiment with the lowest seed (the latest of those).
pub fn find_run(store: &Store, r: &RunRef) -> Result<RunRecord> {
    match r {
        RunRef::Id(prefix) => {
            let run = store.run(&store.resolve_run_id(prefix)?)?;
            if run.status != RunStatus::Finished {
                return Err(ExperimentError::bad(format!("run {} is {:?}, not finished", short(&run.id), run.status)));
            }
            Ok(run)
        }
        RunRef::Model { experiment, model } => store
            .runs(experiment)?
            .into_iter()
            .filter(|run| run.name == *model && run.status == RunStatus::Finished)
            .min_by_key(|run| (run.seed, -run.start_ms))
            .ok_or_else(|| {
                ExperimentError::bad(format!(
                    "no finished run of model `{model}` in experiment `{experiment}` (run its spec first, e.g. `attnlab run experiments/{experiment}.yaml`)"
                ))
            }),
    }
}

/// One log of the data set, or bad input naming the missing folder.
pub fn load(r: &ObdRef, root: &Path) -> Result<ObdLog> {
    let dir = r.dir(root);
    if !dir.is_dir() {
        return Err(ExperimentError::bad(format!("{}: no such folder for {r} (run `attnlab data fetch obd`)", dir.display())));
    }
    Ok(load_obd(&dir, &r.campaign)?)
}

/// The columns the estimators read: item, slot, propensity, click.
pub fn slot_logs(log: &ObdLog) -> Result<SlotLogs> {
    Ok(SlotLogs::new(log.actions(), log.slots(), log.propensity.clone(), log.rewards(), log.items.len(), OBD_SLOTS)?)
}

/// The result as a finished run of the spec's experiment.
fn store_result(store: &Store, file: &OpeFile, path: &Path, report: &OpeReport, result: &OpeSection) -> Result<String> {
    let spec = &file.ope;
    let spec_json = serde_json::to_string(file)?;
    let identity = format!("{spec_json}|{:?}|{:?}|{VERSION}", result.target_run, result.reward_model_run);
    let params = vec![
        ("ope.logs".to_string(), result.logs.clone()),
        ("ope.target".into(), result.target.clone()),
        ("ope.ranking".into(), serde_json::to_value(spec.ranking)?.as_str().unwrap_or_default().to_string()),
        ("ope.temperature".into(), spec.temperature.to_string()),
        ("ope.reward_model".into(), result.reward_model.clone()),
        ("ope.bootstrap".into(), spec.bootstrap.to_string()),
        ("ope.estimators".into(), spec.estimators.iter().map(|e| e.name()).collect::<Vec<_>>().join(",")),
    ];
    let mut tags = vec![
        ("spec.path".to_string(), path.display().to_string()),
        ("ope.spec".into(), spec_json),
        ("attnlab.version".into(), VERSION.into()),
    ];
    tags.extend(result.target_run.iter().map(|id| ("ope.target_run".to_string(), id.clone())));
    tags.extend(result.reward_model_run.iter().map(|id| ("ope.reward_model_run".to_string(), id.clone())));
    let mut points = Vec::new();
    for (k, (e, r)) in spec.estimators.iter().zip(&report.results).enumerate() {
        let key = |what: &str| format!("ope.{}.{what}", e.name());
        points.extend([("estimate", r.estimate), ("ci_low", r.ci_low), ("ci_high", r.ci_high)].map(|(w, v)| MetricPoint::now(key(w), v, 0)));
        if let Some((mean, std)) = report.relative_errors.get(k) {
            points.push(MetricPoint::now(key("rel_error_mean"), *mean, 0));
            points.push(MetricPoint::now(key("rel_error_std"), *std, 0));
        }
    }
    points.extend(report.truth.map(|t| MetricPoint::now("ope.truth".to_string(), t, 0)));
    store_evaluation(
        store,
        EvaluationRun {
            experiment: &file.name,
            model: OPE_MODEL,
            seed: spec.seed,
            identity: &identity,
            params,
            tags,
            metrics: points,
            report: (OPE_ARTIFACT, serde_json::to_vec_pretty(result)?),
        },
    )
}

/// The latest finished OPE run among `runs` (read from its artifact), and
/// the other runs. An unreadable artifact becomes a note.
pub fn split_ope(store: &Store, runs: Vec<RunRecord>, notes: &mut Vec<String>) -> Result<(Option<OpeSection>, Vec<RunRecord>)> {
    split_evaluation(store, runs, (OPE_MODEL, OPE_ARTIFACT, "off-policy evaluation"), notes)
}
