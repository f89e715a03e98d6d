//! Click + conversion models on synthetic labels: shapes, gradients,
//! determinism, overfitting, and the two losses.

use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use super::*;
use crate::{clicked_conversion_loss, esmm_loss, multitask_loss, LossWeights, Objective, TaskLogits};

/// Click labels and conversion labels (a subset of the clicks), imbalanced.
fn task_labels(n: usize, seed: u64) -> (Tensor, Tensor) {
    let mut rng = Lcg(seed);
    let click: Vec<i64> = (0..n).map(|i| if i < 2 { 1 - i as i64 } else { rng.below(3).min(1) }).collect();
    let conversion: Vec<i64> = click.iter().enumerate().map(|(i, &c)| if i == 0 { 1 } else { c * rng.below(2) }).collect();
    assert!(click.iter().zip(&conversion).all(|(c, v)| v <= c), "design: conversions only after clicks");
    (labels_from(&click), labels_from(&conversion))
}

fn loss_of(model: &dyn crate::MultiTaskModel, batch: &CtrBatch, click: &Tensor, conversion: &Tensor, train: bool) -> Tensor {
    multitask_loss(model.objective(), &model.forward_t(batch, train), click, conversion, LossWeights::default())
}

#[test]
fn every_multitask_model_gives_two_finite_logits_of_shape_batch() {
    let _guard = rng_lock();
    let batch = random_rows(8, 21).batch();
    assert_eq!(models_of(Task::MultiTask).count(), 4);
    for info in models_of(Task::MultiTask) {
        let (_vs, model) = build_multitask_seeded(info.name, 0);
        for train in [false, true] {
            let out = model.forward_t(&batch, train);
            for (head, t) in [("click", &out.click), ("conversion", &out.conversion)] {
                assert_eq!(t.size(), vec![8], "{} {head} shape", info.name);
                assert_eq!(t.kind(), Kind::Float);
                assert!(to_vec(t).iter().all(|x| x.is_finite()), "{} {head} not finite", info.name);
            }
            assert!(max_abs_diff(&out.click, &out.conversion) > 1e-6, "{}: the two heads are one", info.name);
        }
        let want = if info.name == "ESMM" { Objective::EntireSpace } else { Objective::ClickedConversion };
        assert_eq!(model.objective(), want, "{}", info.name);
    }
}

#[test]
fn every_multitask_variable_gets_a_gradient_from_its_objective() {
    let _guard = rng_lock();
    let batch = random_rows(16, 22).batch();
    let (click, conversion) = task_labels(16, 23);
    for info in models_of(Task::MultiTask) {
        let (vs, model) = build_multitask_seeded(info.name, 1);
        loss_of(model.as_ref(), &batch, &click, &conversion, true).backward();
        for (name, var) in vs.variables() {
            let grad = var.grad();
            assert!(grad.defined(), "{}: `{name}` has no gradient", info.name);
            let norm = grad.norm().double_value(&[]);
            assert!(norm.is_finite() && norm > 0.0, "{}: `{name}` gradient norm {norm}", info.name);
            if name.ends_with("item.weight") || name.ends_with("category.weight") {
                assert_eq!(to_vec(&grad.get(0)), vec![0.0; to_vec(&grad.get(0)).len()], "{}: padding row of `{name}`", info.name);
            }
        }
    }
}

#[test]
fn multitask_models_are_deterministic_per_seed() {
    let _guard = rng_lock();
    let batch = random_rows(8, 24).batch();
    for info in models_of(Task::MultiTask) {
        let run = |seed| {
            let (_vs, model) = build_multitask_seeded(info.name, seed);
            let out = model.forward_t(&batch, false);
            (to_vec(&out.click), to_vec(&out.conversion))
        };
        assert_eq!(run(42), run(42), "{}: same seed, different logits", info.name);
        assert_ne!(run(42), run(43), "{}: seeds 42 and 43 give the same logits", info.name);
    }
}

#[test]
fn every_multitask_model_overfits_one_batch_of_synthetic_labels() {
    let _guard = rng_lock();
    let mut rows = random_rows(32, 25);
    for r in 0..32 {
        rows.user[r] = (r % SIZES.users) as i64;
        rows.position[r] = ((r / SIZES.users) % SIZES.positions) as i64;
    }
    let batch = rows.batch();
    let (click, conversion) = task_labels(32, 26);
    for info in models_of(Task::MultiTask) {
        let (vs, model) = build_multitask_seeded(info.name, 7);
        let mut opt = nn::Adam::default().build(&vs, 0.01).unwrap();
        let initial = tch::no_grad(|| loss_of(model.as_ref(), &batch, &click, &conversion, false).double_value(&[]));
        for _ in 0..200 {
            opt.backward_step(&loss_of(model.as_ref(), &batch, &click, &conversion, true));
        }
        let last = tch::no_grad(|| loss_of(model.as_ref(), &batch, &click, &conversion, false).double_value(&[]));
        eprintln!("{}: loss {initial:.4} -> {last:.4}", info.name);
        assert!(initial > 0.9 && initial < 1.6, "{}: initial loss {initial} not about 2 x ln 2", info.name);
        assert!(last < 0.15 * initial, "{}: loss {last} not below 0.15 x initial {initial}", info.name);
        // both heads fitted: each term on its own is small
        let out = tch::no_grad(|| model.forward_t(&batch, false));
        let ctr = out.click.binary_cross_entropy_with_logits::<Tensor>(&click, None, None, Reduction::Mean).double_value(&[]);
        assert!(ctr < 0.1, "{}: click loss {ctr}", info.name);
    }
}

fn logits(click: &[f32], conversion: &[f32]) -> TaskLogits {
    TaskLogits { click: Tensor::from_slice(click).set_requires_grad(true), conversion: Tensor::from_slice(conversion).set_requires_grad(true), dwell: None }
}

#[test]
fn esmm_loss_is_bce_on_pctr_and_on_pctr_times_pcvr() {
    let out = logits(&[0.3, -1.2, 2.0, -0.4], &[-0.7, 1.5, 0.2, -2.5]);
    let click = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0]);
    let conversion = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0]);
    let weights = LossWeights { click: 0.5, conversion: 2.0, dwell: 1.0 };
    let got = esmm_loss(&out, &click, &conversion, weights).double_value(&[]);
    let (c, v) = (to_vec(&out.click), to_vec(&out.conversion));
    let (y, z) = (to_vec(&click), to_vec(&conversion));
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let bce = |p: f64, t: f64| -(t * p.ln() + (1.0 - t) * (1.0 - p).ln());
    let n = 4.0;
    let want = (0..4).map(|i| 0.5 * bce(s(c[i]), y[i]) / n + 2.0 * bce(s(c[i]) * s(v[i]), y[i] * z[i]) / n).sum::<f64>();
    assert!((got - want).abs() < 1e-5, "esmm loss {got}, by hand {want}");
    let plain = multitask_loss(Objective::EntireSpace, &out, &click, &conversion, weights).double_value(&[]);
    assert_eq!(got, plain);
}

#[test]
fn esmm_loss_is_finite_with_finite_gradients_at_extreme_logits() {
    let out = logits(&[60.0, -60.0, 60.0, 0.0, 20.0], &[60.0, 60.0, -60.0, 0.0, 20.0]);
    let click = Tensor::from_slice(&[1.0f32, 1.0, 0.0, 1.0, 0.0]);
    let conversion = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 1.0, 0.0]);
    let loss = esmm_loss(&out, &click, &conversion, LossWeights::default());
    assert!(loss.double_value(&[]).is_finite(), "loss {loss}");
    loss.backward();
    for t in [&out.click, &out.conversion] {
        assert!(to_vec(&t.grad()).iter().all(|g| g.is_finite()), "gradient {}", t.grad());
    }
}

#[test]
fn clicked_conversion_loss_ignores_conversion_logits_of_unclicked_rows() {
    let out = logits(&[0.3, -1.2, 2.0, -0.4], &[-0.7, 1.5, 0.2, -2.5]);
    let click = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0]);
    let conversion = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.0]);
    let loss = clicked_conversion_loss(&out, &click, &conversion, LossWeights::default());
    loss.backward();
    let g = to_vec(&out.conversion.grad());
    assert_eq!((g[1], g[3]), (0.0, 0.0), "unclicked rows moved pCVR: {g:?}");
    assert!(g[0] > 0.0 && g[2] < 0.0, "clicked rows: {g:?}");
    // the CVR term is a mean over the two clicked rows
    let c = to_vec(&out.conversion);
    let s = |x: f64| 1.0 / (1.0 + (-x).exp());
    let want_cvr = (-(1.0 - s(c[0])).ln() - s(c[2]).ln()) / 2.0;
    let ctr = out.click.binary_cross_entropy_with_logits::<Tensor>(&click, None, None, Reduction::Mean).double_value(&[]);
    assert!((loss.double_value(&[]) - ctr - want_cvr).abs() < 1e-5);
    let none = clicked_conversion_loss(&out, &Tensor::zeros([4], (Kind::Float, Device::Cpu)), &Tensor::zeros([4], (Kind::Float, Device::Cpu)), LossWeights::default());
    assert!(none.double_value(&[]).is_finite(), "a batch without clicks");
}

/// PAL on every multi-task model: at inference the click and conversion
/// heads score the row at the top slot whatever its position, exactly as the
/// unwrapped model does there; in training the click loss reaches the
/// position tower; the objective is the wrapped model's.
#[test]
fn pal_on_a_multitask_model_drops_its_tower_at_inference() {
    let _guard = rng_lock();
    let rows = random_rows(8, 23);
    assert!(rows.position.iter().any(|&p| p > 0), "design: rows in several slots");
    let top = Rows { position: vec![0; rows.len()], ..rows.clone() };
    for info in models_of(Task::MultiTask) {
        let (vs, inner) = build_multitask_seeded(info.name, 0);
        let objective = inner.objective();
        let at_top = inner.forward_t(&top.batch(), false);
        let pal = crate::Pal::wrap_multitask(inner, &vs.root(), SIZES.positions);
        let out = pal.forward_t(&rows.batch(), false);
        assert_eq!(max_abs_diff(&out.click, &at_top.click), 0.0, "{}: click at the top", info.name);
        assert_eq!(max_abs_diff(&out.conversion, &at_top.conversion), 0.0, "{}: conversion at the top", info.name);
        assert_eq!(pal.objective(), objective, "{}", info.name);
        let tower = vs.variables().into_iter().find(|(k, _)| k.contains("pal_position")).map(|(_, v)| v);
        let tower = tower.unwrap_or_else(|| panic!("{}: no position tower", info.name));
        let clicks = labels_from(&random_labels(rows.len(), 5));
        bce(&pal.forward_t(&rows.batch(), true).click, &clicks).backward();
        assert!(tower.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0, "{}: the tower learns from clicks", info.name);
    }
}
