//! BPR-MF (Rendle et al., UAI 2009): matrix factorisation trained with the
//! Bayesian personalised ranking loss, `-log sigmoid(s(u, i+) - s(u, i-))`,
//! on the batch's positives (`targets [B, 1]`) and sampled negatives
//! (`negatives [B, 1]` or `[B, k]`). The input sequence is not used: a
//! general model, trained on the train split's rows. Initialised as
//! RecBole's (Xavier-normal embeddings). The trainer takes the loss with
//! sparse gradients for the large tables (`training_loss_sparse`, see
//! [`SPARSE_TABLE_RATIO`]), so that an optimiser step touches the batch's
//! rows only (attnlab-train's Adam updates them by
//! `torch.optim.SparseAdam`'s rule): at ML-20M's 138k users a dense Adam
//! step over the tables grew to most of an epoch's time.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::blocks::{ItemFeatures, ItemTable, UserTable};
use crate::next_item::{last_target, DotProduct, NextItemSizes};
use crate::registry::{Checks, ModelParams};
use crate::{NextItemModel, SeqBatch};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BprParams {
    /// Width of the user and item embeddings. Default 64 (RecBole).
    pub embed_dim: usize,
}

impl Default for BprParams {
    fn default() -> Self {
        BprParams { embed_dim: 64 }
    }
}

impl ModelParams for BprParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default().size("embed_dim", self.embed_dim).finish()
    }
}

#[derive(Debug)]
pub struct Bpr {
    user: UserTable,
    item: ItemTable,
    /// Rows of the user and the item table.
    sizes: (i64, i64),
}

/// How many times more rows than a batch looks up a table must have for
/// its sparse-gradient lookup: below that a dense Adam step over the whole
/// table costs less than the sparse one (measured on one CPU thread: about
/// even at 8x, at ML-20M's size the sparse step is over ten times faster),
/// and small data keeps the dense Adam RecBole's BPR trains with.
pub const SPARSE_TABLE_RATIO: i64 = 8;

/// Xavier-normal rows for a `[rows, dim]` table: N(0, 2 / (rows + dim)),
/// PyTorch's `xavier_normal_` on an embedding weight, which RecBole's BPR
/// starts from.
fn xavier_normal(rows: usize, dim: usize) -> nn::Init {
    nn::Init::Randn { mean: 0.0, stdev: (2.0 / (rows + dim) as f64).sqrt() }
}

impl Bpr {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &BprParams) -> Bpr {
        let d = params.embed_dim;
        Bpr {
            user: UserTable::new(&(p / "user"), sizes.users, d, xavier_normal(sizes.users, d), features),
            item: ItemTable::new(&(p / "item"), sizes.items, d, xavier_normal(sizes.items, d), features),
            sizes: (sizes.users as i64, sizes.items as i64),
        }
    }

    /// The BPR loss of a batch. With `sparse`, a table more than
    /// [`SPARSE_TABLE_RATIO`] times larger than the ids the batch looks up
    /// in it is looked up with a sparse gradient. Panics when the batch has
    /// no `negatives`: BPR needs them.
    fn loss(&self, batch: &SeqBatch, sparse: bool) -> Tensor {
        let negatives = batch.negatives.as_ref().expect("BPR needs sampled negatives in the batch");
        let positives = last_target(&batch.targets);
        let large = |rows: i64, lookups: i64| sparse && rows > SPARSE_TABLE_RATIO * lookups;
        let user = if large(self.sizes.0, batch.users.numel() as i64) {
            self.user.lookup_sparse(&batch.users)
        } else {
            self.user.forward(&batch.users)
        };
        let sparse_items = large(self.sizes.1, (positives.numel() + negatives.numel()) as i64);
        // `s(u, i)` for `items [B, k]`: `[B, k]`
        let scores = |items: &Tensor| {
            let vectors = if sparse_items { self.item.lookup_sparse(items) } else { self.item.forward(items) };
            (vectors * user.unsqueeze(1)).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
        };
        let positive = scores(&positives);
        // every negative against the positive of its row
        -(positive - scores(negatives)).log_sigmoid().mean(Kind::Float)
    }
}

impl NextItemModel for Bpr {
    /// Panics when the batch has no `negatives`: BPR needs them.
    fn training_loss(&self, batch: &SeqBatch, _train: bool) -> Tensor {
        self.loss(batch, false)
    }

    fn training_loss_sparse(&self, batch: &SeqBatch, _train: bool) -> Tensor {
        self.loss(batch, true)
    }

    fn score(&self, users: &Tensor, _inputs: &Tensor) -> Tensor {
        self.user.forward(users).matmul(&self.item.table().tr())
    }

    fn sequential(&self) -> bool {
        false
    }

    fn dot_product(&self) -> Option<&dyn DotProduct> {
        Some(self)
    }
}

impl DotProduct for Bpr {
    /// The user's vector for each row's positive.
    fn training_queries(&self, batch: &SeqBatch, _train: bool) -> (Tensor, Tensor) {
        (self.user.forward(&batch.users), last_target(&batch.targets).view([-1]))
    }

    fn queries(&self, users: &Tensor, _inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        self.user.forward(users)
    }

    fn item_table(&self) -> Tensor {
        self.item.table()
    }
}
