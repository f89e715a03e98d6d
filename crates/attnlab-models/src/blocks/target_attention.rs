use tch::{Kind, Tensor};
use tch::nn;

use super::Mlp;

/// DIN's local activation unit: scores each history item against the target
/// from `[h, t, h - t, h * t]` with a small MLP, then sums the history weighted
/// by those scores. As in the DIN paper the scores are not softmax-normalised,
/// so the pooled vector keeps the intensity of the user's interest; padded
/// positions get weight exactly 0.
#[derive(Debug)]
pub struct TargetAttention {
    unit: Mlp,
}

impl TargetAttention {
    pub fn new(p: &nn::Path, dim: usize, hidden: &[usize]) -> TargetAttention {
        TargetAttention { unit: Mlp::new(&(p / "unit"), 4 * dim, hidden, 1, 0.0) }
    }

    /// `history [B, K, D]`, `target [B, D]`, `mask [B, K]` (1 = real item).
    /// Returns the pooled interest `[B, D]` and the weights `[B, K]`.
    pub fn forward(&self, history: &Tensor, target: &Tensor, mask: &Tensor) -> (Tensor, Tensor) {
        let k = history.size()[1];
        let t = target.unsqueeze(1).expand_as(history);
        let features = Tensor::cat(&[history, &t, &(history - &t), &(history * &t)], -1);
        let weights = self.unit.forward_t(&features, false).squeeze_dim(-1) * mask.to_kind(Kind::Float);
        debug_assert_eq!(weights.size()[1], k);
        let pooled = weights.unsqueeze(1).bmm(history).squeeze_dim(1);
        (pooled, weights)
    }
}
