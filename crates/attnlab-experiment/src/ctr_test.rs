//! A click model's test figures: the plain metrics of its predictions, the
//! metrics of time (dwell) and the relevance AUC at position 0; and a
//! multi-task model's: CTR/CVR/CTCVR AUC, the metrics of time of its dwell
//! head (ranked by expected dwell `pCTR · E[dwell | click]`; without a dwell
//! head by pCTR) and its pCTR's relevance AUC at position 0.
//!
//! A model trained on a dwell target outputs dwell, not a probability, so
//! only its rank metrics (AUC, GAUC, top-K) are computed on clicks; log
//! loss and the error metrics need probabilities. `relevance_auc` scores
//! every test row as if shown at the top position (a position-free test
//! set) against the simulator's true relevance there.

use attnlab_data::Impressions;
use attnlab_eval::{soft_label_auc, Metric, Predictions, TaskMetric};
use attnlab_models::{CtrModel, MultiTaskModel};
use attnlab_train::{dwell_metrics, multitask_metrics, predict_target, predict_tasks, Target, TrainConfig};

use crate::Result;

/// Whether `m` reads only the order of the scores.
fn rank_only(m: Metric) -> bool {
    !matches!(m, Metric::LogLoss | Metric::Rmse | Metric::Mae)
}

/// The test figures of `net` on `test` for `metrics`, and its scores
/// (probabilities, or a dwell target's output).
pub fn test_ctr(net: &dyn CtrModel, test: &Impressions, config: &TrainConfig, metrics: &[TaskMetric]) -> Result<(Vec<(String, f64)>, Vec<f32>)> {
    let target = config.target;
    let scores = predict_target(net, test, config.batch_size, config.device, target)?;
    let p = Predictions::new(&test.user, &test.click, &scores)?;
    let mut out: Vec<(String, f64)> = metrics
        .iter()
        .filter_map(|m| m.metric())
        .filter(|&m| target.is_click() || rank_only(m))
        .filter_map(|m| m.compute(&p).map(|v| (m.name(), v)))
        .collect();
    let dwell: Vec<TaskMetric> = metrics.iter().copied().filter(|m| m.is_dwell()).collect();
    let log_dwell = target.predicts_log_dwell().then_some(scores.as_slice());
    out.extend(dwell_metrics(test, &scores, log_dwell, &dwell).into_iter().map(|(m, v)| (m.name(), v)));
    out.extend(relevance_auc(test, metrics, |top| predict_target(net, top, config.batch_size, config.device, target))?);
    Ok((out, scores))
}

/// `relevance_auc` when asked for and the data knows the true relevance:
/// every row scored by `at_top` as if shown at position 0.
fn relevance_auc(
    test: &Impressions,
    metrics: &[TaskMetric],
    at_top: impl Fn(&Impressions) -> attnlab_train::Result<Vec<f32>>,
) -> Result<Option<(String, f64)>> {
    if !metrics.contains(&TaskMetric::RelevanceAuc) {
        return Ok(None);
    }
    let Some(relevance) = attnlab_data::true_relevance(test) else { return Ok(None) };
    let top = Impressions { position: vec![0; test.len()], ..test.clone() };
    Ok(soft_label_auc(&relevance, &at_top(&top)?).map(|v| (TaskMetric::RelevanceAuc.name(), v)))
}

/// The test figures of multi-task model `net` on `test` for `metrics`, and
/// its pCTR.
pub fn test_multitask(net: &dyn MultiTaskModel, test: &Impressions, config: &TrainConfig, metrics: &[TaskMetric]) -> Result<(Vec<(String, f64)>, Vec<f32>)> {
    let (batch, device) = (config.batch_size, config.device);
    let p = predict_tasks(net, test, batch, device)?;
    let mut out: Vec<(String, f64)> = multitask_metrics(test, &p.pctr, &p.pcvr).into_iter().map(|(m, v)| (m.name(), v)).collect();
    let dwell: Vec<TaskMetric> = metrics.iter().copied().filter(|m| m.is_dwell()).collect();
    let scores = p.expected_dwell().unwrap_or_else(|| p.pctr.clone());
    out.extend(dwell_metrics(test, &scores, p.log_dwell.as_deref(), &dwell).into_iter().map(|(m, v)| (m.name(), v)));
    out.extend(relevance_auc(test, metrics, |top| Ok(predict_tasks(net, top, batch, device)?.pctr))?);
    Ok((out, p.pctr))
}

/// The metric early stopping watched: the dwell target's, else the spec's.
pub fn watched(target: Target, valid_metric: TaskMetric) -> TaskMetric {
    target.valid_metric().unwrap_or(valid_metric)
}
