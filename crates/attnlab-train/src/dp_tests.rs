//! DP-SGD and federated averaging on small simulated data, real libtorch.

use attnlab_data::{simulate, split_temporal, AdsConfig, Rng, SimulatorConfig, Splits};
use attnlab_eval::{privacy, Metric};
use attnlab_models::CtrModel;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::dp_sgd::{accumulate_clipped, add_noise_and_average, poisson_batch, sample_rate, steps_per_epoch};
use crate::federated::{partition_users, Partition};
use crate::optim::{build_optimizer, OptimizerConfig};
use crate::tests::{torch_lock, Recorder};
use crate::trainer::CtrTask;
use crate::{train, train_federated, Decay, DpConfig, FederatedConfig, FederatedDp, TrainConfig};

fn data() -> (Splits, attnlab_data::Cardinalities) {
    let config = SimulatorConfig {
        seed: 5,
        users: 200,
        items: 80,
        topics: 6,
        sessions_per_user: 6,
        slots: 5,
        interest_sharpness: 3.0,
        history_len: 4,
        ads: AdsConfig::off(),
    };
    let data = simulate(&config).unwrap();
    (split_temporal(&data, [0.8, 0.1, 0.1]).unwrap(), config.cardinalities())
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 256,
        lr: 0.05,
        patience: 100,
        seed: 1,
        metrics: vec![Metric::Auc],
        valid_metric: Metric::Auc,
        device: Device::Cpu,
        label: "dp".into(),
        prefetch: 0,
        ..Default::default()
    }
}

fn lr_model(sizes: &attnlab_data::Cardinalities, vs: &VarStore) -> Box<dyn CtrModel> {
    tch::manual_seed(0);
    attnlab_models::build("LR", &vs.root(), sizes, &Default::default()).unwrap()
}

fn dp(noise: f64) -> DpConfig {
    DpConfig { max_grad_norm: 1.0, noise_multiplier: noise, target_epsilon: None, delta: 1e-5, microbatch: 1, stop_at_epsilon: None }
}

fn norm(tensors: &[Tensor]) -> f64 {
    tensors.iter().map(|t| f64::try_from(t.pow_tensor_scalar(2).sum(Kind::Double)).unwrap()).sum::<f64>().sqrt()
}

#[test]
fn clipping_bounds_every_example_gradient_and_leaves_small_ones_alone() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let cfg = config(1);
    let task = CtrTask { model: model.as_ref(), valid: &splits.valid, train: &splits.train, config: &cfg };
    let named = crate::snapshot::named_variables(&vs);
    let optimizer = build_optimizer(&OptimizerConfig::default(), named).unwrap();
    let params = optimizer.params();
    let zeros = || params.iter().map(|p| p.tensor.zeros_like()).collect::<Vec<_>>();
    let c = 0.05;
    let mut clipped_some = 0;
    for row in 0..40 {
        let mut sums = zeros();
        let (_, raw) = accumulate_clipped(&task, params, &[row], (c, 1), Device::Cpu, 1, &mut sums).unwrap();
        let after = norm(&sums);
        assert!(after <= c * (1.0 + 1e-5), "row {row}: clipped norm {after} > C {c} (raw {})", raw[0]);
        if raw[0] > c {
            clipped_some += 1;
            assert!((after - c).abs() < 1e-4 * c, "a clipped gradient has norm C exactly, got {after}");
        }
        // a bound above the norm leaves the gradient as it is
        let mut free = zeros();
        accumulate_clipped(&task, params, &[row], (1e6, 1), Device::Cpu, 1, &mut free).unwrap();
        assert!((norm(&free) - raw[0]).abs() < 1e-5 * raw[0].max(1e-6), "unclipped norm {} vs raw {}", norm(&free), raw[0]);
    }
    assert!(clipped_some >= 30, "C was meant to bind for most examples: {clipped_some}/40");
    // two examples: each clipped on its own, so the sum is at most 2C
    let mut sums = zeros();
    let (_, raw) = accumulate_clipped(&task, params, &[0, 1], (c, 1), Device::Cpu, 1, &mut sums).unwrap();
    assert_eq!(raw.len(), 2, "one backward pass per example");
    assert!(norm(&sums) <= 2.0 * c * (1.0 + 1e-5));
}

#[test]
fn noise_has_standard_deviation_sigma_c_over_the_expected_batch() {
    let _lock = torch_lock();
    tch::manual_seed(3);
    let mut sums = vec![Tensor::zeros([200_000], (Kind::Float, Device::Cpu)), Tensor::zeros([50_000], (Kind::Float, Device::Cpu))];
    add_noise_and_average(&mut sums, 0.8, 4.0);
    let all = Tensor::cat(&sums, 0).to_kind(Kind::Double);
    let std = f64::try_from(all.std(true)).unwrap();
    let mean = f64::try_from(all.mean(Kind::Double)).unwrap();
    assert!((std - 0.2).abs() < 0.2 * 0.01, "std {std}, expected 0.8 / 4 = 0.2");
    assert!(mean.abs() < 0.002, "mean {mean}");
}

#[test]
fn poisson_batches_take_each_example_with_probability_q() {
    let mut rng = Rng::new(9);
    let (n, q) = (10_000, 0.03);
    let mut hits = vec![0u32; n];
    let mut sizes = Vec::new();
    for _ in 0..200 {
        let rows = poisson_batch(n, q, &mut rng);
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "distinct rows, in order");
        for &r in &rows {
            hits[r] += 1;
        }
        sizes.push(rows.len() as f64);
    }
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    assert!((mean - q * n as f64).abs() < 0.02 * q * n as f64, "mean batch {mean}");
    let var = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (sizes.len() - 1) as f64;
    let binomial = n as f64 * q * (1.0 - q);
    assert!((var / binomial - 1.0).abs() < 0.3, "batch size variance {var} vs binomial {binomial}");
    // first and last examples are sampled as often as the middle ones
    let rate = |range: std::ops::Range<usize>| hits[range.clone()].iter().sum::<u32>() as f64 / (200.0 * range.len() as f64);
    assert!((rate(0..1000) - q).abs() < 0.004 && (rate(9000..10_000) - q).abs() < 0.004);
}

#[test]
fn epsilon_grows_every_epoch_as_the_accountant_says_and_training_learns() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let cfg = TrainConfig { privacy: Some(dp(1.0)), ..config(3) };
    let recorder = Recorder::default();
    let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    let history = recorder.0.borrow();
    assert_eq!(history.len(), 3);
    let (n, b) = (splits.train.len(), cfg.batch_size);
    let q = sample_rate(b, n);
    for (e, r) in history.iter().enumerate() {
        let steps = ((e + 1) * steps_per_epoch(b, n)) as u64;
        let want = privacy::epsilon(q, 1.0, steps, 1e-5).unwrap().0;
        assert_eq!(r.epsilon, Some(want), "epoch {}", e + 1);
    }
    assert!(history.windows(2).all(|w| w[0].epsilon < w[1].epsilon));
    assert!(outcome.best_valid > 0.6, "DP-SGD with sigma 1 still learns: valid AUC {}", outcome.best_valid);
}

#[test]
fn stops_before_an_epoch_that_would_pass_the_budget() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let cfg = config(6);
    let (n, b) = (splits.train.len(), cfg.batch_size);
    let eps = |e: usize| dp(1.0).epsilon_after(e, b, n).unwrap();
    let stop = 0.5 * (eps(2) + eps(3));
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let private = DpConfig { stop_at_epsilon: Some(stop), ..dp(1.0) };
    let recorder = Recorder::default();
    let cfg = TrainConfig { privacy: Some(private.clone()), ..cfg };
    let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    assert_eq!(outcome.epochs_run, 2, "epoch 3 would spend {} > {stop}", eps(3));
    assert!(outcome.stopped_early);
    assert!(recorder.0.borrow().iter().all(|r| r.epsilon.unwrap() <= stop));
    // a budget below one epoch is refused before training
    let tiny = DpConfig { stop_at_epsilon: Some(eps(1) / 2.0), ..dp(1.0) };
    let err = train(model.as_ref(), &vs, &splits.train, &splits.valid, &TrainConfig { privacy: Some(tiny), ..cfg }, &mut &Recorder::default())
        .unwrap_err();
    assert!(err.to_string().contains("below the epsilon of a single epoch"), "{err}");
}

#[test]
fn private_multitask_training_reports_epsilon() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let vs = VarStore::new(Device::Cpu);
    tch::manual_seed(0);
    let model = attnlab_models::build_multitask("ESMM", &vs.root(), &sizes, &Default::default()).unwrap();
    let cfg = TrainConfig { privacy: Some(DpConfig { microbatch: 4, ..dp(1.0) }), ..config(2) };
    let recorder = Recorder::default();
    let options = crate::MultiTaskOptions { valid_metric: attnlab_eval::TaskMetric::CtrAuc, ..Default::default() };
    crate::train_multitask(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &options, &mut &recorder).unwrap();
    let history = recorder.0.borrow();
    assert_eq!(history.len(), 2);
    assert!(history[0].epsilon.unwrap() > 0.0 && history[0].epsilon < history[1].epsilon);
}

#[test]
fn partitions_keep_each_user_in_one_client() {
    let (splits, _) = data();
    let train = &splits.train;
    for partition in [Partition::Random, Partition::Interest] {
        let clients = partition_users(train, 8, partition, 4);
        assert_eq!(clients.len(), 8);
        assert_eq!(clients.iter().map(Vec::len).sum::<usize>(), train.len(), "every row in exactly one client");
        let mut owner = std::collections::HashMap::new();
        for (c, rows) in clients.iter().enumerate() {
            for &r in rows {
                assert_eq!(*owner.entry(train.user[r]).or_insert(c), c, "{partition:?}: user {} split", train.user[r]);
            }
        }
    }
    // interest clients are non-IID: each is dominated by few categories
    let top_share = |clients: &[Vec<usize>]| {
        let shares: Vec<f64> = clients
            .iter()
            .map(|rows| {
                let mut counts = std::collections::HashMap::new();
                for &r in rows.iter().filter(|&&r| train.click[r] > 0.0) {
                    *counts.entry(train.category[r]).or_insert(0usize) += 1;
                }
                let clicks: usize = counts.values().sum();
                *counts.values().max().unwrap_or(&0) as f64 / clicks.max(1) as f64
            })
            .collect();
        shares.iter().sum::<f64>() / shares.len() as f64
    };
    let random = top_share(&partition_users(train, 8, Partition::Random, 4));
    let interest = top_share(&partition_users(train, 8, Partition::Interest, 4));
    assert!(interest > random + 0.1, "top category share: interest {interest:.3} vs random {random:.3}");
}

fn centralised_auc(splits: &Splits, sizes: &attnlab_data::Cardinalities) -> f64 {
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(sizes, &vs);
    train(model.as_ref(), &vs, &splits.train, &splits.valid, &config(4), &mut &Recorder::default()).unwrap().best_valid
}

#[test]
fn fedavg_gets_close_to_centralised_training() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let central = centralised_auc(&splits, &sizes);
    let clients = partition_users(&splits.train, 10, Partition::Random, 1);
    let fed = FederatedConfig { rounds: 8, clients_per_round: 5, local_epochs: 1, dp: None };
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let recorder = Recorder::default();
    let cfg = TrainConfig { batch_size: 32, ..config(1) };
    let outcome =
        train_federated(model.as_ref(), &vs, &splits.train, &splits.valid, &clients, &cfg, &fed, &mut &recorder).unwrap();
    assert_eq!(recorder.0.borrow().len(), 8, "one report per round");
    assert!(recorder.0.borrow().iter().all(|r| r.epsilon.is_none()));
    assert!(outcome.best_valid > 0.65, "FedAvg valid AUC {}", outcome.best_valid);
    assert!(outcome.best_valid > central - 0.03, "FedAvg {} vs centralised {central}", outcome.best_valid);

    // with DP on client updates: epsilon per round from the accountant, q = 5/10
    let dp = FederatedDp { clip: 1.0, noise_multiplier: 1.0, delta: 1e-5 };
    let fed = FederatedConfig { dp: Some(dp), rounds: 3, ..fed };
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let recorder = Recorder::default();
    train_federated(model.as_ref(), &vs, &splits.train, &splits.valid, &clients, &cfg, &fed, &mut &recorder).unwrap();
    for (r, report) in recorder.0.borrow().iter().enumerate() {
        let want = privacy::epsilon(0.5, 1.0, r as u64 + 1, 1e-5).unwrap().0;
        assert_eq!(report.epsilon, Some(want));
    }
}

#[test]
fn fedavg_follows_the_runs_learning_rate_schedule_one_step_per_round() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let clients = partition_users(&splits.train, 10, Partition::Random, 1);
    let fed = FederatedConfig { rounds: 4, clients_per_round: 5, local_epochs: 1, dp: None };
    let rounds = |cfg: &TrainConfig| {
        let vs = VarStore::new(Device::Cpu);
        let model = lr_model(&sizes, &vs);
        let recorder = Recorder::default();
        train_federated(model.as_ref(), &vs, &splits.train, &splits.valid, &clients, cfg, &fed, &mut &recorder).unwrap();
        recorder.0.into_inner()
    };
    // warmup over the first two rounds, then linear decay toward 0.01
    let warm = TrainConfig { batch_size: 32, warmup_steps: 2, decay: Decay::Linear { final_lr: 0.01 }, ..config(1) };
    let lrs: Vec<f64> = rounds(&warm).iter().map(|r| r.lr).collect();
    let want: Vec<f64> = (0..4).map(|step| warm.schedule().lr_at(step, 4)).collect();
    assert_eq!(lrs, want, "each round reports the schedule's rate at step = round - 1");
    let expected = [0.025, 0.05, 0.05, 0.03];
    assert!(lrs.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{lrs:?}");

    // a schedule that stops learning after the first round leaves the
    // weights (so every validation figure) unchanged from round 2 on; at a
    // constant rate they keep moving
    let valid = |reports: &[crate::EpochReport]| reports.iter().map(|r| r.valid[0].1).collect::<Vec<f64>>();
    let stop = TrainConfig { batch_size: 32, decay: Decay::Step { every_steps: 1, gamma: 1e-30 }, ..config(1) };
    let stopped = valid(&rounds(&stop));
    assert!(stopped[1..].iter().all(|&v| v == stopped[1]), "valid AUC per round with lr ~0 after round 1: {stopped:?}");
    let constant = valid(&rounds(&TrainConfig { batch_size: 32, ..config(1) }));
    assert_eq!(constant[0], stopped[0], "round 1 runs at the full rate either way");
    assert!(constant[1..].iter().any(|&v| v != constant[1]), "valid AUC per round at a constant rate: {constant:?}");
}

#[test]
fn a_target_epsilon_is_met_by_the_last_epoch() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let vs = VarStore::new(Device::Cpu);
    let model = lr_model(&sizes, &vs);
    let target = DpConfig { target_epsilon: Some(3.0), noise_multiplier: 0.0, ..dp(0.0) };
    let cfg = TrainConfig { privacy: Some(target), ..config(2) };
    let recorder = Recorder::default();
    let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    let sigma = outcome.noise_multiplier.expect("the solved noise multiplier");
    let last = recorder.0.borrow().last().unwrap().epsilon.unwrap();
    assert_eq!(outcome.epochs_run, 2, "the target does not stop the planned epochs");
    assert!(last <= 3.0 && last > 2.95, "epsilon after the planned epochs {last}, sigma {sigma}");
}
