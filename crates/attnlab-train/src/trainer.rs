use std::path::PathBuf;

use attnlab_data::{Impressions, Rng};
use attnlab_eval::{Metric, Predictions};
use attnlab_models::CtrModel;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::amp::{autocast, Amp};
use crate::batches::{BatchOrder, RawBatch};
use crate::dp_sgd::DpConfig;
use crate::engine::{fit, BatchSource, TrainTask};
use crate::dwell::{dwell_metrics, Target};
use attnlab_eval::TaskMetric;
use crate::optim::OptimizerConfig;
use crate::schedule::{Decay, Schedule};
use crate::Result;

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (after warmup).
    pub lr: f64,
    /// Optimiser steps of linear warmup (0 = none).
    pub warmup_steps: usize,
    /// After the warmup; decays run to the last planned step (`epochs` x batches).
    pub decay: Decay,
    /// Update rule and regularisation.
    pub optimizer: OptimizerConfig,
    /// Clip gradients to this global L2 norm.
    pub clip_grad_norm: Option<f64>,
    /// Weight of the positive examples in the BCE loss (CTR task only).
    pub pos_weight: Option<f64>,
    /// What a click model learns: clicks or dwell ([`crate::dwell`]).
    pub target: Target,
    /// IPS ([`crate::ips`]): each slot's examination propensity, position 0
    /// first; a click model's clicks then count `1 / θ` of their slot.
    pub propensities: Option<Vec<f32>>,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Seeds each epoch's shuffling and libtorch's RNG (dropout); the model's
    /// init is seeded by the caller.
    pub seed: u64,
    /// Metrics computed on the valid split after each epoch (CTR and
    /// next-item tasks: point-wise or ranking metrics respectively).
    pub metrics: Vec<Metric>,
    /// The one that decides early stopping and the best epoch (CTR and
    /// next-item; the multi-task trainer takes its own, see
    /// [`crate::MultiTaskOptions`]).
    pub valid_metric: Metric,
    pub device: Device,
    /// Mixed precision of the training forward pass; CUDA only.
    pub amp: Amp,
    /// Batches gathered ahead on a worker thread (0 = gather inline).
    pub prefetch: usize,
    /// Write `last.*`/`best.*` here after every epoch, and resume from
    /// `last.*` if it exists.
    pub checkpoint_dir: Option<PathBuf>,
    /// Initialise the weights from this checkpoint (ignored when resuming).
    pub init_from: Option<PathBuf>,
    /// Parameter name prefixes kept fixed.
    pub freeze: Vec<String>,
    /// Prefix of progress lines, e.g. the run name.
    pub label: String,
    /// Train with DP-SGD ([`crate::dp_sgd`]) instead of plain mini-batches.
    pub privacy: Option<DpConfig>,
    /// Windows or prefixes of a sequential next-item model's sequences.
    pub sequence_examples: crate::SequenceExamples,
    /// Sort each window of shuffled examples by length before cutting it
    /// into batches ([`crate::BatchOrder::bucketed`]): with a model that
    /// trims padding, a batch then costs its own longest example.
    pub length_buckets: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 1024,
            lr: 1e-3,
            warmup_steps: 0,
            decay: Decay::Constant,
            optimizer: OptimizerConfig::default(),
            clip_grad_norm: None,
            pos_weight: None,
            target: Target::Click,
            propensities: None,
            patience: 2,
            seed: 0,
            metrics: vec![Metric::Auc],
            valid_metric: Metric::Auc,
            device: Device::Cpu,
            amp: Amp::None,
            prefetch: 2,
            checkpoint_dir: None,
            init_from: None,
            freeze: Vec::new(),
            label: String::new(),
            privacy: None,
            sequence_examples: crate::SequenceExamples::default(),
            length_buckets: false,
        }
    }
}

impl TrainConfig {
    pub fn schedule(&self) -> Schedule {
        Schedule { lr: self.lr, warmup_steps: self.warmup_steps, decay: self.decay }
    }
}

/// What one epoch produced, handed to the observer.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub valid: Vec<(TaskMetric, f64)>,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub improved: bool,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// DP-SGD: ε spent so far (at the run's δ), from the RDP accountant.
    pub epsilon: Option<f64>,
}

/// Why an [`EpochObserver`] stopped training: the observer's own error
/// (train knows none of its callers' error types).
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// Receives every epoch's figures (e.g. to log them to the run store).
/// An error stops training ([`crate::TrainError::Observer`]).
pub trait EpochObserver {
    fn on_epoch(&mut self, report: &EpochReport) -> std::result::Result<(), ObserverError>;
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub best_epoch: usize,
    pub best_valid: f64,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub seconds: f64,
    /// Every epoch, including those a resumed run read from its checkpoint.
    pub history: Vec<EpochReport>,
    /// The epoch the run resumed after, if it did.
    pub resumed_after: Option<usize>,
    pub global_steps: usize,
    /// DP-SGD: the noise multiplier used (solved from a target ε if given).
    pub noise_multiplier: Option<f64>,
}

/// The shuffling seed and libtorch seed of `epoch`: a pure function of
/// (seed, epoch), so a resumed run replays every later epoch exactly
/// without any saved RNG state.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    let mut rng = Rng::new(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.next_u64() >> 1
}

/// The CTR task: clicks by binary cross-entropy, validated with
/// `config.metrics` on the valid impressions, or dwell
/// (`config.target`), validated with the target's metrics of time.
pub(crate) struct CtrTask<'a> {
    pub(crate) model: &'a dyn CtrModel,
    pub(crate) valid: &'a Impressions,
    pub(crate) train: &'a Impressions,
    pub(crate) config: &'a TrainConfig,
}

impl BatchSource for Impressions {
    type Batch = RawBatch;

    fn len(&self) -> usize {
        Impressions::len(self)
    }

    fn gather(&self, rows: &[usize], _seed: u64) -> RawBatch {
        RawBatch::gather(self, rows)
    }
}

impl TrainTask for CtrTask<'_> {
    type Source = Impressions;

    fn source(&self) -> &Impressions {
        self.train
    }

    fn loss(&self, raw: &RawBatch, device: Device, amp: Amp) -> Tensor {
        let (batch, labels) = raw.to_tensors(device);
        let labels = match &self.config.propensities {
            Some(propensities) => crate::ips::unbiased_clicks(&labels, &batch.position, propensities),
            None => labels,
        };
        let logits = autocast(amp, || self.model.forward_t(&batch, true));
        self.config.target.loss(&logits, &labels, &raw.dwell_tensor(device), self.config.pos_weight)
    }

    fn validate(&self) -> Result<Vec<(TaskMetric, f64)>> {
        let target = self.config.target;
        let scores = predict_target(self.model, self.valid, self.config.batch_size, self.config.device, target)?;
        if !target.is_click() {
            let log_dwell = target.predicts_log_dwell().then_some(scores.as_slice());
            return Ok(dwell_metrics(self.valid, &scores, log_dwell, &target.valid_metrics()));
        }
        let predictions = Predictions::new(&self.valid.user, &self.valid.click, &scores)?;
        Ok(self.config.metrics.iter().filter_map(|&m| m.compute(&predictions).map(|v| (m.into(), v))).collect())
    }

    fn valid_metric(&self) -> TaskMetric {
        self.config.target.valid_metric().unwrap_or(self.config.valid_metric.into())
    }
}

/// Trains the click model `model` (whose variables live in `vs`) on `train`,
/// validating on `valid` with `config.metrics` after every epoch, and leaves
/// the best epoch's weights in `vs`. Checkpoints and resuming: see
/// [`crate::fit`], the loop every task shares.
pub fn train(
    model: &dyn CtrModel,
    vs: &VarStore,
    train: &Impressions,
    valid: &Impressions,
    config: &TrainConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    if let Some(propensities) = &config.propensities {
        crate::ips::check_propensities(train, propensities)?;
    }
    fit(&CtrTask { model, valid, train, config }, vs, config, observer)
}

/// Click probabilities for every row of `data`, in order (fp32, no autocast).
pub fn predict(model: &dyn CtrModel, data: &Impressions, batch_size: usize, device: Device) -> Result<Vec<f32>> {
    predict_target(model, data, batch_size, device, Target::Click)
}

/// What a model trained on `target` predicts for every row of `data`, in
/// order: click probabilities, or for a dwell target its raw output (the
/// predicted log1p dwell given a click, or the log of the expected dwell).
pub fn predict_target(model: &dyn CtrModel, data: &Impressions, batch_size: usize, device: Device, target: Target) -> Result<Vec<f32>> {
    let _guard = tch::no_grad_guard();
    let mut out = Vec::with_capacity(data.len());
    for rows in BatchOrder::sequential(data.len(), batch_size).chunks() {
        let (batch, _) = RawBatch::gather(data, rows).to_tensors(device);
        let output = model.forward_t(&batch, false).to_kind(Kind::Float);
        let output = if target.is_click() { output.sigmoid() } else { output };
        out.extend(Vec::<f32>::try_from(&output.to_device(Device::Cpu))?);
    }
    Ok(out)
}
