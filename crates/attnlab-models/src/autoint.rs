//! AutoInt (Song et al., CIKM 2019): the feature fields attend to each other
//! through stacked interacting layers, multi-head self-attention with a
//! residual projection and ReLU,
//! `h' = ReLU(MHSA(h) + W_res h)`; the final field vectors are concatenated
//! into the logit. With `mlp_hidden` non-empty an MLP over the raw field
//! embeddings adds its logit (AutoInt+). The fields have no padding (an
//! empty history is a zero field, not a masked one), so no key is masked.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::{FieldEmbedding, Mlp, MultiHeadSelfAttention, SelfAttentionConfig};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, CtrModel, FieldAttention};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutoIntParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Number of interacting (self-attention) layers. Default 2.
    pub layers: usize,
    /// Attention heads per layer. Default 2.
    pub heads: usize,
    /// Width of a field's vector after each layer, over all heads (a
    /// multiple of `heads`). Default 32.
    pub attention_dim: usize,
    /// Dropout on attention weights and in the MLP, in [0, 1). Default 0.
    pub dropout: f64,
    /// Hidden sizes of the optional MLP beside the attention (AutoInt+);
    /// empty = plain AutoInt. Default `[]`.
    pub mlp_hidden: Vec<usize>,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
}

impl Default for AutoIntParams {
    fn default() -> Self {
        AutoIntParams { embed_dim: 16, layers: 2, heads: 2, attention_dim: 32, dropout: 0.0, mlp_hidden: vec![], history: true }
    }
}

impl ModelParams for AutoIntParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("layers", self.layers)
            .size("heads", self.heads)
            .size("attention_dim", self.attention_dim)
            .require(self.attention_dim % self.heads.max(1) == 0, || {
                format!("`attention_dim` ({}) must be a multiple of `heads` ({})", self.attention_dim, self.heads)
            })
            .sizes("mlp_hidden", &self.mlp_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
struct InteractingLayer {
    attention: MultiHeadSelfAttention,
    residual: nn::Linear,
}

#[derive(Debug)]
pub struct AutoInt {
    fields: FieldEmbedding,
    layers: Vec<InteractingLayer>,
    logit: nn::Linear,
    deep: Option<Mlp>,
}

impl AutoInt {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &AutoIntParams) -> AutoInt {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let config = SelfAttentionConfig {
            heads: params.heads,
            dim: params.attention_dim,
            dropout: params.dropout,
            causal: false,
            bias: false,
            out_projection: false,
            init_std: None,
        };
        let no_bias = nn::LinearConfig { bias: false, ..Default::default() };
        let layers = (0..params.layers)
            .map(|i| {
                let q = p / "interacting" / i;
                let input = if i == 0 { params.embed_dim } else { params.attention_dim };
                InteractingLayer {
                    attention: MultiHeadSelfAttention::new(&(&q / "attention"), input, &config),
                    residual: nn::linear(&q / "residual", input as i64, params.attention_dim as i64, no_bias),
                }
            })
            .collect();
        let width = (fields.num_fields() * params.attention_dim) as i64;
        let deep = (!params.mlp_hidden.is_empty()).then(|| Mlp::new(&(p / "deep"), fields.flat_dim(), &params.mlp_hidden, 1, params.dropout));
        AutoInt { logit: nn::linear(p / "logit", width, 1, Default::default()), fields, layers, deep }
    }

    /// Logits `[B]` and each layer's attention weights `[B, heads, F, F]`.
    fn run(&self, b: &CtrBatch, train: bool) -> (Tensor, Vec<Tensor>) {
        let fields = self.fields.forward(b);
        let mut weights = Vec::with_capacity(self.layers.len());
        let mut h = fields.embeddings.shallow_clone();
        for layer in &self.layers {
            let (context, w) = layer.attention.forward_t(&h, None, train);
            h = (context + layer.residual.forward(&h)).relu();
            weights.push(w);
        }
        let mut logit = self.logit.forward(&h.flatten(1, -1));
        if let Some(deep) = &self.deep {
            logit = logit + deep.forward_t(&fields.flat(), train);
        }
        (logit.squeeze_dim(-1), weights)
    }
}

impl CtrModel for AutoInt {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> Tensor {
        self.run(b, train).0
    }

    fn field_attention(&self, b: &CtrBatch) -> Option<FieldAttention> {
        let weights = self.run(b, false).1;
        Some(FieldAttention { fields: self.fields.names(), weights: Tensor::stack(&weights, 0) })
    }
}
