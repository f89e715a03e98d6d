//! The optimisers against libtorch's own (`tch::nn::Adam`/`AdamW`/`Sgd`,
//! which call torch::optim) on the same small problem.

use tch::nn::{self, OptimizerConfig as _, VarStore};
use tch::{Device, Kind, Tensor};

use super::*;

/// A VarStore with `w [3, 2]`, `emb [4, 2]` and `b [2]`, and a least-squares
/// loss on fixed data that uses all three.
fn problem(vs: &VarStore) -> impl Fn() -> Tensor {
    let root = vs.root();
    let w = root.var_copy("w", &Tensor::from_slice(&[0.5f32, -0.3, 0.8, 0.1, -0.6, 0.2]).view([3, 2]));
    let emb = root.var_copy("emb", &Tensor::from_slice(&[0.1f32, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.0]).view([4, 2]));
    let b = root.var_copy("b", &Tensor::from_slice(&[0.05f32, -0.05]));
    let x = Tensor::from_slice(&[1.0f32, 2.0, -1.0, 0.5, 0.0, 3.0, -2.0, 1.0, 1.0, 0.3, -0.7, 2.0]).view([4, 3]);
    let y = Tensor::from_slice(&[1.0f32, 0.0, -1.0, 2.0, 0.5, 0.5, 3.0, -1.0]).view([4, 2]);
    let ids = Tensor::from_slice(&[0i64, 2, 2, 3]);
    move || {
        let pred = x.matmul(&w) + emb.index_select(0, &ids) + &b;
        (pred - &y).square().mean(Kind::Float)
    }
}

fn params(vs: &VarStore) -> Vec<(String, Tensor)> {
    vs.variables().into_iter().collect()
}

fn max_diff(a: &VarStore, b: &VarStore) -> f64 {
    let (va, vb) = (a.variables(), b.variables());
    va.iter().map(|(n, t)| f64::try_from((t - &vb[n]).abs().max()).unwrap()).fold(0.0, f64::max)
}

/// Runs `steps` steps of ours (with `config`) and of libtorch's (built by
/// `theirs`) from the same start; returns the largest weight difference and
/// how far the weights moved.
fn compare(config: OptimizerConfig, lr: f64, theirs: impl FnOnce(&VarStore) -> nn::Optimizer, steps: usize) -> (f64, f64) {
    let (a, b, start) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
    let (loss_a, loss_b) = (problem(&a), problem(&b));
    let _ = problem(&start);
    let mut ours = build_optimizer(&config, params(&a)).unwrap();
    let mut reference = theirs(&b);
    for _ in 0..steps {
        ours.zero_grad();
        loss_a().backward();
        ours.step(lr);
        reference.backward_step(&loss_b());
    }
    (max_diff(&a, &b), max_diff(&a, &start))
}

#[test]
fn adam_follows_libtorch_adam() {
    let (diff, moved) = compare(OptimizerConfig::default(), 0.05, |vs| nn::Adam::default().build(vs, 0.05).unwrap(), 50);
    assert!(diff < 1e-6, "differs by {diff}");
    assert!(moved > 0.5, "the weights moved by {moved}");
}

#[test]
fn adam_with_l2_follows_libtorch_adam_with_weight_decay() {
    let config = OptimizerConfig { weight_decay: 0.1, ..Default::default() };
    let (diff, _) = compare(config, 0.05, |vs| nn::Adam { wd: 0.1, ..Default::default() }.build(vs, 0.05).unwrap(), 50);
    assert!(diff < 1e-6, "differs by {diff}");
}

#[test]
fn adamw_follows_libtorch_adamw() {
    let config = OptimizerConfig { kind: OptimizerKind::AdamW, weight_decay: 0.2, ..Default::default() };
    let (diff, _) = compare(config, 0.05, |vs| nn::AdamW { wd: 0.2, ..Default::default() }.build(vs, 0.05).unwrap(), 50);
    assert!(diff < 1e-6, "differs by {diff}");
}

#[test]
fn sgd_momentum_and_nesterov_follow_libtorch_sgd() {
    for nesterov in [false, true] {
        let config = OptimizerConfig {
            kind: OptimizerKind::Sgd,
            momentum: 0.9,
            nesterov,
            weight_decay: 0.01,
            ..Default::default()
        };
        let theirs = |vs: &VarStore| nn::Sgd { momentum: 0.9, dampening: 0.0, wd: 0.01, nesterov }.build(vs, 0.02).unwrap();
        let (diff, moved) = compare(config, 0.02, theirs, 40);
        assert!(diff < 1e-6, "nesterov {nesterov}: differs by {diff}");
        assert!(moved > 0.1);
    }
}

/// Saving the state after k steps into a fresh optimiser and continuing
/// gives bit-identical weights to never stopping.
#[test]
fn state_round_trip_continues_bit_identically() {
    for kind in [OptimizerKind::Adam, OptimizerKind::AdamW, OptimizerKind::Sgd] {
        let config = OptimizerConfig { kind, momentum: 0.9, weight_decay: 0.01, ..Default::default() };
        let (a, b) = (VarStore::new(Device::Cpu), VarStore::new(Device::Cpu));
        let (loss_a, loss_b) = (problem(&a), problem(&b));
        let mut first = build_optimizer(&config, params(&a)).unwrap();
        let mut other = build_optimizer(&config, params(&b)).unwrap();
        for step in 0..20 {
            if step == 7 {
                // b takes over a's weights and state, through a copy
                let state: Vec<(String, Tensor)> = first.state().into_iter().map(|(n, t)| (n, t.copy())).collect();
                crate::finetune::copy_into(&b, &params(&a)).unwrap();
                other = build_optimizer(&config, params(&b)).unwrap();
                other.load_state(&state).unwrap();
            }
            first.zero_grad();
            loss_a().backward();
            first.step(0.03);
            if step >= 7 {
                other.zero_grad();
                loss_b().backward();
                other.step(0.03);
            }
        }
        assert_eq!(max_diff(&a, &b), 0.0, "{kind:?}");
    }
}

#[test]
fn load_state_reports_every_problem() {
    let vs = VarStore::new(Device::Cpu);
    let _ = problem(&vs);
    let mut adam = build_optimizer(&OptimizerConfig::default(), params(&vs)).unwrap();
    let mut state = adam.state();
    state.retain(|(n, _)| n != "w.exp_avg");
    state.push(("b.exp_avg_sq".into(), Tensor::zeros([3], (Kind::Float, Device::Cpu))));
    state.retain(|(n, t)| n != "b.exp_avg_sq" || t.size() == [3]);
    state.push(("ghost.step".into(), Tensor::from_slice(&[1i64])));
    let e = adam.load_state(&state).unwrap_err().to_string();
    for want in ["missing `w.exp_avg`", "`b.exp_avg_sq` has shape [3], expected [2]", "unexpected `ghost.step`"] {
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn l2_embedding_applies_to_the_named_tables_only() {
    let vs = VarStore::new(Device::Cpu);
    let _ = problem(&vs);
    let config = OptimizerConfig { kind: OptimizerKind::Sgd, l2_embedding: 0.5, embedding_params: vec!["emb".into()], ..Default::default() };
    let sgd = build_optimizer(&config, params(&vs)).unwrap();
    let l2: Vec<(&str, f64)> = sgd.params().iter().map(|p| (p.name.as_str(), p.l2)).collect();
    assert_eq!(l2, [("b", 0.0), ("emb", 0.5), ("w", 0.0)]);
    // with a zero gradient, one SGD step with lr 0.1 shrinks the table by 1 - 0.1 * 0.5
    let before = vs.variables()["emb"].copy();
    let mut sgd = sgd;
    let loss = vs.variables()["emb"].sum(Kind::Float) * 0.0;
    loss.backward();
    sgd.step(0.1);
    assert!(vs.variables()["emb"].allclose(&(before * 0.95), 1e-7, 1e-7, false));

    for bad in [vec![], vec!["embedding".to_string()]] {
        let config = OptimizerConfig { l2_embedding: 0.5, embedding_params: bad, ..Default::default() };
        let e = build_optimizer(&config, params(&vs)).err().unwrap().to_string();
        assert!(e.contains("embedding_params"), "{e}");
    }
    assert!(matches_prefix("user.weight", "user") && matches_prefix("user.weight", "user."));
    assert!(!matches_prefix("user_tower.weight", "user") && matches_prefix("a.b.c", "a.b"));
}

#[test]
fn clips_to_the_global_norm() {
    let vs = VarStore::new(Device::Cpu);
    let a = vs.root().var_copy("a", &Tensor::from_slice(&[0.0f32, 0.0]));
    let b = vs.root().var_copy("b", &Tensor::from_slice(&[0.0f32]));
    // gradients (3, 4) and (12): global norm 13
    ((&a * Tensor::from_slice(&[3.0f32, 4.0])).sum(Kind::Float) + (&b * 12.0).sum(Kind::Float)).backward();
    let sgd = build_optimizer(&OptimizerConfig { kind: OptimizerKind::Sgd, ..Default::default() }, params(&vs)).unwrap();
    let norm = clip_grad_norm(sgd.params(), 6.5).unwrap();
    assert_eq!(f64::try_from(&norm).unwrap(), 13.0);
    let g: Vec<f32> = Vec::try_from(Tensor::cat(&[a.grad(), b.grad()], 0)).unwrap();
    for (got, want) in g.iter().zip([1.5f32, 2.0, 6.0]) {
        assert!((got - want).abs() < 1e-5, "{g:?}");
    }
    // under the limit: unchanged
    clip_grad_norm(sgd.params(), 100.0);
    let g2: Vec<f32> = Vec::try_from(Tensor::cat(&[a.grad(), b.grad()], 0)).unwrap();
    assert_eq!(g, g2);
}

/// `rows` of `table` looked up with a sparse gradient or not, against
/// fixed targets: a least-squares loss on those rows.
fn lookup_loss(table: &Tensor, rows: &[i64], sparse: bool) -> Tensor {
    let ids = Tensor::from_slice(rows);
    let targets = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0, -1.0, 2.0, 0.0, -0.5]).view([4, 2]).index_select(0, &ids);
    (Tensor::embedding(table, &ids, -1, false, sparse) - targets).square().sum(Kind::Float)
}

/// A table `emb [4, 2]` (the same start every time) and Adam over it.
fn table_and_adam(config: &OptimizerConfig) -> (VarStore, Box<dyn Optimizer>) {
    let vs = VarStore::new(Device::Cpu);
    let _ = vs.root().var_copy("emb", &Tensor::from_slice(&[0.1f32, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.0]).view([4, 2]));
    let adam = build_optimizer(config, params(&vs)).unwrap();
    (vs, adam)
}

/// When every row is in every batch, the sparse step is the dense one; with
/// an L2 term (every row regularised) it is dense Adam whatever the batch.
#[test]
fn sparse_adam_is_dense_adam_on_the_rows_of_every_batch() {
    let cases: [(&[i64], f64); 3] = [(&[0, 1, 2, 3, 1], 0.0), (&[3, 0, 2, 1], 0.0), (&[1, 1], 0.1)];
    for (rows, l2) in cases {
        let config = OptimizerConfig { weight_decay: l2, ..Default::default() };
        let ((sparse_vs, mut sparse), (dense_vs, mut dense)) = (table_and_adam(&config), table_and_adam(&config));
        let start = sparse_vs.variables()["emb"].copy();
        for _ in 0..30 {
            sparse.zero_grad();
            lookup_loss(&sparse_vs.variables()["emb"], rows, true).backward();
            assert!(sparse_vs.variables()["emb"].grad().is_sparse());
            sparse.step(0.05);
            dense.zero_grad();
            lookup_loss(&dense_vs.variables()["emb"], rows, false).backward();
            dense.step(0.05);
        }
        let (diff, moved) = (max_diff(&sparse_vs, &dense_vs), f64::try_from((&sparse_vs.variables()["emb"] - start).abs().max()).unwrap());
        assert!(diff < 1e-6, "rows {rows:?}, l2 {l2}: differs by {diff}");
        assert!(moved > 0.5, "rows {rows:?}: moved only {moved}");
    }
}

/// SparseAdam's rule, computed here in f64: a row's moments and value move
/// only on the steps whose batch holds it, with the table's step count in
/// the bias correction; a row never looked up keeps its value and zero
/// moments, also through a state round trip.
#[test]
fn sparse_adam_moves_only_the_rows_looked_up() {
    let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-8f64, 0.05f64);
    let (vs, mut adam) = table_and_adam(&OptimizerConfig::default());
    let start: Vec<f32> = Vec::try_from(vs.variables()["emb"].view([-1])).unwrap();
    let batches: [&[i64]; 3] = [&[0], &[1], &[0]];
    for rows in batches {
        adam.zero_grad();
        lookup_loss(&vs.variables()["emb"], rows, true).backward();
        adam.step(lr);
    }
    let now: Vec<f32> = Vec::try_from(vs.variables()["emb"].view([-1])).unwrap();
    // row 0 at steps 1 and 3, row 1 at step 2 (targets (1, -2) and (0.5, 3))
    let expect = |x0: f64, target: f64, steps: &[i32]| {
        let (mut x, mut m, mut v) = (x0, 0.0, 0.0);
        for &t in steps {
            let g = 2.0 * (x - target);
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            x -= lr / (1.0 - b1.powi(t)) * m / (v.sqrt() / (1.0 - b2.powi(t)).sqrt() + eps);
        }
        x
    };
    let want = [expect(0.1, 1.0, &[1, 3]), expect(0.2, -2.0, &[1, 3]), expect(-0.3, 0.5, &[2]), expect(0.4, 3.0, &[2])];
    for (k, want) in want.iter().enumerate() {
        assert!((f64::from(now[k]) - want).abs() < 1e-6, "entry {k}: {} vs {want}", now[k]);
    }
    assert_eq!(&now[4..], &start[4..], "rows 2 and 3 were never looked up");
    let state: std::collections::HashMap<String, Tensor> = adam.state().into_iter().collect();
    let moment: Vec<f32> = Vec::try_from(state["emb.exp_avg"].view([-1])).unwrap();
    assert_eq!(&moment[4..], &[0.0; 4]);
    assert_eq!(state["emb.step"].int64_value(&[0]), 3);
}

/// SGD takes a sparse gradient as its dense equivalent.
#[test]
fn sgd_steps_a_sparse_gradient_as_dense() {
    let config = OptimizerConfig { kind: OptimizerKind::Sgd, momentum: 0.9, ..Default::default() };
    let ((sparse_vs, mut sparse), (dense_vs, mut dense)) = (table_and_adam(&config), table_and_adam(&config));
    for _ in 0..10 {
        sparse.zero_grad();
        lookup_loss(&sparse_vs.variables()["emb"], &[2, 0], true).backward();
        sparse.step(0.05);
        dense.zero_grad();
        lookup_loss(&dense_vs.variables()["emb"], &[2, 0], false).backward();
        dense.step(0.05);
    }
    assert_eq!(max_diff(&sparse_vs, &dense_vs), 0.0);
}

/// Clipping reads and scales a sparse gradient as its dense equivalent.
#[test]
fn clips_sparse_gradients() {
    let (vs, adam) = table_and_adam(&OptimizerConfig::default());
    lookup_loss(&vs.variables()["emb"], &[1, 1, 3], true).backward();
    let dense = vs.variables()["emb"].grad().to_dense(None, false);
    let norm = f64::try_from(clip_grad_norm(adam.params(), 1.0).unwrap()).unwrap();
    let want = f64::try_from(dense.norm()).unwrap();
    assert!((norm - want).abs() < 1e-5 && norm > 1.0, "{norm} vs {want}");
    let clipped = vs.variables()["emb"].grad().to_dense(None, false);
    assert!(clipped.allclose(&(dense / (want + 1e-6)), 1e-6, 1e-6, false));
}
