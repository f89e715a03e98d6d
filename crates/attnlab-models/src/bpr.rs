//! BPR-MF (Rendle et al., UAI 2009): matrix factorisation trained with the
//! Bayesian personalised ranking loss, `-log sigmoid(s(u, i+) - s(u, i-))`,
//! on the batch's positives (`targets [B, 1]`) and sampled negatives
//! (`negatives [B, 1]` or `[B, k]`). The input sequence is not used: a
//! general model, trained on the train split's rows. Initialised as
//! RecBole's (Xavier-normal embeddings).

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
}

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
        }
    }

    /// `s(u, i)` for `users [B]` and `items [B, k]`: `[B, k]`.
    fn pair_scores(&self, user: &Tensor, items: &Tensor) -> Tensor {
        (self.item.forward(items) * user.unsqueeze(1)).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
    }
}

impl NextItemModel for Bpr {
    /// Panics when the batch has no `negatives`: BPR needs them.
    fn training_loss(&self, batch: &SeqBatch, _train: bool) -> Tensor {
        let negatives = batch.negatives.as_ref().expect("BPR needs sampled negatives in the batch");
        let user = self.user.forward(&batch.users);
        let positive = self.pair_scores(&user, &last_target(&batch.targets));
        let negative = self.pair_scores(&user, negatives);
        // every negative against the positive of its row
        -(positive - negative).log_sigmoid().mean(Kind::Float)
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
