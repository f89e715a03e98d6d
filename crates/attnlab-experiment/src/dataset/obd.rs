//! The `obd` source: one log of the Open Bandit Dataset (`dataset.obd:
//! { policy, campaign }`) as impressions for the CTR models.
//!
//! Every row is an item shown in a slot. The role fields are the item, its
//! `item_feature_1` as the category and the slot as the position; OBD has
//! no user id, so the user role is one constant id. Extra categorical
//! fields: `user_feature_0..3`, `item_feature_2..3`; extra numeric fields:
//! `item_feature_0` and the row's user-item affinity for the shown item.
//! Vocabularies are fitted on the training rows with `min_count` 1 (a token
//! first seen later is the OOV id), so the id spaces depend on the training
//! rows only. No user id means no behaviour history: DIN has nothing to
//! attend to, and OBD specs leave it out.
//!
//! Rows are ordered by timestamp (stably), so the temporal split cuts the
//! week into its first, middle and last fractions.
//!
//! [`encode_obd`] can append rows the log never held, encoded with the same
//! vocabularies: the candidates (context, item, slot) an off-policy
//! evaluation scores with a trained run.

use std::path::{Path, PathBuf};

use attnlab_data::loaders::{CtrTable, DenseColumn};
use attnlab_data::preprocess::{encode_ctr_table, CtrEncoding, NumericEncoding};
use attnlab_data::{load_obd, split_temporal, temporal_cut, Cardinalities, Column, ColumnData, Impressions, ObdLog, Vocab};
use attnlab_spec::{LoadedSpec, Spec, OBD_DEFAULT_PATH};

use super::ctr_log::impressions_of;
use super::{check, Dataset, Prepared};
use crate::{ExperimentError, Result};

/// Categorical columns in table order: the three mapped role columns
/// (item, category, position), then the extra fields.
const CATEGORICAL: [&str; 9] = [
    "item_id",
    "item_feature_1",
    "position",
    "user_feature_0",
    "user_feature_1",
    "user_feature_2",
    "user_feature_3",
    "item_feature_2",
    "item_feature_3",
];
/// Numeric extra fields.
const NUMERIC: [&str; 2] = ["item_feature_0", "user_item_affinity"];
/// Role columns of [`impressions_of`]: no user id.
const ROLES: [Option<&str>; 4] = [None, Some("item_id"), Some("item_feature_1"), Some("position")];

/// Rows to append after the log's own: `(record of log, item, 0-based slot)`.
pub struct ExtraRows<'a> {
    pub log: &'a ObdLog,
    pub rows: Vec<(usize, u32, u8)>,
}

/// The spec's log, ordered by time, encoded as for training, with `extra`
/// rows appended (same vocabularies), as impressions; their id spaces; and
/// the number of the log's own rows (the extra rows follow them).
pub fn encode_obd(spec: &Spec, spec_path: &Path, extra: Option<&ExtraRows>) -> Result<(Impressions, Cardinalities, usize)> {
    let log = load_spec_log(spec, spec_path)?;
    let mut order: Vec<usize> = (0..log.len()).collect();
    order.sort_by_key(|&i| log.timestamp_us[i]);
    let mut table = Table::new();
    for &i in &order {
        table.push(&log, i, log.item[i], log.position[i], if log.click[i] { 1.0 } else { 0.0 });
    }
    if let Some(extra) = extra {
        for &(record, item, slot) in &extra.rows {
            table.push(extra.log, record, item, slot, 0.0);
        }
    }
    let (train_rows, _) = temporal_cut(log.len(), spec.protocol.ratios);
    let mut table = table.finish();
    let encoding = CtrEncoding { min_count: 1, numeric: NumericEncoding::AsIs };
    encode_ctr_table(&mut table, train_rows, &encoding)?;
    let roles = ROLES.map(|r| r.map(String::from));
    let (data, sizes, _) = impressions_of(table, &roles);
    Ok((data, sizes, log.len()))
}

/// Loads, encodes and splits the spec's OBD log.
pub fn prepare_obd(loaded: &LoadedSpec) -> Result<Prepared> {
    let (metrics, valid_metric) = check(loaded)?;
    let spec = &loaded.spec;
    let (data, sizes, _) = encode_obd(spec, &loaded.path, None)?;
    let splits = split_temporal(&data, spec.protocol.ratios)
        .map_err(|e| ExperimentError::bad(format!("{}: protocol.ratios: {e}", loaded.path.display())))?;
    let data_fingerprint = fingerprint(spec, &loaded.path)?;
    Ok(Prepared { data: Dataset::Impressions { splits, sizes, oracle_test_auc: None, vocabularies: None }, data_fingerprint, metrics, valid_metric, notes: Vec::new() })
}

/// The folder of the spec's log and its campaign name.
fn log_dir(spec: &Spec, spec_path: &Path) -> Result<(PathBuf, String)> {
    let source = spec
        .dataset
        .obd
        .ok_or_else(|| ExperimentError::bad(format!("{}: dataset.obd: missing for source `obd`", spec_path.display())))?;
    let log = source.log();
    let dir = log.dir(Path::new(spec.dataset.path.as_deref().unwrap_or(OBD_DEFAULT_PATH)));
    if !dir.is_dir() {
        return Err(ExperimentError::bad(format!(
            "{}: dataset.path: {} does not exist (run `attnlab data fetch obd`)",
            spec_path.display(),
            dir.display()
        )));
    }
    Ok((dir, log.campaign))
}

fn load_spec_log(spec: &Spec, spec_path: &Path) -> Result<ObdLog> {
    let (dir, campaign) = log_dir(spec, spec_path)?;
    Ok(load_obd(&dir, &campaign)?)
}

/// The data's identity: both files' sha256, the log chosen and the split.
fn fingerprint(spec: &Spec, spec_path: &Path) -> Result<String> {
    let (dir, campaign) = log_dir(spec, spec_path)?;
    let files = [dir.join(format!("{campaign}.csv")), dir.join("item_context.csv")];
    let source = attnlab_data::DataSource::Files(files.iter().map(|f| attnlab_data::SourceFile::hash(f)).collect::<std::result::Result<_, _>>()?);
    let settings = serde_json::json!({
        "obd": spec.dataset.obd,
        "ratios": spec.protocol.ratios,
        "columns": { "categorical": CATEGORICAL, "numeric": NUMERIC },
    });
    Ok(attnlab_data::fingerprint(&source, &settings)?.as_str()[..16].to_string())
}

/// The table being built: raw tokens interned per column, values per
/// numeric column, labels.
struct Table {
    label: Vec<f32>,
    tokens: Vec<(Vec<u32>, Vocab)>,
    numeric: [Vec<f32>; 2],
}

impl Table {
    fn new() -> Table {
        Table { label: Vec::new(), tokens: CATEGORICAL.map(|_| (Vec::new(), Vocab::padded())).to_vec(), numeric: [Vec::new(), Vec::new()] }
    }

    /// Record `r` of `log` (its user features and affinities) with `item`
    /// shown in `slot`. Tokens are the raw strings, so rows of different
    /// logs share one vocabulary.
    fn push(&mut self, log: &ObdLog, r: usize, item: u32, slot: u8, label: f32) {
        let i = item as usize;
        let items = &log.items;
        let user = |k: usize| {
            let column = &log.user_features[k];
            column.vocab.display(column.ids[r]).to_string()
        };
        let item_token = |k: usize| {
            let column = &items.categorical[k];
            column.vocab.display(column.ids[i]).to_string()
        };
        let row: [String; 9] = [
            item.to_string(),
            item_token(0),
            (slot + 1).to_string(),
            user(0),
            user(1),
            user(2),
            user(3),
            item_token(1),
            item_token(2),
        ];
        for ((ids, vocab), token) in self.tokens.iter_mut().zip(&row) {
            ids.push(vocab.intern(token));
        }
        self.numeric[0].push(items.feature_0[i] as f32);
        self.numeric[1].push(log.affinity[r * items.len() + i]);
        self.label.push(label);
    }

    fn finish(self) -> CtrTable {
        let categorical = self
            .tokens
            .into_iter()
            .zip(CATEGORICAL)
            .map(|((ids, vocab), name)| Column { name: name.into(), data: ColumnData::Token(ids), vocab: Some(vocab) })
            .collect();
        let dense = self.numeric.into_iter().zip(NUMERIC).map(|(values, name)| DenseColumn { name: name.into(), values }).collect();
        CtrTable { label: self.label, dense, categorical, dwell_ms: None }
    }
}
