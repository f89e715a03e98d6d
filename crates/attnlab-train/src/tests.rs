//! Trainer tests on small simulated data with real libtorch.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use attnlab_data::{simulate, split_temporal, AdsConfig, SimulatorConfig, Splits};
use attnlab_eval::{Metric, Predictions};
use attnlab_models::{CtrBatch, CtrModel};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::{predict, train, EpochObserver, EpochReport, TrainConfig, TrainError};

/// Tests that train or draw random weights share libtorch's global
/// generator (and thread count): one at a time, or a seeded test sees
/// another's draws.
pub(crate) static TORCH: Mutex<()> = Mutex::new(());

pub(crate) fn torch_lock() -> MutexGuard<'static, ()> {
    let guard = TORCH.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    guard
}

fn data() -> (Splits, attnlab_data::Cardinalities) {
    let config = SimulatorConfig {
        seed: 3,
        users: 300,
        items: 120,
        topics: 6,
        sessions_per_user: 8,
        slots: 6,
        interest_sharpness: 3.0,
        history_len: 8,
        ads: AdsConfig::off(),
    };
    let data = simulate(&config).unwrap();
    (split_temporal(&data, [0.8, 0.1, 0.1]).unwrap(), config.cardinalities())
}

fn config(epochs: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 256,
        lr,
        patience: 100,
        seed: 1,
        metrics: vec![Metric::Auc, Metric::LogLoss],
        valid_metric: Metric::Auc,
        device: Device::Cpu,
        label: "test".into(),
        ..Default::default()
    }
}

/// Keeps every reported epoch (shared by the task tests).
#[derive(Default)]
pub(crate) struct Recorder(pub(crate) RefCell<Vec<EpochReport>>);

impl EpochObserver for &Recorder {
    fn on_epoch(&mut self, r: &EpochReport) -> Result<(), crate::ObserverError> {
        self.0.borrow_mut().push(r.clone());
        Ok(())
    }
}

fn valid_auc(model: &dyn CtrModel, splits: &Splits) -> f64 {
    let scores = predict(model, &splits.valid, 512, Device::Cpu).unwrap();
    Metric::Auc.compute(&Predictions::new(&splits.valid.user, &splits.valid.click, &scores).unwrap()).unwrap()
}

#[test]
fn keeps_the_best_epoch_weights_and_reports_every_epoch() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = attnlab_models::build("DIN", &vs.root(), &sizes, &Default::default()).unwrap();
    let recorder = Recorder::default();
    // a high learning rate overfits this small data, so the best epoch is rarely the last
    let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &config(6, 0.02), &mut &recorder).unwrap();
    let epochs = recorder.0.borrow();
    assert_eq!(epochs.len(), 6);
    assert_eq!(epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), (1..=6).collect::<Vec<_>>());
    let best = epochs.iter().map(|e| e.valid[0].1).fold(f64::MIN, f64::max);
    assert_eq!(outcome.best_valid, best);
    assert_eq!(epochs[outcome.best_epoch - 1].valid[0].1, best);
    // the weights left in the VarStore are the best epoch's, not the last one's
    assert!((valid_auc(model.as_ref(), &splits) - best).abs() < 1e-9);
    assert!(best > 0.6, "DIN learns something on the simulator: {best}");
    assert!(epochs[0].train_loss > epochs[5].train_loss, "training loss falls");
}

#[test]
fn stops_early_after_patience_epochs_without_improvement() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = attnlab_models::build("DIN", &vs.root(), &sizes, &Default::default()).unwrap();
    let recorder = Recorder::default();
    let cfg = TrainConfig { patience: 1, ..config(30, 0.05) };
    let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    assert!(outcome.stopped_early, "30 epochs at lr 0.05 must overfit and stop");
    assert_eq!(outcome.epochs_run, outcome.best_epoch + 1, "patience 1: one epoch without improvement");
    assert_eq!(recorder.0.borrow().len(), outcome.epochs_run);
}

/// A model whose output turns NaN: training must stop with the epoch and step.
#[derive(Debug)]
struct PoisonedModel {
    weight: Tensor,
}

impl CtrModel for PoisonedModel {
    fn forward_t(&self, b: &CtrBatch, _train: bool) -> Tensor {
        b.user.to_kind(tch::Kind::Float) * &self.weight * f64::NAN
    }
}

#[test]
fn non_finite_loss_is_an_error_naming_epoch_and_step() {
    let _lock = torch_lock();
    let (splits, _) = data();
    let vs = VarStore::new(Device::Cpu);
    let model = PoisonedModel { weight: vs.root().ones("w", &[1]) };
    let recorder = Recorder::default();
    let err = train(&model, &vs, &splits.train, &splits.valid, &config(2, 0.01), &mut &recorder).unwrap_err();
    match err {
        TrainError::NonFiniteLoss { epoch, step, value } => {
            assert_eq!((epoch, step), (1, 1));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFiniteLoss, got {other}"),
    }
    assert!(recorder.0.borrow().is_empty(), "no epoch is reported");
}

#[test]
fn same_seed_same_result() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let run = || {
        tch::manual_seed(5);
        let vs = VarStore::new(Device::Cpu);
        let model = attnlab_models::build("DIN", &vs.root(), &sizes, &Default::default()).unwrap();
        let recorder = Recorder::default();
        train(model.as_ref(), &vs, &splits.train, &splits.valid, &config(2, 0.01), &mut &recorder).unwrap().best_valid
    };
    assert_eq!(run(), run());
}

fn din(sizes: &attnlab_data::Cardinalities, vs: &VarStore) -> Box<dyn CtrModel> {
    let params = serde_json::json!({ "embed_dim": 8, "dropout": 0.1 });
    let params = params.as_object().unwrap().clone();
    attnlab_models::build("DIN", &vs.root(), sizes, &params).unwrap()
}

/// The run the resume test makes twice: warmup + cosine, clipping, L2 on the
/// tables, dropout (libtorch's RNG) and prefetching all take part.
fn resume_config(dir: Option<&Path>) -> TrainConfig {
    TrainConfig {
        warmup_steps: 20,
        decay: crate::Decay::Cosine { final_lr: 0.001 },
        clip_grad_norm: Some(1.0),
        optimizer: crate::OptimizerConfig {
            l2_embedding: 1e-4,
            embedding_params: vec!["user".into(), "item".into(), "category".into(), "position".into()],
            ..Default::default()
        },
        checkpoint_dir: dir.map(Path::to_path_buf),
        ..config(4, 0.01)
    }
}

const CHILD_DIR: &str = "ATTNLAB_TRAIN_TEST_CHILD_DIR";
const CHILD_ABORT_AT: &str = "ATTNLAB_TRAIN_TEST_CHILD_ABORT_AT";

/// Aborts the process when epoch `at` is reported: epoch `at - 1` is
/// checkpointed, epoch `at` is not.
struct AbortAt(usize);

impl EpochObserver for AbortAt {
    fn on_epoch(&mut self, r: &EpochReport) -> Result<(), crate::ObserverError> {
        if r.epoch == self.0 {
            std::process::abort();
        }
        Ok(())
    }
}

/// The child half of `resumes_exactly_after_a_hard_crash` (run by it in a
/// process of its own; does nothing when run directly).
#[test]
#[ignore]
fn resume_child() {
    let (Ok(dir), Ok(at)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ABORT_AT)) else { return };
    tch::set_num_threads(1);
    let (splits, sizes) = data();
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = din(&sizes, &vs);
    let config = resume_config(Some(Path::new(&dir)));
    let _ = train(model.as_ref(), &vs, &splits.train, &splits.valid, &config, &mut AbortAt(at.parse().unwrap()));
    unreachable!("the observer aborts");
}

fn strip_timing(history: &[EpochReport]) -> Vec<EpochReport> {
    history.iter().map(|r| EpochReport { seconds: 0.0, samples_per_s: 0.0, ..r.clone() }).collect()
}

#[test]
fn resumes_exactly_after_a_hard_crash() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let run = |dir: Option<&Path>, recorder: &Recorder| {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let model = din(&sizes, &vs);
        let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &resume_config(dir), &mut &*recorder).unwrap();
        (outcome, crate::snapshot::named_variables(&vs))
    };
    let whole = Recorder::default();
    let (expected, expected_weights) = run(None, &whole);
    assert_eq!(expected.epochs_run, 4);

    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tests::resume_child", "--nocapture", "--ignored", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_ABORT_AT, "3")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child aborts");
    let last: crate::checkpoint::CheckpointMeta =
        serde_json::from_slice(&std::fs::read(dir.path().join("last.json")).unwrap()).unwrap();
    assert_eq!((last.epoch, last.history.len()), (2, 2), "epoch 2 is the last checkpoint");

    let resumed = Recorder::default();
    let (outcome, weights) = run(Some(dir.path()), &resumed);
    assert_eq!(outcome.resumed_after, Some(2));
    assert_eq!(resumed.0.borrow().iter().map(|r| r.epoch).collect::<Vec<_>>(), [3, 4], "done epochs are not reported again");
    assert_eq!(strip_timing(&outcome.history), strip_timing(&expected.history));
    assert_eq!(strip_timing(&resumed.0.borrow()), strip_timing(&whole.0.borrow()[2..]));
    assert_eq!((outcome.best_epoch, outcome.best_valid), (expected.best_epoch, expected.best_valid));
    assert_eq!(outcome.global_steps, expected.global_steps);
    assert_eq!(weights.len(), expected_weights.len());
    for ((n, a), (m, b)) in weights.iter().zip(&expected_weights) {
        assert_eq!(n, m);
        assert!(a.equal(b), "`{n}` differs after resuming");
    }
    let best: crate::checkpoint::CheckpointMeta =
        serde_json::from_slice(&std::fs::read(dir.path().join("best.json")).unwrap()).unwrap();
    assert_eq!(best.epoch, expected.best_epoch);

    // a finished run resumed again trains nothing and keeps its result
    let again = Recorder::default();
    let (outcome, _) = run(Some(dir.path()), &again);
    assert!(again.0.borrow().is_empty());
    assert_eq!((outcome.best_epoch, outcome.best_valid), (expected.best_epoch, expected.best_valid));
}

#[test]
fn resume_refuses_a_checkpoint_of_another_run() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = din(&sizes, &vs);
    let recorder = Recorder::default();
    let cfg = TrainConfig { checkpoint_dir: Some(dir.path().into()), ..config(1, 0.01) };
    train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    let other = TrainConfig { seed: 9, batch_size: 128, ..cfg };
    let e = train(model.as_ref(), &vs, &splits.train, &splits.valid, &other, &mut &recorder).unwrap_err().to_string();
    assert!(e.contains("seed 1 (now 9)") && e.contains("batch_size 256 (now 128)"), "{e}");
}

#[test]
fn fine_tunes_from_a_checkpoint_with_frozen_tables() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let dir = tempfile::tempdir().unwrap();
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = din(&sizes, &vs);
    let recorder = Recorder::default();
    let cfg = TrainConfig { checkpoint_dir: Some(dir.path().into()), ..config(1, 0.01) };
    train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    let pretrained = crate::snapshot::named_variables(&vs);

    tch::manual_seed(42);
    let vs2 = VarStore::new(Device::Cpu);
    let model2 = din(&sizes, &vs2);
    let cfg = TrainConfig {
        init_from: Some(dir.path().join("best.safetensors")),
        freeze: vec!["user".into(), "item".into()],
        ..config(1, 0.01)
    };
    train(model2.as_ref(), &vs2, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
    let tuned = crate::snapshot::named_variables(&vs2);
    let (mut frozen, mut changed) = (0, 0);
    for ((name, before), (_, after)) in pretrained.iter().zip(&tuned) {
        if name.starts_with("user.") || name.starts_with("item.") {
            assert!(before.equal(after), "frozen `{name}` changed");
            frozen += 1;
        } else if !before.equal(after) {
            changed += 1;
        }
    }
    assert_eq!(frozen, 2);
    assert!(changed >= 4, "the other parameters train ({changed} changed)");
    assert!(tuned.iter().all(|(_, t)| t.requires_grad()), "gradients are back on after training");
}

#[test]
fn init_from_lists_every_mismatch() {
    let _lock = torch_lock();
    let (_, sizes) = data();
    let dir = tempfile::tempdir().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let _model = din(&sizes, &vs);
    let mut vars = crate::snapshot::named_variables(&vs);
    vars.retain(|(n, _)| n != "item.weight");
    for (n, t) in vars.iter_mut() {
        if n == "user.weight" {
            *t = Tensor::zeros([3, 8], (tch::Kind::Float, Device::Cpu));
        }
    }
    let path = dir.path().join("w.safetensors");
    Tensor::write_safetensors(&vars, &path).unwrap();
    let e = crate::finetune::init_from(&vs, &path).unwrap_err();
    match &e {
        TrainError::InitMismatch { path: p, problems } => {
            assert_eq!(p, &path);
            assert_eq!(problems.len(), 2, "{problems:?}");
            assert!(problems[0].starts_with("`item.weight` (shape [") && problems[0].ends_with("is missing"), "{e}");
            assert!(problems[1].starts_with("`user.weight`: checkpoint has shape [3, 8], the model ["), "{e}");
        }
        other => panic!("expected InitMismatch, got {other}"),
    }
    let freeze = crate::finetune::freeze(&vs, &["usr".into()]).err().unwrap().to_string();
    assert!(freeze.contains("\"usr\"") && freeze.contains("matches no trainable parameter"), "{freeze}");
}

#[test]
fn amp_on_the_cpu_is_an_error() {
    let (splits, _) = data();
    let vs = VarStore::new(Device::Cpu);
    let model = PoisonedModel { weight: vs.root().ones("w", &[1]) };
    let recorder = Recorder::default();
    let cfg = TrainConfig { amp: crate::Amp::Bf16, ..config(1, 0.01) };
    let e = train(&model, &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap_err().to_string();
    assert!(e.contains("amp `bf16` needs a CUDA device"), "{e}");
}

#[test]
fn prefetching_gives_the_same_batches() {
    let (splits, _) = data();
    let order = crate::BatchOrder::shuffled(splits.train.len(), 100, &mut attnlab_data::Rng::new(4));
    let collect = |depth| {
        let mut out = Vec::new();
        crate::for_each_batch(&splits.train, &order, depth, |step, b| {
            out.push((step, b.user, b.history_items, b.labels));
            Ok::<(), ()>(())
        })
        .unwrap();
        out
    };
    let inline = collect(0);
    assert_eq!(inline.len(), order.batches());
    assert_eq!(collect(3), inline);
    // an error stops the worker and comes back
    let mut seen = 0;
    let r = crate::for_each_batch(&splits.train, &order, 2, |step, _| {
        seen += 1;
        if step == 2 { Err("stop") } else { Ok(()) }
    });
    assert_eq!((r, seen), (Err("stop"), 3));
}

/// Samples/s on the quickstart's data and DIN, with and without the
/// prefetch worker: `cargo test -p attnlab-train -- --ignored throughput --nocapture`
/// (`ATTNLAB_BENCH_THREADS` sets libtorch's threads, default 1).
#[test]
#[ignore]
fn throughput_quickstart() {
    let _lock = torch_lock();
    let threads: i32 = std::env::var("ATTNLAB_BENCH_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(1);
    tch::set_num_threads(threads);
    // the quickstart world, without ads
    let config = SimulatorConfig { ads: AdsConfig::off(), ..SimulatorConfig::default() };
    let splits = split_temporal(&simulate(&config).unwrap(), [0.8, 0.1, 0.1]).unwrap();
    let params = serde_json::json!({ "embed_dim": 16, "attention_hidden": [36], "mlp_hidden": [64, 32] });
    let params = params.as_object().unwrap().clone();
    for prefetch in [0, 2, 0, 2] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let model = attnlab_models::build("DIN", &vs.root(), &config.cardinalities(), &params).unwrap();
        let recorder = Recorder::default();
        let cfg = TrainConfig { batch_size: 1024, prefetch, ..config_for_bench() };
        train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut &recorder).unwrap();
        let r = &recorder.0.borrow()[0];
        eprintln!("threads {threads} prefetch {prefetch}: {} rows, {:.0} samples/s", splits.train.len(), r.samples_per_s);
    }
}

fn config_for_bench() -> TrainConfig {
    TrainConfig { lr: 0.005, ..config(1, 0.005) }
}
