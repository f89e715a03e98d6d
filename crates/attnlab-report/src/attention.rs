//! The attention a model paid for a few sample test users, as saved by a
//! run (`attention/sample.json`) and drawn as heatmaps in the report.
//! Defined here, beside the report that reads it, so the writer (the CLI)
//! and the reader share one format.

use serde::{Deserialize, Serialize};

/// Where the run artifact lives, relative to the run's artifact folder.
pub const ATTENTION_ARTIFACT: &str = "attention/sample.json";

/// What the weights are over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// Target attention over the user's history (DIN), or the last
    /// position's self-attention over the input sequence (SASRec).
    History,
    /// Self-attention between feature fields (AutoInt).
    Fields,
}

/// The artifact of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionSample {
    /// The model class, e.g. `DIN`.
    pub model: String,
    pub kind: AttentionKind,
    /// How the weights were obtained and normalised, for the reader.
    pub note: String,
    /// `Fields` only: the field names, the order of each user's matrix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    pub users: Vec<SampleUser>,
}

/// One sample test user and the impression (or next item) attended for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleUser {
    /// The id the run's per-user artifact uses for this user.
    #[serde(deserialize_with = "id_text")]
    pub user: String,
    /// The candidate item (DIN, AutoInt) or the held-out next item (SASRec).
    #[serde(deserialize_with = "id_text")]
    pub target_item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_category: Option<u32>,
    /// Whether the impression was clicked (click models only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked: Option<bool>,
    /// `History`: the real (non-padding) history items, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<AttendedItem>,
    /// `Fields`: `[field][field]`, row `i` how field `i` attends to each
    /// field (last layer, mean over heads); each row sums to 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_weights: Vec<Vec<f64>>,
}

/// One history item with its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendedItem {
    #[serde(deserialize_with = "id_text")]
    pub item: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<u32>,
    /// The model's own weight (DIN's are not normalised and may be negative).
    pub raw: f64,
    /// The item's share of the user's attention: the weights normalised to
    /// sum to 1 over the history (`|raw| / sum |raw|` for DIN).
    pub weight: f64,
}

/// A run's sample in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttentionRun {
    /// The run as the report names it, e.g. `din (seed 2024)`.
    pub run: String,
    pub sample: AttentionSample,
}

/// An id as text: what the data's files call it. Samples stored before ids
/// were names hold numbers, read as their decimal text.
fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(u64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(t) => t,
        Id::Number(n) => n.to_string(),
    })
}
