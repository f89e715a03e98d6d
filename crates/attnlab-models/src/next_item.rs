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
    /// `[B, T + 1]` when the data has timestamps: each input's timestamp (0
    /// under padding), then the time of the prediction after the last input
    /// (its target's), so position `i` predicts at time `[:, i + 1]`. Only
    /// time-aware models ([`NextItemModel::reads_time`]) read it.
    pub timestamps: Option<Tensor>,
    /// `[items]` bool, true for the items held out of training (cold
    /// items): a full softmax leaves them out as it does PAD, so training
    /// never pushes down the items it must not know. `None`: none.
    pub held_out: Option<Tensor>,
}

/// A next-item recommender.
pub trait NextItemModel: Send {
    /// The scalar training loss of a batch.
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor;

    /// [`NextItemModel::training_loss`], the same value, with sparse
    /// gradients for the embedding tables the model only looks rows up in
    /// (BPR's), for an optimiser that updates just the rows a batch touched.
    /// libtorch's own optimisers (`tch::nn::Adam`) refuse sparse gradients:
    /// use `training_loss` with them. By default the dense loss.
    fn training_loss_sparse(&self, batch: &SeqBatch, train: bool) -> Tensor {
        self.training_loss(batch, train)
    }

    /// Scores `[B, num_items]` for the item that follows each input sequence
    /// (column 0, the padding id, is never recommended: callers mask it).
    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor;

    /// Self-attention weights over the input positions, `[B, T]` for the last
    /// position, for models that have them (explainability in reports).
    fn attention(&self, _inputs: &Tensor) -> Option<Tensor> {
        None
    }

    /// [`NextItemModel::score`] with the inputs' `timestamps [B, T + 1]` (see
    /// [`SeqBatch::timestamps`]), for the data that has them; a model that
    /// does not read time ignores them.
    fn score_at(&self, users: &Tensor, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        self.score(users, inputs)
    }

    /// [`NextItemModel::attention`] with the inputs' timestamps, as
    /// [`NextItemModel::score_at`].
    fn attention_at(&self, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Option<Tensor> {
        self.attention(inputs)
    }

    /// Whether the model needs the inputs' timestamps (HSTU's relative-time
    /// bias); the data must then have them.
    fn reads_time(&self) -> bool {
        false
    }

    /// The model's query vectors and item table, for a model that scores by
    /// their dot product; training objectives other than the model's own
    /// (sampled softmax) apply to it through them.
    fn dot_product(&self) -> Option<&dyn DotProduct> {
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

    /// Whether dropping input columns that are padding in every row of a
    /// batch leaves every output unchanged (positions counted from each
    /// row's first real item, padding never attended to, no state carried
    /// through the padding): the trainer then cuts a batch to its longest
    /// real sequence. False for models that read a fixed window (Caser) or
    /// run through the padding (GRU4Rec).
    fn trims_padding(&self) -> bool {
        false
    }
}

/// A next-item model whose score of item `i` is `query · items[i]`.
pub trait DotProduct {
    /// The query vector of every target of the batch, as training computes
    /// it (dropout, masking), `[N, d]`, with those targets `[N]`.
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor);

    /// The query vector `[B, d]` for the item after each input row
    /// (`timestamps` as [`NextItemModel::score_at`]), in evaluation mode.
    fn queries(&self, users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor;

    /// The item table `[items, d]` the queries are scored against (row 0 is
    /// PAD).
    fn item_table(&self) -> Tensor;
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
/// output layer never moves the padding row, and so are the `held_out`
/// items. 0 when `N == 0`, never NaN.
pub(crate) fn cross_entropy(logits: &Tensor, targets: &Tensor, held_out: Option<&Tensor>) -> Tensor {
    let n = targets.size()[0];
    let items = logits.size()[1];
    let pad = Tensor::arange(items, (Kind::Int64, logits.device())).eq(0);
    let pad = match held_out {
        Some(h) => pad.logical_or(h),
        None => pad,
    };
    let sum = logits.masked_fill(&pad, f64::NEG_INFINITY).log_softmax(-1, Kind::Float).gather(1, &targets.view([-1, 1]), false).sum(Kind::Float);
    -sum / (n.max(1) as f64)
}

/// Mean cross entropy over the whole catalogue at the batch's targets: the
/// own objective of a model that scores by a dot product.
pub(crate) fn full_softmax(model: &dyn DotProduct, batch: &SeqBatch, train: bool) -> Tensor {
    let (queries, targets) = model.training_queries(batch, train);
    cross_entropy(&queries.matmul(&model.item_table().tr()), &targets, batch.held_out.as_ref())
}

/// The [`NextItemModel`](crate::NextItemModel) of a dot-product model that
/// reads no timestamps and trains on the full softmax (Caser, GRU4Rec).
macro_rules! full_softmax_next_item {
    ($model:ty) => {
        impl $crate::NextItemModel for $model {
            fn training_loss(&self, batch: &$crate::SeqBatch, train: bool) -> tch::Tensor {
                $crate::next_item::full_softmax(self, batch, train)
            }

            fn score(&self, users: &tch::Tensor, inputs: &tch::Tensor) -> tch::Tensor {
                $crate::next_item::dot_scores(self, users, inputs, None)
            }

            fn dot_product(&self) -> Option<&dyn $crate::next_item::DotProduct> {
                Some(self)
            }
        }
    };
}
pub(crate) use full_softmax_next_item;

/// Scores `[B, items]` of a dot-product model.
pub(crate) fn dot_scores(model: &dyn DotProduct, users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor {
    model.queries(users, inputs, timestamps).matmul(&model.item_table().tr())
}

/// The next item after every row of `inputs [B, T]`: the last column of
/// `targets` (`[B, T]` or `[B, 1]`).
pub(crate) fn last_target(targets: &Tensor) -> Tensor {
    let t = targets.size()[1];
    targets.narrow(1, t - 1, 1)
}
