//! A click model's test figures: the plain metrics of its predictions, the
//! metrics of time (dwell) and the relevance AUC at position 0.
//!
//! A model trained on a dwell target outputs dwell, not a probability, so
//! only its rank metrics (AUC, GAUC, top-K) are computed on clicks; log
//! loss and the error metrics need probabilities. `relevance_auc` scores
//! every test row as if shown at the top position (a position-free test
//! set) against the simulator's true relevance there.

use attnlab_data::Impressions;
use attnlab_eval::{soft_label_auc, Metric, Predictions, TaskMetric};
use attnlab_models::CtrModel;
use attnlab_train::{dwell_metrics, predict_target, Target, TrainConfig};

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
    if metrics.contains(&TaskMetric::RelevanceAuc)
        && let Some(relevance) = attnlab_data::true_relevance(test)
    {
        let top = Impressions { position: vec![0; test.len()], ..test.clone() };
        let at_top = predict_target(net, &top, config.batch_size, config.device, target)?;
        out.extend(soft_label_auc(&relevance, &at_top).map(|v| (TaskMetric::RelevanceAuc.name(), v)));
    }
    Ok((out, scores))
}

/// The metric early stopping watched: the dwell target's, else the spec's.
pub fn watched(target: Target, valid_metric: TaskMetric) -> TaskMetric {
    target.valid_metric().unwrap_or(valid_metric)
}
