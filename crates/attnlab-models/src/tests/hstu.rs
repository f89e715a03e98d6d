//! HSTU against its formula: one block computed again by plain loops over
//! `f64`, the causal mask, and the relative bias (shapes, distances, time
//! buckets).

use serde_json::json;
use tch::nn;
use tch::{Device, Kind, Tensor};

use super::*;
use crate::hstu::{time_bucket, Hstu, HstuParams};
use crate::{NextItemModel, NextItemSizes};

const SIZES: NextItemSizes = NextItemSizes { users: 3, items: 12, max_len: 5 };

fn tiny(time_bias: bool) -> (nn::VarStore, Hstu) {
    tch::manual_seed(11);
    let vs = nn::VarStore::new(Device::Cpu);
    let params: HstuParams = serde_json::from_value(json!({
        "hidden": 4, "layers": 2, "heads": 2, "attention_dim": 3, "linear_dim": 2, "dropout": 0.0, "time_bias": time_bias, "time_buckets": 10
    }))
    .unwrap();
    let model = Hstu::new(&vs.root(), &SIZES, None, &params);
    // the biases start near 0 (N(0, 0.02)): make them count in the checks
    tch::no_grad(|| {
        model.bias.position.shallow_clone().copy_(&(Tensor::arange(5, (Kind::Float, Device::Cpu)) * 0.3 - 0.5));
        if let Some(time) = &model.bias.time {
            time.shallow_clone().copy_(&(Tensor::arange(11, (Kind::Float, Device::Cpu)) * -0.2 + 1.0));
        }
    });
    (vs, model)
}

fn values(t: &Tensor) -> Vec<f64> {
    to_vec(t)
}

/// `floor(ln(max(|d|, 1)) / 0.301)` in `0..=buckets`, by hand.
fn bucket(d: i64, buckets: i64) -> i64 {
    (((d.abs().max(1)) as f64).ln() / 0.301).floor().clamp(0.0, buckets as f64) as i64
}

#[test]
fn time_gaps_fall_in_log_buckets() {
    let gaps = [0i64, 1, -1, 2, 10, -10, 3_600, 86_400, 31_536_000, 1_000_000_000_000];
    let got = Vec::<i64>::try_from(time_bucket(&Tensor::from_slice(&gaps), 128)).unwrap();
    // 0 and 1 second share bucket 0; the sign does not matter; an hour is
    // bucket 27, a day 37, a year 57; 10^12 s would be 91
    assert_eq!(got, vec![0, 0, 0, 2, 7, 7, 27, 37, 57, 91]);
    assert_eq!(got, gaps.iter().map(|&d| bucket(d, 128)).collect::<Vec<_>>());
    let capped = Vec::<i64>::try_from(time_bucket(&Tensor::from_slice(&gaps), 30)).unwrap();
    assert_eq!(&capped[6..], &[27, 30, 30, 30], "gaps beyond the last bucket share it");
}

#[test]
fn relative_bias_is_per_distance_plus_per_time_bucket() {
    let _guard = rng_lock();
    let (_vs, model) = tiny(true);
    let position = values(&model.bias.position); // distance d -> 0.3 d - 0.5
    let time = values(model.bias.time.as_ref().unwrap()); // bucket k -> 1 - 0.2 k
    // without timestamps: [1, T, T], entry (i, j) the weight of distance i - j
    // (clamped at both ends: the future j > i reads distance 0, masked anyway)
    let t = 7;
    let rab = model.bias.forward(t, None);
    assert_eq!(rab.size(), vec![1, t, t]);
    let rab = values(&rab);
    for i in 0..t as usize {
        for j in 0..t as usize {
            let d = i.saturating_sub(j).min(4);
            assert!((rab[i * t as usize + j] - position[d]).abs() < 1e-6, "({i}, {j})");
        }
    }
    // with timestamps [B, T + 1]: plus the bucket of t_{i+1} - t_j
    let ts: Vec<i64> = vec![0, 0, 100, 160, 5_000, 5_001, 90_000, 10, 20, 30, 40, 50, 60, 1_000_000];
    let (b, t) = (2i64, 6i64);
    let rab = model.bias.forward(t, Some(&Tensor::from_slice(&ts).view([b, t + 1])));
    assert_eq!(rab.size(), vec![b, t, t]);
    let rab = values(&rab);
    for r in 0..b as usize {
        let row = &ts[r * 7..(r + 1) * 7];
        for i in 0..t as usize {
            for j in 0..t as usize {
                let want = position[i.saturating_sub(j).min(4)] + time[bucket(row[i + 1] - row[j], 10) as usize];
                let got = rab[(r * 6 + i) * 6 + j];
                assert!((got - want).abs() < 1e-6, "row {r} ({i}, {j}): {got} vs {want}");
            }
        }
    }
}

/// One block by the formula, with plain loops: `U, V, Q, K = silu(norm(x)
/// W)`, `A = silu(Q K^T + rab) / n` where allowed, `W_o(norm(A V) * U) +
/// b_o + x`.
fn reference_block(x: &[f64], b: usize, t: usize, allowed: &[bool], rab: &[f64], rab_rows: usize, uvqk: &[f64], wo: &[f64], bo: &[f64], n: f64) -> Vec<f64> {
    let (d, h, dqk, dv) = (4, 2, 3, 2);
    let width = h * (2 * dv + 2 * dqk);
    let silu = |v: f64| v / (1.0 + (-v).exp());
    let norm = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / v.len() as f64;
        v.iter().map(|a| (a - mean) / (var + 1e-6).sqrt()).collect::<Vec<_>>()
    };
    let mut out = vec![0.0; b * t * d];
    for r in 0..b {
        // projections of every position: [t][width]
        let proj: Vec<Vec<f64>> = (0..t)
            .map(|i| {
                let xn = norm(&x[(r * t + i) * d..(r * t + i + 1) * d]);
                (0..width).map(|c| silu((0..d).map(|k| xn[k] * uvqk[k * width + c]).sum())).collect()
            })
            .collect();
        let u = |i: usize, c: usize| proj[i][c];
        let v = |i: usize, hh: usize, c: usize| proj[i][h * dv + hh * dv + c];
        let q = |i: usize, hh: usize, c: usize| proj[i][2 * h * dv + hh * dqk + c];
        let k = |i: usize, hh: usize, c: usize| proj[i][2 * h * dv + h * dqk + hh * dqk + c];
        for i in 0..t {
            let mut av = vec![0.0; h * dv];
            for hh in 0..h {
                for j in 0..t {
                    if !allowed[(r * t + i) * t + j] {
                        continue;
                    }
                    let bias = rab[((r % rab_rows) * t + i) * t + j];
                    let a = silu((0..dqk).map(|c| q(i, hh, c) * k(j, hh, c)).sum::<f64>() + bias) / n;
                    for c in 0..dv {
                        av[hh * dv + c] += a * v(j, hh, c);
                    }
                }
            }
            let gated: Vec<f64> = norm(&av).iter().enumerate().map(|(c, a)| a * u(i, c)).collect();
            for o in 0..d {
                let y: f64 = (0..h * dv).map(|c| wo[o * h * dv + c] * gated[c]).sum();
                out[(r * t + i) * d + o] = y + bo[o] + x[(r * t + i) * d + o];
            }
        }
    }
    out
}

#[test]
fn a_block_computes_its_formula() {
    let _guard = rng_lock();
    let (_vs, model) = tiny(true);
    let block = &model.blocks[0];
    let (b, t) = (2usize, 4usize);
    let x = Tensor::randn([b as i64, t as i64, 4], (Kind::Float, Device::Cpu));
    // row 0 has one padded slot in front; causal within each row
    let real = Tensor::from_slice(&[false, true, true, true, true, true, true, true]).view([b as i64, t as i64]);
    let causal = Tensor::ones([t as i64, t as i64], (Kind::Bool, Device::Cpu)).tril(0);
    let allowed = causal.view([1, 1, t as i64, t as i64]).logical_and(&real.view([b as i64, 1, 1, t as i64]));
    let ts = Tensor::from_slice(&[0i64, 10, 400, 9_000, 9_100, 1, 2, 3, 100_000, 100_001]).view([b as i64, t as i64 + 1]);
    let rab = model.bias.forward(t as i64, Some(&ts));
    let (got, weights) = tch::no_grad(|| block.forward_t(&x, &allowed, &rab, false));
    assert_eq!(weights.size(), vec![b as i64, 2, t as i64, t as i64]);
    let allowed_flat: Vec<bool> = Vec::<f64>::try_from(allowed.expand([b as i64, 1, t as i64, t as i64], false).to_kind(Kind::Double).flatten(0, -1))
        .unwrap()
        .into_iter()
        .map(|v| v != 0.0)
        .collect();
    let want = reference_block(
        &values(&x),
        b,
        t,
        &allowed_flat,
        &values(&rab),
        b,
        &values(&block.uvqk),
        &values(&block.out.ws),
        &values(block.out.bs.as_ref().unwrap()),
        SIZES.max_len as f64,
    );
    let got = values(&got);
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-5, "the block differs from its formula by {worst}");
    // weights where not allowed (the future, padding) are exactly 0
    let w = values(&weights);
    for r in 0..b {
        for hh in 0..2 {
            for i in 0..t {
                for j in 0..t {
                    if !allowed_flat[(r * t + i) * t + j] {
                        assert_eq!(w[((r * 2 + hh) * t + i) * t + j], 0.0);
                    }
                }
            }
        }
    }
}

#[test]
fn no_position_sees_the_future() {
    let _guard = rng_lock();
    let (_vs, model) = tiny(true);
    let _no_grad = tch::no_grad_guard();
    let inputs = Tensor::from_slice(&[0i64, 3, 7, 2, 9]).view([1, 5]);
    // small gaps: the tiny model has 10 buckets (gaps of 20 s and more share the last)
    let ts = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 5]).view([1, 6]);
    let (base, _) = model.encode(&inputs, Some(&ts), false);
    // a different item at position 3: positions 0..3 unchanged, 3 and 4 not
    let changed = Tensor::from_slice(&[0i64, 3, 7, 11, 9]).view([1, 5]);
    let (other, _) = model.encode(&changed, Some(&ts), false);
    assert_eq!(max_abs_diff(&base.narrow(1, 0, 3), &other.narrow(1, 0, 3)), 0.0, "an earlier position read a later item");
    assert!(max_abs_diff(&base.narrow(1, 3, 2), &other.narrow(1, 3, 2)) > 1e-4);
    // the time of the prediction at 4 (the last column) reaches position 4 only
    let later = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 12]).view([1, 6]);
    let (moved, _) = model.encode(&inputs, Some(&later), false);
    assert_eq!(max_abs_diff(&base.narrow(1, 0, 4), &moved.narrow(1, 0, 4)), 0.0);
    assert!(max_abs_diff(&base.narrow(1, 4, 1), &moved.narrow(1, 4, 1)) > 1e-4, "the time bias is not read");
}

#[test]
fn the_time_bias_is_optional_and_says_it_reads_time() {
    let _guard = rng_lock();
    let (vs, with) = tiny(true);
    assert!(with.reads_time());
    assert!(vs.variables().contains_key("bias.time"));
    let (vs, without) = tiny(false);
    assert!(!without.reads_time());
    assert!(!vs.variables().contains_key("bias.time"));
    assert!(without.dot_product().is_some());
}
