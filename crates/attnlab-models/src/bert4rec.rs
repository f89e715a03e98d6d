//! BERT4Rec (Sun et al., CIKM 2019): a bidirectional Transformer trained
//! to recover masked items (the cloze task). Item id `items` is `[MASK]`
//! (one extra embedding row). A training sequence is the input followed by
//! its next item (shifted left to keep length `T`); each real item is
//! masked with probability `mask_prob` and, with `mask_last`, the last item
//! always is (the paper's extra samples that mask only the last item, which
//! match the prediction task). To score, `[MASK]` is appended after the
//! sequence the same way and its output ranks the catalogue. Output layer:
//! a GELU dense layer with layer norm, then the item embeddings (tied) plus
//! a bias per item, as in RecBole.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::blocks::{last_position_attention, linear_config, ItemFeatures, ItemTable, TransformerConfig, TransformerEncoder};
use crate::next_item::{cross_entropy, last_target, DotProduct, NextItemSizes};
use crate::registry::ModelParams;
use crate::{NextItemModel, SeqBatch};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bert4RecParams {
    /// The Transformer's sizes, as SASRec's: `hidden` 64 (item embeddings
    /// and states), `layers` 2, `heads` 2 (`hidden` a multiple of it),
    /// `inner` 256 (feed-forward width).
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub inner: usize,
    /// Dropout on embeddings, attention weights and sub-layer outputs, in
    /// [0, 1). Default 0.2 (RecBole).
    pub dropout: f64,
    /// Probability that a real item of a training sequence is masked, in
    /// (0, 1]. Default 0.2 (RecBole's `mask_ratio`).
    pub mask_prob: f64,
    /// Always mask the last item of a training sequence. Default true.
    pub mask_last: bool,
}

impl Default for Bert4RecParams {
    fn default() -> Self {
        Bert4RecParams { hidden: 64, layers: 2, heads: 2, inner: 256, dropout: 0.2, mask_prob: 0.2, mask_last: true }
    }
}

impl Bert4RecParams {
    fn config(&self, max_len: usize) -> TransformerConfig {
        let causal = false; // every position sees the whole sequence
        TransformerConfig { causal, ..TransformerConfig::new(self.hidden, self.layers, self.heads, self.inner, self.dropout, max_len) }
    }
}

impl ModelParams for Bert4RecParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        self.config(1)
            .checks()
            .require(self.mask_prob > 0.0 && self.mask_prob <= 1.0, || format!("`mask_prob` must be in (0, 1], got {}", self.mask_prob))
            .finish()
    }
}

#[derive(Debug)]
pub struct Bert4Rec {
    /// `items + 1` rows: PAD, the items, `[MASK]`.
    item: ItemTable,
    encoder: TransformerEncoder,
    dense: nn::Linear,
    norm: nn::LayerNorm,
    bias: Tensor,
    items: i64,
    mask_prob: f64,
    mask_last: bool,
}

impl Bert4Rec {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &Bert4RecParams) -> Bert4Rec {
        let h = params.hidden as i64;
        let config = params.config(sizes.max_len);
        Bert4Rec {
            item: ItemTable::new(&(p / "item"), sizes.items + 1, params.hidden, config.item_init(), features),
            encoder: TransformerEncoder::new(&(p / "encoder"), &config),
            dense: nn::linear(p / "output_dense", h, h, linear_config(true, Some(config.init_std))),
            norm: nn::layer_norm(p / "output_norm", vec![h], nn::LayerNormConfig { eps: 1e-12, ..Default::default() }),
            bias: p.zeros("output_bias", &[sizes.items as i64]),
            items: sizes.items as i64,
            mask_prob: params.mask_prob,
            mask_last: params.mask_last,
        }
    }

    /// `sequence [B, T-1]` followed by `last [B, 1]`: `[B, T]`.
    fn shifted(inputs: &Tensor, last: &Tensor) -> Tensor {
        let t = inputs.size()[1];
        Tensor::cat(&[inputs.narrow(1, 1, t - 1), last.shallow_clone()], 1)
    }

    fn encode(&self, inputs: &Tensor, train: bool) -> (Tensor, Tensor) {
        self.encoder.forward_t(&self.item.forward(inputs), inputs, train)
    }

    /// The output transform of hidden states `[N, hidden]`: the vectors
    /// scored against the item table.
    fn transform(&self, hidden: &Tensor) -> Tensor {
        self.norm.forward(&self.dense.forward(hidden).gelu("none"))
    }

    /// Item logits `[N, items]` of hidden states `[N, hidden]`.
    fn logits(&self, hidden: &Tensor) -> Tensor {
        self.transform(hidden).matmul(&self.item_table().tr()) + &self.bias
    }

    /// The masked training sequence of a batch: hidden states at its masked
    /// positions `[N, hidden]` and the items they must recover `[N]`.
    fn masked_hidden(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        let full = Self::shifted(&batch.inputs, &last_target(&batch.targets));
        let (b, t) = (full.size()[0], full.size()[1]);
        let real = full.ne(0);
        let mut masked = Tensor::rand([b, t], (Kind::Float, full.device())).lt(self.mask_prob);
        if self.mask_last {
            let last = Tensor::arange(t, (Kind::Int64, full.device())).eq(t - 1).unsqueeze(0);
            masked = masked.logical_or(&last);
        }
        let masked = masked.logical_and(&real);
        let (hidden, _) = self.encode(&full.masked_fill(&masked, self.items), train);
        let keep = masked.view([-1]).nonzero().view([-1]);
        (hidden.view([b * t, -1]).index_select(0, &keep), full.view([-1]).index_select(0, &keep))
    }

    /// `inputs` shifted left with `[MASK]` appended.
    fn with_mask(&self, inputs: &Tensor) -> Tensor {
        Self::shifted(inputs, &inputs.narrow(1, 0, 1).full_like(self.items))
    }
}

impl NextItemModel for Bert4Rec {
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor {
        let (hidden, targets) = self.masked_hidden(batch, train);
        cross_entropy(&self.logits(&hidden), &targets, batch.held_out.as_ref())
    }

    fn dot_product(&self) -> Option<&dyn DotProduct> {
        Some(self)
    }

    fn score(&self, _users: &Tensor, inputs: &Tensor) -> Tensor {
        let (hidden, _) = self.encode(&self.with_mask(inputs), false);
        let t = hidden.size()[1];
        self.logits(&hidden.select(1, t - 1))
    }

    /// How `[MASK]` attends to the input positions (the oldest input is
    /// shifted out and weighs 0; the weight on `[MASK]` itself is left out).
    fn attention(&self, inputs: &Tensor) -> Option<Tensor> {
        let weights = last_position_attention(&self.encode(&self.with_mask(inputs), false).1);
        let t = weights.size()[1];
        Some(Tensor::cat(&[weights.zeros_like().narrow(1, 0, 1), weights.narrow(1, 0, t - 1)], 1))
    }
}

/// The cloze task's queries: the output transform at the masked positions
/// (the per-item output bias is the own objective's only; a sampled
/// softmax leaves it out).
impl DotProduct for Bert4Rec {
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        let (hidden, targets) = self.masked_hidden(batch, train);
        (self.transform(&hidden), targets)
    }

    fn queries(&self, _users: &Tensor, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        let (hidden, _) = self.encode(&self.with_mask(inputs), false);
        let t = hidden.size()[1];
        self.transform(&hidden.select(1, t - 1))
    }

    /// The real items' rows (`[MASK]` is never a candidate).
    fn item_table(&self) -> Tensor {
        self.item.table().narrow(0, 0, self.items)
    }
}
