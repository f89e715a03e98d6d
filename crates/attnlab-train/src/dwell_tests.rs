//! Dwell targets learn what they claim, on small simulated data with real
//! libtorch (fixed seeds). The simulator's dwell there grows with the item's
//! length, which clicks do not depend on, so ranking by clicks and ranking
//! by dwell differ.

use attnlab_data::{simulate, split_temporal, AdsConfig, SimulatorConfig, Splits};
use attnlab_eval::{Metric, TaskMetric};
use tch::nn::VarStore;
use tch::Device;

use crate::dwell::{dwell_metrics, dwell_seconds, Target};
use crate::tests::{torch_lock, Recorder};
use crate::{predict_target, train, TrainConfig};

fn data() -> (Splits, attnlab_data::Cardinalities) {
    let config = SimulatorConfig {
        seed: 5,
        users: 600,
        items: 200,
        topics: 8,
        sessions_per_user: 10,
        slots: 6,
        interest_sharpness: 3.0,
        history_len: 8,
        // dwell proportional to the item's length: what a click says nothing of
        ads: AdsConfig { dwell_length_weight: 1.0, ..AdsConfig::off() },
    };
    (split_temporal(&simulate(&config).unwrap(), [0.8, 0.1, 0.1]).unwrap(), config.cardinalities())
}

/// Trains `model` on `target` and returns its test predictions.
fn trained(model: &str, target: Target, splits: &Splits, sizes: &attnlab_data::Cardinalities) -> Vec<f32> {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let net = attnlab_models::build(model, &vs.root(), sizes, &Default::default()).unwrap();
    let config = TrainConfig {
        epochs: 6,
        batch_size: 256,
        lr: 0.01,
        patience: 2,
        seed: 1,
        metrics: vec![Metric::Auc],
        target,
        label: "dwell test".into(),
        ..Default::default()
    };
    train(net.as_ref(), &vs, &splits.train, &splits.valid, &config, &mut &Recorder::default()).unwrap();
    predict_target(net.as_ref(), &splits.test, 512, Device::Cpu, target).unwrap()
}

fn metric(splits: &Splits, scores: &[f32], log_dwell: bool, m: TaskMetric) -> f64 {
    let log = log_dwell.then_some(scores);
    dwell_metrics(&splits.test, scores, log, &[m])[0].1
}

#[test]
fn weighted_logistic_regression_ranks_by_dwell_better_than_clicks() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let click = trained("DeepFM", Target::Click, &splits, &sizes);
    let dwell = trained("DeepFM", Target::DwellWeighted, &splits, &sizes);
    let ndcg = TaskMetric::DwellNdcg(10);
    let (c, d) = (metric(&splits, &click, false, ndcg), metric(&splits, &dwell, false, ndcg));
    let (ca, da) = (metric(&splits, &click, false, TaskMetric::DwellAuc), metric(&splits, &dwell, false, TaskMetric::DwellAuc));
    eprintln!("dwell_ndcg@10 click {c:.4} dwell {d:.4}; dwell_auc click {ca:.4} dwell {da:.4}");
    // measured: dwell_ndcg@10 0.699 vs 0.694, dwell_auc 0.810 vs 0.771
    assert!(d > c, "dwell_ndcg@10: dwell-weighted {d} vs click-only {c}");
    assert!(da > ca + 0.02, "dwell_auc: dwell-weighted {da} vs click-only {ca}");
}

#[test]
fn log_dwell_regression_beats_the_constant_and_approaches_the_noise_floor() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let predicted = trained("DeepFM", Target::DwellLog, &splits, &sizes);
    let rmse = metric(&splits, &predicted, true, TaskMetric::DwellRmse);
    // the best constant: the mean log dwell of the training clicks
    let train_dwell = dwell_seconds(&splits.train);
    let logs: Vec<f64> =
        splits.train.click.iter().zip(&train_dwell).filter(|(c, _)| **c > 0.5).map(|(_, d)| f64::from(*d).ln_1p()).collect();
    let mean = (logs.iter().sum::<f64>() / logs.len() as f64) as f32;
    let constant = metric(&splits, &vec![mean; splits.test.len()], true, TaskMetric::DwellRmse);
    eprintln!("dwell_rmse model {rmse:.4} constant {constant:.4}");
    // measured: 0.688 against the constant's 1.02; the simulator's own
    // expected log dwell misses by its noise, DWELL_LOG_SD = 0.6
    assert!(rmse < constant - 0.2, "dwell_rmse {rmse} vs constant {constant}");
    assert!(rmse < 0.6 + 0.15, "dwell_rmse {rmse} vs the oracle's 0.6");
}

/// MMoE with (`true`) or without a dwell head, trained on clicks (and dwell)
/// of the same data with the same seeds: its test predictions.
fn trained_mmoe(dwell_head: bool, splits: &Splits, sizes: &attnlab_data::Cardinalities) -> crate::TaskPredictions {
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let params = serde_json::json!({ "embed_dim": 16, "dwell_head": dwell_head });
    let model = attnlab_models::build_multitask("MMoE", &vs.root(), sizes, params.as_object().unwrap()).unwrap();
    let config = TrainConfig { epochs: 6, batch_size: 256, lr: 0.01, patience: 2, seed: 1, label: "mmoe dwell".into(), ..Default::default() };
    let options = crate::MultiTaskOptions { valid_metric: TaskMetric::CtrAuc, ..Default::default() };
    crate::train_multitask(model.as_ref(), &vs, &splits.train, &splits.valid, &config, &options, &mut &Recorder::default()).unwrap();
    crate::predict_tasks(model.as_ref(), &splits.test, 512, Device::Cpu).unwrap()
}

#[test]
fn an_mmoe_dwell_head_ranks_by_dwell_and_keeps_the_click_auc() {
    let _lock = torch_lock();
    let (splits, sizes) = data();
    let click_only = trained_mmoe(false, &splits, &sizes);
    let with_dwell = trained_mmoe(true, &splits, &sizes);
    assert!(click_only.log_dwell.is_none());
    let expected = with_dwell.expected_dwell().expect("a dwell head predicts dwell");
    let auc = |p: &[f32]| attnlab_eval::ctr_auc(&splits.test.click, p).unwrap();
    let (ca, da) = (auc(&click_only.pctr), auc(&with_dwell.pctr));
    let ndcg = TaskMetric::DwellNdcg(10);
    let (cn, dn) = (metric(&splits, &click_only.pctr, false, ndcg), metric(&splits, &expected, false, ndcg));
    let (cw, dw) = (metric(&splits, &click_only.pctr, false, TaskMetric::DwellAuc), metric(&splits, &expected, false, TaskMetric::DwellAuc));
    let rmse = dwell_metrics(&splits.test, &expected, with_dwell.log_dwell.as_deref(), &[TaskMetric::DwellRmse])[0].1;
    eprintln!("ctr_auc click-only {ca:.4} dwell head {da:.4}; dwell_ndcg@10 {cn:.4} vs {dn:.4}; dwell_auc {cw:.4} vs {dw:.4}; dwell_rmse {rmse:.4}");
    // measured at the default dwell weight 0.03: ctr_auc 0.7296 vs 0.7303,
    // dwell_auc 0.747 -> 0.812, dwell_ndcg@10 0.666 -> 0.652, dwell_rmse
    // 0.725; at weight 1 the head cost 0.08 of click AUC (0.646)
    assert!((ca - da).abs() <= 0.005, "click AUC: click-only {ca} vs with a dwell head {da}");
    assert!(dn > cn || dw > cw + 0.02, "dwell_ndcg@10 {cn} -> {dn}, dwell_auc {cw} -> {dw}");
    // the head learns dwell: well under the constant's ~1.0 (see the regression test above)
    assert!(rmse < 0.8, "dwell_rmse {rmse}");
}

