//! Training losses, generic on tensors (models of any kind call them). All
//! return a 0-dim mean over the valid elements.

use tch::{Kind, Reduction, Tensor};

/// Binary cross-entropy on logits (numerically stable); `pos_weight`
/// multiplies the loss of the positive examples (e.g. `negatives/positives`
/// for rare clicks).
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor, pos_weight: Option<f64>) -> Tensor {
    let pos_weight = pos_weight.map(|w| Tensor::from(w).to_kind(logits.kind()).to_device(logits.device()));
    logits.binary_cross_entropy_with_logits(&targets.to_kind(logits.kind()), None::<Tensor>, pos_weight, Reduction::Mean)
}

/// Cross-entropy over all `N` items for sequence models: `logits [B, T, N]`
/// against `targets [B, T]`; positions whose target is `ignore` (padding)
/// are left out of the mean. A batch with no valid target has loss 0.
pub fn cross_entropy_seq(logits: &Tensor, targets: &Tensor, ignore: i64) -> Tensor {
    let n = logits.size().last().copied().unwrap_or(1);
    let flat_targets = targets.reshape([-1]).to_kind(Kind::Int64);
    let total = logits.reshape([-1, n]).to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
        &flat_targets,
        None,
        Reduction::Sum,
        ignore,
        0.0,
    );
    let count = flat_targets.ne(ignore).sum(Kind::Float).clamp_min(1.0);
    total / count
}

/// Bayesian personalised ranking: `-log sigmoid(pos - neg)`, averaged.
/// `pos [B]` with `neg [B]` or `neg [B, K]` (K negatives per positive).
pub fn bpr(pos: &Tensor, neg: &Tensor) -> Tensor {
    let pos = if neg.dim() == pos.dim() + 1 { pos.unsqueeze(-1) } else { pos.shallow_clone() };
    // -log sigmoid(x) = softplus(-x)
    (neg - pos).softplus().mean(Kind::Float)
}

/// Sampled softmax: the positive `pos [B]` against its sampled negatives
/// `neg [B, K]`, cross-entropy with the positive as the class. With
/// `log_q = Some((pos_log_q, neg_log_q))` (log sampling probabilities, same
/// shapes) the logits are corrected by `-log q` (logQ correction).
pub fn sampled_softmax(pos: &Tensor, neg: &Tensor, log_q: Option<(&Tensor, &Tensor)>) -> Tensor {
    let (pos, neg) = match log_q {
        Some((qp, qn)) => (pos - qp, neg - qn),
        None => (pos.shallow_clone(), neg.shallow_clone()),
    };
    let logits = Tensor::cat(&[pos.unsqueeze(-1), neg], -1).to_kind(Kind::Float);
    // the positive is column 0: -log softmax(logits)[0]
    (logits.logsumexp([-1], false) - logits.select(-1, 0)).mean(Kind::Float)
}

/// Multi-task objective: `sum_i w_i * loss_i`.
pub fn weighted_sum(losses: &[(f64, Tensor)]) -> Option<Tensor> {
    losses.iter().map(|(w, l)| l * *w).reduce(|a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(t: &Tensor) -> f64 {
        f64::try_from(t).unwrap()
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    #[test]
    fn bce_matches_the_formula() {
        let logits = Tensor::from_slice(&[0.0f32, 2.0, -1.0]);
        let targets = Tensor::from_slice(&[1.0f32, 0.0, 1.0]);
        // y: -log sigmoid(x) = softplus(-x); 1-y: softplus(x)
        let want = (softplus(0.0) + softplus(2.0) + softplus(1.0)) / 3.0;
        close(value(&bce_with_logits(&logits, &targets, None)), want);
        let weighted = (3.0 * softplus(0.0) + softplus(2.0) + 3.0 * softplus(1.0)) / 3.0;
        close(value(&bce_with_logits(&logits, &targets, Some(3.0))), weighted);
    }

    #[test]
    fn sequence_cross_entropy_ignores_padding() {
        // B=1, T=3, N=2; the last position is padding
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 3.0, 5.0, -5.0]).view([1, 3, 2]);
        let targets = Tensor::from_slice(&[1i64, 0, 0]).view([1, 3]);
        let pad = Tensor::from_slice(&[1i64, 0, -100]).view([1, 3]);
        let l1 = 2f64.ln(); // uniform over 2
        let l2 = -(1f64.exp() / (1f64.exp() + 3f64.exp())).ln();
        let l3 = -(5f64.exp() / (5f64.exp() + (-5f64).exp())).ln();
        close(value(&cross_entropy_seq(&logits, &targets, -100)), (l1 + l2 + l3) / 3.0);
        close(value(&cross_entropy_seq(&logits, &pad, -100)), (l1 + l2) / 2.0);
        let all_pad = Tensor::from_slice(&[-100i64, -100, -100]).view([1, 3]);
        assert_eq!(value(&cross_entropy_seq(&logits, &all_pad, -100)), 0.0);
    }

    #[test]
    fn bpr_is_softplus_of_the_margin() {
        let pos = Tensor::from_slice(&[2.0f32, 0.0]);
        let neg = Tensor::from_slice(&[1.0f32, 1.0]);
        close(value(&bpr(&pos, &neg)), (softplus(-1.0) + softplus(1.0)) / 2.0);
        let negs = Tensor::from_slice(&[1.0f32, 3.0, 1.0, -1.0]).view([2, 2]);
        let want = (softplus(-1.0) + softplus(1.0) + softplus(1.0) + softplus(-1.0)) / 4.0;
        close(value(&bpr(&pos, &negs)), want);
    }

    #[test]
    fn sampled_softmax_with_and_without_log_q() {
        let pos = Tensor::from_slice(&[2.0f32]);
        let neg = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        let plain = -(2f64.exp() / (2f64.exp() + 1f64.exp() + 1.0)).ln();
        close(value(&sampled_softmax(&pos, &neg, None)), plain);
        let qp = Tensor::from_slice(&[0.5f32]);
        let qn = Tensor::from_slice(&[1.0f32, -1.0]).view([1, 2]);
        let (a, b, c) = (1.5f64, 0.0f64, 1.0f64);
        let corrected = -(a.exp() / (a.exp() + b.exp() + c.exp())).ln();
        close(value(&sampled_softmax(&pos, &neg, Some((&qp, &qn)))), corrected);
    }

    #[test]
    fn weighted_sum_of_tasks() {
        let a = Tensor::from(2.0f32);
        let b = Tensor::from(3.0f32);
        close(value(&weighted_sum(&[(1.0, a), (0.5, b)]).unwrap()), 3.5);
        assert!(weighted_sum(&[]).is_none());
    }
}
