//! GPU-only checks: `cargo test -p attnlab-train --features cuda-tests`.
//! Not compiled without the feature (CI has no GPU).

use attnlab_data::{simulate, split_temporal, SimulatorConfig};
use attnlab_eval::Metric;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::{train, Amp, EpochObserver, EpochReport, TrainConfig};

struct Quiet;

impl EpochObserver for Quiet {
    fn on_epoch(&mut self, _: &EpochReport) -> Result<(), crate::ObserverError> {
        Ok(())
    }
}

#[test]
fn autocast_computes_in_the_requested_precision() {
    assert!(tch::Cuda::is_available(), "cuda-tests need a CUDA device");
    let a = Tensor::randn([8, 8], (Kind::Float, Device::Cuda(0)));
    assert_eq!(crate::amp::autocast(Amp::Bf16, || a.matmul(&a)).kind(), Kind::BFloat16);
    assert_eq!(crate::amp::autocast(Amp::Fp16, || a.matmul(&a)).kind(), Kind::Half);
    assert_eq!(crate::amp::autocast(Amp::None, || a.matmul(&a)).kind(), Kind::Float);
}

#[test]
fn din_learns_on_cuda_in_every_precision() {
    let config = SimulatorConfig {
        seed: 3,
        users: 300,
        items: 120,
        topics: 6,
        sessions_per_user: 8,
        slots: 6,
        interest_sharpness: 3.0,
        history_len: 8,
        ads: attnlab_data::AdsConfig::off(),
    };
    let splits = split_temporal(&simulate(&config).unwrap(), [0.8, 0.1, 0.1]).unwrap();
    for amp in [Amp::None, Amp::Bf16, Amp::Fp16] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cuda(0));
        let model = attnlab_models::build("DIN", &vs.root(), &config.cardinalities(), &Default::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cfg = TrainConfig {
            epochs: 3,
            batch_size: 256,
            lr: 0.01,
            metrics: vec![Metric::Auc],
            device: Device::Cuda(0),
            amp,
            checkpoint_dir: Some(dir.path().into()),
            patience: 10,
            ..Default::default()
        };
        let outcome = train(model.as_ref(), &vs, &splits.train, &splits.valid, &cfg, &mut Quiet).unwrap();
        assert!(outcome.best_valid > 0.6, "{amp:?}: valid AUC {}", outcome.best_valid);
        assert!(dir.path().join("last.safetensors").exists());
    }
}
