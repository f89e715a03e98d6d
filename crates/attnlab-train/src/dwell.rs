//! Dwell as a click model's label (`train.target`): the loss of each
//! target, what the model's output then means, and the metrics of time on a
//! split ([`attnlab_eval::dwell`]).
//!
//! - `Click`: binary cross-entropy on clicks; the output is a click logit.
//! - `DwellLog`: squared error of the output against `log1p(dwell seconds)`
//!   over clicked impressions only (unclicked ones have no dwell to learn);
//!   the output is the dwell a click would bring, in log seconds.
//! - `DwellWeighted`: YouTube's weighted logistic regression (Covington et
//!   al., RecSys 2016): cross-entropy on clicks with each click weighted by
//!   its dwell seconds and each unclicked impression by 1, so the learned
//!   odds `exp(logit)` estimate the impression's expected dwell
//!   (`E[T] / (1 - P(click))`, close to `E[T]` when clicks are rare).

use attnlab_data::Impressions;
use attnlab_eval::dwell::{dwell_at_k, dwell_ndcg_at_k, dwell_weighted_auc, log_dwell_errors, DwellPredictions};
use attnlab_eval::TaskMetric;
use tch::{Kind, Reduction, Tensor};

use crate::loss::bce_with_logits;

/// What a click model is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    #[default]
    Click,
    DwellLog,
    DwellWeighted,
}

impl Target {
    /// The training loss of `output` `[B]` against the batch's clicks and
    /// dwell seconds (`[B]` each); `pos_weight` applies to clicks only.
    pub fn loss(self, output: &Tensor, clicks: &Tensor, dwell_s: &Tensor, pos_weight: Option<f64>) -> Tensor {
        let output = output.to_kind(Kind::Float);
        match self {
            Target::Click => bce_with_logits(&output, clicks, pos_weight),
            Target::DwellLog => {
                let clicked = clicks.gt(0.5).to_kind(Kind::Float);
                let error = (&output - dwell_s.log1p()).square() * &clicked;
                // a batch without a click has loss 0 (and no gradient)
                error.sum(Kind::Float) / clicked.sum(Kind::Float).clamp_min(1.0)
            }
            Target::DwellWeighted => {
                let clicked = clicks.gt(0.5);
                let weight = dwell_s.where_self(&clicked, &dwell_s.ones_like());
                output.binary_cross_entropy_with_logits(clicks, Some(weight), None::<Tensor>, Reduction::Mean)
            }
        }
    }

    /// Whether predictions are click probabilities (a sigmoid of the
    /// output); the dwell targets keep the raw output.
    pub fn is_click(self) -> bool {
        self == Target::Click
    }

    /// Whether the output is a `log1p(dwell seconds)` given a click.
    pub fn predicts_log_dwell(self) -> bool {
        self == Target::DwellLog
    }

    /// What validation watches: the regression's error, or how the expected
    /// dwell ranks (dwell NDCG@10). `None` for clicks (the trainer's own).
    pub fn valid_metric(self) -> Option<TaskMetric> {
        match self {
            Target::Click => None,
            Target::DwellLog => Some(TaskMetric::DwellRmse),
            Target::DwellWeighted => Some(TaskMetric::DwellNdcg(10)),
        }
    }

    /// The metrics validation reports for a dwell target.
    pub fn valid_metrics(self) -> Vec<TaskMetric> {
        let mut out: Vec<TaskMetric> = self.valid_metric().into_iter().collect();
        for m in [TaskMetric::DwellAuc, TaskMetric::DwellNdcg(10)] {
            if !out.contains(&m) {
                out.push(m);
            }
        }
        out
    }
}

/// The data's dwell times in seconds.
pub fn dwell_seconds(data: &Impressions) -> Vec<f32> {
    data.dwell_ms.iter().map(|&d| d as f32 / 1000.0).collect()
}

/// Every metric of time in `metrics` that the scores define (`dwell_rmse`
/// and `dwell_mae` need `log_dwell`, a model's predicted log1p dwell);
/// others are left out.
pub fn dwell_metrics(data: &Impressions, scores: &[f32], log_dwell: Option<&[f32]>, metrics: &[TaskMetric]) -> Vec<(TaskMetric, f64)> {
    let dwell = dwell_seconds(data);
    let p = DwellPredictions { users: &data.user, clicks: &data.click, dwell_s: &dwell, scores, log_dwell };
    let errors = log_dwell.and_then(|l| log_dwell_errors(&data.click, &dwell, l));
    metrics
        .iter()
        .filter_map(|&m| {
            let v = match m {
                TaskMetric::DwellRmse => errors.map(|e| e.0),
                TaskMetric::DwellMae => errors.map(|e| e.1),
                TaskMetric::DwellAuc => dwell_weighted_auc(&data.click, &dwell, scores),
                TaskMetric::DwellAt(k) => dwell_at_k(&p, k as usize),
                TaskMetric::DwellNdcg(k) => dwell_ndcg_at_k(&p, k as usize),
                _ => None,
            };
            v.map(|v| (m, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_slice(v)
    }

    #[test]
    fn losses_by_hand() {
        let clicks = t(&[1.0, 0.0, 1.0]);
        let dwell = t(&[std::f32::consts::E - 1.0, 0.0, 0.0]);
        // regression over the two clicks: errors 1.0 (2 - 1) and 0.5 (0.5 - 0)
        let out = t(&[2.0, 9.0, 0.5]);
        let l = f64::try_from(Target::DwellLog.loss(&out, &clicks, &dwell, None)).unwrap();
        assert!((l - (1.0 + 0.25) / 2.0).abs() < 1e-6, "{l}");
        // no click: 0
        let none = Target::DwellLog.loss(&out, &t(&[0.0; 3]), &dwell, None);
        assert_eq!(f64::try_from(none).unwrap(), 0.0);
        // weighted: logits 0 cost ln 2 each, weighted (e - 1), 1 and 0 (a click without dwell)
        let w = f64::try_from(Target::DwellWeighted.loss(&t(&[0.0; 3]), &clicks, &dwell, None)).unwrap();
        let expected = std::f64::consts::LN_2 * (std::f64::consts::E - 1.0 + 1.0) / 3.0;
        assert!((w - expected).abs() < 1e-6, "{w} vs {expected}");
        assert_eq!(Target::DwellWeighted.valid_metrics(), vec![TaskMetric::DwellNdcg(10), TaskMetric::DwellAuc]);
        assert_eq!(Target::DwellLog.valid_metrics(), vec![TaskMetric::DwellRmse, TaskMetric::DwellAuc, TaskMetric::DwellNdcg(10)]);
    }
}
