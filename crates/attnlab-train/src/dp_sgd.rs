//! DP-SGD (Abadi et al. 2016), as Opacus runs it, for any [`TrainTask`]:
//!
//! 1. **Poisson sampling.** Each of the `steps_per_epoch = ⌈N / B⌉` steps
//!    takes every training example independently with probability
//!    `q = B / N`, which is what the RDP accountant
//!    ([`attnlab_eval::privacy`]) assumes; batch sizes vary, and an empty
//!    batch still takes a (noise-only) step.
//! 2. **Per-example clipping.** The batch is cut into microbatches of
//!    `microbatch` examples (1 = per example); each one's gradient (of its
//!    mean loss) is computed by its own backward pass and scaled to L2 norm
//!    at most `C = max_grad_norm` over all trained parameters, then summed.
//!    The loop works for every model, whatever its layers, at the price of a
//!    forward and backward pass per microbatch (see the `dp_sgd` bench).
//!    One example lies in one microbatch, so the sum's sensitivity is C
//!    either way.
//! 3. **Noise.** `N(0, (σC)²)` is added to every coordinate of the sum,
//!    which is divided by the expected number of microbatches `qN / m`,
//!    and the task's optimiser takes its ordinary step on that gradient.
//!
//! After epoch `e` the accountant gives ε at the run's δ for
//! `e · steps_per_epoch` steps ([`DpConfig::epsilon_after`]); the engine
//! reports it with the epoch and stops before an epoch that would pass
//! `stop_at_epsilon`. Sampling and noise derive from the epoch's seed, so a
//! resumed run replays them exactly. The noise comes from libtorch's
//! generator, which is not a cryptographically secure source (Opacus's
//! `secure_mode` is not reproduced).

use attnlab_data::Rng;
use attnlab_eval::privacy;
use tch::{Device, Kind, Tensor};

use crate::amp::Amp;
use crate::engine::{batch_seed, BatchSource, TrainTask};
use crate::optim::{Optimizer, Param};
use crate::{Result, TrainError};

/// Mixed into the epoch seed for the Poisson sampler, so its draws are not
/// those of the shuffling that non-private epochs use.
const POISSON_STREAM: u64 = 0xD5_5A3D_11E7_0B1A;

/// DP-SGD settings with the noise multiplier resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct DpConfig {
    /// C: the L2 bound of one microbatch's gradient.
    pub max_grad_norm: f64,
    /// σ: the noise standard deviation over C (ignored while
    /// `target_epsilon` is set: the trainer solves it then).
    pub noise_multiplier: f64,
    /// Solve σ so that the planned epochs end at this ε; it also becomes
    /// the stopping budget unless `stop_at_epsilon` is set.
    pub target_epsilon: Option<f64>,
    pub delta: f64,
    /// Examples per clipped unit (1 = per-example clipping).
    pub microbatch: usize,
    /// Stop before an epoch whose ε would pass this.
    pub stop_at_epsilon: Option<f64>,
}

/// q = B / N (at most 1).
pub fn sample_rate(batch_size: usize, examples: usize) -> f64 {
    (batch_size as f64 / examples.max(1) as f64).min(1.0)
}

/// Steps of one epoch: ⌈N / B⌉, as many as a shuffled epoch has batches.
pub fn steps_per_epoch(batch_size: usize, examples: usize) -> usize {
    examples.div_ceil(batch_size.max(1))
}

/// The smallest σ for which `epochs` epochs end at ε ≤ `target` (δ `delta`).
pub fn noise_for_target(target: f64, delta: f64, epochs: usize, batch_size: usize, examples: usize) -> Result<f64> {
    let steps = (epochs * steps_per_epoch(batch_size, examples)) as u64;
    privacy::noise_for_epsilon(sample_rate(batch_size, examples), steps, delta, target).map_err(TrainError::from)
}

impl DpConfig {
    /// ε at δ after `epochs` full epochs.
    pub fn epsilon_after(&self, epochs: usize, batch_size: usize, examples: usize) -> Result<f64> {
        let steps = (epochs * steps_per_epoch(batch_size, examples)) as u64;
        let q = sample_rate(batch_size, examples);
        Ok(privacy::epsilon(q, self.noise_multiplier, steps, self.delta)?.0)
    }

    /// True when running epoch `epoch` (1-based) would pass `stop_at_epsilon`.
    pub fn would_exceed(&self, epoch: usize, batch_size: usize, examples: usize) -> Result<bool> {
        Ok(match self.stop_at_epsilon {
            Some(stop) => self.epsilon_after(epoch, batch_size, examples)? > stop,
            None => false,
        })
    }

    pub(crate) fn check(&self) -> Result<()> {
        let ok = self.max_grad_norm > 0.0 && self.max_grad_norm.is_finite() && self.noise_multiplier >= 0.0;
        if !ok || self.microbatch == 0 || !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(TrainError::Config(format!("invalid DP-SGD settings {self:?}")));
        }
        Ok(())
    }
}

/// The settings of a run on `examples` training examples: σ solved from a
/// target ε, checked against the run (full precision, a budget that allows
/// at least one epoch).
pub(crate) fn resolve(dp: &DpConfig, config: &crate::TrainConfig, examples: usize) -> Result<DpConfig> {
    let dp = match dp.target_epsilon {
        Some(target) => DpConfig {
            noise_multiplier: noise_for_target(target, dp.delta, config.epochs, config.batch_size, examples)?,
            target_epsilon: None,
            stop_at_epsilon: dp.stop_at_epsilon.or(Some(target)),
            ..dp.clone()
        },
        None => dp.clone(),
    };
    check_fits(&dp, config, examples)?;
    Ok(dp)
}

fn check_fits(dp: &DpConfig, config: &crate::TrainConfig, examples: usize) -> Result<()> {
    dp.check()?;
    if config.amp != Amp::None {
        return Err(TrainError::Config("DP-SGD trains in full precision (amp none)".into()));
    }
    if let Some(stop) = dp.stop_at_epsilon {
        let first = dp.epsilon_after(1, config.batch_size, examples)?;
        if first > stop {
            return Err(TrainError::Config(format!(
                "stop_at_epsilon {stop} is below the epsilon of a single epoch ({first:.4}): raise the noise multiplier"
            )));
        }
    }
    Ok(())
}

/// The rows of one Poisson-sampled batch: each of `0..n` with probability
/// `q`, drawn by geometric gaps (O(qN), not O(N)).
pub fn poisson_batch(n: usize, q: f64, rng: &mut Rng) -> Vec<usize> {
    if q >= 1.0 {
        return (0..n).collect();
    }
    let log_1q = (-q).ln_1p();
    let mut rows = Vec::with_capacity((q * n as f64 * 1.2) as usize + 4);
    let mut i: f64 = -1.0;
    loop {
        // gap ~ Geometric(q) on {1, 2, ...}
        let u = 1.0 - rng.uniform(); // (0, 1]
        i += (u.ln() / log_1q).floor() + 1.0;
        if i >= n as f64 {
            return rows;
        }
        rows.push(i as usize);
    }
}

/// Adds, for each microbatch of `rows`, its gradient clipped to `max_norm`
/// into `sums` (one buffer per parameter, like `params`). Returns the summed
/// loss over the rows and each microbatch's gradient norm before clipping.
pub fn accumulate_clipped<T: TrainTask + ?Sized>(
    task: &T,
    params: &[Param],
    rows: &[usize],
    (max_norm, microbatch): (f64, usize),
    device: Device,
    seed: u64,
    sums: &mut [Tensor],
) -> Result<(f64, Vec<f64>)> {
    let source = task.source();
    let (mut loss_sum, mut norms) = (0.0, Vec::with_capacity(rows.len().div_ceil(microbatch.max(1))));
    for (k, unit) in rows.chunks(microbatch.max(1)).enumerate() {
        zero_grads(params);
        let batch = source.gather(unit, batch_seed(seed, k));
        let loss = task.loss(&batch, device, Amp::None).to_kind(Kind::Float);
        let value = f64::try_from(&loss)?;
        if !value.is_finite() {
            return Err(TrainError::NonFiniteLoss { epoch: 0, step: k + 1, value });
        }
        loss.backward();
        let _guard = tch::no_grad_guard();
        let grads: Vec<Tensor> = params.iter().map(|p| p.tensor.grad()).collect();
        let squares: Vec<Tensor> =
            grads.iter().filter(|g| g.defined()).map(|g| g.to_kind(Kind::Float).pow_tensor_scalar(2).sum(Kind::Float)).collect();
        let norm = if squares.is_empty() { 0.0 } else { f64::try_from(Tensor::stack(&squares, 0).sum(Kind::Float).sqrt())? };
        let scale = (max_norm / (norm + 1e-6)).min(1.0);
        for (sum, g) in sums.iter_mut().zip(&grads) {
            if g.defined() {
                let _ = sum.g_add_(&(g * scale));
            }
        }
        loss_sum += value * unit.len() as f64;
        norms.push(norm);
    }
    Ok((loss_sum, norms))
}

/// `(sum + N(0, std²)) / denominator`, coordinate by coordinate, in place.
pub fn add_noise_and_average(sums: &mut [Tensor], std: f64, denominator: f64) {
    let _guard = tch::no_grad_guard();
    for s in sums.iter_mut() {
        if std > 0.0 {
            let noise = Tensor::randn(s.size(), (s.kind(), s.device())) * std;
            let _ = s.g_add_(&noise);
        }
        let _ = s.g_div_scalar_(denominator);
    }
}

fn zero_grads(params: &[Param]) {
    for p in params {
        let mut g = p.tensor.grad();
        if g.defined() {
            let _ = g.detach_().zero_();
        }
    }
}

/// Makes every parameter's gradient a defined (zero) tensor, so a step can
/// write the private gradient into it even for parameters no example of
/// the batch touched.
fn define_grads(params: &[Param]) {
    let undefined: Vec<&Param> = params.iter().filter(|p| !p.tensor.grad().defined()).collect();
    if let Some(total) = undefined.iter().map(|p| p.tensor.sum(Kind::Float) * 0.0).reduce(|a, b| a + b) {
        total.backward();
    }
}

/// What one private epoch did.
pub(crate) struct DpEpochOutcome {
    pub loss_sum: f64,
    pub seen: usize,
}

/// One DP-SGD epoch of `task` (its seed `seed`): `steps_per_epoch` steps
/// of Poisson sampling, clipping, noise and an optimiser step. `lr_of_step`
/// gives each step's learning rate (and advances the schedule);
/// `on_step(loss_sum, seen)` reports progress.
pub(crate) fn dp_epoch<T: TrainTask + ?Sized>(
    task: &T,
    optimizer: &mut dyn Optimizer,
    dp: &DpConfig,
    (batch_size, device, seed, epoch): (usize, Device, u64, usize),
    lr_of_step: &mut dyn FnMut() -> f64,
    on_step: &mut dyn FnMut(f64, usize),
) -> Result<DpEpochOutcome> {
    dp.check()?;
    let n = task.source().len();
    let q = sample_rate(batch_size, n);
    let expected_units = (q * n as f64 / dp.microbatch as f64).max(1e-12);
    let mut sampler = Rng::new(seed ^ POISSON_STREAM);
    define_grads(optimizer.params());
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    for step in 0..steps_per_epoch(batch_size, n) {
        let lr = lr_of_step();
        let rows = poisson_batch(n, q, &mut sampler);
        let mut sums: Vec<Tensor> = optimizer.params().iter().map(|p| p.tensor.zeros_like()).collect();
        let (loss, _) = accumulate_clipped(
            task,
            optimizer.params(),
            &rows,
            (dp.max_grad_norm, dp.microbatch),
            device,
            batch_seed(seed, step),
            &mut sums,
        )
        .map_err(|e| match e {
            TrainError::NonFiniteLoss { value, .. } => TrainError::NonFiniteLoss { epoch, step: step + 1, value },
            other => other,
        })?;
        add_noise_and_average(&mut sums, dp.noise_multiplier * dp.max_grad_norm, expected_units);
        {
            let _guard = tch::no_grad_guard();
            for (p, noisy) in optimizer.params().iter().zip(&sums) {
                let _ = p.tensor.grad().copy_(noisy);
            }
        }
        optimizer.step(lr);
        loss_sum += loss;
        seen += rows.len();
        on_step(loss_sum, seen);
    }
    Ok(DpEpochOutcome { loss_sum, seen })
}
