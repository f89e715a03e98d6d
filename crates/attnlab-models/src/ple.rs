//! PLE (Tang et al., RecSys 2020): progressive layered extraction. Each
//! level is a customised gate control (CGC): shared experts plus experts of
//! each task; a task's gate mixes its own and the shared experts, and, below
//! the last level, a shared gate mixes all of them into the next level's
//! shared input. A tower per task reads the last level.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::{Experts, FieldEmbedding, Gate, TaskTowers};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, MultiTaskModel, TaskLogits};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PleParams {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Number of CGC levels. Default 2.
    pub levels: usize,
    /// Shared experts per level. Default 2.
    pub shared_experts: usize,
    /// Experts of each task per level. Default 2.
    pub task_experts: usize,
    /// Hidden sizes of each expert (at least one; the last is its output).
    /// Default `[32]`.
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

impl Default for PleParams {
    fn default() -> Self {
        PleParams {
            embed_dim: 16,
            levels: 2,
            shared_experts: 2,
            task_experts: 2,
            expert_hidden: vec![32],
            tower_hidden: vec![32],
            dropout: 0.0,
            history: true,
            dwell_head: false,
        }
    }
}

impl ModelParams for PleParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("levels", self.levels)
            .size("shared_experts", self.shared_experts)
            .size("task_experts", self.task_experts)
            .layers("expert_hidden", &self.expert_hidden)
            .sizes("tower_hidden", &self.tower_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

/// The three streams between levels: click, shared, conversion.
struct Streams {
    click: Tensor,
    shared: Tensor,
    conversion: Tensor,
}

/// One CGC level.
#[derive(Debug)]
struct Cgc {
    click: Experts,
    shared: Experts,
    conversion: Experts,
    click_gate: Gate,
    conversion_gate: Gate,
    /// Absent at the last level, whose shared output nothing reads.
    shared_gate: Option<Gate>,
}

impl Cgc {
    fn new(p: &nn::Path, input: usize, params: &PleParams, last: bool) -> Cgc {
        let experts = |name: &str, count| Experts::new(&(p / name), count, input, &params.expert_hidden, params.dropout);
        let (t, s) = (params.task_experts, params.shared_experts);
        Cgc {
            click: experts("click_experts", t),
            shared: experts("shared_experts", s),
            conversion: experts("conversion_experts", t),
            click_gate: Gate::new(&(p / "gate" / "click"), input, t + s),
            conversion_gate: Gate::new(&(p / "gate" / "conversion"), input, t + s),
            shared_gate: (!last).then(|| Gate::new(&(p / "gate" / "shared"), input, 2 * t + s)),
        }
    }

    fn forward_t(&self, x: &Streams, train: bool) -> Streams {
        let click = self.click.forward_t(&x.click, train);
        let shared = self.shared.forward_t(&x.shared, train);
        let conversion = self.conversion.forward_t(&x.conversion, train);
        let (click_out, _) = self.click_gate.forward(&x.click, &Tensor::cat(&[&click, &shared], 1));
        let (conversion_out, _) = self.conversion_gate.forward(&x.conversion, &Tensor::cat(&[&conversion, &shared], 1));
        let shared_out = match &self.shared_gate {
            Some(gate) => gate.forward(&x.shared, &Tensor::cat(&[&click, &shared, &conversion], 1)).0,
            // the last level: no one reads the shared stream any more
            None => x.shared.shallow_clone(),
        };
        Streams { click: click_out, shared: shared_out, conversion: conversion_out }
    }
}

#[derive(Debug)]
pub struct Ple {
    fields: FieldEmbedding,
    levels: Vec<Cgc>,
    towers: TaskTowers,
}

impl Ple {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &PleParams) -> Ple {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let width = *params.expert_hidden.last().expect("validated: at least one expert layer");
        let levels = (0..params.levels)
            .map(|i| Cgc::new(&(p / "cgc" / i), if i == 0 { fields.flat_dim() } else { width }, params, i + 1 == params.levels))
            .collect();
        let towers = TaskTowers::new(&(p / "towers"), width, &params.tower_hidden, params.dropout, params.dwell_head);
        Ple { fields, levels, towers }
    }
}

impl MultiTaskModel for Ple {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> TaskLogits {
        let x = self.fields.forward(b).flat();
        let input = Streams { click: x.shallow_clone(), shared: x.shallow_clone(), conversion: x };
        let out = self.levels.iter().fold(input, |streams, level| level.forward_t(&streams, train));
        self.towers.forward_t(&out.click, &out.conversion, train)
    }
}
