//! SASRec (Kang & McAuley, ICDM 2018): a causal Transformer over the item
//! sequence. Trained with cross entropy over the whole catalogue at every
//! position that has a target (position `t` predicts the item after it;
//! the trainer's windows give many positions one, a prefix its last); the
//! output layer is the item embedding table (tied). Hyper-parameter
//! defaults and the N(0, 0.02) initialisation are RecBole's.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use crate::blocks::{last_position_attention, ItemFeatures, ItemTable, TransformerConfig, TransformerEncoder};
use crate::next_item::{dot_scores, full_softmax, hidden_at_targets, DotProduct, NextItemSizes};
use crate::registry::ModelParams;
use crate::{NextItemModel, SeqBatch};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SasRecParams {
    /// Width of item embeddings and hidden states. Default 64.
    pub hidden: usize,
    /// Transformer layers. Default 2.
    pub layers: usize,
    /// Attention heads (`hidden` must be a multiple). Default 2.
    pub heads: usize,
    /// Width of the feed-forward layer. Default 256.
    pub inner: usize,
    /// Dropout on embeddings, attention weights and sub-layer outputs
    /// (RecBole's `hidden_dropout_prob` and `attn_dropout_prob`), in [0, 1).
    /// Default 0.5.
    pub dropout: f64,
}

impl Default for SasRecParams {
    fn default() -> Self {
        SasRecParams { hidden: 64, layers: 2, heads: 2, inner: 256, dropout: 0.5 }
    }
}

impl SasRecParams {
    fn config(&self, max_len: usize) -> TransformerConfig {
        TransformerConfig::new(self.hidden, self.layers, self.heads, self.inner, self.dropout, max_len)
    }
}

impl ModelParams for SasRecParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        self.config(1).checks().finish()
    }
}

#[derive(Debug)]
pub struct SasRec {
    item: ItemTable,
    encoder: TransformerEncoder,
}

impl SasRec {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &SasRecParams) -> SasRec {
        let config = params.config(sizes.max_len);
        SasRec {
            item: ItemTable::new(&(p / "item"), sizes.items, params.hidden, config.item_init(), features),
            encoder: TransformerEncoder::new(&(p / "encoder"), &config),
        }
    }

    /// Hidden states `[B, T, hidden]` and last-layer weights.
    fn encode(&self, inputs: &Tensor, train: bool) -> (Tensor, Tensor) {
        self.encoder.forward_t(&self.item.forward(inputs), inputs, train)
    }
}

impl DotProduct for SasRec {
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        hidden_at_targets(&self.encode(&batch.inputs, train).0, &batch.targets)
    }

    fn queries(&self, _users: &Tensor, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        let (hidden, _) = self.encode(inputs, false);
        let t = hidden.size()[1];
        hidden.select(1, t - 1)
    }

    fn item_table(&self) -> Tensor {
        self.item.table()
    }
}

impl NextItemModel for SasRec {
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor {
        full_softmax(self, batch, train)
    }

    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        dot_scores(self, users, inputs, None)
    }

    fn attention(&self, inputs: &Tensor) -> Option<Tensor> {
        Some(last_position_attention(&self.encode(inputs, false).1))
    }

    fn dot_product(&self) -> Option<&dyn DotProduct> {
        Some(self)
    }

    fn trims_padding(&self) -> bool {
        true
    }
}
