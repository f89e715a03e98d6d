//! ESMM (Ma et al., SIGIR 2018): the entire-space multi-task model. A CTR
//! tower and a CVR tower share the field embeddings; the model is trained
//! on every impression through `pCTCVR = pCTR × pCVR` (see
//! [`crate::esmm_loss`]), so pCVR never sees only the clicked, biased sample
//! and its sparse conversions borrow the embeddings the click task trains.

use serde::{Deserialize, Serialize};
use tch::nn;

use attnlab_data::Cardinalities;

use crate::blocks::{FieldEmbedding, TaskTowers};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, MultiTaskModel, Objective, TaskLogits};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsmmParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Hidden sizes of the CTR tower and of the CVR tower. Default `[64, 32]`.
    pub tower_hidden: Vec<usize>,
    /// Dropout in the towers, in [0, 1). Default 0.
    pub dropout: f64,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
}

impl Default for EsmmParams {
    fn default() -> Self {
        EsmmParams { embed_dim: 16, tower_hidden: vec![64, 32], dropout: 0.0, history: true }
    }
}

impl ModelParams for EsmmParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default().size("embed_dim", self.embed_dim).sizes("tower_hidden", &self.tower_hidden).dropout(self.dropout).finish()
    }
}

#[derive(Debug)]
pub struct Esmm {
    fields: FieldEmbedding,
    towers: TaskTowers,
}

impl Esmm {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &EsmmParams) -> Esmm {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let towers = TaskTowers::new(&(p / "towers"), fields.flat_dim(), &params.tower_hidden, params.dropout, false);
        Esmm { fields, towers }
    }
}

impl MultiTaskModel for Esmm {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> TaskLogits {
        let x = self.fields.forward(b).flat();
        self.towers.forward_t(&x, &x, train)
    }

    fn objective(&self) -> Objective {
        Objective::EntireSpace
    }
}
