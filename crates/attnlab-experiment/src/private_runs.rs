//! Privacy-preserving training in a run: the spec's `train.privacy`
//! (DP-SGD) and `train.federated` (FedAvg) mapped to the trainer, the
//! parameters and tags that record them, and the training of an impression
//! model, federated or not (one call for `task_runs.rs`).

use attnlab_data::Impressions;
use attnlab_models::{CtrModel, MultiTaskModel};
use attnlab_spec::{PartitionKind, TrainSpec};
use attnlab_train::{
    partition_users, train, train_federated, train_federated_multitask, train_multitask, DpConfig, EpochObserver,
    FederatedConfig, FederatedDp, MultiTaskOptions, Partition, TrainConfig, TrainOutcome,
};
use tch::nn::VarStore;

/// The trainer's DP-SGD settings of `train.privacy` (a target ε is solved
/// into a noise multiplier by the trainer, which knows the example count).
pub fn dp_config(t: &TrainSpec) -> Option<DpConfig> {
    t.privacy.as_ref().map(|p| DpConfig {
        max_grad_norm: p.max_grad_norm,
        noise_multiplier: p.noise_multiplier.unwrap_or(0.0),
        target_epsilon: p.target_epsilon,
        delta: p.delta,
        microbatch: p.microbatch as usize,
        stop_at_epsilon: p.stop_at_epsilon,
    })
}

/// The run parameters of the privacy sections, as the spec gives them.
pub fn run_params(t: &TrainSpec) -> Vec<(String, String)> {
    let mut params = Vec::new();
    if let Some(p) = &t.privacy {
        params.push(("privacy.mechanism".into(), "dp-sgd".into()));
        params.push(("privacy.max_grad_norm".into(), p.max_grad_norm.to_string()));
        params.push(("privacy.delta".into(), p.delta.to_string()));
        params.push(("privacy.microbatch".into(), p.microbatch.to_string()));
        if let Some(target) = p.target_epsilon {
            params.push(("privacy.target_epsilon".into(), target.to_string()));
        }
        if let Some(stop) = p.stop_at_epsilon {
            params.push(("privacy.stop_at_epsilon".into(), stop.to_string()));
        }
    }
    if let Some(f) = &t.federated {
        params.push(("federated.clients".into(), f.clients.to_string()));
        params.push(("federated.partition".into(), format!("{:?}", f.partition).to_lowercase()));
        params.push(("federated.rounds".into(), f.rounds.to_string()));
        params.push(("federated.clients_per_round".into(), f.clients_per_round.to_string()));
        params.push(("federated.local_epochs".into(), f.local_epochs.to_string()));
        if let Some(dp) = &f.dp {
            params.push(("privacy.mechanism".into(), "dp-fedavg".into()));
            params.push(("privacy.max_grad_norm".into(), dp.clip.to_string()));
            params.push(("privacy.delta".into(), dp.delta.to_string()));
        }
    }
    params
}

/// Tags of a finished private run: δ and the noise multiplier used.
pub fn outcome_tags(t: &TrainSpec, outcome: &TrainOutcome) -> Vec<(String, String)> {
    let delta = t.privacy.as_ref().map(|p| p.delta).or_else(|| t.federated.as_ref()?.dp.as_ref().map(|d| d.delta));
    match (delta, outcome.noise_multiplier) {
        (Some(delta), Some(sigma)) => {
            vec![("privacy.delta".into(), delta.to_string()), ("privacy.noise_multiplier".into(), format!("{sigma:.6}"))]
        }
        _ => Vec::new(),
    }
}

fn federated_config(t: &TrainSpec) -> Option<(FederatedConfig, usize, Partition)> {
    let f = t.federated.as_ref()?;
    let partition = match f.partition {
        PartitionKind::Random => Partition::Random,
        PartitionKind::Interest => Partition::Interest,
    };
    let dp = f.dp.as_ref().map(|d| FederatedDp { clip: d.clip, noise_multiplier: d.noise_multiplier, delta: d.delta });
    let config = FederatedConfig {
        rounds: f.rounds as usize,
        clients_per_round: f.clients_per_round as usize,
        local_epochs: f.local_epochs as usize,
        dp,
    };
    Some((config, f.clients as usize, partition))
}

/// A click model trained centrally (plain or DP-SGD, by `config`) or, with
/// `train.federated`, by FedAvg over clients of `train`'s users.
pub fn train_ctr(
    net: &dyn CtrModel,
    vs: &VarStore,
    (train_rows, valid): (&Impressions, &Impressions),
    config: &TrainConfig,
    t: &TrainSpec,
    observer: &mut dyn EpochObserver,
) -> attnlab_train::Result<TrainOutcome> {
    match federated_config(t) {
        Some((fed, k, partition)) => {
            let clients = partition_users(train_rows, k, partition, config.seed);
            train_federated(net, vs, train_rows, valid, &clients, config, &fed, observer)
        }
        None => train(net, vs, train_rows, valid, config, observer),
    }
}

/// A click + conversion model, as [`train_ctr`].
pub fn train_multitask_model(
    net: &dyn MultiTaskModel,
    vs: &VarStore,
    (train_rows, valid): (&Impressions, &Impressions),
    config: &TrainConfig,
    options: &MultiTaskOptions,
    t: &TrainSpec,
    observer: &mut dyn EpochObserver,
) -> attnlab_train::Result<TrainOutcome> {
    match federated_config(t) {
        Some((fed, k, partition)) => {
            let clients = partition_users(train_rows, k, partition, config.seed);
            train_federated_multitask(net, vs, (train_rows, valid), &clients, config, options, &fed, observer)
        }
        None => train_multitask(net, vs, train_rows, valid, config, options, observer),
    }
}
