//! Next-item recommenders: from a user's item sequence to scores over the
//! whole catalogue. Each model owns its training objective (SASRec: cross
//! entropy at every position in one pass; BERT4Rec: masked items; BPR:
//! pairwise with sampled negatives), so the trainer stays generic.

use tch::{Kind, Tensor};

/// One mini-batch for next-item training, as int64 tensors on the model's device.
#[derive(Debug)]
pub struct SeqBatch {
    /// `[B]`, 0-based user ids.
    pub users: Tensor,
    /// `[B, T]` item ids in time order, left-padded with 0.
    pub inputs: Tensor,
    /// `[B, T]` the item that follows each input position (0 = no target
    /// there: padding). For a pairwise model, `[B, 1]` positives.
    pub targets: Tensor,
    /// `[B, T]` (or `[B, 1]`) sampled negative items for pairwise or
    /// sampled-softmax objectives; `None` when the objective needs none.
    pub negatives: Option<Tensor>,
}

/// A next-item recommender.
pub trait NextItemModel: Send {
    /// The scalar training loss of a batch.
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor;

    /// Scores `[B, num_items]` for the item that follows each input sequence
    /// (column 0, the padding id, is never recommended: callers mask it).
    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor;

    /// Self-attention weights over the input positions, `[B, T]` for the last
    /// position, for models that have them (explainability in reports).
    fn attention(&self, _inputs: &Tensor) -> Option<Tensor> {
        None
    }

    /// False for models with nothing to train (Pop): the trainer evaluates
    /// them once.
    fn trainable(&self) -> bool {
        true
    }

    /// Whether the model reads the user's item sequence (RecBole's
    /// `SEQUENTIAL` model type). A model that does not (BPR, Pop: RecBole's
    /// `GENERAL` type) learns from the train split's (user, item) rows and
    /// is evaluated once per user, all their items in the split relevant,
    /// even when the protocol also built sequences for other models.
    fn sequential(&self) -> bool {
        true
    }
}

/// The sizes a next-item model is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextItemSizes {
    /// Users: ids `0..users`.
    pub users: usize,
    /// The item id space including PAD (ids `1..items`; 0 is padding).
    pub items: usize,
    /// The longest input sequence the model is built for (positional
    /// embeddings; Caser reads the last `L <= max_len` items).
    pub max_len: usize,
}

/// The rows of `hidden` that have a training target, with those targets.
///
/// `hidden` is `[B, T, d]`. With `targets [B, T]` every position whose target
/// is non-zero counts (cross entropy at every position in one pass); with
/// `targets [B, 1]` only the last position does. Returns `([N, d], [N])`.
pub(crate) fn hidden_at_targets(hidden: &Tensor, targets: &Tensor) -> (Tensor, Tensor) {
    let (t, d) = (hidden.size()[1], hidden.size()[2]);
    let (hidden, targets) = if targets.size()[1] == 1 && t != 1 {
        (hidden.select(1, t - 1), targets.view([-1]))
    } else {
        assert_eq!(targets.size(), hidden.size()[..2].to_vec(), "targets must be [B, T] or [B, 1]");
        (hidden.reshape([-1, d]), targets.reshape([-1]))
    };
    let keep = targets.ne(0).nonzero().view([-1]);
    (hidden.index_select(0, &keep), targets.index_select(0, &keep))
}

/// Mean cross entropy of `logits [N, items]` against `targets [N]`, over
/// the real items: column 0 (PAD) is left out of the softmax, so a tied
/// output layer never moves the padding row. 0 when `N == 0`, never NaN.
pub(crate) fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Tensor {
    let n = targets.size()[0];
    let items = logits.size()[1];
    let pad = Tensor::arange(items, (Kind::Int64, logits.device())).eq(0);
    let sum = logits.masked_fill(&pad, f64::NEG_INFINITY).log_softmax(-1, Kind::Float).gather(1, &targets.view([-1, 1]), false).sum(Kind::Float);
    -sum / (n.max(1) as f64)
}

/// Mean cross entropy over the whole catalogue for the positions of
/// `hidden [B, T, d]` that have a target, scored against `items [items, d]`
/// (tied output embeddings).
pub(crate) fn full_softmax_loss(hidden: &Tensor, targets: &Tensor, items: &Tensor) -> Tensor {
    let (h, y) = hidden_at_targets(hidden, targets);
    cross_entropy(&h.matmul(&items.tr()), &y)
}

/// The next item after every row of `inputs [B, T]`: the last column of
/// `targets` (`[B, T]` or `[B, 1]`).
pub(crate) fn last_target(targets: &Tensor) -> Tensor {
    let t = targets.size()[1];
    targets.narrow(1, t - 1, 1)
}
