use std::time::Instant;

use attnlab_data::{Impressions, Rng};
use attnlab_eval::{Metric, Predictions};
use attnlab_models::CtrModel;
use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Device, Reduction, Tensor};

use crate::batches::{batch_of, BatchOrder};
use crate::progress::Progress;
use crate::snapshot::Snapshot;
use crate::{Result, TrainError};

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Seeds the shuffling of batches (the model's init is seeded by the caller).
    pub seed: u64,
    /// Metrics computed on the valid split after each epoch.
    pub metrics: Vec<Metric>,
    /// The one that decides early stopping and the best epoch.
    pub valid_metric: Metric,
    pub device: Device,
    /// Prefix of progress lines, e.g. the run name.
    pub label: String,
}

/// What one epoch produced, handed to the observer.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub valid: Vec<(Metric, f64)>,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub improved: bool,
}

/// Receives every epoch's figures (e.g. to log them to the run store).
/// An error stops training.
pub trait EpochObserver {
    fn on_epoch(&mut self, report: &EpochReport) -> std::result::Result<(), String>;
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub best_epoch: usize,
    pub best_valid: f64,
    pub epochs_run: usize,
    pub stopped_early: bool,
    pub seconds: f64,
}

/// Trains `model` (whose variables live in `vs`) and leaves the best epoch's
/// weights in `vs`.
pub fn train(
    model: &dyn CtrModel,
    vs: &VarStore,
    train: &Impressions,
    valid: &Impressions,
    config: &TrainConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    let mut optimizer = nn::Adam { wd: config.weight_decay, ..Default::default() }.build(vs, config.lr)?;
    let mut rng = Rng::new(config.seed);
    let mut progress = Progress::new(&config.label);
    let mut best: Option<(usize, f64, Snapshot)> = None;
    let mut epochs_run = 0;
    for epoch in 1..=config.epochs {
        epochs_run = epoch;
        let epoch_start = Instant::now();
        let order = BatchOrder::shuffled(train.len(), config.batch_size, &mut rng);
        progress.start_epoch(epoch, order.batches());
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for (step, rows) in order.chunks().enumerate() {
            let (batch, labels) = batch_of(train, rows, config.device);
            let logits = model.forward_t(&batch, true);
            let loss = logits.binary_cross_entropy_with_logits::<Tensor>(&labels, None, None, Reduction::Mean);
            let value = f64::try_from(&loss)?;
            if !value.is_finite() {
                return Err(TrainError::NonFiniteLoss { epoch, step: step + 1, value });
            }
            optimizer.backward_step(&loss);
            loss_sum += value * rows.len() as f64;
            seen += rows.len();
            progress.step(loss_sum / seen as f64, seen as f64 / epoch_start.elapsed().as_secs_f64());
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let valid_scores = predict(model, valid, config.batch_size, config.device)?;
        let predictions = Predictions::new(&valid.user, &valid.click, &valid_scores)?;
        let values: Vec<(Metric, f64)> =
            config.metrics.iter().filter_map(|&m| m.compute(&predictions).map(|v| (m, v))).collect();
        let current = values
            .iter()
            .find(|(m, _)| *m == config.valid_metric)
            .map(|&(_, v)| v)
            .ok_or_else(|| TrainError::UndefinedMetric { metric: config.valid_metric.name().into() })?;
        let improved = best.as_ref().is_none_or(|(_, b, _)| config.valid_metric.better(current, *b));
        if improved {
            best = Some((epoch, current, Snapshot::take(vs)));
        }
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            valid: values,
            seconds: epoch_start.elapsed().as_secs_f64(),
            samples_per_s: seen as f64 / train_seconds.max(1e-9),
            improved,
        };
        progress.finish_epoch(&epoch_line(&report));
        observer.on_epoch(&report).map_err(TrainError::Observer)?;
        let best_epoch = best.as_ref().map_or(epoch, |b| b.0);
        if epoch - best_epoch >= config.patience.max(1) {
            break;
        }
    }
    let (best_epoch, best_valid, snapshot) = best.ok_or_else(|| TrainError::UndefinedMetric {
        metric: config.valid_metric.name().into(),
    })?;
    snapshot.restore(vs);
    Ok(TrainOutcome {
        best_epoch,
        best_valid,
        epochs_run,
        stopped_early: epochs_run < config.epochs,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn epoch_line(r: &EpochReport) -> String {
    let metrics: Vec<String> = r.valid.iter().map(|(m, v)| format!("valid.{} {v:.4}", m.name())).collect();
    format!(
        "epoch {:>3}  loss {:.4}  {}  {:.0} samples/s  {:.1}s{}",
        r.epoch,
        r.train_loss,
        metrics.join("  "),
        r.samples_per_s,
        r.seconds,
        if r.improved { "  *" } else { "" }
    )
}

/// Click probabilities for every row of `data`, in order.
pub fn predict(model: &dyn CtrModel, data: &Impressions, batch_size: usize, device: Device) -> Result<Vec<f32>> {
    let _guard = tch::no_grad_guard();
    let mut out = Vec::with_capacity(data.len());
    for rows in BatchOrder::sequential(data.len(), batch_size).chunks() {
        let (batch, _) = batch_of(data, rows, device);
        let probs = model.forward_t(&batch, false).sigmoid().to_device(Device::Cpu);
        out.extend(Vec::<f32>::try_from(&probs)?);
    }
    Ok(out)
}
