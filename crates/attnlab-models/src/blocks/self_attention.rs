use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Settings of [`MultiHeadSelfAttention`].
#[derive(Debug, Clone)]
pub struct SelfAttentionConfig {
    pub heads: usize,
    /// Width of queries, keys and values over all heads (a multiple of `heads`).
    pub dim: usize,
    /// Dropout on the attention weights (training only).
    pub dropout: f64,
    /// Position `i` attends only to positions `<= i` (sequence models).
    pub causal: bool,
    /// Biases on the query/key/value projections.
    pub bias: bool,
    /// A final `dim -> dim` linear layer mixing the heads (Transformer
    /// style); AutoInt has none.
    pub out_projection: bool,
    /// Weights drawn from N(0, std²) and zero biases (BERT-style, as
    /// RecBole's Transformers); `None`: libtorch's default initialisation.
    pub init_std: Option<f64>,
}

/// A linear layer's settings: libtorch's default initialisation, or
/// weights from N(0, std²) with zero biases.
pub fn linear_config(bias: bool, init_std: Option<f64>) -> nn::LinearConfig {
    match init_std {
        None => nn::LinearConfig { bias, ..Default::default() },
        Some(stdev) => nn::LinearConfig { bias, ws_init: nn::Init::Randn { mean: 0.0, stdev }, bs_init: Some(nn::Init::Const(0.0)) },
    }
}

/// Multi-head scaled dot-product self-attention over `[B, T, input]`.
///
/// Keys can be masked (padding) and the attention made causal. A query
/// whose every key is masked (an all-padding row, or a padded position under
/// a causal mask) gets all-zero weights and a zero context instead of the
/// NaN a softmax over `-inf` gives, in the forward and the backward pass.
#[derive(Debug)]
pub struct MultiHeadSelfAttention {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    out: Option<nn::Linear>,
    heads: i64,
    dim: i64,
    dropout: f64,
    causal: bool,
}

impl MultiHeadSelfAttention {
    pub fn new(p: &nn::Path, input: usize, config: &SelfAttentionConfig) -> MultiHeadSelfAttention {
        assert!(config.heads > 0 && config.dim % config.heads == 0, "attention dim {} not a multiple of {} heads", config.dim, config.heads);
        let (i, d) = (input as i64, config.dim as i64);
        let linear = |name: &str, from: i64, bias: bool| nn::linear(p / name, from, d, linear_config(bias, config.init_std));
        MultiHeadSelfAttention {
            query: linear("query", i, config.bias),
            key: linear("key", i, config.bias),
            value: linear("value", i, config.bias),
            out: config.out_projection.then(|| linear("out", d, true)),
            heads: config.heads as i64,
            dim: d,
            dropout: config.dropout,
            causal: config.causal,
        }
    }

    /// The boolean `[B or 1, 1, T, T]` mask of allowed (query, key) pairs,
    /// or `None` when every pair is allowed.
    fn allowed(&self, key_mask: Option<&Tensor>, t: i64, device: tch::Device) -> Option<Tensor> {
        let keys = key_mask.map(|m| {
            let b = m.size()[0];
            m.ne(0).view([b, 1, 1, t])
        });
        let causal = self.causal.then(|| Tensor::ones([t, t], (Kind::Bool, device)).tril(0).view([1, 1, t, t]));
        match (keys, causal) {
            (Some(k), Some(c)) => Some(k.logical_and(&c)),
            (k, c) => k.or(c),
        }
    }

    /// `x [B, T, input]`, `key_mask [B, T]` (non-zero = a real position).
    /// Returns the context `[B, T, dim]` and the attention weights
    /// `[B, heads, T, T]` (before dropout; masked keys weigh exactly 0).
    pub fn forward_t(&self, x: &Tensor, key_mask: Option<&Tensor>, train: bool) -> (Tensor, Tensor) {
        let (b, t) = (x.size()[0], x.size()[1]);
        let dh = self.dim / self.heads;
        let split = |y: Tensor| y.view([b, t, self.heads, dh]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let scores = q.matmul(&k.transpose(-2, -1)) / (dh as f64).sqrt();
        let weights = match self.allowed(key_mask, t, x.device()) {
            None => scores.softmax(-1, Kind::Float),
            Some(allowed) => {
                // rows with no allowed key are unmasked for the softmax (no
                // NaN anywhere) and zeroed after it
                let empty = allowed.any_dim(-1, true).logical_not();
                let open = allowed.logical_or(&empty);
                let w = scores.masked_fill(&open.logical_not(), f64::NEG_INFINITY).softmax(-1, Kind::Float);
                w * allowed.to_kind(Kind::Float)
            }
        };
        let context = weights.dropout(self.dropout, train).matmul(&v).transpose(1, 2).contiguous().view([b, t, self.dim]);
        let context = match &self.out {
            Some(out) => out.forward(&context),
            None => context,
        };
        (context, weights)
    }
}
