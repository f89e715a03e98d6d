//! PAL, the position-bias-aware learning framework (Guo et al., RecSys
//! 2019), around any click model: `P(click) = P(seen | position) ·
//! P(click | seen)`, the first from a shallow position tower (one logit per
//! slot), the second from the wrapped model, which is shown every
//! impression at position 0 so it cannot learn the slot itself. Trained
//! together on clicks; at inference the position tower is dropped and the
//! model scores relevance alone.

use tch::{nn, Tensor};

use crate::blocks::scalar_table;
use crate::{CtrBatch, CtrModel, FieldAttention};

pub struct Pal {
    relevance: Box<dyn CtrModel>,
    position: nn::Embedding,
}

impl Pal {
    /// Wraps `relevance`; the tower's weights live under `p` (one per slot
    /// of `positions`).
    pub fn wrap(relevance: Box<dyn CtrModel>, p: &nn::Path, positions: usize) -> Box<dyn CtrModel> {
        Box::new(Pal { relevance, position: scalar_table(&(p / "pal_position"), positions.max(1)) })
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
}

/// The logit of `σ(a) · σ(b)`, stable for any logits.
pub fn product_logit(a: &Tensor, b: &Tensor) -> Tensor {
    // log p = log σ(a) + log σ(b) < 0; logit = log p - log(1 - p)
    let log_p = (a.log_sigmoid() + b.log_sigmoid()).clamp_max(-1e-6);
    &log_p - (-log_p.expm1()).log()
}

impl CtrModel for Pal {
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> Tensor {
        let relevance = self.relevance.forward_t(&Pal::at_top(batch), train);
        if !train {
            return relevance;
        }
        let seen = batch.position.apply(&self.position).squeeze_dim(-1).to_kind(relevance.kind());
        product_logit(&relevance, &seen)
    }

    fn attention(&self, batch: &CtrBatch) -> Option<Tensor> {
        self.relevance.attention(&Pal::at_top(batch))
    }

    fn field_attention(&self, batch: &CtrBatch) -> Option<FieldAttention> {
        self.relevance.field_attention(&Pal::at_top(batch))
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
