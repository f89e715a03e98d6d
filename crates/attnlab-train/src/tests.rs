//! Trainer tests on small simulated data with real libtorch.

use std::cell::RefCell;

use attnlab_data::{simulate, split_temporal, SimulatorConfig, Splits};
use attnlab_eval::{Metric, Predictions};
use attnlab_models::{CtrBatch, CtrModel};
use tch::nn::VarStore;
use tch::{Device, Tensor};

use crate::{predict, train, EpochObserver, EpochReport, TrainConfig, TrainError};

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
    };
    let data = simulate(&config).unwrap();
    (split_temporal(&data, [0.8, 0.1, 0.1]).unwrap(), config.cardinalities())
}

fn config(epochs: usize, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 256,
        lr,
        weight_decay: 0.0,
        patience: 100,
        seed: 1,
        metrics: vec![Metric::Auc, Metric::LogLoss],
        valid_metric: Metric::Auc,
        device: Device::Cpu,
        label: "test".into(),
    }
}

#[derive(Default)]
struct Recorder(RefCell<Vec<EpochReport>>);

impl EpochObserver for &Recorder {
    fn on_epoch(&mut self, r: &EpochReport) -> Result<(), String> {
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
