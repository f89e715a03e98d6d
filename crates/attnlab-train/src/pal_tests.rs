//! PAL against position as a feature, on the simulator's truth: relevance
//! AUC at position 0 (every test row scored as if shown at the top, against
//! its true click probability there). Fixed seeds, real libtorch.

use attnlab_data::{simulate, split_temporal, true_relevance, AdsConfig, Impressions, SimulatorConfig};
use attnlab_eval::{soft_label_auc, Metric};
use attnlab_models::{CtrModel, Pal};
use tch::nn::VarStore;
use tch::Device;

use crate::tests::{torch_lock, Recorder};
use crate::{predict, train, TrainConfig};

fn relevance_auc(model: &dyn CtrModel, test: &Impressions) -> f64 {
    let relevance = true_relevance(test).unwrap();
    let top = Impressions { position: vec![0; test.len()], ..test.clone() };
    soft_label_auc(&relevance, &predict(model, &top, 512, Device::Cpu).unwrap()).unwrap()
}

#[test]
fn pal_ranks_by_relevance_better_than_position_as_a_feature() {
    let _lock = torch_lock();
    let config = SimulatorConfig {
        seed: 11,
        users: 600,
        items: 200,
        topics: 8,
        sessions_per_user: 10,
        slots: 8,
        interest_sharpness: 3.0,
        history_len: 8,
        ads: AdsConfig::off(),
    };
    let splits = split_temporal(&simulate(&config).unwrap(), [0.8, 0.1, 0.1]).unwrap();
    let sizes = config.cardinalities();
    let train_config = TrainConfig {
        epochs: 6,
        batch_size: 256,
        lr: 0.01,
        patience: 2,
        seed: 1,
        metrics: vec![Metric::Auc],
        label: "pal test".into(),
        ..Default::default()
    };
    let mut aucs = Vec::new();
    for pal in [false, true] {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let net = attnlab_models::build("DeepFM", &vs.root(), &sizes, &Default::default()).unwrap();
        let net = if pal { Pal::wrap(net, &vs.root(), sizes.positions) } else { net };
        train(net.as_ref(), &vs, &splits.train, &splits.valid, &train_config, &mut &Recorder::default()).unwrap();
        aucs.push(relevance_auc(net.as_ref(), &splits.test));
    }
    let (feature, pal) = (aucs[0], aucs[1]);
    eprintln!("relevance AUC at position 0: position as a feature {feature:.4}, PAL {pal:.4}");
    // measured: 0.778 against 0.767
    assert!(pal > feature + 0.005, "PAL {pal} vs position as a feature {feature}");
}
