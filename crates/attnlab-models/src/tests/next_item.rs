//! Next-item models on hand-made sequences: shapes and finiteness,
//! gradient flow, padding that changes nothing, overfitting one batch,
//! determinism per seed, and the registry entries.

use serde_json::json;
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::*;
use crate::{build, build_any, build_next_item, check_params, BuiltModel, ModelError, NextItemModel, NextItemSizes, SeqBatch, Sizes};

/// 6 users, 20 items (row 0 is PAD), sequences of up to 8.
pub(super) const NEXT_SIZES: NextItemSizes = NextItemSizes { users: 6, items: 21, max_len: 8 };
/// Training counts per item id (PAD first): item `i` has `i % 7`.
pub(super) const POPULARITY: [u32; 21] = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6];

pub(super) fn next_item_sizes() -> Sizes<'static> {
    Sizes::NextItem { sizes: &NEXT_SIZES, item_popularity: Some(&POPULARITY), item_features: None }
}

const NEXT_ITEM_MODELS: [&str; 7] = ["Pop", "GRU4Rec", "Caser", "SASRec", "HSTU", "BERT4Rec", "BPR"];
const T: usize = 6;

/// Builds `name` with `overrides` into a fresh CPU VarStore after seeding.
fn build_next(name: &str, seed: i64, overrides: Value) -> (nn::VarStore, Box<dyn NextItemModel>) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_next_item(name, &vs.root(), &NEXT_SIZES, &params(overrides), Some(&POPULARITY), None)
        .unwrap_or_else(|e| panic!("build {name}: {e}"));
    (vs, model)
}

/// Dropout off where the model has it (for exact fitting and gradients).
fn no_dropout(name: &str) -> Value {
    match name {
        "Pop" | "BPR" => json!({}),
        _ => json!({"dropout": 0.0}),
    }
}

/// Plain-Rust sequences: `rows[r]` is a user's whole item sequence; the
/// batch predicts each item from the ones before it.
#[derive(Clone, Debug)]
struct Seqs {
    users: Vec<i64>,
    rows: Vec<Vec<i64>>,
    /// The timestamp of every item of `rows`, increasing.
    times: Vec<Vec<i64>>,
}

impl Seqs {
    /// Rows of 7 (a full `T = 6` input), 4, 2 and 1 item (no input at all),
    /// then `extra` random full rows.
    fn new(extra: usize, seed: u64) -> Seqs {
        let mut rng = Lcg(seed);
        let mut lengths = vec![T + 1, 4, 2, 1];
        lengths.extend(std::iter::repeat_n(T + 1, extra));
        let rows = lengths.iter().map(|&n| (0..n).map(|_| 1 + rng.below(NEXT_SIZES.items as u64 - 1)).collect()).collect();
        let users = (0..lengths.len()).map(|_| rng.below(NEXT_SIZES.users as u64)).collect();
        // gaps from a second to about a day, so several time buckets occur
        let times = lengths
            .iter()
            .map(|&n| (0..n).scan(1_000_000, |t, _| {
                *t += 10i64.pow(rng.below(6) as u32) * (1 + rng.below(9));
                Some(*t)
            }).collect())
            .collect();
        Seqs { users, rows, times }
    }

    fn b(&self) -> i64 {
        self.rows.len() as i64
    }

    /// Left-pads `values` (the last `t` of them) to `t`.
    fn padded(values: &[i64], t: usize) -> Vec<i64> {
        let kept = &values[values.len().saturating_sub(t)..];
        let mut row = vec![0; t - kept.len()];
        row.extend_from_slice(kept);
        row
    }

    fn users(&self) -> Tensor {
        Tensor::from_slice(&self.users)
    }

    /// `[B, t]` inputs: every item but the last, left-padded.
    fn inputs(&self, t: usize) -> Tensor {
        let flat: Vec<i64> = self.rows.iter().flat_map(|r| Self::padded(&r[..r.len() - 1], t)).collect();
        Tensor::from_slice(&flat).reshape([self.b(), t as i64])
    }

    /// `[B, t]` targets: the item after each input position.
    fn targets(&self, t: usize) -> Tensor {
        let flat: Vec<i64> = self.rows.iter().flat_map(|r| Self::padded(&r[1..], t)).collect();
        Tensor::from_slice(&flat).reshape([self.b(), t as i64])
    }

    /// `[B, t + 1]` timestamps of the inputs (left-padded with 0), then of
    /// the last target ([`SeqBatch::timestamps`]).
    fn timestamps(&self, t: usize) -> Tensor {
        let flat: Vec<i64> = self
            .times
            .iter()
            .flat_map(|r| {
                let mut row = Self::padded(&r[..r.len() - 1], t);
                row.push(*r.last().unwrap());
                row
            })
            .collect();
        Tensor::from_slice(&flat).reshape([self.b(), t as i64 + 1])
    }

    /// The batch a model of `name` trains on, inputs of width `t`: BPR gets
    /// `[B, 1]` positives and a negative per row.
    fn batch(&self, name: &str, t: usize) -> SeqBatch {
        if name == "BPR" {
            let last: Vec<i64> = self.rows.iter().map(|r| *r.last().unwrap()).collect();
            let negative: Vec<i64> = last.iter().map(|&i| 1 + i % (NEXT_SIZES.items as i64 - 1)).collect();
            SeqBatch {
                users: self.users(),
                inputs: self.inputs(t),
                targets: Tensor::from_slice(&last).view([-1, 1]),
                negatives: Some(Tensor::from_slice(&negative).view([-1, 1])),
                timestamps: Some(self.timestamps(t)),
                held_out: None,
            }
        } else {
            SeqBatch { users: self.users(), inputs: self.inputs(t), targets: self.targets(t), negatives: None, timestamps: Some(self.timestamps(t)), held_out: None }
        }
    }
}

fn scalar(t: &Tensor) -> f64 {
    assert_eq!(t.size(), Vec::<i64>::new(), "the loss must be a scalar");
    t.double_value(&[])
}

#[test]
fn next_item_models_are_registered_as_such() {
    let _guard = rng_lock();
    let names: Vec<_> = models_of(Task::NextItem).map(|m| m.name).collect();
    assert_eq!(names, NEXT_ITEM_MODELS);
    for name in NEXT_ITEM_MODELS {
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(matches!(build_any(name, &vs.root(), next_item_sizes(), &no_params()).unwrap(), BuiltModel::NextItem(_)), "{name}");
        // CTR sizes or the CTR entry point: refused before any variable exists
        let vs = nn::VarStore::new(Device::Cpu);
        let err = build_any(name, &vs.root(), &SIZES, &no_params()).map(drop).unwrap_err();
        assert!(matches!(err, ModelError::WrongTask { actual: Task::NextItem, expected: Task::Ctr, .. }), "{name}: {err:?}");
        let err = build(name, &vs.root(), &SIZES, &no_params()).map(drop).unwrap_err();
        assert!(matches!(err, ModelError::WrongTask { actual: Task::NextItem, .. }), "{name}: {err:?}");
        assert!(vs.variables().is_empty(), "{name}: a refused build created variables");
    }
    let vs = nn::VarStore::new(Device::Cpu);
    let err = build_next_item("DIN", &vs.root(), &NEXT_SIZES, &no_params(), None, None).map(drop).unwrap_err();
    assert!(matches!(err, ModelError::WrongTask { actual: Task::Ctr, expected: Task::NextItem, .. }), "{err:?}");
    let err = build_any("DIN", &vs.root(), &NEXT_SIZES, &no_params()).map(drop).unwrap_err();
    assert!(matches!(err, ModelError::WrongTask { actual: Task::Ctr, expected: Task::NextItem, .. }), "{err:?}");
    assert!(vs.variables().is_empty());
    // Pop cannot rank without the training popularity, or with the wrong one
    let err = build_next_item("pop", &vs.root(), &NEXT_SIZES, &no_params(), None, None).map(drop).unwrap_err();
    assert!(matches!(err, ModelError::Input { .. }) && err.to_string().contains("popularity"), "{err}");
    let err = build_next_item("pop", &vs.root(), &NEXT_SIZES, &no_params(), Some(&POPULARITY[1..]), None).map(drop).unwrap_err();
    assert!(err.to_string().contains("20 entries, expected 21"), "{err}");
    // the other models do not need it
    build_next_item("SASRec", &vs.root(), &NEXT_SIZES, &no_params(), None, None).unwrap();
}

#[test]
fn defaults_follow_recbole() {
    let defaults = |name: &str| REGISTRY.iter().find(|m| m.name == name).unwrap().defaults();
    assert_eq!(defaults("SASRec"), json!({"hidden": 64, "layers": 2, "heads": 2, "inner": 256, "dropout": 0.5}));
    assert_eq!(defaults("GRU4Rec"), json!({"embed_dim": 64, "hidden": 128, "layers": 1, "dropout": 0.3}));
    assert_eq!(defaults("Caser"), json!({"embed_dim": 64, "window": 5, "horizontal": 16, "vertical": 4, "dropout": 0.4}));
    assert_eq!(defaults("BERT4Rec")["mask_prob"], json!(0.2));
    assert_eq!(defaults("BPR"), json!({"embed_dim": 64}));
    assert_eq!(defaults("Pop"), json!({}));
    let err = check_params("BERT4Rec", &params(json!({"mask_prob": 0.0}))).unwrap_err();
    assert!(err.to_string().contains("mask_prob"), "{err}");
    let err = check_params("SASRec", &params(json!({"hidden": 30, "heads": 4}))).unwrap_err();
    assert!(err.to_string().contains("multiple of"), "{err}");
}

#[test]
fn scores_and_losses_have_the_right_shapes_and_are_finite() {
    let _guard = rng_lock();
    let seqs = Seqs::new(2, 1);
    for name in NEXT_ITEM_MODELS {
        let (_vs, model) = build_next(name, 1, json!({}));
        let batch = seqs.batch(name, T);
        let scores = tch::no_grad(|| model.score(&batch.users, &batch.inputs));
        assert_eq!(scores.size(), vec![seqs.b(), NEXT_SIZES.items as i64], "{name}");
        assert_eq!(scores.kind(), Kind::Float, "{name}");
        assert!(to_vec(&scores).iter().all(|v| v.is_finite()), "{name}: scores not finite");
        for train in [true, false] {
            let loss = scalar(&model.training_loss(&batch, train));
            assert!(loss.is_finite() && loss >= 0.0, "{name}: loss {loss}");
        }
        // a single row, and targets only for the last position
        let one = SeqBatch {
            users: batch.users.narrow(0, 0, 1),
            inputs: batch.inputs.narrow(0, 0, 1),
            targets: batch.targets.narrow(0, 0, 1).narrow(1, batch.targets.size()[1] - 1, 1),
            negatives: batch.negatives.as_ref().map(|n| n.narrow(0, 0, 1)),
            timestamps: batch.timestamps.as_ref().map(|n| n.narrow(0, 0, 1)),
            held_out: None,
        };
        assert_eq!(model.score(&one.users, &one.inputs).size(), vec![1, NEXT_SIZES.items as i64], "{name}");
        assert!(scalar(&model.training_loss(&one, true)).is_finite(), "{name}");
        assert_eq!(model.trainable(), name != "Pop", "{name}");
        match model.attention(&batch.inputs) {
            None => assert!(!matches!(name, "SASRec" | "HSTU" | "BERT4Rec"), "{name} has attention weights"),
            Some(w) => {
                assert_eq!(w.size(), vec![seqs.b(), T as i64], "{name}");
                let (w, x) = (to_vec(&w), to_vec(&batch.inputs));
                // HSTU's pointwise weights are silu(.) / n: down to -0.28 / n
                let least = if name == "HSTU" { -0.28 / NEXT_SIZES.max_len as f64 } else { 0.0 };
                for (r, row) in w.chunks(T).enumerate() {
                    assert!(row.iter().all(|v| v.is_finite() && *v >= least), "{name}: {row:?}");
                    for (j, v) in row.iter().enumerate() {
                        if x[r * T + j] == 0.0 {
                            assert_eq!(*v, 0.0, "{name}: padding at row {r} slot {j} is attended to");
                        }
                    }
                    let sum: f64 = row.iter().sum();
                    let real = x[r * T..(r + 1) * T].iter().any(|&v| v != 0.0);
                    if name == "SASRec" && real {
                        assert!((sum - 1.0).abs() < 1e-5, "{name}: row {r} sums to {sum}");
                    }
                    assert!(sum <= 1.0 + 1e-5, "{name}: row {r} sums to {sum}");
                }
            }
        }
    }
}

#[test]
fn pop_scores_are_the_training_popularity() {
    let _guard = rng_lock();
    let (vs, model) = build_next("Pop", 1, json!({}));
    assert!(vs.variables().is_empty(), "Pop has nothing to train");
    let seqs = Seqs::new(0, 2);
    let scores = to_vec(&model.score(&seqs.users(), &seqs.inputs(T)));
    for row in scores.chunks(NEXT_SIZES.items) {
        assert_eq!(row, POPULARITY.iter().map(|&c| c as f64).collect::<Vec<_>>());
    }
    assert_eq!(scalar(&model.training_loss(&seqs.batch("Pop", T), true)), 0.0);
}

#[test]
fn every_variable_gets_a_gradient_and_padding_rows_none() {
    let _guard = rng_lock();
    let seqs = Seqs::new(4, 3);
    for name in NEXT_ITEM_MODELS.into_iter().filter(|&n| n != "Pop") {
        let (vs, model) = build_next(name, 2, no_dropout(name));
        let loss = model.training_loss(&seqs.batch(name, T), true);
        loss.backward();
        let vars = vs.trainable_variables();
        assert!(!vars.is_empty(), "{name}");
        for (var_name, var) in vs.variables() {
            let grad = var.grad();
            assert!(grad.defined(), "{name}: `{var_name}` has no gradient");
            assert!(grad.abs().sum(Kind::Double).double_value(&[]) > 0.0, "{name}: `{var_name}` has a zero gradient");
        }
        let item = variable(&vs, "item.weight");
        assert!(!nonzero_grad_rows(&item).contains(&0), "{name}: the padding row got a gradient");
        assert!(to_vec(&item.get(0)).iter().all(|&v| v == 0.0), "{name}: the padding row is not zero");
    }
}

#[test]
fn extra_left_padding_changes_no_output() {
    let _guard = rng_lock();
    let seqs = Seqs::new(2, 4);
    // every row has at least one padding slot in the narrower batch too
    let (narrow, wide) = (T + 1, NEXT_SIZES.max_len + 3);
    for name in NEXT_ITEM_MODELS {
        let (_vs, model) = build_next(name, 3, json!({}));
        let _no_grad = tch::no_grad_guard();
        let (a, b) = (seqs.batch(name, narrow), seqs.batch(name, wide));
        let diff = max_abs_diff(&model.score(&a.users, &a.inputs), &model.score(&b.users, &b.inputs));
        assert!(diff < 1e-5, "{name}: scores change by {diff} with extra left padding");
        if let (Some(wa), Some(wb)) = (model.attention(&a.inputs), model.attention(&b.inputs)) {
            let cut = wb.narrow(1, (wide - narrow) as i64, narrow as i64);
            assert!(max_abs_diff(&wa, &cut) < 1e-5, "{name}: attention changes with extra left padding");
            let head = wb.narrow(1, 0, (wide - narrow) as i64);
            assert_eq!(head.abs().sum(Kind::Double).double_value(&[]), 0.0, "{name}: extra padding attended to");
        }
        // BERT4Rec draws its masks at random, so only the others' losses compare
        if name != "BERT4Rec" {
            let diff = (scalar(&model.training_loss(&a, false)) - scalar(&model.training_loss(&b, false))).abs();
            assert!(diff < 1e-5, "{name}: the loss changes by {diff} with extra left padding");
        }
    }
}

/// Trains on one fixed batch without dropout; returns the evaluation loss
/// before and after (BERT4Rec's masks are drawn from the same seed both times).
fn overfit_next(name: &str, steps: usize, lr: f64) -> (f64, f64) {
    let seqs = Seqs::new(4, 5);
    let batch = seqs.batch(name, T);
    let (vs, model) = build_next(name, 4, no_dropout(name));
    let mut opt = nn::Adam::default().build(&vs, lr).unwrap();
    let eval = || {
        tch::manual_seed(99);
        tch::no_grad(|| scalar(&model.training_loss(&batch, false)))
    };
    let initial = eval();
    for _ in 0..steps {
        opt.backward_step(&model.training_loss(&batch, true));
    }
    let last = eval();
    eprintln!("{name}: loss {initial:.4} -> {last:.4} after {steps} steps");
    (initial, last)
}

#[test]
fn every_trainable_model_overfits_one_batch() {
    let _guard = rng_lock();
    for name in NEXT_ITEM_MODELS.into_iter().filter(|&n| n != "Pop") {
        // the cloze objective with a fresh mask every step oscillates at 0.01
        let lr = if name == "BERT4Rec" { 0.003 } else { 0.01 };
        let (initial, last) = overfit_next(name, 150, lr);
        assert!(last < initial / 10.0, "{name}: loss {initial:.4} -> {last:.4}, expected a tenfold drop");
    }
}

#[test]
fn same_seed_same_training_different_seed_different_model() {
    let _guard = rng_lock();
    let seqs = Seqs::new(2, 6);
    let run = |name: &str, seed: i64| {
        // default dropout: the masks come from the seeded generator too
        let (vs, model) = build_next(name, seed, json!({}));
        let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
        for _ in 0..3 {
            opt.backward_step(&model.training_loss(&seqs.batch(name, T), true));
        }
        tch::no_grad(|| model.score(&seqs.users(), &seqs.inputs(T)))
    };
    for name in NEXT_ITEM_MODELS.into_iter().filter(|&n| n != "Pop") {
        let (a, b, c) = (run(name, 5), run(name, 5), run(name, 6));
        assert_eq!(max_abs_diff(&a, &b), 0.0, "{name}: same seed, different scores");
        assert!(max_abs_diff(&a, &c) > 1e-4, "{name}: different seeds, same scores");
    }
}

/// `sequential()` tells the trainer what to feed a model, so it must be
/// true exactly for the models whose scores depend on the input sequence.
#[test]
fn sequential_is_true_exactly_for_models_that_read_the_sequence() {
    let _guard = rng_lock();
    let users = Tensor::from_slice(&[0i64, 1]);
    let a = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).view([2, T as i64]);
    let b = Tensor::from_slice(&[20i64, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9]).view([2, T as i64]);
    for name in NEXT_ITEM_MODELS {
        let (_vs, model) = build_next(name, 1, no_dropout(name));
        let reads = tch::no_grad(|| !model.score(&users, &a).allclose(&model.score(&users, &b), 1e-6, 1e-6, false));
        assert_eq!(model.sequential(), reads, "{name}: sequential() {} but its scores {} the input", model.sequential(), if reads { "read" } else { "ignore" });
        // the registry's flag decides whether the prepared data builds sequences
        assert_eq!(crate::reads_sequence(name).unwrap(), reads, "{name}: the registry says otherwise");
    }
}

#[test]
#[should_panic(expected = "negatives")]
fn bpr_without_negatives_says_so() {
    let _guard = rng_lock();
    let (_vs, model) = build_next("BPR", 1, json!({}));
    let mut batch = Seqs::new(0, 7).batch("BPR", T);
    batch.negatives = None;
    let _ = model.training_loss(&batch, true);
}


/// BPR's sparse-gradient loss is its loss, with the same gradient held
/// sparsely (only the rows the batch looked up) for a table more than
/// `SPARSE_TABLE_RATIO` times larger than the batch's lookups; smaller
/// tables and the other models keep dense gradients.
#[test]
fn sparse_training_loss_is_the_loss_with_sparse_gradients_for_large_tables() {
    let _guard = rng_lock();
    // 4 users looked up among 40 (sparse), 8 items among 50 (dense: under 8x)
    let sizes = NextItemSizes { users: 40, items: 50, max_len: 1 };
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_next_item("BPR", &vs.root(), &sizes, &params(json!({})), None, None).unwrap();
    let ids = |v: &[i64]| Tensor::from_slice(v).view([-1, 1]);
    let batch = SeqBatch {
        users: Tensor::from_slice(&[0i64, 7, 7, 39]),
        inputs: ids(&[0, 0, 0, 0]),
        targets: ids(&[1, 5, 9, 49]),
        negatives: Some(ids(&[2, 5, 30, 3])),
        timestamps: None,
        held_out: None,
    };
    let grads = |sparse: bool| {
        vs.variables().values().for_each(|v| {
            let mut g = v.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        });
        let loss = if sparse { model.training_loss_sparse(&batch, true) } else { model.training_loss(&batch, true) };
        loss.backward();
        // (layout, dense copy): the next call zeroes the gradient itself
        let mut named: Vec<(String, bool, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(n, v)| {
                let g = v.grad();
                let dense = if g.is_sparse() { g.to_dense(None, false) } else { g.copy() };
                (n, g.is_sparse(), dense)
            })
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        (scalar(&loss), named)
    };
    // sparse first: a gradient accumulated into a dense one stays dense
    let (sparse_loss, sparse) = grads(true);
    let (dense_loss, dense) = grads(false);
    assert_eq!(dense_loss, sparse_loss);
    let layouts: Vec<(&str, bool)> = sparse.iter().map(|(n, is_sparse, _)| (n.as_str(), *is_sparse)).collect();
    assert_eq!(layouts, [("item.weight", false), ("user.weight", true)]);
    for ((name, is_sparse, d), (_, _, s)) in dense.iter().zip(&sparse) {
        assert!(!is_sparse, "{name}");
        let diff = max_abs_diff(s, d);
        assert!(diff < 1e-7 && f64::try_from(d.abs().sum(Kind::Float)).unwrap() > 0.0, "{name}: differs by {diff}");
    }
    // a user looked up twice holds both rows' gradients; one never looked up, none
    let user = &sparse[1].2;
    assert!(f64::try_from(user.get(7).abs().sum(Kind::Float)).unwrap() > 0.0);
    assert_eq!(f64::try_from(user.get(1).abs().sum(Kind::Float)).unwrap(), 0.0);

    let (_vs, sasrec) = build_next("SASRec", 3, no_dropout("SASRec"));
    let batch = Seqs::new(0, 7).batch("SASRec", T);
    assert_eq!(scalar(&sasrec.training_loss_sparse(&batch, true)), scalar(&sasrec.training_loss(&batch, true)));
}
