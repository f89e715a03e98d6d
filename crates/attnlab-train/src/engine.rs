//! The one epoch loop every task trains with: LR schedule, optimiser step,
//! gradient clipping, fp16 loss scaling, the NaN/inf check naming epoch and
//! step, validation, early stopping with the best weights restored, the
//! observer, progress and checkpoints with exact resume.
//!
//! A task says only what differs ([`TrainTask`]): how its training examples
//! become host batches ([`BatchSource`], run on the prefetch worker), the
//! loss of one batch, and its validation figures. CTR ([`crate::train`]),
//! click + conversion ([`crate::train_multitask`]) and next-item
//! ([`crate::train_next_item`]) training are such tasks.

use std::path::Path;
use std::time::Instant;

use attnlab_data::Rng;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::amp::{Amp, LossScaler};
use crate::batches::BatchOrder;
use crate::checkpoint::{self, CheckpointMeta, EpochRecord, FORMAT_VERSION};
use crate::finetune;
use attnlab_eval::TaskMetric;
use crate::optim::{build_optimizer, clip_grad_norm, Optimizer};
use crate::prefetch::prefetch;
use crate::progress::Progress;
use crate::schedule::Schedule;
use crate::snapshot::{named_variables, Snapshot};
use crate::trainer::{epoch_seed, EpochObserver, EpochReport, TrainConfig, TrainOutcome};
use crate::{Result, TrainError};

/// The model-free half of a task: its training examples, gathered into host
/// batches (plain buffers, `Send`) possibly on the prefetch worker thread.
pub trait BatchSource: Sync {
    type Batch: Send;

    /// Number of training examples; each epoch shuffles `0..len()`.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of examples `rows`. `seed` is the batch's own (a function of
    /// the run's seed, the epoch and the step) for anything sampled, such as
    /// negatives: the same batch comes back whether gathered inline or ahead.
    fn gather(&self, rows: &[usize], seed: u64) -> Self::Batch;

    /// The cost of example `row` in positions, for length-bucketed batches
    /// ([`TrainConfig::length_buckets`]); equal for all by default.
    fn example_len(&self, _row: usize) -> usize {
        0
    }
}

/// What a task adds to the shared loop.
pub trait TrainTask {
    type Source: BatchSource;

    fn source(&self) -> &Self::Source;

    /// The scalar (float) loss of one training batch, in training mode, the
    /// forward pass under `amp` (see [`crate::amp::autocast`]).
    fn loss(&self, batch: &<Self::Source as BatchSource>::Batch, device: Device, amp: Amp) -> Tensor;

    /// The figures computed on the validation data after each epoch.
    fn validate(&self) -> Result<Vec<(TaskMetric, f64)>>;

    /// The figure that decides early stopping and the best epoch; it must be
    /// among [`TrainTask::validate`]'s.
    fn valid_metric(&self) -> TaskMetric;
}

/// The seed of batch `step` of an epoch whose seed is `epoch_seed`.
pub fn batch_seed(epoch_seed: u64, step: usize) -> u64 {
    Rng::new(epoch_seed ^ ((step as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))).next_u64()
}

struct State {
    epoch: usize,
    global_step: usize,
    best: Option<(usize, f64, Snapshot)>,
    epochs_since_best: usize,
    stopped_early: bool,
    history: Vec<EpochReport>,
    scaler: Option<LossScaler>,
}

/// Trains the model of `task` (whose variables live in `vs`) and leaves the
/// best epoch's weights in `vs`. `config`'s `metrics`, `valid_metric` and
/// `pos_weight` are the CTR task's; every other field applies to all tasks.
///
/// With `checkpoint_dir`, each finished epoch is first reported to the
/// observer and then checkpointed; if `last.safetensors` exists there the
/// run resumes after its epoch: the weights, optimiser state, schedule
/// position, early-stopping state and history come from it, `init_from` is
/// ignored, and the observer is NOT called again for epochs already done
/// (an epoch that was reported but not checkpointed before a crash is
/// replayed and reported again). The outcome's history has every epoch.
pub fn fit<T: TrainTask + ?Sized>(
    task: &T,
    vs: &VarStore,
    config: &TrainConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    config.amp.check(config.device)?;
    let schedule = config.schedule();
    schedule.check()?;
    let examples = task.source().len();
    if config.batch_size == 0 || examples == 0 {
        return Err(TrainError::Config("batch_size and the training examples must not be empty".into()));
    }
    let last = config.checkpoint_dir.as_deref().map(checkpoint::last_path).filter(|p| p.exists());
    if let (None, Some(path)) = (&last, &config.init_from) {
        finetune::init_from(vs, path)?;
    }
    let frozen = finetune::freeze(vs, &config.freeze)?;
    let params: Vec<(String, Tensor)> = named_variables(vs).into_iter().filter(|(_, t)| t.requires_grad()).collect();
    if params.is_empty() {
        return Err(TrainError::Config(format!("nothing to train (frozen: {:?})", frozen.names)));
    }
    let mut optimizer = build_optimizer(&config.optimizer, params)?;
    let batches_per_epoch = examples.div_ceil(config.batch_size);
    let total_steps = config.epochs * batches_per_epoch;
    let valid_metric = task.valid_metric();
    let mut state = State {
        epoch: 0,
        global_step: 0,
        best: None,
        epochs_since_best: 0,
        stopped_early: false,
        history: Vec::new(),
        scaler: (config.amp == Amp::Fp16).then(LossScaler::default),
    };
    // a target epsilon becomes a noise multiplier once N is known
    let resolved;
    let config = match &config.privacy {
        Some(dp) => {
            resolved = TrainConfig { privacy: Some(crate::dp_sgd::resolve(dp, config, examples)?), ..config.clone() };
            &resolved
        }
        None => config,
    };
    let resumed_after = match &last {
        Some(path) => {
            resume(path, vs, optimizer.as_mut(), examples, valid_metric, config, &mut state)?;
            Some(state.epoch)
        }
        None => None,
    };

    let mut progress = Progress::new(&config.label);
    while state.epoch < config.epochs && !state.stopped_early {
        let epoch = state.epoch + 1;
        if let Some(dp) = &config.privacy
            && dp.would_exceed(epoch, config.batch_size, examples)?
        {
            state.stopped_early = true; // the privacy budget is spent
            break;
        }
        let mut ctx = Epoch { task, config, schedule: &schedule, total_steps, state: &mut state, progress: &mut progress, vs };
        let report = ctx.run(epoch, optimizer.as_mut())?;
        progress.finish_epoch(&epoch_line(&report));
        observer.on_epoch(&report).map_err(TrainError::Observer)?;
        state.epoch = epoch;
        state.history.push(report.clone());
        if state.epochs_since_best >= config.patience.max(1) && epoch < config.epochs {
            state.stopped_early = true;
        }
        if let Some(dir) = &config.checkpoint_dir {
            let meta = meta_of(&state, config, optimizer.as_ref(), examples, valid_metric, total_steps);
            let mut tensors: Vec<(String, Tensor)> =
                named_variables(vs).into_iter().map(|(n, t)| (format!("model.{n}"), t)).collect();
            tensors.extend(optimizer.state().into_iter().map(|(n, t)| (format!("optim.{n}"), t)));
            checkpoint::save(dir, &meta, &tensors, report.improved)?;
        }
    }
    drop(frozen);
    let (best_epoch, best_valid, snapshot) =
        state.best.ok_or_else(|| TrainError::UndefinedMetric { metric: valid_metric.name() })?;
    snapshot.restore(vs);
    Ok(TrainOutcome {
        best_epoch,
        best_valid,
        epochs_run: state.epoch,
        stopped_early: state.stopped_early,
        seconds: started.elapsed().as_secs_f64(),
        history: state.history,
        resumed_after,
        global_steps: state.global_step,
        noise_multiplier: config.privacy.as_ref().map(|dp| dp.noise_multiplier),
    })
}

/// One epoch's borrowed context.
struct Epoch<'a, T: ?Sized> {
    task: &'a T,
    config: &'a TrainConfig,
    schedule: &'a Schedule,
    total_steps: usize,
    state: &'a mut State,
    progress: &'a mut Progress,
    vs: &'a VarStore,
}

impl<T: TrainTask + ?Sized> Epoch<'_, T> {
    fn run(&mut self, epoch: usize, optimizer: &mut dyn Optimizer) -> Result<EpochReport> {
        let (config, schedule, total_steps) = (self.config, self.schedule, self.total_steps);
        let (task, state, progress) = (self.task, &mut *self.state, &mut *self.progress);
        let epoch_start = Instant::now();
        let seed = epoch_seed(config.seed, epoch);
        tch::manual_seed(seed as i64);
        let source = task.source();
        let order = if config.length_buckets {
            BatchOrder::bucketed(source.len(), config.batch_size, &mut Rng::new(seed), |r| source.example_len(r))
        } else {
            BatchOrder::shuffled(source.len(), config.batch_size, &mut Rng::new(seed))
        };
        progress.start_epoch(epoch, order.batches());
        let (mut loss_sum, mut seen, mut lr) = (0.0, 0usize, schedule.lr);
        if let Some(dp) = &config.privacy {
            // DP-SGD samples its own (Poisson) batches: see dp_sgd.rs
            let mut lr_of_step = || {
                lr = schedule.lr_at(state.global_step, total_steps);
                state.global_step += 1;
                lr
            };
            let mut on_step = |sum: f64, n: usize| {
                progress.step(sum / n.max(1) as f64, schedule.lr, n as f64 / epoch_start.elapsed().as_secs_f64())
            };
            let settings = (config.batch_size, config.device, seed, epoch);
            let done = crate::dp_sgd::dp_epoch(task, optimizer, dp, settings, &mut lr_of_step, &mut on_step)?;
            (loss_sum, seen) = (done.loss_sum, done.seen);
        } else {
            let gather = |step: usize, rows: &[usize]| (rows.len(), source.gather(rows, batch_seed(seed, step)));
            prefetch(&order, config.prefetch, gather, |step, (rows, batch)| -> Result<()> {
                lr = schedule.lr_at(state.global_step, total_steps);
                let loss = task.loss(&batch, config.device, config.amp).to_kind(Kind::Float);
                let value = f64::try_from(&loss)?;
                if !value.is_finite() {
                    return Err(TrainError::NonFiniteLoss { epoch, step: step + 1, value });
                }
                optimizer.zero_grad();
                let usable = match &mut state.scaler {
                    Some(scaler) => {
                        scaler.scale_loss(&loss).backward();
                        let grads: Vec<Tensor> = optimizer.params().iter().map(|p| p.tensor.grad()).collect();
                        let finite = scaler.unscale(&grads);
                        scaler.update(finite);
                        finite
                    }
                    None => {
                        loss.backward();
                        true
                    }
                };
                if usable {
                    if let Some(max) = config.clip_grad_norm {
                        clip_grad_norm(optimizer.params(), max);
                    }
                    optimizer.step(lr);
                }
                state.global_step += 1;
                loss_sum += value * rows as f64;
                seen += rows;
                progress.step(loss_sum / seen as f64, lr, seen as f64 / epoch_start.elapsed().as_secs_f64());
                Ok(())
            })?;
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        let values = task.validate()?;
        let valid_metric = task.valid_metric();
        let current = values
            .iter()
            .find(|(m, _)| *m == valid_metric)
            .map(|&(_, v)| v)
            .ok_or_else(|| TrainError::UndefinedMetric { metric: valid_metric.name() })?;
        let improved = state.best.as_ref().is_none_or(|(_, b, _)| valid_metric.better(current, *b));
        if improved {
            state.best = Some((epoch, current, Snapshot::take(self.vs)));
            state.epochs_since_best = 0;
        } else {
            state.epochs_since_best += 1;
        }
        Ok(EpochReport {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            valid: values,
            seconds: epoch_start.elapsed().as_secs_f64(),
            samples_per_s: seen as f64 / train_seconds.max(1e-9),
            improved,
            lr,
            epsilon: epsilon_after(config, epoch, source.len())?,
        })
    }
}

fn meta_of(
    state: &State,
    config: &TrainConfig,
    optimizer: &dyn Optimizer,
    examples: usize,
    valid_metric: TaskMetric,
    total_steps: usize,
) -> CheckpointMeta {
    CheckpointMeta {
        format_version: FORMAT_VERSION,
        epoch: state.epoch,
        global_step: state.global_step,
        total_steps,
        best_epoch: state.best.as_ref().map(|b| b.0),
        best_value: state.best.as_ref().map(|b| b.1),
        epochs_since_best: state.epochs_since_best,
        stopped_early: state.stopped_early,
        valid_metric: valid_metric.name(),
        seed: config.seed,
        batch_size: config.batch_size,
        optimizer: optimizer.name().into(),
        train_rows: examples,
        loss_scale: state.scaler.map(|s| (s.scale, s.clean_steps)),
        history: state
            .history
            .iter()
            .map(|r| EpochRecord {
                epoch: r.epoch,
                train_loss: r.train_loss,
                valid: r.valid.iter().map(|(m, v)| (m.name(), *v)).collect(),
                seconds: r.seconds,
                samples_per_s: r.samples_per_s,
                improved: r.improved,
                lr: r.lr,
            })
            .collect(),
    }
}

/// Restores `state`, the weights and the optimiser from `last` (and the best
/// weights from `best.safetensors` beside it).
fn resume(
    last: &Path,
    vs: &VarStore,
    optimizer: &mut dyn Optimizer,
    examples: usize,
    valid_metric: TaskMetric,
    config: &TrainConfig,
    state: &mut State,
) -> Result<()> {
    let bad = |reason: String| TrainError::Checkpoint { path: last.to_path_buf(), reason };
    let ckpt = checkpoint::load(last)?;
    let meta = ckpt.meta.clone().ok_or_else(|| bad("no attnlab metadata: not a training checkpoint".into()))?;
    let mut differences = Vec::new();
    let mut differ = |what: &str, saved: String, now: String| {
        if saved != now {
            differences.push(format!("{what} {saved} (now {now})"));
        }
    };
    differ("seed", meta.seed.to_string(), config.seed.to_string());
    differ("batch_size", meta.batch_size.to_string(), config.batch_size.to_string());
    differ("optimizer", meta.optimizer.clone(), optimizer.name().into());
    differ("train rows", meta.train_rows.to_string(), examples.to_string());
    differ("valid metric", meta.valid_metric.clone(), valid_metric.name());
    if !differences.is_empty() {
        return Err(bad(format!("written by a different run: {}", differences.join(", "))));
    }
    let weights = ckpt.section("model");
    let problems = finetune::fit_problems(vs, &weights);
    if !problems.is_empty() {
        return Err(bad(format!("does not fit the model: {}", problems.join("; "))));
    }
    finetune::copy_into(vs, &weights)?;
    optimizer.load_state(&ckpt.section("optim")).map_err(|e| bad(e.to_string()))?;
    let mut history = Vec::with_capacity(meta.history.len());
    for r in &meta.history {
        let valid = r
            .valid
            .iter()
            .map(|(name, v)| TaskMetric::parse(name).map(|m| (m, *v)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        history.push(EpochReport {
            epoch: r.epoch,
            train_loss: r.train_loss,
            valid,
            seconds: r.seconds,
            samples_per_s: r.samples_per_s,
            improved: r.improved,
            lr: r.lr,
            epsilon: epsilon_after(config, r.epoch, examples)?,
        });
    }
    state.best = match (meta.best_epoch, meta.best_value) {
        (Some(epoch), Some(value)) if epoch == meta.epoch => {
            // the last epoch was the best: its weights are these; best.* may
            // predate them if the run stopped between the two writes
            let dir = last.parent().unwrap_or(Path::new("."));
            let best_epoch = checkpoint::load(&checkpoint::best_path(dir)).ok().and_then(|c| c.meta).map(|m| m.epoch);
            if best_epoch != Some(epoch) {
                checkpoint::copy_last_to_best(dir)?;
            }
            Some((epoch, value, Snapshot::from_tensors(weights)))
        }
        (Some(epoch), Some(value)) => {
            let best_path = checkpoint::best_path(last.parent().unwrap_or(Path::new(".")));
            let best = checkpoint::load(&best_path)?;
            if best.meta.as_ref().map(|m| m.epoch) != Some(epoch) {
                return Err(TrainError::Checkpoint { path: best_path, reason: format!("is not epoch {epoch}'s") });
            }
            Some((epoch, value, Snapshot::from_tensors(best.section("model"))))
        }
        _ => None,
    };
    state.epoch = meta.epoch;
    state.global_step = meta.global_step;
    state.epochs_since_best = meta.epochs_since_best;
    state.stopped_early = meta.stopped_early;
    state.history = history;
    if let (Some(scaler), Some((scale, clean_steps))) = (&mut state.scaler, meta.loss_scale) {
        *scaler = LossScaler { scale, clean_steps };
    }
    Ok(())
}

/// ε spent after `epoch` epochs of a private run (`None` otherwise).
fn epsilon_after(config: &TrainConfig, epoch: usize, examples: usize) -> Result<Option<f64>> {
    config.privacy.as_ref().map(|dp| dp.epsilon_after(epoch, config.batch_size, examples)).transpose()
}

fn epoch_line(r: &EpochReport) -> String {
    let metrics: Vec<String> = r.valid.iter().map(|(m, v)| format!("valid.{} {v:.4}", m.name())).collect();
    format!(
        "epoch {:>3}  loss {:.4}  {}  lr {:.3e}  {:.0} samples/s  {:.1}s{}",
        r.epoch,
        r.train_loss,
        metrics.join("  "),
        r.lr,
        r.samples_per_s,
        r.seconds,
        if r.improved { "  *" } else { "" }
    ) + &r.epsilon.map(|e| format!("  epsilon {e:.3}")).unwrap_or_default()
}
