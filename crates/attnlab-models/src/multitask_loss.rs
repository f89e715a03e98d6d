//! Losses of the click + conversion models. The trainer owns training; these
//! are the documented objectives, numerically stable in log space.
//!
//! Labels are float tensors `[B]` of 0/1; a conversion label is 0 wherever
//! the click label is 0 (a purchase follows a click).

use serde::Serialize;
use tch::{Kind, Reduction, Tensor};

use crate::TaskLogits;

/// Which loss a [`crate::MultiTaskModel`] is designed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Objective {
    /// `BCE(pCTR, click)` over all impressions plus `BCE(pCVR, conversion)`
    /// over the clicked impressions only: pCVR learns on the click space,
    /// with its sample-selection bias (Shared-Bottom, MMoE, PLE).
    ClickedConversion,
    /// ESMM (Ma et al., SIGIR 2018): `BCE(pCTR, click) +
    /// BCE(pCTR · pCVR, click · conversion)` over all impressions; pCVR is
    /// never fitted directly, so it is defined on the whole impression space.
    EntireSpace,
}

/// Weights of the terms; `dwell` weighs a dwell head's regression, which
/// the trainer adds (`attnlab_train`'s multi-task loss). Its default is
/// small: squared errors of `log1p` seconds (about 3.4 at the start) give
/// far larger gradients than the click cross-entropy, and on the simulator
/// a weight of 1 cost MMoE 0.08 of click AUC where 0.03 costs none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossWeights {
    pub click: f64,
    pub conversion: f64,
    pub dwell: f64,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights { click: 1.0, conversion: 1.0, dwell: 0.03 }
    }
}

fn bce(logits: &Tensor, labels: &Tensor) -> Tensor {
    logits.binary_cross_entropy_with_logits::<Tensor>(labels, None, None, Reduction::Mean)
}

/// `log(1 - e^x)` for `x < 0`, accurate at both ends (Mächler 2012) and with
/// finite gradients on both branches of the select.
fn log1mexp(x: &Tensor) -> Tensor {
    let ln2 = std::f64::consts::LN_2;
    // a probability of exactly 1 would give log 0: keep x below 0
    let x = x.clamp_max(-1e-7);
    let near = x.clamp_min(-ln2).expm1().neg().log();
    let far = x.clamp_max(-ln2).exp().neg().log1p();
    near.where_self(&x.gt(-ln2), &far)
}

/// ESMM's loss: `w_click · BCE(pCTR, click) + w_conversion ·
/// BCE(pCTCVR, click · conversion)` with `pCTCVR = pCTR · pCVR`, means over
/// the batch.
pub fn esmm_loss(logits: &TaskLogits, click: &Tensor, conversion: &Tensor, weights: LossWeights) -> Tensor {
    let target = click * conversion;
    let log_p = logits.click.log_sigmoid() + logits.conversion.log_sigmoid();
    let negative: Tensor = 1.0 - &target;
    let likelihood: Tensor = &target * &log_p + negative * log1mexp(&log_p);
    let ctcvr = -likelihood.mean(Kind::Float);
    bce(&logits.click, click) * weights.click + ctcvr * weights.conversion
}

/// `w_click · BCE(pCTR, click)` over the batch plus `w_conversion ·
/// BCE(pCVR, conversion)` averaged over the clicked rows (0 when none is).
pub fn clicked_conversion_loss(logits: &TaskLogits, click: &Tensor, conversion: &Tensor, weights: LossWeights) -> Tensor {
    let per_row = logits.conversion.binary_cross_entropy_with_logits::<Tensor>(conversion, None, None, Reduction::None);
    let clicks = click.sum(Kind::Float).clamp_min(1.0);
    let cvr = (per_row * click).sum(Kind::Float) / clicks;
    bce(&logits.click, click) * weights.click + cvr * weights.conversion
}

/// The loss of `objective`.
pub fn multitask_loss(objective: Objective, logits: &TaskLogits, click: &Tensor, conversion: &Tensor, weights: LossWeights) -> Tensor {
    match objective {
        Objective::EntireSpace => esmm_loss(logits, click, conversion, weights),
        Objective::ClickedConversion => clicked_conversion_loss(logits, click, conversion, weights),
    }
}
