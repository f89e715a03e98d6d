//! PAL and IPS against position as a feature, on the simulator's truth:
//! relevance AUC at position 0 (every test row scored as if shown at the
//! top, against its true click probability there), for a click model and
//! (PAL) for the click head of a multi-task model. Fixed seeds, real
//! libtorch.

use attnlab_data::{simulate, split_temporal, true_relevance, AdsConfig, Cardinalities, Impressions, SimulatorConfig, Splits};
use attnlab_eval::{soft_label_auc, Metric, TaskMetric};
use attnlab_models::Pal;
use tch::nn::VarStore;
use tch::Device;

use crate::tests::{torch_lock, Recorder};
use crate::{predict, predict_multitask, train, train_multitask, MultiTaskOptions, TrainConfig};

/// AUC of `score`'s predictions for the test rows moved to the top slot
/// against their true relevance there.
fn relevance_auc(test: &Impressions, score: impl Fn(&Impressions) -> Vec<f32>) -> f64 {
    let relevance = true_relevance(test).unwrap();
    let top = Impressions { position: vec![0; test.len()], ..test.clone() };
    soft_label_auc(&relevance, &score(&top)).unwrap()
}

/// A small simulated world (with `ads`), split 8:1:1 by time.
fn simulated(ads: AdsConfig) -> (Splits, Cardinalities) {
    let config = SimulatorConfig {
        seed: 11,
        users: 600,
        items: 200,
        topics: 8,
        sessions_per_user: 10,
        slots: 8,
        interest_sharpness: 3.0,
        history_len: 8,
        ads,
    };
    (split_temporal(&simulate(&config).unwrap(), [0.8, 0.1, 0.1]).unwrap(), config.cardinalities())
}

fn train_config(label: &str) -> TrainConfig {
    TrainConfig { epochs: 6, batch_size: 256, lr: 0.01, patience: 2, seed: 1, metrics: vec![Metric::Auc], label: label.into(), ..Default::default() }
}

#[test]
fn pal_ranks_by_relevance_better_than_position_as_a_feature() {
    let _lock = torch_lock();
    let (splits, sizes) = simulated(AdsConfig::off());
    let train_config = train_config("pal test");
    let mut aucs = Vec::new();
    for pal in [false, true] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let net = attnlab_models::build("DeepFM", &vs.root(), &sizes, &Default::default()).unwrap();
        let net = if pal { Pal::wrap(net, &vs.root(), sizes.positions) } else { net };
        train(net.as_ref(), &vs, &splits.train, &splits.valid, &train_config, &mut &Recorder::default()).unwrap();
        aucs.push(relevance_auc(&splits.test, |top| predict(net.as_ref(), top, 512, Device::Cpu).unwrap()));
    }
    let (feature, pal) = (aucs[0], aucs[1]);
    eprintln!("relevance AUC at position 0: position as a feature {feature:.4}, PAL {pal:.4}");
    // measured: 0.778 against 0.767
    assert!(pal > feature + 0.005, "PAL {pal} vs position as a feature {feature}");
}

/// The same on MMoE's click head, in the ad market (conversions to learn too),
/// stopping on click AUC.
#[test]
fn pal_on_mmoe_ranks_by_relevance_better_than_position_as_a_feature() {
    let _lock = torch_lock();
    let (splits, sizes) = simulated(AdsConfig::default());
    let config = train_config("mmoe pal test");
    let options = MultiTaskOptions { valid_metric: TaskMetric::CtrAuc, ..Default::default() };
    let params = serde_json::json!({ "embed_dim": 16 });
    let mut aucs = Vec::new();
    for pal in [false, true] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let net = attnlab_models::build_multitask("MMoE", &vs.root(), &sizes, params.as_object().unwrap()).unwrap();
        let net = if pal { Pal::wrap_multitask(net, &vs.root(), sizes.positions) } else { net };
        train_multitask(net.as_ref(), &vs, &splits.train, &splits.valid, &config, &options, &mut &Recorder::default()).unwrap();
        aucs.push(relevance_auc(&splits.test, |top| predict_multitask(net.as_ref(), top, 512, Device::Cpu).unwrap().0));
    }
    let (feature, pal) = (aucs[0], aucs[1]);
    eprintln!("MMoE relevance AUC at position 0: position as a feature {feature:.4}, PAL {pal:.4}");
    assert!(pal > feature + 0.005, "PAL {pal} vs position as a feature {feature}");
}
