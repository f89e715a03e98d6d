//! PAL, the position-bias-aware learning framework (Guo et al., RecSys
//! 2019), around any click model: `P(click) = P(seen | position) ·
//! P(click | seen)`, the first from a shallow position tower (one logit per
//! slot), the second from the wrapped model, which is shown every
//! impression at position 0 so it cannot learn the slot itself. Trained
//! together on clicks; at inference the position tower is dropped and the
//! model scores relevance alone. Multi-task models ([`Pal::wrap_multitask`])
//! get the tower on their click head.

use tch::{nn, Tensor};

use crate::blocks::scalar_table;
use crate::{CtrBatch, CtrModel, FieldAttention, MultiTaskModel, Objective, TaskLogits};

/// PAL around a click model.
pub struct Pal {
    relevance: Box<dyn CtrModel>,
    tower: PositionTower,
}

/// PAL around a click + conversion (+ dwell) model: the position tower
/// multiplies the click head alone. The conversion head is P(conversion |
/// click), which the slot does not set, and the dwell head is regressed over
/// clicks; both see every impression at position 0 like the click head.
pub struct PalMultiTask {
    relevance: Box<dyn MultiTaskModel>,
    tower: PositionTower,
}

/// The shallow tower: one logit of P(seen) per slot.
struct PositionTower {
    position: nn::Embedding,
}

impl PositionTower {
    /// Its weights live under `p` (one per slot of `positions`).
    fn new(p: &nn::Path, positions: usize) -> PositionTower {
        PositionTower { position: scalar_table(&(p / "pal_position"), positions.max(1)) }
    }

    /// In training, the logit of P(seen | slot) · σ(`relevance`); at
    /// inference `relevance` alone.
    fn click_logit(&self, batch: &CtrBatch, relevance: Tensor, train: bool) -> Tensor {
        if !train {
            return relevance;
        }
        let seen = batch.position.apply(&self.position).squeeze_dim(-1).to_kind(relevance.kind());
        product_logit(&relevance, &seen)
    }
}

impl Pal {
    /// Wraps `relevance`; the tower's weights live under `p` (one per slot
    /// of `positions`).
    pub fn wrap(relevance: Box<dyn CtrModel>, p: &nn::Path, positions: usize) -> Box<dyn CtrModel> {
        Box::new(Pal { relevance, tower: PositionTower::new(p, positions) })
    }

    /// Wraps a multi-task model, as [`Pal::wrap`] a click model.
    pub fn wrap_multitask(relevance: Box<dyn MultiTaskModel>, p: &nn::Path, positions: usize) -> Box<dyn MultiTaskModel> {
        Box::new(PalMultiTask { relevance, tower: PositionTower::new(p, positions) })
    }
}

/// The batch with every impression at position 0.
fn at_top(batch: &CtrBatch) -> CtrBatch {
    CtrBatch {
        user: batch.user.shallow_clone(),
        item: batch.item.shallow_clone(),
        category: batch.category.shallow_clone(),
        position: batch.position.zeros_like(),
        history_items: batch.history_items.shallow_clone(),
        history_categories: batch.history_categories.shallow_clone(),
        categorical: batch.categorical.shallow_clone(),
        numeric: batch.numeric.shallow_clone(),
    }
}

/// The logit of `σ(a) · σ(b)`, stable for any logits.
pub fn product_logit(a: &Tensor, b: &Tensor) -> Tensor {
    // log p = log σ(a) + log σ(b) < 0; logit = log p - log(1 - p)
    let log_p = (a.log_sigmoid() + b.log_sigmoid()).clamp_max(-1e-6);
    &log_p - (-log_p.expm1()).log()
}

impl CtrModel for Pal {
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> Tensor {
        let relevance = self.relevance.forward_t(&at_top(batch), train);
        self.tower.click_logit(batch, relevance, train)
    }

    fn attention(&self, batch: &CtrBatch) -> Option<Tensor> {
        self.relevance.attention(&at_top(batch))
    }

    fn field_attention(&self, batch: &CtrBatch) -> Option<FieldAttention> {
        self.relevance.field_attention(&at_top(batch))
    }
}

impl MultiTaskModel for PalMultiTask {
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> TaskLogits {
        let logits = self.relevance.forward_t(&at_top(batch), train);
        TaskLogits { click: self.tower.click_logit(batch, logits.click, train), ..logits }
    }

    fn objective(&self) -> Objective {
        self.relevance.objective()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_logit_is_the_logit_of_the_product() {
        let a = Tensor::from_slice(&[0.0f32, 2.0, -3.0, 30.0]);
        let b = Tensor::from_slice(&[0.0f32, -1.0, 1.5, 30.0]);
        let got = Vec::<f32>::try_from(product_logit(&a, &b).sigmoid()).unwrap();
        let s = |x: f32| 1.0 / (1.0 + (-x).exp());
        for (i, (x, y)) in [(0.0, 0.0), (2.0, -1.0), (-3.0, 1.5)].into_iter().enumerate() {
            assert!((got[i] - s(x) * s(y)).abs() < 1e-5, "{i}: {} vs {}", got[i], s(x) * s(y));
        }
        // both certain: finite, near 1
        assert!(got[3].is_finite() && got[3] > 0.99);
    }
}
