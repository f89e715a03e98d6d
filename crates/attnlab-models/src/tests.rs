//! Unit tests for the model zoo through its public API: shapes, gradient
//! flow, padding semantics, overfitting one batch, determinism and the
//! registry's parameter checks.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Map, Value};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use attnlab_data::Cardinalities;

use crate::{build, check_params, CtrBatch, CtrModel, ModelError, REGISTRY};

/// 20 items, 6 categories (row 0 of each is padding), 10 users, 5 slots.
const SIZES: Cardinalities = Cardinalities { users: 10, items: 21, categories: 7, positions: 5 };
const K: usize = 5;
/// DIN's default `embed_dim`: the width of one embedding row.
const DIN_DIM: usize = 16;

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

// ---------------------------------------------------------------- shapes

#[test]
fn every_model_gives_finite_logits_of_shape_batch() {
    let _guard = rng_lock();
    assert!(REGISTRY.iter().any(|m| m.name == "LR") && REGISTRY.iter().any(|m| m.name == "DIN"));
    let rows = random_rows(8, 1);
    let batch = rows.batch();
    for info in REGISTRY {
        let (_vs, model) = build_seeded(info.name, 0);
        for train in [false, true] {
            let logits = model.forward_t(&batch, train);
            assert_eq!(logits.size(), vec![8], "{} logits shape (train={train})", info.name);
            assert_eq!(logits.kind(), Kind::Float, "{} logits kind", info.name);
            assert!(to_vec(&logits).iter().all(|x| x.is_finite()), "{} logits not finite: {logits}", info.name);
        }
        match (info.name, model.attention(&batch)) {
            ("LR", att) => assert!(att.is_none(), "LR has no attention"),
            ("DIN", None) => panic!("DIN must expose attention"),
            (name, Some(att)) => {
                assert_eq!(att.size(), vec![8, K as i64], "{name} attention shape");
                assert!(to_vec(&att).iter().all(|x| x.is_finite()), "{name} attention not finite");
            }
            (_, None) => {}
        }
    }
}

#[test]
fn din_logits_depend_on_the_history() {
    let _guard = rng_lock();
    let (_vs, model) = build_seeded("DIN", 3);
    let rows = random_rows(8, 2);
    let mut other = rows.clone();
    // rewrite the full histories (rows 3..) with different real items
    for (i, h) in other.hist_items.iter_mut().enumerate().skip(3 * K) {
        *h = 1 + (*h + 6) % (SIZES.items as i64 - 1);
        other.hist_categories[i] = category_of(*h);
    }
    let a = to_vec(&model.forward_t(&rows.batch(), false));
    let b = to_vec(&model.forward_t(&other.batch(), false));
    assert_eq!(a[0], b[0], "row 0 (no history) unchanged");
    for r in 3..8 {
        assert!(a[r] != b[r], "row {r}: logit ignores the history ({} vs {})", a[r], b[r]);
    }
}

// ---------------------------------------------------------- gradient flow

#[test]
fn every_variable_gets_a_gradient() {
    let _guard = rng_lock();
    let rows = random_rows(8, 4);
    let bits = random_labels(8, 5);
    // LR starts at zero weights, so with exactly half positives its bias
    // gradient would cancel to 0 whatever the wiring
    assert_ne!(2 * bits.iter().sum::<i64>(), 8, "labels must be imbalanced");
    let labels = labels_from(&bits);
    for info in REGISTRY {
        let (vs, model) = build_seeded(info.name, 1);
        let loss = bce(&model.forward_t(&rows.batch(), true), &labels);
        loss.backward();
        let vars = vs.variables();
        assert!(!vars.is_empty(), "{} has no variables", info.name);
        for (name, var) in &vars {
            assert!(var.requires_grad(), "{}: `{name}` is not trainable", info.name);
            let grad = var.grad();
            assert!(grad.defined(), "{}: `{name}` has no gradient", info.name);
            assert_eq!(grad.size(), var.size(), "{}: `{name}` gradient shape", info.name);
            let norm = grad.norm().double_value(&[]);
            assert!(norm.is_finite() && norm > 0.0, "{}: `{name}` gradient norm {norm}", info.name);
        }
    }
}

/// Embedding gradients land on exactly the rows the batch uses, with each
/// table's id shift; the padding row never gets one.
#[test]
fn embedding_gradients_hit_exactly_the_rows_used() {
    let _guard = rng_lock();
    let rows = random_rows(8, 6);
    // all positive: at LR's all-zero start every row's logit gradient is the
    // same -0.5 / B, so two rows sharing an id cannot cancel each other out
    let labels = Tensor::ones([8], (Kind::Float, Device::Cpu));
    let hist_items = rows.hist_items.iter().copied().filter(|&h| h != 0);
    let hist_cats = rows.hist_categories.iter().copied().filter(|&c| c != 0);
    let expected: HashMap<&str, Vec<(&str, BTreeSet<i64>)>> = HashMap::from([
        (
            "LR",
            vec![
                ("user.weight", ids(rows.user.clone(), 0)),
                ("item.weight", ids(rows.item.clone(), 0)),
                ("position.weight", ids(rows.position.clone(), 0)),
            ],
        ),
        (
            "DIN",
            vec![
                ("user.weight", ids(rows.user.clone(), 1)),
                ("position.weight", ids(rows.position.clone(), 1)),
                ("item.weight", ids(rows.item.iter().copied().chain(hist_items), 0)),
                ("category.weight", ids(rows.category.iter().copied().chain(hist_cats), 0)),
            ],
        ),
    ]);
    for (name, tables) in &expected {
        let (vs, model) = build_seeded(name, 2);
        bce(&model.forward_t(&rows.batch(), true), &labels).backward();
        for (table, used) in tables {
            let got = nonzero_grad_rows(&variable(&vs, table));
            assert_eq!(&got, used, "{name}: rows of `{table}` with a gradient");
            if *name == "DIN" {
                assert!(!got.contains(&0), "{name}: padding row of `{table}` got a gradient");
            }
        }
    }
}

// ---------------------------------------------------------------- padding

#[test]
fn din_attention_is_zero_exactly_at_padding() {
    let _guard = rng_lock();
    let (_vs, model) = build_seeded("DIN", 4);
    let rows = random_rows(8, 8);
    let att = to_vec(&model.attention(&rows.batch()).unwrap());
    for (i, (&h, &w)) in rows.hist_items.iter().zip(&att).enumerate() {
        if h == 0 {
            assert_eq!(w, 0.0, "row {} slot {}: padded slot has weight {w}", i / K, i % K);
        } else {
            assert!(w != 0.0, "row {} slot {}: real item has weight exactly 0", i / K, i % K);
        }
    }
}

#[test]
fn din_left_padding_does_not_change_the_output() {
    let _guard = rng_lock();
    let (_vs, model) = build_seeded("DIN", 5);
    // every row starts with two padded slots; beyond them row 0 is empty,
    // rows 1 and 2 are partial, the rest full
    let mut rows = random_rows(8, 9);
    for row in 0..8 {
        let pad = match row {
            0 => K,
            1 => 3,
            2 => 4,
            _ => 2,
        };
        for slot in 0..pad {
            rows.hist_items[row * K + slot] = 0;
            rows.hist_categories[row * K + slot] = 0;
        }
    }
    let short = rows.drop_leading_slots(2);
    assert_eq!(short.k, 3);
    let (long_batch, short_batch) = (rows.batch(), short.batch());

    let diff = max_abs_diff(&model.forward_t(&long_batch, false), &model.forward_t(&short_batch, false));
    assert!(diff <= 1e-6, "logits differ by {diff} with extra left padding");

    let long_att = model.attention(&long_batch).unwrap();
    let short_att = model.attention(&short_batch).unwrap();
    assert_eq!(to_vec(&long_att.narrow(1, 0, 2)), vec![0.0; 2 * 8], "leading padded slots must weigh 0");
    let diff = max_abs_diff(&long_att.narrow(1, 2, 3), &short_att);
    assert!(diff <= 1e-6, "attention over the real slots differs by {diff}");
}

#[test]
fn din_padding_rows_are_zero_and_stay_zero_under_adam() {
    let _guard = rng_lock();
    let (vs, model) = build_seeded("DIN", 6);
    let tables = ["item.weight", "category.weight", "user.weight", "position.weight"];
    for table in tables {
        let w = variable(&vs, table);
        assert_eq!(to_vec(&w.get(0)), vec![0.0; DIN_DIM], "`{table}` row 0 at construction");
        assert!(w.get(1).abs().sum(Kind::Double).double_value(&[]) > 0.0, "`{table}` row 1 is initialised");
    }
    let mut opt = nn::Adam::default().build(&vs, 0.05).unwrap();
    let rows = random_rows(8, 10);
    let labels = labels_from(&random_labels(8, 11));
    let used = rows.item[0];
    let before = variable(&vs, "item.weight").get(used).copy();
    for _ in 0..5 {
        opt.backward_step(&bce(&model.forward_t(&rows.batch(), true), &labels));
    }
    for table in tables {
        assert_eq!(to_vec(&variable(&vs, table).get(0)), vec![0.0; DIN_DIM], "`{table}` row 0 after Adam steps");
    }
    // the optimiser did move a used row, so the check above is not vacuous
    let moved = max_abs_diff(&variable(&vs, "item.weight").get(used), &before);
    assert!(moved > 1e-3, "item row {used} moved only {moved}");
}

// ---------------------------------------------------------------- overfit

#[test]
fn din_overfits_one_batch_of_random_labels() {
    let _guard = rng_lock();
    let mut rows = random_rows(32, 12);
    // make rows pairwise distinct so random labels are fittable at all
    for r in 0..32 {
        rows.user[r] = (r % SIZES.users) as i64;
        rows.position[r] = ((r / SIZES.users) % SIZES.positions) as i64;
    }
    let labels = random_labels(32, 13);
    let (initial, last) = overfit("DIN", &rows, &labels, 0.01, 200, 7);
    assert!((initial - std::f64::consts::LN_2).abs() < 0.1, "DIN initial loss {initial} far from ln 2");
    assert!(last < 0.2 * initial, "DIN loss {last} not below 0.2 x initial {initial}");
}

#[test]
fn lr_fits_labels_that_depend_on_the_item_only() {
    let _guard = rng_lock();
    // 32 rows, unique (user, slot) pairs and so unique (user, item, slot);
    // label = item parity. Every user and every slot sees exactly half
    // positives, so user and slot biases alone stay at ln 2: only the item
    // weights can fit this.
    let mut rows = Rows {
        user: vec![],
        item: vec![],
        category: vec![],
        position: vec![],
        hist_items: vec![],
        hist_categories: vec![],
        k: K,
    };
    let mut labels = vec![];
    for r in 0..32i64 {
        let (user, slot) = (r % 8, r / 8);
        let item = 1 + (user + 3 * slot) % 16;
        rows.user.push(user);
        rows.item.push(item);
        rows.category.push(category_of(item));
        rows.position.push(slot);
        rows.hist_items.extend([0, 0, 0, item % 20 + 1, (item + 4) % 20 + 1]);
        rows.hist_categories.extend([0, 0, 0, category_of(item % 20 + 1), category_of((item + 4) % 20 + 1)]);
        labels.push(item % 2);
    }
    for s in [&rows.user, &rows.position] {
        for v in s.iter().collect::<BTreeSet<_>>() {
            let pos = s.iter().zip(&labels).filter(|&(x, &y)| x == v && y == 1).count();
            let all = s.iter().filter(|x| *x == v).count();
            assert_eq!(2 * pos, all, "design: labels must be balanced per user and per slot");
        }
    }
    let (initial, last) = overfit("LR", &rows, &labels, 0.05, 200, 8);
    assert!((initial - std::f64::consts::LN_2).abs() < 1e-6, "LR starts at zero weights: {initial}");
    assert!(last < 0.3 * initial, "LR loss {last} not below 0.3 x initial {initial}");
}

// ------------------------------------------------------------ determinism

#[test]
fn same_seed_same_model_different_seed_different_din() {
    let _guard = rng_lock();
    let batch = random_rows(8, 14).batch();
    for info in REGISTRY {
        let (_a, m1) = build_seeded(info.name, 42);
        let (_b, m2) = build_seeded(info.name, 42);
        let (l1, l2) = (m1.forward_t(&batch, false), m2.forward_t(&batch, false));
        assert_eq!(to_vec(&l1), to_vec(&l2), "{}: same seed, different logits", info.name);
    }
    let (_a, m1) = build_seeded("DIN", 42);
    let (_b, m2) = build_seeded("DIN", 43);
    let diff = max_abs_diff(&m1.forward_t(&batch, false), &m2.forward_t(&batch, false));
    assert!(diff > 1e-6, "DIN: seeds 42 and 43 give the same logits");
}

// ----------------------------------------------------------------- params

#[test]
fn din_rejects_zero_sizes_and_bad_dropout() {
    for bad in [
        json!({"embed_dim": 0}),
        json!({"attention_hidden": [8, 0]}),
        json!({"mlp_hidden": [0]}),
        json!({"dropout": 1.0}),
        json!({"dropout": -0.1}),
    ] {
        let err = check_params("DIN", &params(bad.clone())).expect_err(&format!("DIN accepted {bad}"));
        assert!(matches!(err, ModelError::Params { ref model, .. } if model == "DIN"), "{bad}: {err:?}");
        let vs = nn::VarStore::new(Device::Cpu);
        assert!(build("DIN", &vs.root(), &SIZES, &params(bad.clone())).is_err(), "build accepted {bad}");
        assert!(vs.variables().is_empty(), "a rejected build must not create variables ({bad})");
    }
}

#[test]
fn valid_params_are_accepted_and_used() {
    let good = params(json!({"embed_dim": 4, "attention_hidden": [8], "mlp_hidden": [16], "dropout": 0.5}));
    check_params("DIN", &good).unwrap();
    check_params("DIN", &no_params()).unwrap();
    check_params("LR", &no_params()).unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = build("DIN", &vs.root(), &SIZES, &good).unwrap();
    assert_eq!(variable(&vs, "item.weight").size(), vec![SIZES.items as i64, 4]);
    assert_eq!(variable(&vs, "category.weight").size(), vec![SIZES.categories as i64, 4]);
}

#[test]
fn unknown_param_keys_are_rejected_by_name() {
    let err = check_params("DIN", &params(json!({"embed_dimm": 8}))).unwrap_err();
    assert!(matches!(err, ModelError::Params { .. }), "{err:?}");
    assert!(err.to_string().contains("embed_dimm"), "message does not name the key: {err}");
    let err = check_params("LR", &params(json!({"embed_dim": 8}))).unwrap_err();
    assert!(err.to_string().contains("embed_dim"), "message does not name the key: {err}");
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(build("LR", &vs.root(), &SIZES, &params(json!({"l2": 0.1}))).is_err());
}

#[test]
fn unknown_model_lists_the_known_ones() {
    let err = check_params("NoSuchModel", &no_params()).unwrap_err();
    assert!(matches!(err, ModelError::UnknownModel { ref name, .. } if name == "NoSuchModel"), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("NoSuchModel"), "{message}");
    for info in REGISTRY {
        assert!(message.contains(info.name), "`{}` missing from: {message}", info.name);
    }
    let vs = nn::VarStore::new(Device::Cpu);
    assert!(matches!(build("NoSuchModel", &vs.root(), &SIZES, &no_params()), Err(ModelError::UnknownModel { .. })));
}

#[test]
fn model_names_are_case_insensitive() {
    for name in ["din", "Din", "DIN", "lr", "Lr", "LR"] {
        check_params(name, &no_params()).unwrap_or_else(|e| panic!("`{name}`: {e}"));
        let vs = nn::VarStore::new(Device::Cpu);
        build(name, &vs.root(), &SIZES, &no_params()).unwrap_or_else(|e| panic!("`{name}`: {e}"));
    }
    // a different spelling is not a different model
    let (vs_upper, vs_lower) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
    build("DIN", &vs_upper.root(), &SIZES, &no_params()).unwrap();
    build("din", &vs_lower.root(), &SIZES, &no_params()).unwrap();
    let names = |vs: &nn::VarStore| vs.variables().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&vs_upper), names(&vs_lower));
    assert!(check_params("D I N", &no_params()).is_err());
}
