//! HSTU (Hierarchical Sequential Transduction Units; Zhai et al., "Actions
//! Speak Louder than Words", ICML 2024; the `generative-recommenders`
//! reference code). Each pre-norm block has one fused projection to `U, V,
//! Q, K` with SiLU, pointwise aggregated attention `silu(Q K^T + rab) / n`
//! under a causal mask (no softmax: a weight says how strongly, not only
//! how much relative to the others), and `W_o(norm(A V) * U)` plus the
//! residual; there is no separate feed-forward network. `rab`, the relative
//! attention bias, is a learned bias per distance `i - j` plus, when the
//! data has timestamps, a learned bias per log-bucketed time gap between
//! the prediction at position `i` (the time of its target) and item `j`.
//! The input is the item embedding times `sqrt(d)` plus a learned absolute
//! position, as in the reference; the output layer is the item table
//! (tied), like SASRec's.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::blocks::{last_position_attention, positions_from_first, ItemFeatures, ItemTable};
use crate::next_item::{dot_scores, full_softmax, hidden_at_targets, DotProduct, NextItemSizes};
use crate::registry::{Checks, ModelParams};
use crate::{NextItemModel, SeqBatch};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HstuParams {
    /// Width of the item embeddings and the residual stream. Default 50
    /// (the reference's ML-1M setting, as every default here).
    pub hidden: usize,
    /// HSTU blocks. Default 2.
    pub layers: usize,
    /// Attention heads. Default 1.
    pub heads: usize,
    /// Width of `Q` and `K` per head (`dqk`). Default 50.
    pub attention_dim: usize,
    /// Width of `U` and `V` per head (`dv`). Default 50.
    pub linear_dim: usize,
    /// Dropout on the input embeddings and before each block's output
    /// projection, in [0, 1). Default 0.2.
    pub dropout: f64,
    /// Add the relative-time bias (needs timestamps in the data). Default
    /// true.
    pub time_bias: bool,
    /// Log buckets of the time gap (the reference's 128); gaps beyond the
    /// last share it.
    pub time_buckets: usize,
}

impl Default for HstuParams {
    fn default() -> Self {
        HstuParams { hidden: 50, layers: 2, heads: 1, attention_dim: 50, linear_dim: 50, dropout: 0.2, time_bias: true, time_buckets: 128 }
    }
}

impl ModelParams for HstuParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("hidden", self.hidden)
            .size("layers", self.layers)
            .size("heads", self.heads)
            .size("attention_dim", self.attention_dim)
            .size("linear_dim", self.linear_dim)
            .size("time_buckets", self.time_buckets)
            .dropout(self.dropout)
            .finish()
    }

    fn time_key(&self) -> Option<&'static str> {
        self.time_bias.then_some("time_bias")
    }
}

/// The reference's initialisation of embeddings and projections.
const INIT: nn::Init = nn::Init::Randn { mean: 0.0, stdev: 0.02 };
const NORM_EPS: f64 = 1e-6;

/// Layer norm without learned scale or shift (the reference's
/// `F.layer_norm` with no weights).
fn plain_norm(x: &Tensor) -> Tensor {
    let d = *x.size().last().expect("a tensor with a last axis");
    x.layer_norm([d].as_slice(), None::<&Tensor>, None::<&Tensor>, NORM_EPS, false)
}

/// The time bucket of a gap of `diff` seconds (any integer kind):
/// `floor(ln(max(|diff|, 1)) / 0.301)`, clamped to `0..=buckets` (the
/// reference's bucketization: about 3.3 buckets per factor of 10).
pub(crate) fn time_bucket(diff: &Tensor, buckets: usize) -> Tensor {
    (diff.to_kind(Kind::Double).abs().clamp_min(1.0).log() / 0.301).floor().to_kind(Kind::Int64).clamp(0, buckets as i64)
}

/// The relative attention bias `rab [B or 1, T, T]`: a learned weight per
/// distance `i - j` (query `i`, key `j`; distances beyond the table share
/// its last entry) plus, with timestamps, one per time bucket of
/// `t_{i+1} - t_j`.
#[derive(Debug)]
pub(crate) struct RelativeBias {
    pub(crate) position: Tensor,
    pub(crate) time: Option<Tensor>,
    buckets: usize,
}

impl RelativeBias {
    fn new(p: &nn::Path, max_len: usize, time_buckets: Option<usize>) -> RelativeBias {
        RelativeBias {
            position: p.var("position", &[max_len.max(1) as i64], INIT),
            time: time_buckets.map(|b| p.var("time", &[b as i64 + 1], INIT)),
            buckets: time_buckets.unwrap_or(0),
        }
    }

    /// `rab` for `t` positions; `timestamps [B, T + 1]` as
    /// [`SeqBatch::timestamps`] (the time term is left out without them).
    pub(crate) fn forward(&self, t: i64, timestamps: Option<&Tensor>) -> Tensor {
        let device = self.position.device();
        let index = Tensor::arange(t, (Kind::Int64, device));
        let distance = (index.unsqueeze(1) - index.unsqueeze(0)).clamp(0, self.position.size()[0] - 1);
        let position = self.position.index_select(0, &distance.view([-1])).view([1, t, t]);
        match (&self.time, timestamps) {
            (Some(w), Some(ts)) => {
                let b = ts.size()[0];
                let query = ts.narrow(1, 1, t).unsqueeze(2);
                let key = ts.narrow(1, 0, t).unsqueeze(1);
                let bucket = time_bucket(&(query - key), self.buckets);
                position + w.index_select(0, &bucket.view([-1])).view([b, t, t])
            }
            _ => position,
        }
    }
}

/// One HSTU block.
#[derive(Debug)]
pub(crate) struct HstuBlock {
    /// `[hidden, heads * (2 dv + 2 dqk)]`, no bias: `U, V, Q, K` in that order.
    pub(crate) uvqk: Tensor,
    pub(crate) out: nn::Linear,
    heads: i64,
    dqk: i64,
    dv: i64,
    /// `n` of `silu(.) / n`: the longest sequence the model is built for.
    scale: f64,
    dropout: f64,
}

impl HstuBlock {
    fn new(p: &nn::Path, params: &HstuParams, max_len: usize) -> HstuBlock {
        let (d, h) = (params.hidden as i64, params.heads as i64);
        let (dqk, dv) = (params.attention_dim as i64, params.linear_dim as i64);
        // Xavier-uniform, as the reference's output projection
        let bound = (6.0 / (h * dv + d) as f64).sqrt();
        let out = nn::linear(p / "out", h * dv, d, nn::LinearConfig { ws_init: nn::Init::Uniform { lo: -bound, up: bound }, ..Default::default() });
        HstuBlock {
            uvqk: p.var("uvqk", &[d, h * (2 * dv + 2 * dqk)], INIT),
            out,
            heads: h,
            dqk,
            dv,
            scale: max_len.max(1) as f64,
            dropout: params.dropout,
        }
    }

    /// `x [B, T, hidden]`, `allowed [B, 1, T, T]` (bool: query `i` may read
    /// key `j`), `rab [B or 1, T, T]`. Returns the new states and the
    /// attention weights `[B, heads, T, T]` (exactly 0 where not allowed).
    pub(crate) fn forward_t(&self, x: &Tensor, allowed: &Tensor, rab: &Tensor, train: bool) -> (Tensor, Tensor) {
        let (b, t) = (x.size()[0], x.size()[1]);
        let (h, dqk, dv) = (self.heads, self.dqk, self.dv);
        let uvqk = plain_norm(x).matmul(&self.uvqk).silu();
        let parts = uvqk.split_with_sizes([h * dv, h * dv, h * dqk, h * dqk].as_slice(), -1);
        let heads = |y: &Tensor, w: i64| y.view([b, t, h, w]).transpose(1, 2);
        let (u, v, q, k) = (&parts[0], heads(&parts[1], dv), heads(&parts[2], dqk), heads(&parts[3], dqk));
        let scores = q.matmul(&k.transpose(-2, -1)) + rab.unsqueeze(1);
        let weights = scores.silu() / self.scale * allowed.to_kind(scores.kind());
        let context = weights.matmul(&v).transpose(1, 2).contiguous().view([b, t, h * dv]);
        let gated = u * plain_norm(&context);
        (self.out.forward(&gated.dropout(self.dropout, train)) + x, weights)
    }
}

#[derive(Debug)]
pub struct Hstu {
    item: ItemTable,
    position: nn::Embedding,
    pub(crate) bias: RelativeBias,
    pub(crate) blocks: Vec<HstuBlock>,
    hidden: usize,
    max_len: usize,
    dropout: f64,
}

impl Hstu {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &HstuParams) -> Hstu {
        let (d, n) = (params.hidden, sizes.max_len.max(1));
        let stdev = (1.0 / d as f64).sqrt(); // the reference's positional init
        Hstu {
            item: ItemTable::new(&(p / "item"), sizes.items, d, INIT, features),
            position: nn::embedding(p / "position", n as i64, d as i64, nn::EmbeddingConfig { ws_init: nn::Init::Randn { mean: 0.0, stdev }, ..Default::default() }),
            bias: RelativeBias::new(&(p / "bias"), n, params.time_bias.then_some(params.time_buckets)),
            blocks: (0..params.layers).map(|i| HstuBlock::new(&(p / "block" / i), params, n)).collect(),
            hidden: d,
            max_len: n,
            dropout: params.dropout,
        }
    }

    /// Hidden states `[B, T, hidden]` (zero under padding) and the last
    /// block's attention weights `[B, heads, T, T]`.
    pub(crate) fn encode(&self, inputs: &Tensor, timestamps: Option<&Tensor>, train: bool) -> (Tensor, Tensor) {
        let t = inputs.size()[1];
        let real = inputs.ne(0);
        let keep = real.unsqueeze(-1).to_kind(Kind::Float);
        let x = self.item.forward(inputs) * (self.hidden as f64).sqrt() + self.position.forward(&positions_from_first(inputs, self.max_len));
        let mut x = x.dropout(self.dropout, train) * &keep;
        let causal = Tensor::ones([t, t], (Kind::Bool, inputs.device())).tril(0);
        let allowed = causal.view([1, 1, t, t]).logical_and(&real.view([-1, 1, 1, t]));
        let rab = self.bias.forward(t, timestamps);
        let mut weights = None;
        for block in &self.blocks {
            let (next, w) = block.forward_t(&x, &allowed, &rab, train);
            x = next * &keep;
            weights = Some(w);
        }
        (x, weights.expect("HSTU has at least one block"))
    }
}

impl DotProduct for Hstu {
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        hidden_at_targets(&self.encode(&batch.inputs, batch.timestamps.as_ref(), train).0, &batch.targets)
    }

    fn queries(&self, _users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor {
        let (hidden, _) = self.encode(inputs, timestamps, false);
        let t = hidden.size()[1];
        hidden.select(1, t - 1)
    }

    fn item_table(&self) -> Tensor {
        self.item.table()
    }
}

impl NextItemModel for Hstu {
    /// Cross entropy over the whole catalogue at every target (SASRec's
    /// objective); `train.loss` gives the reference's sampled softmax.
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor {
        full_softmax(self, batch, train)
    }

    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        self.score_at(users, inputs, None)
    }

    fn score_at(&self, users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor {
        dot_scores(self, users, inputs, timestamps)
    }

    fn attention(&self, inputs: &Tensor) -> Option<Tensor> {
        self.attention_at(inputs, None)
    }

    /// The last position's pointwise weights `silu(q k + rab) / n`, averaged
    /// over heads: unlike a softmax they do not sum to 1 and may be
    /// slightly negative (SiLU's minimum is about -0.28 / n).
    fn attention_at(&self, inputs: &Tensor, timestamps: Option<&Tensor>) -> Option<Tensor> {
        Some(last_position_attention(&self.encode(inputs, timestamps, false).1))
    }

    fn reads_time(&self) -> bool {
        self.bias.time.is_some()
    }

    fn dot_product(&self) -> Option<&dyn DotProduct> {
        Some(self)
    }

    fn trims_padding(&self) -> bool {
        true
    }
}
