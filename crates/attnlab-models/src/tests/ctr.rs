//! Click models: shapes, gradients, padding, overfitting, determinism.

use std::collections::{BTreeSet, HashMap};

use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use super::*;
use crate::Task;

// ---------------------------------------------------------------- shapes

#[test]
fn every_model_gives_finite_logits_of_shape_batch() {
    let _guard = rng_lock();
    assert!(REGISTRY.iter().any(|m| m.name == "LR") && REGISTRY.iter().any(|m| m.name == "DIN"));
    let rows = random_rows(8, 1);
    let batch = rows.batch();
    for info in models_of(Task::Ctr) {
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
        match (info.name, model.field_attention(&batch)) {
            ("AutoInt", None) => panic!("AutoInt must expose its field attention"),
            ("AutoInt", Some(att)) => {
                let fields = att.fields.len() as i64;
                assert_eq!(att.fields, ["user", "item", "category", "position", "history_item", "history_category"]);
                // default: 2 layers, 2 heads
                assert_eq!(att.weights.size(), vec![2, 8, 2, fields, fields], "AutoInt field attention shape");
                let w = to_vec(&att.weights);
                assert!(w.iter().all(|x| x.is_finite() && *x >= 0.0), "AutoInt attention weights");
                let sums = to_vec(&att.weights.sum_dim_intlist([-1i64].as_slice(), false, Kind::Double));
                assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "attention rows must sum to 1: {sums:?}");
            }
            (name, Some(_)) => panic!("{name} has no field attention"),
            (_, None) => {}
        }
    }
}

#[test]
fn logits_depend_on_the_history_except_for_lr() {
    let _guard = rng_lock();
    let rows = random_rows(8, 2);
    let mut other = rows.clone();
    // rewrite the full histories (rows 3..) with different real items
    for (i, h) in other.hist_items.iter_mut().enumerate().skip(3 * K) {
        *h = 1 + (*h + 6) % (SIZES.items as i64 - 1);
        other.hist_categories[i] = category_of(*h);
    }
    for info in models_of(Task::Ctr).filter(|m| m.name != "LR") {
        let (_vs, model) = build_seeded(info.name, 3);
        let a = to_vec(&model.forward_t(&rows.batch(), false));
        let b = to_vec(&model.forward_t(&other.batch(), false));
        assert_eq!(a[0], b[0], "{}: row 0 (no history) unchanged", info.name);
        for r in 3..8 {
            assert!(a[r] != b[r], "{}: row {r}: logit ignores the history ({} vs {})", info.name, a[r], b[r]);
        }
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
    for info in models_of(Task::Ctr) {
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
    let mut expected = expected;
    // every field model: the same tables under `fields.`, plus FM's and
    // DeepFM's first-order weights; history items share the candidate tables
    for name in ["FM", "DeepFM", "DCN-V2", "AutoInt"] {
        let history_items = rows.hist_items.iter().copied().filter(|&h| h != 0);
        let history_cats = rows.hist_categories.iter().copied().filter(|&c| c != 0);
        let item_rows = ids(rows.item.iter().copied().chain(history_items), 0);
        let category_rows = ids(rows.category.iter().copied().chain(history_cats), 0);
        let mut tables = vec![
            ("fields.user.weight", ids(rows.user.clone(), 0)),
            ("fields.item.weight", item_rows.clone()),
            ("fields.category.weight", category_rows.clone()),
            ("fields.position.weight", ids(rows.position.clone(), 0)),
        ];
        if name == "FM" || name == "DeepFM" {
            tables.push(("fields.first_order.item.weight", item_rows));
            tables.push(("fields.first_order.category.weight", category_rows));
        }
        expected.insert(name, tables);
    }
    for (name, tables) in &expected {
        let (vs, model) = build_seeded(name, 2);
        bce(&model.forward_t(&rows.batch(), true), &labels).backward();
        for (table, used) in tables {
            let got = nonzero_grad_rows(&variable(&vs, table));
            assert_eq!(&got, used, "{name}: rows of `{table}` with a gradient");
            if *name != "LR" && (table.contains("item") || table.contains("category")) {
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
fn left_padding_does_not_change_any_output() {
    let _guard = rng_lock();
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
    for info in models_of(Task::Ctr) {
        let (_vs, model) = build_seeded(info.name, 5);
        let diff = max_abs_diff(&model.forward_t(&long_batch, false), &model.forward_t(&short_batch, false));
        assert!(diff <= 1e-6, "{}: logits differ by {diff} with extra left padding", info.name);
    }

    let (_vs, model) = build_seeded("DIN", 5);
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
fn every_model_but_lr_overfits_one_batch_of_random_labels() {
    let _guard = rng_lock();
    let mut rows = random_rows(32, 12);
    // make rows pairwise distinct so random labels are fittable at all
    for r in 0..32 {
        rows.user[r] = (r % SIZES.users) as i64;
        rows.position[r] = ((r / SIZES.users) % SIZES.positions) as i64;
    }
    let labels = random_labels(32, 13);
    for info in models_of(Task::Ctr).filter(|m| m.name != "LR") {
        let name = info.name;
        let (initial, last) = overfit(name, &rows, &labels, 0.01, 200, 7);
        assert!((initial - std::f64::consts::LN_2).abs() < 0.1, "{name} initial loss {initial} far from ln 2");
        assert!(last < 0.2 * initial, "{name} loss {last} not below 0.2 x initial {initial}");
    }
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
fn same_seed_same_model_different_seed_different_model() {
    let _guard = rng_lock();
    let batch = random_rows(8, 14).batch();
    for info in models_of(Task::Ctr) {
        let (_a, m1) = build_seeded(info.name, 42);
        let (_b, m2) = build_seeded(info.name, 42);
        let (l1, l2) = (m1.forward_t(&batch, false), m2.forward_t(&batch, false));
        assert_eq!(to_vec(&l1), to_vec(&l2), "{}: same seed, different logits", info.name);
        if info.name != "LR" {
            // LR starts at zero whatever the seed
            let (_c, m3) = build_seeded(info.name, 43);
            let diff = max_abs_diff(&l1, &m3.forward_t(&batch, false));
            assert!(diff > 1e-6, "{}: seeds 42 and 43 give the same logits", info.name);
        }
    }
}


/// Labels that are the XOR of user parity and item parity: every user, item,
/// category and slot sees exactly half positives, so any model that adds up
/// per-field terms (LR, or a field model whose interaction part is miswired)
/// stays at ln 2, while a working user × item interaction fits them.
#[test]
fn interaction_models_fit_xor_labels_that_lr_cannot() {
    let _guard = rng_lock();
    let mut rows = Rows { user: vec![], item: vec![], category: vec![], position: vec![], hist_items: vec![], hist_categories: vec![], k: K };
    let mut labels = vec![];
    for user in 0..8i64 {
        for item in 1..=8i64 {
            rows.user.push(user);
            rows.item.push(item);
            rows.category.push(category_of(item));
            rows.position.push(user % SIZES.positions as i64);
            rows.hist_items.extend([0; K]);
            rows.hist_categories.extend([0; K]);
            labels.push((user + item) % 2);
        }
    }
    let column_balanced = |col: &[i64]| {
        col.iter().collect::<BTreeSet<_>>().into_iter().all(|v| {
            let all: Vec<i64> = col.iter().zip(&labels).filter(|(x, _)| *x == v).map(|(_, &y)| y).collect();
            2 * all.iter().sum::<i64>() == all.len() as i64
        })
    };
    assert!(column_balanced(&rows.user) && column_balanced(&rows.item) && column_balanced(&rows.position), "design: balanced marginals");
    let ln2 = std::f64::consts::LN_2;
    let (_, lr_last) = overfit("LR", &rows, &labels, 0.05, 150, 9);
    assert!(lr_last > 0.95 * ln2, "LR cannot fit an interaction, yet reached {lr_last}");
    for name in ["FM", "DeepFM", "DCN-V2", "AutoInt"] {
        let (_, last) = overfit(name, &rows, &labels, 0.02, 150, 9);
        assert!(last < 0.2 * ln2, "{name}: loss {last} on XOR labels not below 0.2 ln 2");
    }
}
