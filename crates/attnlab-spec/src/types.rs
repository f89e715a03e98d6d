//! The typed spec. Every struct denies unknown fields; defaults are the values
//! a first experiment should use.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub dataset: DatasetSpec,
    #[serde(default)]
    pub protocol: ProtocolSpec,
    #[serde(default)]
    pub train: TrainSpec,
    pub models: Vec<ModelSpec>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
}

fn default_seeds() -> Vec<u64> {
    vec![2024]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The embedded attention-market simulator.
    Simulator,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    pub source: DataSource,
    /// Seed of the data itself; training seeds are `seeds:`.
    #[serde(default = "default_data_seed")]
    pub seed: u64,
    #[serde(default)]
    pub simulator: SimulatorSpec,
}

fn default_data_seed() -> u64 {
    7
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSpec {
    #[serde(deserialize_with = "at_least_one")]
    pub users: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub items: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub topics: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub sessions_per_user: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub slots: u64,
    /// How sharply a user's interest concentrates on few topics (higher = sharper).
    #[serde(deserialize_with = "positive_f64")]
    pub interest_sharpness: f64,
}

impl Default for SimulatorSpec {
    fn default() -> Self {
        SimulatorSpec { users: 1500, items: 600, topics: 12, sessions_per_user: 12, slots: 8, interest_sharpness: 3.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Impressions ordered by time; the earliest fractions train, then valid, then test.
    Temporal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolSpec {
    pub split: SplitKind,
    /// Train / valid / test fractions; must sum to 1.
    pub ratios: [f64; 3],
    /// How many of a user's most recent clicked items form the behaviour history.
    #[serde(deserialize_with = "at_least_one")]
    pub history_len: u64,
    pub metrics: Vec<String>,
    pub valid_metric: String,
}

impl Default for ProtocolSpec {
    fn default() -> Self {
        ProtocolSpec {
            split: SplitKind::Temporal,
            ratios: [0.8, 0.1, 0.1],
            history_len: 20,
            metrics: vec!["auc".into(), "gauc".into(), "logloss".into()],
            valid_metric: "auc".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    #[serde(deserialize_with = "at_least_one")]
    pub epochs: u64,
    #[serde(deserialize_with = "at_least_one")]
    pub batch_size: u64,
    pub optimizer: OptimizerSpec,
    pub early_stopping: EarlyStoppingSpec,
    /// `auto`, `cpu` or `cuda:N`.
    pub device: String,
    /// Torch intra-op threads; unset = all cores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
}

impl Default for TrainSpec {
    fn default() -> Self {
        TrainSpec {
            epochs: 10,
            batch_size: 1024,
            optimizer: OptimizerSpec::default(),
            early_stopping: EarlyStoppingSpec::default(),
            device: "auto".into(),
            threads: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    Adam,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSpec {
    pub name: OptimizerName,
    #[serde(deserialize_with = "positive_f64")]
    pub lr: f64,
    #[serde(deserialize_with = "non_negative_f64")]
    pub weight_decay: f64,
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        OptimizerSpec { name: OptimizerName::Adam, lr: 1e-3, weight_decay: 0.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EarlyStoppingSpec {
    /// Epochs without improvement of the valid metric before stopping.
    pub patience: u64,
}

impl Default for EarlyStoppingSpec {
    fn default() -> Self {
        EarlyStoppingSpec { patience: 3 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The run name in tables and reports (unique within the spec).
    pub name: String,
    /// The registry name of the architecture, e.g. `LR`, `DIN`.
    pub model: String,
    /// Architecture parameters; checked by the model registry.
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v == 0 {
        return Err(serde::de::Error::custom("must be at least 1"));
    }
    Ok(v)
}

fn positive_f64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v > 0.0) {
        return Err(serde::de::Error::custom(format!("must be a finite number > 0, got {v}")));
    }
    Ok(v)
}

fn non_negative_f64<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v >= 0.0) {
        return Err(serde::de::Error::custom(format!("must be a finite number >= 0, got {v}")));
    }
    Ok(v)
}
