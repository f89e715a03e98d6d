//! DIN (Zhou et al., KDD 2018): target attention over the user's recent
//! clicked items. Each history item and the candidate are embedded as
//! item ⊕ category; the local activation unit weighs every history item by
//! its relevance to the candidate, and an MLP reads user, slot, candidate,
//! the attended interest and a log's extra fields (embedded as
//! [`ExtraFieldEmbedding`], the same block every field model uses).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use attnlab_data::Cardinalities;

use crate::blocks::{embedding_with_padding, ExtraFieldEmbedding, Mlp, TargetAttention, EMBEDDING_INIT};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, CtrModel};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DinParams {
    /// Width of each id embedding (an item is item ⊕ category, twice this).
    /// Default 16.
    pub embed_dim: usize,
    /// Hidden sizes of the local activation unit. Default `[36]`.
    pub attention_hidden: Vec<usize>,
    /// Hidden sizes of the prediction tower. Default `[64, 32]`.
    pub mlp_hidden: Vec<usize>,
    /// Dropout in the prediction tower, in [0, 1). Default 0.
    pub dropout: f64,
}

impl Default for DinParams {
    fn default() -> Self {
        DinParams { embed_dim: 16, attention_hidden: vec![36], mlp_hidden: vec![64, 32], dropout: 0.0 }
    }
}

impl ModelParams for DinParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .sizes("attention_hidden", &self.attention_hidden)
            .sizes("mlp_hidden", &self.mlp_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
pub struct Din {
    user: nn::Embedding,
    item: nn::Embedding,
    category: nn::Embedding,
    position: nn::Embedding,
    attention: TargetAttention,
    tower: Mlp,
    /// A log's extra fields, if the data has any.
    extra: Option<ExtraFieldEmbedding>,
}

impl Din {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &DinParams) -> Din {
        let d = params.embed_dim;
        Din {
            user: embedding_with_padding(&(p / "user"), sizes.users + 1, d),
            item: embedding_with_padding(&(p / "item"), sizes.items, d),
            category: embedding_with_padding(&(p / "category"), sizes.categories, d),
            position: embedding_with_padding(&(p / "position"), sizes.positions + 1, d),
            attention: TargetAttention::new(&(p / "attention"), 2 * d, &params.attention_hidden),
            // user, position, candidate (2d), interest (2d), candidate * interest (2d), extra fields
            tower: Mlp::new(&(p / "tower"), (8 + sizes.extra.len()) * d, &params.mlp_hidden, 1, params.dropout),
            extra: ExtraFieldEmbedding::new(&(p / "extra"), &sizes.extra, d, EMBEDDING_INIT),
        }
    }

    fn embed_items(&self, items: &Tensor, categories: &Tensor) -> Tensor {
        Tensor::cat(&[self.item.forward(items), self.category.forward(categories)], -1)
    }

    fn attend(&self, b: &CtrBatch) -> (Tensor, Tensor, Tensor) {
        let candidate = self.embed_items(&b.item, &b.category);
        let history = self.embed_items(&b.history_items, &b.history_categories);
        let mask = b.history_items.ne(0).to_kind(Kind::Float);
        let (interest, weights) = self.attention.forward(&history, &candidate, &mask);
        (candidate, interest, weights)
    }
}

impl CtrModel for Din {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> Tensor {
        let (candidate, interest, _) = self.attend(b);
        // ids are shifted by one: row 0 of these tables is the unused padding row
        let user = self.user.forward(&(&b.user + 1));
        let position = self.position.forward(&(&b.position + 1));
        let mut features = vec![user, position, candidate.shallow_clone(), interest.shallow_clone(), candidate * interest];
        if let Some(extra) = &self.extra {
            features.push(extra.forward(b).flatten(1, -1));
        }
        let features = Tensor::cat(&features, -1);
        self.tower.forward_t(&features, train).squeeze_dim(-1)
    }

    fn attention(&self, b: &CtrBatch) -> Option<Tensor> {
        Some(self.attend(b).2)
    }
}
