//! Unit tests for the model zoo through its public API: shapes, gradient
//! flow, padding semantics, overfitting one batch, determinism, the
//! registry's parameter checks, the shared blocks and learning on the
//! simulator. Shared helpers live here; the tests in the submodules.

mod blocks;
mod ctr;
mod extra_fields;
mod hstu;
mod item_features;
mod learning;
mod multitask;
mod next_item;
mod next_item_learning;
mod registry;
mod user_features;

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use attnlab_data::Cardinalities;

use crate::{build, build_multitask, CtrBatch, CtrModel, ModelInfo, MultiTaskModel, Sizes, Task, REGISTRY};

/// 20 items, 6 categories (row 0 of each is padding), 10 users, 5 slots.
static SIZES: Cardinalities = Cardinalities { users: 10, items: 21, categories: 7, positions: 5, extra: attnlab_data::ExtraFields::NONE };
const K: usize = 5;
/// DIN's default `embed_dim`: the width of one embedding row.
const DIN_DIM: usize = 16;

/// The sizes a model of `task` is built for in these tests.
fn sizes_for(task: Task) -> Sizes<'static> {
    match task {
        Task::NextItem => next_item::next_item_sizes(),
        _ => Sizes::Ctr(&SIZES),
    }
}

fn models_of(task: Task) -> impl Iterator<Item = &'static ModelInfo> {
    REGISTRY.iter().filter(move |m| m.task == task)
}


/// `tch::manual_seed` seeds one process-wide generator and the test harness
/// runs tests on parallel threads, so every test that draws from it holds
/// this lock for its whole run.
static TORCH_RNG: Mutex<()> = Mutex::new(());

fn rng_lock() -> MutexGuard<'static, ()> {
    // the tensors here are tiny; one intra-op thread avoids OpenMP workers
    // spinning against each other (and anything else) on a small machine
    tch::set_num_threads(1);
    TORCH_RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("params must be an object, got {other}"),
    }
}

fn no_params() -> Map<String, Value> {
    Map::new()
}

/// Builds `name` into a fresh CPU VarStore after seeding the generator.
fn build_seeded(name: &str, seed: i64) -> (nn::VarStore, Box<dyn CtrModel>) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build(name, &vs.root(), &SIZES, &no_params()).unwrap_or_else(|e| panic!("build {name}: {e}"));
    (vs, model)
}

/// Builds the multi-task model `name` into a fresh CPU VarStore after
/// seeding the generator.
fn build_multitask_seeded(name: &str, seed: i64) -> (nn::VarStore, Box<dyn MultiTaskModel>) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = build_multitask(name, &vs.root(), &SIZES, &no_params()).unwrap_or_else(|e| panic!("build {name}: {e}"));
    (vs, model)
}

/// Plain-Rust rows of a batch; `hist_*` are row-major `[B, k]`.
#[derive(Clone, Debug)]
struct Rows {
    user: Vec<i64>,
    item: Vec<i64>,
    category: Vec<i64>,
    position: Vec<i64>,
    hist_items: Vec<i64>,
    hist_categories: Vec<i64>,
    k: usize,
}

impl Rows {
    fn len(&self) -> usize {
        self.user.len()
    }

    fn batch(&self) -> CtrBatch {
        let b = self.len() as i64;
        let k = self.k as i64;
        assert_eq!(self.hist_items.len(), self.len() * self.k);
        assert_eq!(self.hist_categories.len(), self.len() * self.k);
        CtrBatch {
            user: Tensor::from_slice(&self.user),
            item: Tensor::from_slice(&self.item),
            category: Tensor::from_slice(&self.category),
            position: Tensor::from_slice(&self.position),
            history_items: Tensor::from_slice(&self.hist_items).reshape([b, k]),
            history_categories: Tensor::from_slice(&self.hist_categories).reshape([b, k]),
            categorical: CtrBatch::no_extra_fields(b, Device::Cpu).0,
            numeric: CtrBatch::no_extra_fields(b, Device::Cpu).1,
        }
    }

    /// The same rows with the first `n` history slots dropped.
    fn drop_leading_slots(&self, n: usize) -> Rows {
        let cut = |h: &[i64]| h.chunks(self.k).flat_map(|row| row[n..].to_vec()).collect::<Vec<_>>();
        Rows { hist_items: cut(&self.hist_items), hist_categories: cut(&self.hist_categories), k: self.k - n, ..self.clone() }
    }
}

/// A tiny deterministic generator for test data (no torch RNG involved).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> i64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n) as i64
    }
}

/// The category of item `i` (1-based), as the data layer would assign it.
fn category_of(item: i64) -> i64 {
    if item == 0 { 0 } else { 1 + (item - 1) % (SIZES.categories as i64 - 1) }
}

/// `b` random rows with history length `K`. Row 0 has no history at all,
/// rows 1 and 2 are partly padded (left-padded, most recent last), the rest
/// are full.
fn random_rows(b: usize, seed: u64) -> Rows {
    let mut rng = Lcg(seed);
    let mut rows = Rows {
        user: vec![],
        item: vec![],
        category: vec![],
        position: vec![],
        hist_items: vec![],
        hist_categories: vec![],
        k: K,
    };
    for r in 0..b {
        let item = 1 + rng.below(SIZES.items as u64 - 1);
        rows.user.push(rng.below(SIZES.users as u64));
        rows.item.push(item);
        rows.category.push(category_of(item));
        rows.position.push(rng.below(SIZES.positions as u64));
        let padded = match r {
            0 => K,
            1 => 2,
            2 => 4,
            _ => 0,
        };
        for slot in 0..K {
            let h = if slot < padded { 0 } else { 1 + rng.below(SIZES.items as u64 - 1) };
            rows.hist_items.push(h);
            rows.hist_categories.push(category_of(h));
        }
    }
    rows
}

/// A token column over `tokens` (0 = missing), with a vocabulary of `n` tokens.
fn token_column(name: &str, tokens: Vec<u32>, n: usize) -> attnlab_data::Column {
    let mut vocab = attnlab_data::Vocab::padded();
    for t in 0..n {
        vocab.intern(&format!("t{t}"));
    }
    attnlab_data::Column { name: name.into(), data: attnlab_data::ColumnData::Token(tokens), vocab: Some(vocab) }
}

fn bce(logits: &Tensor, labels: &Tensor) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(labels, None, None, Reduction::Mean)
}

fn labels_from(bits: &[i64]) -> Tensor {
    Tensor::from_slice(bits).to_kind(Kind::Float)
}

fn random_labels(n: usize, seed: u64) -> Vec<i64> {
    let mut rng = Lcg(seed);
    let mut bits: Vec<i64> = (0..n).map(|_| rng.below(2)).collect();
    // both classes present, so a constant predictor cannot fit them
    bits[0] = 0;
    bits[1] = 1;
    bits
}

fn to_vec(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

fn variable(vs: &nn::VarStore, name: &str) -> Tensor {
    let vars = vs.variables();
    vars.get(name).unwrap_or_else(|| {
        let mut names: Vec<_> = vars.keys().cloned().collect();
        names.sort();
        panic!("no variable `{name}`; have {names:?}")
    }).shallow_clone()
}

/// Rows of an embedding table's gradient that are non-zero.
fn nonzero_grad_rows(table: &Tensor) -> BTreeSet<i64> {
    let grad = table.grad();
    assert!(grad.defined(), "embedding table has no gradient");
    let norms = to_vec(&grad.abs().sum_dim_intlist([1i64].as_slice(), false, Kind::Double));
    norms.iter().enumerate().filter(|&(_, &n)| n != 0.0).map(|(i, _)| i as i64).collect()
}

fn ids(values: impl IntoIterator<Item = i64>, shift: i64) -> BTreeSet<i64> {
    values.into_iter().map(|v| v + shift).collect()
}

/// Trains on one fixed batch; returns (initial loss, final eval loss).
fn overfit(name: &str, rows: &Rows, labels: &[i64], lr: f64, steps: usize, seed: i64) -> (f64, f64) {
    let (vs, model) = build_seeded(name, seed);
    let mut opt = nn::Adam::default().build(&vs, lr).unwrap();
    let batch = rows.batch();
    let y = labels_from(labels);
    let initial = tch::no_grad(|| bce(&model.forward_t(&batch, false), &y).double_value(&[]));
    for _ in 0..steps {
        let loss = bce(&model.forward_t(&batch, true), &y);
        opt.backward_step(&loss);
    }
    let last = tch::no_grad(|| bce(&model.forward_t(&batch, false), &y).double_value(&[]));
    eprintln!("{name}: loss {initial:.4} -> {last:.4} after {steps} steps");
    (initial, last)
}

