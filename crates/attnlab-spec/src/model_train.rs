//! Per-model training settings: a model's `train:` map, laid key by key over
//! the spec's `train:` for that model's runs (RecBole keeps a config per
//! model for the same reason: a GRU and a Transformer want other batch
//! sizes or learning rates on the same data).
//!
//! Only the training recipe can differ per model; what a process sets once
//! (device, threads, AMP, prefetch), privacy and federated training, and
//! fine-tuning stay spec-wide.

use serde_json::{Map, Value};

use crate::{ModelSpec, Spec, SpecError, TrainSpec};

/// The `train` keys a model may set for itself.
pub const PER_MODEL_KEYS: &[&str] = &[
    "epochs",
    "batch_size",
    "optimizer",
    "schedule",
    "early_stopping",
    "clip_grad_norm",
    "sequence_examples",
    "window_stride",
    "length_buckets",
    "loss",
    "target",
    "position_debias",
    "propensities",
    "task_weights",
];

impl Spec {
    /// The training settings of `model`'s runs: the spec's, with the
    /// model's own `train:` keys laid over them (nested maps such as
    /// `optimizer` key by key). Errors ([`SpecError::ModelTrain`]) name the
    /// model and the offending key.
    pub fn train_for(&self, model: &ModelSpec) -> Result<TrainSpec, SpecError> {
        let invalid = |message: String| SpecError::ModelTrain { model: model.name.clone(), message };
        if model.train.is_empty() {
            return Ok(self.train.clone());
        }
        if let Some(key) = model.train.keys().find(|k| !PER_MODEL_KEYS.contains(&k.as_str())) {
            return Err(invalid(format!("`{key}` is set for the whole spec only (a model may set {})", PER_MODEL_KEYS.join(", "))));
        }
        let mut merged = serde_json::to_value(&self.train).map_err(|e| invalid(e.to_string()))?;
        lay_over(&mut merged, &model.train);
        serde_json::from_value(merged).map_err(|e| invalid(e.to_string()))
    }
}

/// `over`'s keys replace `base`'s, maps merging recursively.
fn lay_over(base: &mut Value, over: &Map<String, Value>) {
    let Value::Object(base) = base else { return };
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(b @ Value::Object(_)), Value::Object(o)) => lay_over(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}
