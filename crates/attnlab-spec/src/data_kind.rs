//! What kind of data a spec's source gives, and the protocol a spec gets
//! for it when it leaves `protocol` keys unset: interactions are ranked
//! (leave-one-out by time, full ranking, top-10 ranking metrics), impressions
//! are classified (temporal 8:1:1, AUC, GAUC, log loss). The defaults are
//! filled into the merged YAML tree before the typed parse, so a minimal
//! spec (`name` + `dataset`) resolves to a complete, valid protocol, and
//! `explain` can say which values the data kind chose.

use serde_yaml::Value;

use crate::{AttentionLogKind, DataSource, DatasetSpec};

/// The two shapes of data attnlab trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// One row per (user, item) interaction: next-item and general
    /// recommenders, ranking metrics.
    Interactions,
    /// One row per impression with click (and conversion) labels: CTR and
    /// multi-task models, classification metrics.
    Impressions,
}

impl DataKind {
    pub fn name(self) -> &'static str {
        match self {
            DataKind::Interactions => "interactions",
            DataKind::Impressions => "impressions",
        }
    }

    /// The `protocol` keys this kind sets when a spec leaves them out, as
    /// YAML text.
    pub fn protocol_defaults(self) -> &'static [(&'static str, &'static str)] {
        match self {
            DataKind::Interactions => &[
                ("split", "leave-one-out"),
                ("order", "time"),
                ("metrics", "[recall@10, ndcg@10, mrr@10, hit@10]"),
                ("valid_metric", "ndcg@10"),
            ],
            DataKind::Impressions => &[
                ("split", "temporal"),
                ("ratios", "[0.8, 0.1, 0.1]"),
                ("metrics", "[auc, gauc, logloss]"),
                ("valid_metric", "auc"),
            ],
        }
    }
}

impl DatasetSpec {
    /// The kind of data this source gives.
    pub fn kind(&self) -> DataKind {
        match self.source {
            DataSource::RecboleAtomic | DataSource::Movielens => DataKind::Interactions,
            DataSource::AttentionLog if self.attention_log.as_ref().is_some_and(|l| l.kind == AttentionLogKind::Interactions) => {
                DataKind::Interactions
            }
            _ => DataKind::Impressions,
        }
    }
}

/// The kind of data a merged, not yet typed spec tree describes (its
/// `dataset.source`, and `dataset.attention_log.kind`); `None` when the
/// tree has no readable source (the typed parse reports that).
pub(crate) fn kind_of_tree(tree: &Value) -> Option<DataKind> {
    let dataset = tree.get("dataset")?;
    let source = dataset.get("source")?.as_str()?;
    let log_kind = dataset.get("attention_log").and_then(|l| l.get("kind")).and_then(Value::as_str);
    Some(match (source, log_kind) {
        ("recbole-atomic" | "movielens", _) | ("attention-log", Some("interactions")) => DataKind::Interactions,
        _ => DataKind::Impressions,
    })
}

/// Sets each `protocol` key the tree leaves out to its data kind's default.
/// `order` comes with the split it belongs to: a spec that chose its split
/// keeps the built-in order.
pub(crate) fn fill_protocol_defaults(tree: &mut Value) {
    let Some(kind) = kind_of_tree(tree) else { return };
    let Value::Mapping(root) = tree else { return };
    let protocol = root.entry(Value::from("protocol")).or_insert_with(|| Value::Mapping(Default::default()));
    let Value::Mapping(protocol) = protocol else { return };
    let split_set = protocol.contains_key("split");
    for (key, value) in kind.protocol_defaults() {
        if !protocol.contains_key(*key) && (*key != "order" || !split_set) {
            let value: Value = serde_yaml::from_str(value).unwrap_or(Value::Null);
            protocol.insert(Value::from(*key), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_yaml() {
        for kind in [DataKind::Interactions, DataKind::Impressions] {
            for (key, text) in kind.protocol_defaults() {
                assert!(serde_yaml::from_str::<Value>(text).is_ok_and(|v| !v.is_null()), "{key}: {text}");
            }
        }
    }

    #[test]
    fn unset_keys_take_the_kind_default_and_set_ones_stay() {
        let mut tree: Value = serde_yaml::from_str("dataset: { source: movielens }\nprotocol: { metrics: [ndcg@5], valid_metric: ndcg@5 }").unwrap();
        fill_protocol_defaults(&mut tree);
        let p = &tree["protocol"];
        assert_eq!(p["split"], Value::from("leave-one-out"));
        assert_eq!(p["order"], Value::from("time"));
        assert_eq!(p["metrics"], serde_yaml::from_str::<Value>("[ndcg@5]").unwrap());
        let mut tree: Value = serde_yaml::from_str("dataset: { source: attention-log, attention_log: { file: f, kind: interactions } }").unwrap();
        fill_protocol_defaults(&mut tree);
        assert_eq!(tree["protocol"]["valid_metric"], Value::from("ndcg@10"));
        let mut tree: Value = serde_yaml::from_str("dataset: { source: attention-log, attention_log: { file: f } }").unwrap();
        fill_protocol_defaults(&mut tree);
        assert_eq!(tree["protocol"]["metrics"], serde_yaml::from_str::<Value>("[auc, gauc, logloss]").unwrap());
        let mut chosen_split: Value = serde_yaml::from_str("dataset: { source: recbole-atomic }\nprotocol: { split: ratio }").unwrap();
        fill_protocol_defaults(&mut chosen_split);
        assert!(chosen_split["protocol"].get("order").is_none(), "the order belongs to the split the spec chose");
        assert_eq!(chosen_split["protocol"]["valid_metric"], Value::from("ndcg@10"));
        let mut no_source: Value = serde_yaml::from_str("name: x").unwrap();
        fill_protocol_defaults(&mut no_source);
        assert!(no_source.get("protocol").is_none());
    }
}
