//! The settings of the file sources beyond RecBole atomic files and click
//! logs: MovieLens raw downloads and attention logs.

use serde::{Deserialize, Serialize};

/// `dataset.movielens`: which MovieLens release's layout `dataset.path`
/// holds. Optional: by default the layout is detected from the file names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MovieLensSpec {
    pub format: MovieLensLayout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MovieLensLayout {
    /// The first of `u.data`, `ratings.dat`, `ratings.csv` found in the folder.
    #[default]
    Auto,
    /// ML-100K: `u.data` (tab-separated), `u.user`, `u.item` (`|`).
    #[serde(rename = "ml-100k")]
    Ml100k,
    /// ML-1M and ML-10M: `ratings.dat`, `users.dat`, `movies.dat` (`::`).
    #[serde(rename = "ml-1m")]
    Ml1m,
    /// ML-20M, ML-25M and the "latest" releases: `ratings.csv` with its
    /// header `userId,movieId,rating,timestamp`.
    #[serde(rename = "ml-20m")]
    Ml20m,
}

/// `dataset.attention_log`: a CSV in the attention-log format (the one
/// `attnlab data simulate` writes) and what its events become.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttentionLogSpec {
    /// The log file inside `dataset.path`.
    pub file: String,
    /// `impressions` (default): every `impression` row is one example,
    /// labelled by the click, cart and purchase rows of its user, item and
    /// position, for CTR and multi-task models. `interactions`: the rows of
    /// `events` become interactions for next-item models.
    #[serde(default)]
    pub kind: AttentionLogKind,
    /// With `kind: interactions`, the events that count as interactions.
    #[serde(default = "default_events", skip_serializing_if = "is_default_events")]
    pub events: Vec<LogEvent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttentionLogKind {
    #[default]
    Impressions,
    Interactions,
}

/// An event of the attention-log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogEvent {
    Impression,
    Click,
    Cart,
    Purchase,
}

fn default_events() -> Vec<LogEvent> {
    vec![LogEvent::Click]
}

fn is_default_events(events: &[LogEvent]) -> bool {
    events == [LogEvent::Click]
}
