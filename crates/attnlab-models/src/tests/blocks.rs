//! The shared blocks on hand-made inputs: self-attention masks, FM's
//! identity, the cross layer's formula, gates.

use tch::nn;
use tch::{Device, Kind, Tensor};

use super::*;
use crate::blocks::{CrossNetwork, FieldEmbedding, Gate, MultiHeadSelfAttention, SelfAttentionConfig};

fn attention(causal: bool, dropout: f64) -> (nn::VarStore, MultiHeadSelfAttention) {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = SelfAttentionConfig { heads: 2, dim: 8, dropout, causal, bias: true, out_projection: true, init_std: None };
    let block = MultiHeadSelfAttention::new(&(vs.root() / "mhsa"), 6, &config);
    (vs, block)
}

/// `[B=3, T=4]`: row 0 full, row 1 left-padded by two, row 2 all padding.
fn key_mask() -> Tensor {
    Tensor::from_slice(&[1i64, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0]).reshape([3, 4])
}

#[test]
fn self_attention_never_attends_to_padding_and_is_nan_free_on_empty_rows() {
    let _guard = rng_lock();
    for causal in [false, true] {
        let (vs, block) = attention(causal, 0.0);
        let x = Tensor::randn([3, 4, 6], (Kind::Float, Device::Cpu));
        let mask = key_mask();
        let (context, weights) = block.forward_t(&x, Some(&mask), true);
        assert_eq!(context.size(), vec![3, 4, 8]);
        assert_eq!(weights.size(), vec![3, 2, 4, 4]);
        assert!(to_vec(&context).iter().all(|v| v.is_finite()), "context not finite (causal={causal})");
        let w = to_vec(&weights);
        assert!(w.iter().all(|v| v.is_finite()), "weights not finite (causal={causal})");
        let m = to_vec(&mask);
        for b in 0..3 {
            for h in 0..2 {
                for i in 0..4 {
                    let row = &w[((b * 2 + h) * 4 + i) * 4..][..4];
                    for (j, &wij) in row.iter().enumerate() {
                        if m[b * 4 + j] == 0.0 || (causal && j > i) {
                            assert_eq!(wij, 0.0, "b{b} h{h} query {i} -> key {j} must weigh 0 (causal={causal})");
                        }
                    }
                    let allowed = (0..4).any(|j| m[b * 4 + j] != 0.0 && (!causal || j <= i));
                    let sum: f64 = row.iter().sum();
                    let want = if allowed { 1.0 } else { 0.0 };
                    assert!((sum - want).abs() < 1e-5, "b{b} h{h} query {i}: weights sum to {sum}, want {want}");
                }
            }
        }
        // the backward pass through empty rows is finite too
        (context.square().sum(Kind::Float) + weights.sum(Kind::Float)).backward();
        for (name, var) in vs.variables() {
            let g = to_vec(&var.grad());
            assert!(g.iter().all(|v| v.is_finite()), "`{name}` gradient not finite (causal={causal})");
        }
    }
}

#[test]
fn self_attention_output_at_a_query_ignores_the_content_of_masked_keys() {
    let _guard = rng_lock();
    let (_vs, block) = attention(false, 0.0);
    let x = Tensor::randn([3, 4, 6], (Kind::Float, Device::Cpu));
    // overwrite the padded positions of row 1 with something else
    let y = x.copy();
    let _ = y.get(1).narrow(0, 0, 2).fill_(7.0);
    let mask = key_mask();
    let (cx, _) = block.forward_t(&x, Some(&mask), false);
    let (cy, _) = block.forward_t(&y, Some(&mask), false);
    let diff = max_abs_diff(&cx.get(1).narrow(0, 2, 2), &cy.get(1).narrow(0, 2, 2));
    assert!(diff < 1e-6, "real positions changed by {diff} when padding content changed");
}

#[test]
fn self_attention_dropout_only_in_training() {
    let _guard = rng_lock();
    let (_vs, block) = attention(false, 0.5);
    let x = Tensor::randn([3, 4, 6], (Kind::Float, Device::Cpu));
    let (e1, _) = block.forward_t(&x, None, false);
    let (e2, _) = block.forward_t(&x, None, false);
    assert_eq!(to_vec(&e1), to_vec(&e2), "eval must be deterministic");
    let (t1, _) = block.forward_t(&x, None, true);
    assert!(max_abs_diff(&t1, &e1) > 1e-4, "dropout had no effect in training");
}

#[test]
fn fm_logit_equals_the_explicit_pairwise_sum() {
    let _guard = rng_lock();
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let fields = FieldEmbedding::new(&vs.root(), &SIZES, 4, true, true);
    assert_eq!(fields.num_fields(), 6);
    let f = fields.forward(&random_rows(8, 3).batch());
    assert_eq!(f.embeddings.size(), vec![8, 6, 4]);
    let first = f.first_order.as_ref().unwrap();
    assert_eq!(first.size(), vec![8, 6]);
    let mut want = first.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    for i in 0..6 {
        for j in (i + 1)..6 {
            want = want + (f.embeddings.select(1, i) * f.embeddings.select(1, j)).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        }
    }
    let diff = max_abs_diff(&f.fm_logit(), &want);
    assert!(diff < 1e-6, "FM identity off by {diff}");
    // row 0 has no history: its history fields are exactly zero
    assert_eq!(to_vec(&f.embeddings.get(0).narrow(0, 4, 2)), vec![0.0; 8]);
}

#[test]
fn cross_layer_is_x0_times_affine_plus_residual() {
    let _guard = rng_lock();
    tch::manual_seed(6);
    let vs = nn::VarStore::new(Device::Cpu);
    let cross = CrossNetwork::new(&vs.root(), 5, 2);
    let x0 = Tensor::randn([3, 5], (Kind::Float, Device::Cpu));
    let vars = vs.variables();
    let layer = |l: usize, x: &Tensor| x.matmul(&vars[&format!("{l}.weight")].tr()) + &vars[&format!("{l}.bias")];
    let x1 = &x0 * layer(0, &x0) + &x0;
    let x2 = &x0 * layer(1, &x1) + &x1;
    assert!(max_abs_diff(&cross.forward(&x0), &x2) < 1e-6);
}

#[test]
fn gate_mixes_experts_with_weights_that_sum_to_one() {
    let _guard = rng_lock();
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let gate = Gate::new(&vs.root(), 6, 3);
    let x = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
    let experts = Tensor::randn([4, 3, 5], (Kind::Float, Device::Cpu));
    let (mixed, w) = gate.forward(&x, &experts);
    assert_eq!((mixed.size(), w.size()), (vec![4, 5], vec![4, 3]));
    let sums = to_vec(&w.sum_dim_intlist([1i64].as_slice(), false, Kind::Float));
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6));
    let want = (w.unsqueeze(-1) * &experts).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    assert!(max_abs_diff(&mixed, &want) < 1e-6);
}
