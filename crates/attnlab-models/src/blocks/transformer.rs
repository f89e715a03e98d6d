//! The Transformer encoder of SASRec and BERT4Rec: learned positional
//! embeddings, then post-LN layers of multi-head self-attention and a GELU
//! feed-forward network, each with dropout, a residual and layer norm
//! (RecBole's `TransformerEncoder`).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::{linear_config, MultiHeadSelfAttention, SelfAttentionConfig};

/// Settings of [`TransformerEncoder`].
#[derive(Debug, Clone)]
pub struct TransformerConfig {
    pub layers: usize,
    pub heads: usize,
    /// Width of the hidden states (a multiple of `heads`).
    pub hidden: usize,
    /// Width of the feed-forward layer.
    pub inner: usize,
    /// Dropout on the embeddings, the attention weights and both sub-layer
    /// outputs (training only).
    pub dropout: f64,
    /// Position `i` attends only to positions `<= i` (SASRec); otherwise
    /// bidirectional (BERT4Rec).
    pub causal: bool,
    /// Rows of the positional table; later positions share its last row.
    pub max_positions: usize,
    /// Every weight of the encoder (and the models' item tables) starts
    /// from N(0, init_std²), biases at 0: RecBole's `initializer_range`,
    /// default 0.02. Small logits at the start, so a tied output layer
    /// begins near uniform and early epochs learn fast.
    pub init_std: f64,
}

/// The position of each item of left-padded `inputs [B, T]`, counted from
/// the row's first real item (0), so that extra left padding changes
/// nothing; clamped to `max_positions - 1`. Padding slots get 0.
pub fn positions_from_first(inputs: &Tensor, max_positions: usize) -> Tensor {
    let real = inputs.ne(0).to_kind(Kind::Int64);
    (real.cumsum(1, Kind::Int64) - 1).clamp(0, max_positions as i64 - 1)
}

fn layer_norm(p: &nn::Path, dim: usize) -> nn::LayerNorm {
    nn::layer_norm(p, vec![dim as i64], nn::LayerNormConfig { eps: 1e-12, ..Default::default() })
}

/// One post-LN Transformer layer.
#[derive(Debug)]
pub struct TransformerLayer {
    attention: MultiHeadSelfAttention,
    attention_norm: nn::LayerNorm,
    inner: nn::Linear,
    outer: nn::Linear,
    ffn_norm: nn::LayerNorm,
    dropout: f64,
}

impl TransformerLayer {
    pub fn new(p: &nn::Path, config: &TransformerConfig) -> TransformerLayer {
        let (h, i) = (config.hidden as i64, config.inner as i64);
        let attention = SelfAttentionConfig {
            heads: config.heads,
            dim: config.hidden,
            dropout: config.dropout,
            causal: config.causal,
            bias: true,
            out_projection: true,
            init_std: Some(config.init_std),
        };
        let linear = |name: &str, from: i64, to: i64| nn::linear(p / name, from, to, linear_config(true, Some(config.init_std)));
        TransformerLayer {
            attention: MultiHeadSelfAttention::new(&(p / "attention"), config.hidden, &attention),
            attention_norm: layer_norm(&(p / "attention_norm"), config.hidden),
            inner: linear("ffn_inner", h, i),
            outer: linear("ffn_outer", i, h),
            ffn_norm: layer_norm(&(p / "ffn_norm"), config.hidden),
            dropout: config.dropout,
        }
    }

    /// `x [B, T, hidden]`, `key_mask [B, T]` (non-zero = a real item).
    /// Returns the new states and the attention weights `[B, heads, T, T]`.
    pub fn forward_t(&self, x: &Tensor, key_mask: &Tensor, train: bool) -> (Tensor, Tensor) {
        let (context, weights) = self.attention.forward_t(x, Some(key_mask), train);
        let h = self.attention_norm.forward(&(x + context.dropout(self.dropout, train)));
        let f = self.outer.forward(&self.inner.forward(&h).gelu("none"));
        (self.ffn_norm.forward(&(h + f.dropout(self.dropout, train))), weights)
    }
}

/// Positional embeddings + layer norm + dropout, then the layers.
#[derive(Debug)]
pub struct TransformerEncoder {
    position: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<TransformerLayer>,
    dropout: f64,
    max_positions: usize,
}

impl TransformerEncoder {
    pub fn new(p: &nn::Path, config: &TransformerConfig) -> TransformerEncoder {
        TransformerEncoder {
            position: nn::embedding(p / "position", config.max_positions as i64, config.hidden as i64, nn::EmbeddingConfig { ws_init: config.item_init(), ..Default::default() }),
            norm: layer_norm(&(p / "norm"), config.hidden),
            layers: (0..config.layers).map(|i| TransformerLayer::new(&(p / "layer" / i), config)).collect(),
            dropout: config.dropout,
            max_positions: config.max_positions,
        }
    }

    /// `items [B, T, hidden]`: the embedded `inputs [B, T]` (left-padded
    /// ids; padding is never attended to). Returns the hidden states
    /// `[B, T, hidden]` and the last layer's attention weights
    /// `[B, heads, T, T]`.
    pub fn forward_t(&self, items: &Tensor, inputs: &Tensor, train: bool) -> (Tensor, Tensor) {
        let positions = self.position.forward(&positions_from_first(inputs, self.max_positions));
        let mut h = self.norm.forward(&(items + positions)).dropout(self.dropout, train);
        let mut weights = None;
        for layer in &self.layers {
            let (next, w) = layer.forward_t(&h, inputs, train);
            h = next;
            weights = Some(w);
        }
        (h, weights.expect("a Transformer encoder has at least one layer"))
    }
}

impl TransformerConfig {
    /// `layers` layers of width `hidden`, `heads` heads and a feed-forward
    /// of `inner`; causal, with `max_positions` positions.
    pub fn new(hidden: usize, layers: usize, heads: usize, inner: usize, dropout: f64, max_positions: usize) -> TransformerConfig {
        TransformerConfig { layers, heads, hidden, inner, dropout, causal: true, max_positions, init_std: 0.02 }
    }

    /// How the item (and position) embeddings start: N(0, init_std²).
    pub fn item_init(&self) -> nn::Init {
        nn::Init::Randn { mean: 0.0, stdev: self.init_std }
    }

    /// Range checks of the sizes and dropout, for the models' params.
    pub(crate) fn checks(&self) -> crate::registry::Checks {
        crate::registry::Checks::default()
            .size("hidden", self.hidden)
            .size("layers", self.layers)
            .size("heads", self.heads)
            .size("inner", self.inner)
            .require(self.hidden.is_multiple_of(self.heads.max(1)), || {
                format!("`hidden` ({}) must be a multiple of `heads` ({})", self.hidden, self.heads)
            })
            .dropout(self.dropout)
    }
}

/// The attention weights of each row's last query position, averaged over
/// heads: `weights [B, heads, T, T]` -> `[B, T]`.
pub fn last_position_attention(weights: &Tensor) -> Tensor {
    let t = weights.size()[2];
    weights.select(2, t - 1).mean_dim([1i64].as_slice(), false, Kind::Float)
}
