//! DeepFM (Guo et al., IJCAI 2017): a factorisation machine and an MLP read
//! the same field embeddings; their logits add up.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::{FieldEmbedding, Mlp};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, CtrModel};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeepFmParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Hidden sizes of the deep tower. Default `[64, 32]`.
    pub mlp_hidden: Vec<usize>,
    /// Dropout in the deep tower, in [0, 1). Default 0.
    pub dropout: f64,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
}

impl Default for DeepFmParams {
    fn default() -> Self {
        DeepFmParams { embed_dim: 16, mlp_hidden: vec![64, 32], dropout: 0.0, history: true }
    }
}

impl ModelParams for DeepFmParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default().size("embed_dim", self.embed_dim).sizes("mlp_hidden", &self.mlp_hidden).dropout(self.dropout).finish()
    }
}

#[derive(Debug)]
pub struct DeepFm {
    fields: FieldEmbedding,
    /// Its last layer's bias is the model's global bias.
    deep: Mlp,
}

impl DeepFm {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &DeepFmParams) -> DeepFm {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, true);
        let width = fields.num_fields() * params.embed_dim;
        DeepFm { deep: Mlp::new(&(p / "deep"), width, &params.mlp_hidden, 1, params.dropout), fields }
    }
}

impl CtrModel for DeepFm {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> Tensor {
        let fields = self.fields.forward(b);
        fields.fm_logit() + self.deep.forward_t(&fields.flat(), train).squeeze_dim(-1)
    }
}
