//! Factorisation machine (Rendle, ICDM 2010): a bias, a weight per id and a
//! dot product between the embeddings of every pair of fields. With the
//! pooled history as fields, `<category, history_category>` is the
//! user-interest match a linear model cannot express.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::FieldEmbedding;
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, CtrModel};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FmParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Add the mean-pooled history (items, categories) as two fields.
    /// Default true.
    pub history: bool,
}

impl Default for FmParams {
    fn default() -> Self {
        FmParams { embed_dim: 16, history: true }
    }
}

impl ModelParams for FmParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default().size("embed_dim", self.embed_dim).finish()
    }
}

#[derive(Debug)]
pub struct Fm {
    fields: FieldEmbedding,
    bias: Tensor,
}

impl Fm {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &FmParams) -> Fm {
        Fm { fields: FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, true), bias: p.zeros("bias", &[1]) }
    }
}

impl CtrModel for Fm {
    fn forward_t(&self, b: &CtrBatch, _train: bool) -> Tensor {
        self.fields.forward(b).fm_logit() + &self.bias
    }
}
