//! Models on data with extra fields (a click log's other columns): every
//! CTR and multi-task model reads them through the shared block and trains
//! their variables, AutoInt names them, and without them no model has a
//! variable more than before.

use tch::nn;
use tch::{Device, Kind, Tensor};

use attnlab_data::{CategoricalField, ExtraFields};

use super::*;
use crate::{build_any, multitask_loss, BuiltModel, LossWeights};

/// SIZES plus two categorical fields (ids 1..6 and 1..4) and one numeric one.
fn sizes_with_extra() -> Cardinalities {
    let extra = ExtraFields {
        categorical: vec![CategoricalField { name: "C17".into(), size: 6 }, CategoricalField { name: "I3".into(), size: 4 }],
        numeric: vec!["I5".into()],
    };
    Cardinalities { extra, ..SIZES.clone() }
}

/// Random rows with random extra ids and numeric values.
fn batch_with_extra(b: usize, seed: u64) -> CtrBatch {
    let mut batch = random_rows(b, seed).batch();
    let mut rng = Lcg(seed + 1);
    let ids: Vec<i64> = (0..b).flat_map(|_| [1 + rng.below(5), 1 + rng.below(3)]).collect();
    let values: Vec<f32> = (0..b).map(|_| rng.below(100) as f32 / 25.0 - 2.0).collect();
    batch.categorical = Tensor::from_slice(&ids).view([b as i64, 2]);
    batch.numeric = Tensor::from_slice(&values).view([b as i64, 1]);
    batch
}

/// The loss of any click or click + conversion model on `batch`, with its vars.
fn built_loss(info: &ModelInfo, sizes: &Cardinalities, batch: &CtrBatch) -> (nn::VarStore, Tensor) {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let bits = random_labels(batch.user.size()[0] as usize, 9);
    let labels = labels_from(&bits);
    let loss = match build_any(info.name, &vs.root(), sizes, &no_params()).unwrap() {
        BuiltModel::Ctr(model) => bce(&model.forward_t(batch, true), &labels),
        BuiltModel::MultiTask(model) => {
            multitask_loss(model.objective(), &model.forward_t(batch, true), &labels, &labels, LossWeights::default())
        }
        BuiltModel::NextItem(_) => unreachable!("only click models here"),
    };
    (vs, loss)
}

fn click_models() -> impl Iterator<Item = &'static ModelInfo> {
    models_of(Task::Ctr).chain(models_of(Task::MultiTask))
}

#[test]
fn every_click_model_trains_weights_of_every_extra_field() {
    let _guard = rng_lock();
    let sizes = sizes_with_extra();
    let batch = batch_with_extra(16, 31);
    for info in click_models() {
        let (vs, loss) = built_loss(info, &sizes, &batch);
        loss.backward();
        let extra: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(name, _)| name.contains("extra")).collect();
        // a categorical table ([6 + 4, W]) and numeric vectors ([1, W]) per use
        assert!(extra.iter().any(|(n, _)| n.ends_with("categorical.weight")), "{}: no extra categorical table in {extra:?}", info.name);
        assert!(extra.iter().any(|(n, _)| n.ends_with("numeric")), "{}: no numeric field vectors", info.name);
        for (name, var) in &extra {
            let grad = var.grad();
            assert!(grad.defined(), "{}: `{name}` has no gradient", info.name);
            let norm = grad.norm().double_value(&[]);
            assert!(norm.is_finite() && norm > 0.0, "{}: `{name}` gradient norm {norm}", info.name);
        }
        if let Some((_, table)) = extra.iter().find(|(n, _)| n.ends_with("categorical.weight")) {
            assert_eq!(table.size()[0], 10, "{}: one table, both fields' rows", info.name);
            // field 0 uses rows 1..=5, field 1 rows 6 + (1..=3): never a padding id
            let used = nonzero_grad_rows(table);
            assert!(used.iter().all(|&r| (1..6).contains(&r) || (7..10).contains(&r)), "{}: rows {used:?}", info.name);
        }
    }
}

#[test]
fn extra_fields_change_the_prediction() {
    let _guard = rng_lock();
    let sizes = sizes_with_extra();
    let batch = batch_with_extra(8, 41);
    let mut moved = batch.select_rows(&Tensor::arange(8, (Kind::Int64, Device::Cpu)));
    moved.numeric = &moved.numeric + 1.0;
    let _ = moved.categorical.fill_(1);
    for info in models_of(Task::Ctr).filter(|m| m.name != "LR") {
        tch::manual_seed(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build(info.name, &vs.root(), &sizes, &no_params()).unwrap();
        let (a, b) = tch::no_grad(|| (model.forward_t(&batch, false), model.forward_t(&moved, false)));
        assert!(max_abs_diff(&a, &b) > 1e-6, "{}: the extra fields do not reach the logit", info.name);
    }
}

#[test]
fn autoint_names_the_extra_fields_in_its_field_attention() {
    let _guard = rng_lock();
    tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build("AutoInt", &vs.root(), &sizes_with_extra(), &no_params()).unwrap();
    let attention = model.field_attention(&batch_with_extra(4, 51)).expect("AutoInt attends over fields");
    let want = ["user", "item", "category", "position", "history_item", "history_category", "C17", "I3", "I5"];
    assert_eq!(attention.fields, want.map(String::from).to_vec());
    let size = attention.weights.size();
    assert_eq!(size[size.len() - 2..], [9, 9]);
}

#[test]
fn without_extra_fields_no_model_has_a_variable_more() {
    let _guard = rng_lock();
    let batch = random_rows(4, 61).batch();
    for info in click_models() {
        let (vs, _) = built_loss(info, &SIZES, &batch);
        let names: Vec<String> = vs.variables().into_keys().filter(|n| n.contains("extra")).collect();
        assert!(names.is_empty(), "{}: {names:?}", info.name);
    }
}
