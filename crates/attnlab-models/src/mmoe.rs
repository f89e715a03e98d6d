//! MMoE (Ma et al., KDD 2018): experts shared by both tasks, mixed for each
//! task by its own softmax gate, then a tower per task. An optional dwell
//! tower (`dwell_head`) reads the click gate's mix.

use serde::{Deserialize, Serialize};
use tch::nn;

use attnlab_data::Cardinalities;

use crate::blocks::{Experts, FieldEmbedding, Gate, TaskTowers};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, MultiTaskModel, TaskLogits};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MmoeParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Number of shared experts. Default 4.
    pub experts: usize,
    /// Hidden sizes of each expert (at least one; the last is its output).
    /// Default `[64]`.
    pub expert_hidden: Vec<usize>,
    /// Hidden sizes of each task tower. Default `[32]`.
    pub tower_hidden: Vec<usize>,
    /// Dropout in experts and towers, in [0, 1). Default 0.
    pub dropout: f64,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
    /// A third tower regressing `log1p(dwell seconds)` of a click (loss
    /// weight `train.task_weights.dwell`). Default false.
    pub dwell_head: bool,
}

impl Default for MmoeParams {
    fn default() -> Self {
        MmoeParams { embed_dim: 16, experts: 4, expert_hidden: vec![64], tower_hidden: vec![32], dropout: 0.0, history: true, dwell_head: false }
    }
}

impl ModelParams for MmoeParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("experts", self.experts)
            .layers("expert_hidden", &self.expert_hidden)
            .sizes("tower_hidden", &self.tower_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
pub struct Mmoe {
    fields: FieldEmbedding,
    experts: Experts,
    click_gate: Gate,
    conversion_gate: Gate,
    towers: TaskTowers,
}

impl Mmoe {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &MmoeParams) -> Mmoe {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let input = fields.flat_dim();
        let experts = Experts::new(&(p / "experts"), params.experts, input, &params.expert_hidden, params.dropout);
        Mmoe {
            click_gate: Gate::new(&(p / "gate" / "click"), input, params.experts),
            conversion_gate: Gate::new(&(p / "gate" / "conversion"), input, params.experts),
            towers: TaskTowers::new(&(p / "towers"), experts.width(), &params.tower_hidden, params.dropout, params.dwell_head),
            fields,
            experts,
        }
    }
}

impl MultiTaskModel for Mmoe {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> TaskLogits {
        let x = self.fields.forward(b).flat();
        let experts = self.experts.forward_t(&x, train);
        let (click, _) = self.click_gate.forward(&x, &experts);
        let (conversion, _) = self.conversion_gate.forward(&x, &experts);
        self.towers.forward_t(&click, &conversion, train)
    }
}
