//! Training and testing one model on the experiment's data, by task: click
//! models and click + conversion models on simulated impressions, next-item
//! models on interactions. What is common to every run (the run record,
//! provenance, checkpoints) is in [`crate::run_one`].

use std::path::PathBuf;

use attnlab_data::Part;
use attnlab_eval::{gauc_per_user, Metric, PerUser, TaskMetric};
use attnlab_models::{BuiltModel, LossWeights, NextItemSizes};
use attnlab_spec::{ModelSpec, TrainSpec};
use attnlab_track::{MetricPoint, Store, TrackError};
use attnlab_train::{
    evaluate_next_item, train_next_item,
    DeviceInfo, EpochObserver, EpochReport, MultiTaskOptions, ObserverError, TrainConfig, TrainOutcome,
};
use tch::nn::VarStore;

use crate::dataset::{Dataset, Prepared};
use crate::error::Context;
use crate::public_ids::PublicIds;
use crate::train_config::train_config;
use crate::Result;

/// What a finished training leaves for the run record.
pub struct Tested {
    pub best_epoch: usize,
    pub seconds: f64,
    /// Test metrics by name (`auc`, `ndcg@10`, `cvr_auc`, ...).
    pub test: Vec<(String, f64)>,
    pub per_user: Vec<PerUser>,
}

/// Logs each epoch's figures as metrics at step = epoch, and beats the
/// run's heartbeat so a dead process is told from a slow one.
pub struct StoreLogger<'a> {
    pub store: &'a Store,
    pub run_id: &'a str,
}

impl StoreLogger<'_> {
    fn log(&mut self, r: &EpochReport) -> Result<(), TrackError> {
        let step = r.epoch as i64;
        let mut points = vec![
            MetricPoint::now("train.loss", r.train_loss, step),
            MetricPoint::now("train.samples_per_s", r.samples_per_s, step),
            MetricPoint::now("train.lr", r.lr, step),
        ];
        points.extend(r.valid.iter().map(|(m, v)| MetricPoint::now(format!("valid.{}", m.name()), *v, step)));
        points.extend(r.epsilon.map(|e| MetricPoint::now("privacy.epsilon", e, step)));
        self.store.log_metrics(self.run_id, &points)?;
        self.store.heartbeat(self.run_id)
    }
}

impl EpochObserver for StoreLogger<'_> {
    fn on_epoch(&mut self, r: &EpochReport) -> std::result::Result<(), ObserverError> {
        Ok(self.log(r)?)
    }
}

pub struct RunInputs<'a> {
    pub store: &'a Store,
    pub run_id: &'a str,
    pub prepared: &'a Prepared,
    pub model: &'a ModelSpec,
    pub seed: u64,
    pub device: &'a DeviceInfo,
    pub train: &'a TrainSpec,
    pub checkpoint_dir: Option<PathBuf>,
    /// Names users and items in the attention samples.
    pub ids: &'a PublicIds<'a>,
}

pub fn train_and_test(inp: RunInputs<'_>) -> Result<Tested> {
    let RunInputs { store, run_id, prepared, model, seed, device, train: t, checkpoint_dir, ids } = inp;
    tch::manual_seed(seed as i64);
    let vs = VarStore::new(device.device);
    let task = attnlab_models::task_of(&model.model)?;
    let (metrics, valid_metric) = prepared.metrics_for(task);
    let plain: Vec<Metric> = metrics.iter().filter_map(|m| as_plain(*m)).collect();
    // multi-task models stop on their own metric (`options` below)
    let plain_valid = as_plain(valid_metric).unwrap_or(Metric::Auc);
    let label = format!("{} seed {seed}", model.name);
    let config = train_config(t, (plain.clone(), plain_valid), seed, device.device, checkpoint_dir, label);
    let mut logger = StoreLogger { store, run_id };

    let (outcome, test, per_user): (TrainOutcome, Vec<(String, f64)>, Vec<PerUser>) = match &prepared.data {
        Dataset::Impressions { splits, sizes, .. } => {
            match crate::impression_model::build_impression_model(model, t, &vs.root(), sizes)? {
                BuiltModel::Ctr(net) => {
                    log_parameters(store, run_id, &vs)?;
                    let config = TrainConfig { propensities: crate::train_config::propensities(t, sizes.positions)?, ..config.clone() };
                    let data = (&splits.train, &splits.valid);
                    let outcome = crate::private_runs::train_ctr(net.as_ref(), &vs, data, &config, t, &mut logger)?;
                    let (test, scores) = crate::ctr_test::test_ctr(net.as_ref(), &splits.test, &config, &metrics)?;
                    crate::attention_sample::save_ctr(store, run_id, &model.model, net.as_ref(), &splits.test, device.device, ids)?;
                    // per-user values, for paired significance tests between runs
                    (outcome, test, vec![gauc_per_user(&splits.test.user, &splits.test.click, &scores)])
                }
                BuiltModel::MultiTask(net) => {
                    log_parameters(store, run_id, &vs)?;
                    let w = t.task_weights;
                    let weights = LossWeights { click: w.click, conversion: w.conversion, dwell: w.dwell };
                    let options = MultiTaskOptions { valid_metric, weights };
                    let data = (&splits.train, &splits.valid);
                    let outcome = crate::private_runs::train_multitask_model(net.as_ref(), &vs, data, &config, &options, t, &mut logger)?;
                    let (test, pctr) = crate::ctr_test::test_multitask(net.as_ref(), &splits.test, &config, &metrics)?;
                    (outcome, test, vec![gauc_per_user(&splits.test.user, &splits.test.click, &pctr)])
                }
                BuiltModel::NextItem(_) => unreachable!("checked by dataset::check"),
            }
        }
        Dataset::Interactions { prepared: data, item_features, user_groups, providers, .. } => {
            let sizes = NextItemSizes { users: data.num_users, items: data.num_items, max_len: t_max_len(data) };
            let net = attnlab_models::build_next_item(&model.model, &vs.root(), &sizes, &model.params, Some(&data.item_popularity), item_features.get(&model.name))?;
            let net = match crate::train_config::sampled_softmax(t) {
                Some(loss) => attnlab_train::SampledSoftmax::wrap(net, loss, &data.item_popularity)?,
                None => net,
            };
            log_parameters(store, run_id, &vs)?;
            let outcome = train_next_item(net.as_ref(), &vs, data, &config, &mut logger)?;
            let report = evaluate_next_item(net.as_ref(), data, Part::Test, &plain, device.device)?;
            crate::attention_sample::save_next_item(store, run_id, &model.model, net.as_ref(), data, device.device, ids)?;
            let mut test: Vec<(String, f64)> = report.values.iter().map(|(m, v)| (m.name(), *v)).collect();
            test.extend(cold_item_metrics(net.as_ref(), data, &plain, device.device)?);
            test.extend(crate::dataset::group_gaps(&report.per_user, user_groups, seed));
            if let Some(providers) = providers {
                test.extend(crate::dataset::provider_exposure(providers, &report.item_exposure, &data.test.item));
            }
            (outcome, test, report.per_user)
        }
    };
    // Epochs finished before an interruption were logged to the interrupted
    // run; this run gets them too, so its curves are complete.
    for report in outcome.history.iter().filter(|r| Some(r.epoch) <= outcome.resumed_after) {
        logger.log(report)?;
    }
    log_outcome(store, run_id, &outcome, crate::ctr_test::watched(config.target, valid_metric), &test)?;
    store.set_tags(run_id, &crate::private_runs::outcome_tags(t, &outcome))?;
    Ok(Tested { best_epoch: outcome.best_epoch, seconds: outcome.seconds, test, per_user })
}

fn as_plain(m: TaskMetric) -> Option<Metric> {
    match m {
        TaskMetric::Metric(m) => Some(m),
        _ => None,
    }
}

fn t_max_len(data: &attnlab_data::Prepared) -> usize {
    data.sequences.as_ref().map_or(1, |s| s.max_len)
}

/// The per-user test metrics on the test rows of the items
/// `protocol.cold_items` held out of training, ranked among those items, as
/// `cold.<metric>`; none without cold items or when no test row is of one.
/// (The exposure metrics of lists of unseen items alone say nothing: every
/// such item is in the long tail.)
fn cold_item_metrics(net: &dyn attnlab_models::NextItemModel, data: &attnlab_data::Prepared, metrics: &[Metric], device: tch::Device) -> Result<Vec<(String, f64)>> {
    let cold = data.protocol.cold_items(data.num_items);
    let metrics: Vec<Metric> = metrics.iter().copied().filter(|m| m.ranking().is_some_and(|(r, _)| r.is_per_user())).collect();
    if metrics.is_empty() || !data.test.item.iter().any(|&i| cold[i as usize]) {
        return Ok(Vec::new());
    }
    let report = attnlab_train::evaluate_next_item_on(net, data, Part::Test, &metrics, device, Some(&cold))?;
    Ok(report.values.iter().map(|(m, v)| (format!("cold.{}", m.name()), *v)).collect())
}

fn log_parameters(store: &Store, run_id: &str, vs: &VarStore) -> Result<()> {
    let parameters: i64 = vs.trainable_variables().iter().map(|v| v.numel() as i64).sum();
    store.set_tags(run_id, &[("model.parameters".into(), parameters.to_string())]).context_with(|| "tagging the run".into())?;
    Ok(())
}

fn log_outcome(
    store: &Store,
    run_id: &str,
    outcome: &TrainOutcome,
    valid_metric: TaskMetric,
    test: &[(String, f64)],
) -> Result<()> {
    let step = outcome.best_epoch as i64;
    let mut points: Vec<MetricPoint> = test.iter().map(|(m, v)| MetricPoint::now(format!("test.{m}"), *v, step)).collect();
    points.push(MetricPoint::now(format!("best.valid.{}", valid_metric.name()), outcome.best_valid, step));
    points.push(MetricPoint::now("best.epoch", outcome.best_epoch as f64, step));
    points.push(MetricPoint::now("train.seconds", outcome.seconds, step));
    store.log_metrics(run_id, &points)?;
    Ok(())
}
