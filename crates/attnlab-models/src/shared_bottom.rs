//! Shared-Bottom (Caruana, 1997): one MLP over the field embeddings shared
//! by both tasks, then a click tower and a conversion tower. The baseline of
//! the multi-task models; pCVR is trained on clicked impressions. An
//! optional dwell tower (`dwell_head`) reads the shared bottom too.

use serde::{Deserialize, Serialize};
use tch::nn;

use attnlab_data::Cardinalities;

use crate::blocks::{Experts, FieldEmbedding, TaskTowers};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, MultiTaskModel, TaskLogits};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SharedBottomParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Hidden sizes of the shared bottom MLP (at least one). Default `[64]`.
    pub bottom_hidden: Vec<usize>,
    /// Hidden sizes of each task tower. Default `[32]`.
    pub tower_hidden: Vec<usize>,
    /// Dropout in the MLPs, in [0, 1). Default 0.
    pub dropout: f64,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
    /// A third tower regressing `log1p(dwell seconds)` of a click (loss
    /// weight `train.task_weights.dwell`). Default false.
    pub dwell_head: bool,
}

impl Default for SharedBottomParams {
    fn default() -> Self {
        SharedBottomParams { embed_dim: 16, bottom_hidden: vec![64], tower_hidden: vec![32], dropout: 0.0, history: true, dwell_head: false }
    }
}

impl ModelParams for SharedBottomParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .layers("bottom_hidden", &self.bottom_hidden)
            .sizes("tower_hidden", &self.tower_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
pub struct SharedBottom {
    fields: FieldEmbedding,
    /// The bottom is a single expert without a gate.
    bottom: Experts,
    towers: TaskTowers,
}

impl SharedBottom {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &SharedBottomParams) -> SharedBottom {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let bottom = Experts::new(&(p / "bottom"), 1, fields.flat_dim(), &params.bottom_hidden, params.dropout);
        let towers = TaskTowers::new(&(p / "towers"), bottom.width(), &params.tower_hidden, params.dropout, params.dwell_head);
        SharedBottom { fields, bottom, towers }
    }
}

impl MultiTaskModel for SharedBottom {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> TaskLogits {
        let shared = self.bottom.forward_t(&self.fields.forward(b).flat(), train).select(1, 0);
        self.towers.forward_t(&shared, &shared, train)
    }
}
