//! Click + conversion training on a small simulated ad market.


use attnlab_data::{simulate, split_temporal, AdsConfig, SimulatorConfig};
use tch::nn::VarStore;
use tch::Device;

use crate::tests::{torch_lock, Recorder};
use attnlab_eval::TaskMetric;
use crate::{
    multitask_metrics, predict_multitask, train_multitask, MultiTaskOptions, TrainConfig,
};

#[test]
fn esmm_learns_clicks_and_conversions_on_the_ad_market() {
    let _lock = torch_lock();
    let sim = SimulatorConfig {
        seed: 3,
        users: 2000,
        items: 200,
        topics: 6,
        sessions_per_user: 12,
        slots: 8,
        interest_sharpness: 3.0,
        history_len: 8,
        ads: AdsConfig::default(),
    };
    let splits = split_temporal(&simulate(&sim).unwrap(), [0.8, 0.1, 0.1]).unwrap();
    // what is learnable: the simulator's own probabilities reach CVR AUC ~0.70, CTR AUC ~0.82
    let v = &splits.valid;
    assert!(attnlab_eval::cvr_auc(&v.click, &v.conversion, &v.true_cvr).unwrap() > 0.65);
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let params = serde_json::json!({ "embed_dim": 8, "tower_hidden": [32] });
    let model = attnlab_models::build_multitask("ESMM", &vs.root(), &sim.cardinalities(), params.as_object().unwrap()).unwrap();
    let config = TrainConfig { epochs: 4, batch_size: 512, lr: 0.003, patience: 100, seed: 1, label: "esmm".into(), ..Default::default() };
    let (pctr, pcvr) = predict_multitask(model.as_ref(), &splits.valid, 512, Device::Cpu).unwrap();
    let untrained = multitask_metrics(&splits.valid, &pctr, &pcvr);
    let options = MultiTaskOptions { valid_metric: TaskMetric::CvrAuc, ..Default::default() };
    let recorder = Recorder::default();
    let outcome = train_multitask(model.as_ref(), &vs, &splits.train, &splits.valid, &config, &options, &mut &recorder).unwrap();
    let epochs = recorder.0.borrow();
    assert_eq!(epochs.len(), 4);
    let names: Vec<String> = epochs[0].valid.iter().map(|(m, _)| m.name()).collect();
    assert_eq!(names, ["ctr_auc", "cvr_auc", "ctcvr_auc"]);
    assert!(epochs[0].train_loss > epochs[3].train_loss, "training loss falls");
    // the best epoch's weights are restored: its figures come back exactly
    let (pctr, pcvr) = predict_multitask(model.as_ref(), &splits.valid, 512, Device::Cpu).unwrap();
    let valid = multitask_metrics(&splits.valid, &pctr, &pcvr);
    assert_eq!(valid, epochs[outcome.best_epoch - 1].valid);
    let get = |m: TaskMetric| valid.iter().find(|(k, _)| *k == m).unwrap().1;
    assert_eq!(get(TaskMetric::CvrAuc), outcome.best_valid);
    assert!(get(TaskMetric::CtrAuc) > 0.6, "CTR AUC {}", get(TaskMetric::CtrAuc));
    assert!(get(TaskMetric::CvrAuc) > 0.6, "CVR AUC {}", get(TaskMetric::CvrAuc));
    for (m, before) in untrained {
        assert!(get(m) > before + 0.05, "{m} improves: {before} -> {}", get(m));
    }
    // on the test split too (fewer conversions: a looser bound for CVR)
    let (pctr, pcvr) = predict_multitask(model.as_ref(), &splits.test, 512, Device::Cpu).unwrap();
    let test = multitask_metrics(&splits.test, &pctr, &pcvr);
    assert!(test[0].1 > 0.6 && test[1].1 > 0.55 && test[2].1 > 0.6, "{test:?}");

    // a valid metric the task does not compute is refused up front
    let bad = MultiTaskOptions { valid_metric: attnlab_eval::Metric::Auc.into(), ..Default::default() };
    let e = train_multitask(model.as_ref(), &vs, &splits.train, &splits.valid, &config, &bad, &mut &recorder).unwrap_err();
    assert!(e.to_string().contains("ctr_auc, cvr_auc or ctcvr_auc"), "{e}");
}
