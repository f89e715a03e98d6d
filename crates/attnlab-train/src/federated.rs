//! Federated averaging (McMahan et al. 2017, FedAvg) over clients made of
//! users, optionally with user-level differential privacy on the client
//! updates (DP-FedAvg, McMahan et al. 2018).
//!
//! The training users are partitioned into K clients ([`partition_users`]);
//! a user's impressions never leave their client. Each round:
//! 1. **Sampling.** `clients_per_round` clients without replacement; with
//!    `dp`, each client independently with probability `q = clients_per_round
//!    / K` (Poisson, what the accountant assumes).
//! 2. **Local training.** Each sampled client starts from the global
//!    weights and makes `local_epochs` passes over its own rows in shuffled
//!    mini-batches: the task's own batches and loss ([`TrainTask`]), a fresh
//!    optimiser of the run's kind at the round's learning rate: the run's
//!    [`Schedule`] (`TrainConfig::schedule`, the one the plain loop uses)
//!    with one step per round, so warmup and decay count rounds.
//! 3. **Aggregation.** Without `dp`: the new global weights are the clients'
//!    weights averaged with their example counts as weights. With `dp`:
//!    each client's update (local minus global) is clipped to L2 norm
//!    `clip`, the clipped updates are summed, `N(0, (σ·clip)²)` is added
//!    and the sum is divided by the expected number of clients `qK`.
//! 4. **Validation** on the valid split; the round is reported to the
//!    observer as an epoch (step = round), with ε after this many rounds at
//!    the run's δ when `dp` is set. One user lies in one client, so the
//!    client-level guarantee is user-level.
//!
//! The best round's weights (by the task's validation metric) are left in
//! the VarStore, as [`crate::fit`] does. Rounds are not checkpointed.

use std::time::Instant;

use attnlab_data::{Impressions, Rng};
use attnlab_eval::privacy;
use attnlab_models::{CtrModel, MultiTaskModel};
use tch::nn::VarStore;
use tch::{Kind, Tensor};

use crate::engine::{batch_seed, BatchSource as _, TrainTask};
use crate::multitask::{MultiTask, MultiTaskOptions};
use crate::optim::build_optimizer;
use crate::schedule::Schedule;
use crate::snapshot::named_variables;
use crate::trainer::{epoch_seed, CtrTask, EpochObserver, EpochReport, TrainConfig, TrainOutcome};
use crate::{Result, TrainError};

/// How users are grouped into clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Users dealt to clients at random, equal user counts (IID-like).
    Random,
    /// Users ordered by their dominant interest (the category they clicked
    /// most in train; most shown when they never clicked), then cut into K
    /// runs of equal user counts: each client holds one or two interest
    /// communities (non-IID), as a region would.
    Interest,
}

/// User-level DP on client updates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FederatedDp {
    pub clip: f64,
    pub noise_multiplier: f64,
    pub delta: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FederatedConfig {
    pub rounds: usize,
    pub clients_per_round: usize,
    pub local_epochs: usize,
    pub dp: Option<FederatedDp>,
}

/// ε after `rounds` rounds of DP-FedAvg sampling `per_round` of `clients`.
pub fn federated_epsilon(dp: &FederatedDp, per_round: usize, clients: usize, rounds: usize) -> Result<f64> {
    let q = (per_round as f64 / clients.max(1) as f64).min(1.0);
    Ok(privacy::epsilon(q, dp.noise_multiplier, rounds as u64, dp.delta)?.0)
}

/// The rows of `data` of each of `k` clients; every user's rows go to one
/// client. Deterministic from `seed`. Clients with no user are dropped
/// (more clients than users).
pub fn partition_users(data: &Impressions, k: usize, partition: Partition, seed: u64) -> Vec<Vec<usize>> {
    let users = data.user.iter().map(|&u| u as usize + 1).max().unwrap_or(0);
    let mut present = vec![false; users];
    for &u in &data.user {
        present[u as usize] = true;
    }
    let mut order: Vec<usize> = (0..users).filter(|&u| present[u]).collect();
    match partition {
        Partition::Random => Rng::new(seed).shuffle(&mut order),
        Partition::Interest => {
            let dominant = dominant_categories(data, users);
            order.sort_by_key(|&u| (dominant[u], u));
        }
    }
    let k = k.max(1);
    let mut client_of = vec![usize::MAX; users];
    for (i, &u) in order.iter().enumerate() {
        client_of[u] = i * k / order.len().max(1);
    }
    let mut clients = vec![Vec::new(); k];
    for (row, &u) in data.user.iter().enumerate() {
        clients[client_of[u as usize]].push(row);
    }
    clients.retain(|c| !c.is_empty());
    clients
}

/// Per user, the category clicked most (ties: the smaller id); users
/// without a click get the category shown most.
fn dominant_categories(data: &Impressions, users: usize) -> Vec<u32> {
    let categories = data.category.iter().copied().max().unwrap_or(0) as usize + 1;
    let (mut clicks, mut shown) = (vec![0u32; users * categories], vec![0u32; users * categories]);
    for r in 0..data.len() {
        let cell = data.user[r] as usize * categories + data.category[r] as usize;
        shown[cell] += 1;
        if data.click[r] > 0.0 {
            clicks[cell] += 1;
        }
    }
    let argmax = |row: &[u32]| row.iter().enumerate().max_by_key(|&(c, n)| (*n, std::cmp::Reverse(c))).map_or(0, |(c, _)| c as u32);
    (0..users)
        .map(|u| {
            let span = u * categories..(u + 1) * categories;
            if clicks[span.clone()].iter().any(|&n| n > 0) { argmax(&clicks[span]) } else { argmax(&shown[span]) }
        })
        .collect()
}

/// FedAvg of a click model: `clients` are row sets of `train` (see
/// [`partition_users`]); `config` gives the batch size, learning rate,
/// optimiser, device and seed of local training.
#[allow(clippy::too_many_arguments)]
pub fn train_federated(
    model: &dyn CtrModel,
    vs: &VarStore,
    train: &Impressions,
    valid: &Impressions,
    clients: &[Vec<usize>],
    config: &TrainConfig,
    fed: &FederatedConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    federated_fit(&CtrTask { model, valid, train, config }, vs, clients, config, fed, observer)
}

/// FedAvg of a click + conversion model; see [`train_federated`].
#[allow(clippy::too_many_arguments)]
pub fn train_federated_multitask(
    model: &dyn MultiTaskModel,
    vs: &VarStore,
    (train, valid): (&Impressions, &Impressions),
    clients: &[Vec<usize>],
    config: &TrainConfig,
    options: &MultiTaskOptions,
    fed: &FederatedConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    federated_fit(&MultiTask { model, train, valid, config, options }, vs, clients, config, fed, observer)
}

/// The rounds of FedAvg for any task whose source rows `clients` partition.
pub fn federated_fit<T: TrainTask + ?Sized>(
    task: &T,
    vs: &VarStore,
    clients: &[Vec<usize>],
    config: &TrainConfig,
    fed: &FederatedConfig,
    observer: &mut dyn EpochObserver,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    if clients.len() < 2 || fed.clients_per_round == 0 || fed.clients_per_round > clients.len() {
        return Err(TrainError::Config(format!(
            "federated averaging needs at least 2 non-empty clients and 1..={} clients per round (got {} clients, {} per round)",
            clients.len(),
            clients.len(),
            fed.clients_per_round
        )));
    }
    let schedule: Schedule = config.schedule();
    schedule.check()?;
    let params: Vec<Tensor> =
        named_variables(vs).into_iter().map(|(_, t)| t).filter(Tensor::requires_grad).collect();
    let valid_metric = task.valid_metric();
    let (mut best, mut history): (Option<(usize, f64, Vec<Tensor>)>, Vec<EpochReport>) = (None, Vec::new());
    let mut global_steps = 0;
    for round in 1..=fed.rounds {
        let round_start = Instant::now();
        let lr = schedule.lr_at(round - 1, fed.rounds);
        let seed = epoch_seed(config.seed, round);
        tch::manual_seed(seed as i64);
        let mut rng = Rng::new(seed);
        let sampled = sample_clients(clients.len(), fed, &mut rng);
        let global = copy_all(&params);
        let mut sum: Vec<Tensor> = params.iter().map(Tensor::zeros_like).collect();
        let (mut weight, mut loss_sum, mut seen) = (0.0, 0.0, 0usize);
        for &c in &sampled {
            assign(&params, &global);
            let (loss, steps) = local_training(task, &params, &clients[c], config, (fed.local_epochs, lr), rng.next_u64())?;
            global_steps += steps;
            loss_sum += loss;
            seen += clients[c].len() * fed.local_epochs;
            let _guard = tch::no_grad_guard();
            let update: Vec<Tensor> = params.iter().zip(&global).map(|(p, g)| p - g).collect();
            let (scale, w) = match &fed.dp {
                Some(dp) => ((dp.clip / (l2_norm(&update)? + 1e-12)).min(1.0), 1.0),
                None => (clients[c].len() as f64, clients[c].len() as f64),
            };
            for (s, u) in sum.iter_mut().zip(&update) {
                let _ = s.g_add_(&(u * scale));
            }
            weight += w;
        }
        {
            let _guard = tch::no_grad_guard();
            let denominator = match &fed.dp {
                Some(dp) => {
                    let expected = fed.clients_per_round as f64;
                    crate::dp_sgd::add_noise_and_average(&mut sum, dp.noise_multiplier * dp.clip, expected);
                    1.0
                }
                None => weight.max(1.0),
            };
            for ((p, g), s) in params.iter().zip(&global).zip(&sum) {
                let _ = p.shallow_clone().copy_(&(g + s / denominator));
            }
        }
        let values = task.validate()?;
        let current = values
            .iter()
            .find(|(m, _)| *m == valid_metric)
            .map(|&(_, v)| v)
            .ok_or_else(|| TrainError::UndefinedMetric { metric: valid_metric.name() })?;
        let improved = best.as_ref().is_none_or(|(_, b, _)| valid_metric.better(current, *b));
        if improved {
            best = Some((round, current, copy_all(&params)));
        }
        let seconds = round_start.elapsed().as_secs_f64();
        let report = EpochReport {
            epoch: round,
            train_loss: loss_sum / seen.max(1) as f64,
            valid: values,
            seconds,
            samples_per_s: seen as f64 / seconds.max(1e-9),
            improved,
            lr,
            epsilon: fed.dp.as_ref().map(|dp| federated_epsilon(dp, fed.clients_per_round, clients.len(), round)).transpose()?,
        };
        eprintln!("{}", round_line(&config.label, &report, sampled.len()));
        observer.on_epoch(&report).map_err(TrainError::Observer)?;
        history.push(report);
    }
    let (best_epoch, best_valid, weights) =
        best.ok_or_else(|| TrainError::UndefinedMetric { metric: valid_metric.name() })?;
    assign(&params, &weights);
    Ok(TrainOutcome {
        best_epoch,
        best_valid,
        epochs_run: fed.rounds,
        stopped_early: false,
        seconds: started.elapsed().as_secs_f64(),
        history,
        resumed_after: None,
        global_steps,
        noise_multiplier: fed.dp.map(|dp| dp.noise_multiplier),
    })
}

/// The clients of one round: a fixed number without replacement, or with
/// DP each client with probability `clients_per_round / K`.
fn sample_clients(k: usize, fed: &FederatedConfig, rng: &mut Rng) -> Vec<usize> {
    if fed.dp.is_some() {
        let q = fed.clients_per_round as f64 / k as f64;
        return (0..k).filter(|_| rng.bernoulli(q)).collect();
    }
    let mut all: Vec<usize> = (0..k).collect();
    rng.shuffle(&mut all);
    all.truncate(fed.clients_per_round);
    all.sort_unstable();
    all
}

/// `local_epochs` shuffled passes of mini-batch training over `rows` at
/// learning rate `lr`; returns the summed loss over every example seen and
/// the steps taken.
fn local_training<T: TrainTask + ?Sized>(
    task: &T,
    params: &[Tensor],
    rows: &[usize],
    config: &TrainConfig,
    (local_epochs, lr): (usize, f64),
    seed: u64,
) -> Result<(f64, usize)> {
    let named: Vec<(String, Tensor)> = params.iter().enumerate().map(|(i, t)| (format!("{i:06}"), t.shallow_clone())).collect();
    let mut optimizer = build_optimizer(&config.optimizer, named)?;
    let mut rng = Rng::new(seed);
    let (mut loss_sum, mut steps) = (0.0, 0);
    let mut order = rows.to_vec();
    for _ in 0..local_epochs {
        rng.shuffle(&mut order);
        for (step, batch_rows) in order.chunks(config.batch_size.max(1)).enumerate() {
            let batch = task.source().gather(batch_rows, batch_seed(seed, steps + step));
            let loss = task.loss(&batch, config.device, config.amp).to_kind(Kind::Float);
            let value = f64::try_from(&loss)?;
            if !value.is_finite() {
                return Err(TrainError::NonFiniteLoss { epoch: 0, step: steps + step + 1, value });
            }
            optimizer.zero_grad();
            loss.backward();
            optimizer.step(lr);
            loss_sum += value * batch_rows.len() as f64;
        }
        steps += order.len().div_ceil(config.batch_size.max(1));
    }
    Ok((loss_sum, steps))
}

fn copy_all(params: &[Tensor]) -> Vec<Tensor> {
    let _guard = tch::no_grad_guard();
    params.iter().map(|t| t.detach().copy()).collect()
}

fn assign(params: &[Tensor], values: &[Tensor]) {
    let _guard = tch::no_grad_guard();
    for (p, v) in params.iter().zip(values) {
        p.shallow_clone().copy_(v);
    }
}

fn l2_norm(tensors: &[Tensor]) -> Result<f64> {
    let squares: Vec<Tensor> = tensors.iter().map(|t| t.to_kind(Kind::Float).pow_tensor_scalar(2).sum(Kind::Float)).collect();
    Ok(f64::try_from(Tensor::stack(&squares, 0).sum(Kind::Float).sqrt())?)
}

fn round_line(label: &str, r: &EpochReport, clients: usize) -> String {
    let metrics: Vec<String> = r.valid.iter().map(|(m, v)| format!("valid.{} {v:.4}", m.name())).collect();
    let epsilon = r.epsilon.map(|e| format!("  epsilon {e:.3}")).unwrap_or_default();
    format!(
        "{label}: round {:>3}  {clients} clients  loss {:.4}  {}  {:.1}s{epsilon}{}",
        r.epoch,
        r.train_loss,
        metrics.join("  "),
        r.seconds,
        if r.improved { "  *" } else { "" }
    )
}
