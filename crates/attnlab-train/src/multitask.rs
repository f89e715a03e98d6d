//! Click + conversion training: a [`MultiTaskModel`] on impressions with
//! the loss its [`Objective`](attnlab_models::Objective) asks for
//! ([`multitask_loss`]), validated by CTR AUC over impressions, CVR AUC over
//! clicked impressions and CTCVR AUC, through the shared epoch loop. A model
//! with a dwell head adds `w_dwell` times the `log1p` dwell regression over
//! clicks (the `dwell_log` target's loss, [`Target::DwellLog`]) and reports
//! its `dwell_rmse` in validation.

use attnlab_data::Impressions;
use attnlab_eval::{ctcvr_auc, ctr_auc, cvr_auc};
use attnlab_models::{multitask_loss, LossWeights, MultiTaskModel, TaskLogits};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::amp::{autocast, Amp};
use crate::dwell::{dwell_metrics, Target};
use crate::batches::{BatchOrder, RawBatch};
use crate::engine::{fit, TrainTask};
use attnlab_eval::TaskMetric;
use crate::trainer::{EpochObserver, TrainConfig, TrainOutcome};
use crate::{Result, TrainError};

/// What the multi-task trainer takes besides [`TrainConfig`] (whose
/// `metrics`, `valid_metric`, `pos_weight` and `propensities` it does not use).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiTaskOptions {
    /// Weights of the click and conversion terms of the loss.
    pub weights: LossWeights,
    /// Decides early stopping and the best epoch: one of
    /// [`TaskMetric::MULTITASK`] (default `cvr_auc`).
    pub valid_metric: TaskMetric,
}

impl Default for MultiTaskOptions {
    fn default() -> Self {
        MultiTaskOptions { weights: LossWeights::default(), valid_metric: TaskMetric::CvrAuc }
    }
}

/// `ctr_auc`, `cvr_auc` and `ctcvr_auc` of predictions on `data`, each
/// where defined (both classes present); for validation and test.
pub fn multitask_metrics(data: &Impressions, pctr: &[f32], pcvr: &[f32]) -> Vec<(TaskMetric, f64)> {
    let (clicks, conversions) = (&data.click[..], &data.conversion[..]);
    [
        (TaskMetric::CtrAuc, ctr_auc(clicks, pctr)),
        (TaskMetric::CvrAuc, cvr_auc(clicks, conversions, pcvr)),
        (TaskMetric::CtcvrAuc, ctcvr_auc(clicks, conversions, pctr, pcvr)),
    ]
    .into_iter()
    .filter_map(|(m, v)| v.map(|v| (m, v)))
    .collect()
}

pub(crate) struct MultiTask<'a> {
    pub(crate) model: &'a dyn MultiTaskModel,
    pub(crate) train: &'a Impressions,
    pub(crate) valid: &'a Impressions,
    pub(crate) config: &'a TrainConfig,
    pub(crate) options: &'a MultiTaskOptions,
}

impl TrainTask for MultiTask<'_> {
    type Source = Impressions;

    fn source(&self) -> &Impressions {
        self.train
    }

    fn loss(&self, raw: &RawBatch, device: Device, amp: Amp) -> Tensor {
        let (batch, click, conversion) = raw.to_multitask_tensors(device);
        let logits = autocast(amp, || self.model.forward_t(&batch, true));
        let dwell = logits.dwell.as_ref().map(|d| d.to_kind(Kind::Float));
        let logits = TaskLogits { click: logits.click.to_kind(Kind::Float), conversion: logits.conversion.to_kind(Kind::Float), dwell: None };
        let loss = multitask_loss(self.model.objective(), &logits, &click, &conversion, self.options.weights);
        match dwell {
            Some(d) => loss + Target::DwellLog.loss(&d, &click, &raw.dwell_tensor(device), None) * self.options.weights.dwell,
            None => loss,
        }
    }

    fn validate(&self) -> Result<Vec<(TaskMetric, f64)>> {
        let p = predict_tasks(self.model, self.valid, self.config.batch_size, self.config.device)?;
        let mut out = multitask_metrics(self.valid, &p.pctr, &p.pcvr);
        if let Some(log_dwell) = &p.log_dwell {
            out.extend(dwell_metrics(self.valid, &p.expected_dwell().unwrap_or_default(), Some(log_dwell), &[TaskMetric::DwellRmse]));
        }
        Ok(out)
    }

    fn valid_metric(&self) -> TaskMetric {
        self.options.valid_metric
    }
}

/// Trains a click + conversion model on `train` (columns `click` and
/// `conversion`), validating on `valid` after every epoch, and leaves the
/// best epoch's weights (by `options.valid_metric`) in `vs`. Everything else
/// (schedule, optimiser, clipping, checkpoints and resume, early stopping,
/// observer) is as for [`crate::train`].
pub fn train_multitask(
    model: &dyn MultiTaskModel,
    vs: &VarStore,
    train: &Impressions,
    valid: &Impressions,
    config: &TrainConfig,
    options: &MultiTaskOptions,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    if !TaskMetric::MULTITASK.contains(&options.valid_metric) {
        return Err(TrainError::Config(format!(
            "the multi-task valid metric must be ctr_auc, cvr_auc or ctcvr_auc, not `{}`",
            options.valid_metric
        )));
    }
    for (name, data) in [("train", train), ("valid", valid)] {
        if data.conversion.len() != data.len() {
            return Err(TrainError::Config(format!(
                "the {name} split has {} conversion labels for {} rows",
                data.conversion.len(),
                data.len()
            )));
        }
    }
    fit(&MultiTask { model, train, valid, config, options }, vs, config, observer)
}

/// pCTR and pCVR = P(conversion | click, impression) for every row of
/// `data`, in order (fp32, no autocast). pCTCVR is their product.
pub fn predict_multitask(
    model: &dyn MultiTaskModel,
    data: &Impressions,
    batch_size: usize,
    device: Device,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let p = predict_tasks(model, data, batch_size, device)?;
    Ok((p.pctr, p.pcvr))
}

/// A multi-task model's predictions for every row of some impressions.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPredictions {
    pub pctr: Vec<f32>,
    /// P(conversion | click, impression).
    pub pcvr: Vec<f32>,
    /// `log1p(dwell seconds)` of a click, from a dwell head.
    pub log_dwell: Option<Vec<f32>>,
}

impl TaskPredictions {
    /// The expected dwell of each impression, `pCTR · E[dwell | click]`
    /// (seconds, with `expm1` of the dwell head): how a dwell head ranks.
    pub fn expected_dwell(&self) -> Option<Vec<f32>> {
        let log_dwell = self.log_dwell.as_ref()?;
        Some(self.pctr.iter().zip(log_dwell).map(|(&p, &l)| p * l.exp_m1().max(0.0)).collect())
    }
}

/// Every head's predictions for every row of `data`, in order (fp32, no
/// autocast).
pub fn predict_tasks(model: &dyn MultiTaskModel, data: &Impressions, batch_size: usize, device: Device) -> Result<TaskPredictions> {
    let _guard = tch::no_grad_guard();
    let (mut pctr, mut pcvr) = (Vec::with_capacity(data.len()), Vec::with_capacity(data.len()));
    let mut log_dwell: Option<Vec<f32>> = None;
    for rows in BatchOrder::sequential(data.len(), batch_size).chunks() {
        let (batch, _) = RawBatch::gather(data, rows).to_tensors(device);
        let logits = model.forward_t(&batch, false);
        let cpu = |t: &Tensor| t.to_kind(Kind::Float).to_device(Device::Cpu);
        pctr.extend(Vec::<f32>::try_from(&cpu(&logits.click).sigmoid())?);
        pcvr.extend(Vec::<f32>::try_from(&cpu(&logits.conversion).sigmoid())?);
        if let Some(d) = &logits.dwell {
            log_dwell.get_or_insert_with(|| Vec::with_capacity(data.len())).extend(Vec::<f32>::try_from(&cpu(d))?);
        }
    }
    Ok(TaskPredictions { pctr, pcvr, log_dwell })
}
