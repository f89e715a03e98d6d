//! User side features summed into the user vector of the models that have
//! one (BPR, Caser): the arithmetic by hand, the models taking them, and a
//! learning check where a user's group is the only way to what they like.

use attnlab_data::{Column, ColumnData};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::*;
use crate::blocks::{ItemFeatures, UserTable};
use crate::{build_next_item, NextItemSizes, SeqBatch};

/// Users 0..3: a gender token (user 2 has none) and a standardised age.
#[test]
fn the_user_vector_is_the_id_vector_plus_each_columns_vector() {
    let _guard = rng_lock();
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let gender = token_column("gender", vec![1, 2, 0, 1], 2);
    let age = Column { name: "age".into(), data: ColumnData::Float(vec![20.0, 40.0, f32::NAN, 30.0]), vocab: None };
    let mut features = ItemFeatures::default();
    features.push_user_column(&gender).unwrap();
    features.push_user_column(&age).unwrap();
    assert!(features.is_empty(), "no item column: the item table stays ids only");
    let table = UserTable::new(&(vs.root() / "user"), 4, 3, nn::Init::Randn { mean: 0.0, stdev: 1.0 }, Some(&features));
    let var = |name: &str| vs.variables()[name].shallow_clone();
    let (ids, genders, vector) = (var("user.weight"), var("user.features.gender.weight"), var("user.features.age.vector"));
    // ages 20, 40, 30 standardise to -sqrt(3/2), sqrt(3/2), 0; the missing one is 0
    let z = 1.5f64.sqrt();
    let expected = Tensor::stack(
        &[ids.get(0) + genders.get(1) - vector.get(0) * z, ids.get(1) + genders.get(2) + vector.get(0) * z, ids.get(2), ids.get(3) + genders.get(1)],
        0,
    );
    let got = table.forward(&Tensor::from_slice(&[0i64, 1, 2, 3]));
    assert!(got.allclose(&expected, 1e-5, 1e-5, false), "{got} vs {expected}");
    let seq = Column { name: "tags".into(), data: ColumnData::FloatSeq { offsets: vec![0, 0], values: vec![] }, vocab: None };
    let err = ItemFeatures::default().push_user_column(&seq).unwrap_err().to_string();
    assert!(err.contains("user features") && err.contains("`tags`"), "{err}");
}

/// BPR and Caser add the user columns to their user vectors (their loss
/// reaches the column's table); models without a user vector build none.
#[test]
fn the_models_with_a_user_vector_take_user_features() {
    let _guard = rng_lock();
    let sizes = NextItemSizes { users: 4, items: 7, max_len: 6 };
    let mut features = ItemFeatures::default();
    features.push_user_column(&token_column("group", vec![1, 2, 1, 2], 2)).unwrap();
    let batch = |pairwise: bool| SeqBatch {
        users: Tensor::from_slice(&[0i64, 1]),
        inputs: Tensor::from_slice(&[0i64, 0, 0, 1, 2, 3, 1, 2, 3, 4, 5, 6]).view([2, 6]),
        targets: if pairwise {
            Tensor::from_slice(&[4i64, 1]).view([2, 1])
        } else {
            Tensor::from_slice(&[0i64, 0, 0, 2, 3, 4, 2, 3, 4, 5, 6, 1]).view([2, 6])
        },
        negatives: pairwise.then(|| Tensor::from_slice(&[1i64, 2]).view([2, 1])),
        timestamps: Some(Tensor::arange(7, (Kind::Int64, Device::Cpu)).repeat([2, 1]) * 60),
        held_out: None,
    };
    let mut with_users = Vec::new();
    for info in crate::REGISTRY.iter().filter(|m| m.task == Task::NextItem && m.name != "Pop") {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = build_next_item(info.name, &vs.root(), &sizes, &no_params(), None, Some(&features)).unwrap();
        let Some(table) = vs.variables().get("user.features.group.weight").map(|t| t.shallow_clone()) else { continue };
        model.training_loss(&batch(!model.sequential()), true).backward();
        assert!(table.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0, "{}: the loss does not reach the group table", info.name);
        with_users.push(info.name);
    }
    with_users.sort_unstable();
    assert_eq!(with_users, ["BPR", "Caser"]);
}

const GROUPS: usize = 4;
/// Items `1..=ITEMS - 1`; item `i` is of group `(i - 1) % GROUPS`.
const ITEMS: usize = 81;
/// Users `0..WARM` train; `WARM..USERS` have no training row at all.
const WARM: usize = 160;
const USERS: usize = 200;

/// Trains BPR on warm users who each like the items of their group (user
/// `u`'s is `u % GROUPS`), with or without the group as a user feature,
/// and returns the share of the cold users' top-10 items that are of
/// their group: only the feature tells a cold user's group.
fn cold_user_group_precision(features: Option<&ItemFeatures>) -> f64 {
    let sizes = NextItemSizes { users: USERS, items: ITEMS, max_len: 1 };
    let _guard = rng_lock();
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_next_item("BPR", &vs.root(), &sizes, &params(serde_json::json!({"embed_dim": 16})), None, features).unwrap();
    let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
    let mut rng = Lcg(5);
    let item_of = |group: i64, rng: &mut Lcg| 1 + group + GROUPS as i64 * rng.below((ITEMS / GROUPS) as u64);
    const B: usize = 128;
    for _ in 0..300 {
        let (mut users, mut positives, mut negatives) = (vec![], vec![], vec![]);
        for _ in 0..B {
            let u = rng.below(WARM as u64);
            let g = u % GROUPS as i64;
            users.push(u);
            positives.push(item_of(g, &mut rng));
            negatives.push(item_of((g + 1 + rng.below(GROUPS as u64 - 1)) % GROUPS as i64, &mut rng));
        }
        let batch = SeqBatch {
            users: Tensor::from_slice(&users),
            inputs: Tensor::zeros([B as i64, 1], (Kind::Int64, Device::Cpu)),
            targets: Tensor::from_slice(&positives).view([B as i64, 1]),
            negatives: Some(Tensor::from_slice(&negatives).view([B as i64, 1])),
            timestamps: None,
            held_out: None,
        };
        opt.backward_step(&model.training_loss(&batch, true));
    }
    let _no_grad = tch::no_grad_guard();
    let cold: Vec<i64> = (WARM as i64..USERS as i64).collect();
    let inputs = Tensor::zeros([cold.len() as i64, 1], (Kind::Int64, Device::Cpu));
    let scores = model.score(&Tensor::from_slice(&cold), &inputs).narrow(1, 1, ITEMS as i64 - 1);
    let top = Vec::<i64>::try_from(scores.topk(10, 1, true, true).1.reshape([-1])).unwrap();
    let right: usize = cold.iter().zip(top.chunks(10)).map(|(&u, t)| t.iter().filter(|&&k| k % GROUPS as i64 == u % GROUPS as i64).count()).sum();
    right as f64 / (10 * cold.len()) as f64
}

/// Chance is 1/4 of a cold user's top 10 in their group.
#[test]
fn the_group_feature_carries_the_signal_to_users_without_training_rows() {
    let group = token_column("group", (0..USERS).map(|u| 1 + (u % GROUPS) as u32).collect(), GROUPS);
    let mut features = ItemFeatures::default();
    features.push_user_column(&group).unwrap();
    let fused = cold_user_group_precision(Some(&features));
    let ids_only = cold_user_group_precision(None);
    eprintln!("cold-user group precision@10: with the group {fused:.3}, ids only {ids_only:.3}");
    assert!(fused >= 0.8, "with the group feature: {fused:.3}");
    assert!(ids_only <= 0.45, "ids only cannot know a cold user's group: {ids_only:.3}");
}
