//! The `ctr-log` source: a Criteo/Avazu-style click log as impressions for
//! the CTR models.
//!
//! The CTR models read four id fields (user, item, category, position) and
//! a behaviour history; `dataset.ctr_log.fields` names the log's
//! categorical columns that fill the four fields, and only those columns
//! are read. An unmapped field is the constant id 0, and the history is
//! empty (one padding slot), so DIN has nothing to attend to. What this
//! cannot do yet: feed all of a log's fields (Criteo's 26 categorical and
//! 13 numeric columns) to FM/DeepFM/DCN-V2/AutoInt, which needs `CtrBatch`
//! and `FieldEmbedding` to carry a variable list of fields.
//!
//! Rows keep file order (their index is the timestamp), so the temporal
//! split cuts the log into its first, middle and last fractions.

use std::path::{Path, PathBuf};

use attnlab_data::loaders::ColumnRef;
use attnlab_data::{load_ctr, split_temporal, Cardinalities, ColumnData, CtrSchema, Impressions, OnBadRow, PAD};
use attnlab_spec::{BadRowPolicy, CtrLogFormat, CtrLogSpec, LoadedSpec};

use crate::exit::BadInput;
use crate::prepare::{check, Dataset, Prepared};

/// Loads and splits the spec's click log.
pub fn prepare_ctr_log(loaded: &LoadedSpec) -> anyhow::Result<Prepared> {
    let (metrics, valid_metric) = check(loaded)?;
    let spec = &loaded.spec;
    let in_spec = |message: String| BadInput(format!("{}: {message}", loaded.path.display()));
    let log = spec.dataset.ctr_log.as_ref().ok_or_else(|| in_spec("dataset.ctr_log: missing for source `ctr-log`".into()))?;
    let file = PathBuf::from(spec.dataset.path.as_deref().unwrap_or(".")).join(&log.file);
    if !file.exists() {
        return Err(in_spec(format!(
            "dataset.ctr_log.file: {} does not exist; the spec's header comment says where to get the data",
            file.display()
        ))
        .into());
    }
    let (schema, mapped) = schema_of(log);
    let on_bad_row = match spec.dataset.on_bad_row {
        BadRowPolicy::Error => OnBadRow::Error,
        BadRowPolicy::Skip => OnBadRow::Skip,
    };
    let (table, report) = load_ctr(&file, &schema, on_bad_row).map_err(|e| in_spec(format!("dataset.ctr_log: {e}")))?;
    if report.skipped > 0 {
        eprintln!("{}: skipped {} bad rows (first: {})", file.display(), report.skipped, report.first_skipped.join("; "));
    }
    if table.is_empty() {
        return Err(in_spec(format!("dataset.ctr_log.file: {} has no rows", file.display())).into());
    }
    let (data, sizes) = impressions_of(&table.label, &table.categorical, &mapped);
    let splits = split_temporal(&data, spec.protocol.ratios).map_err(|e| in_spec(format!("protocol.ratios: {e}")))?;
    let data_fingerprint = fingerprint(&file, spec)?;
    Ok(Prepared { data: Dataset::Impressions { splits, sizes, oracle_test_auc: None }, data_fingerprint, metrics, valid_metric })
}

/// The loader's schema for the log's format, reading only the mapped
/// categorical columns (in the order returned), and for each of the four
/// model fields the index of its column among them.
fn schema_of(log: &CtrLogSpec) -> (CtrSchema, [Option<usize>; 4]) {
    let mut schema = match log.format {
        CtrLogFormat::Criteo => CtrSchema::criteo(),
        CtrLogFormat::Avazu => CtrSchema::avazu(),
        CtrLogFormat::Csv => CtrSchema {
            label: log.label.as_str().into(),
            dense: Vec::new(),
            categorical: Vec::new(),
            delimiter: b',',
            header: true,
            column_names: None,
        },
    };
    schema.dense.clear();
    schema.categorical.clear();
    let f = &log.fields;
    let mut mapped = [None; 4];
    for (slot, column) in [&f.user, &f.item, &f.category, &f.position].into_iter().enumerate() {
        if let Some(name) = column {
            mapped[slot] = Some(schema.categorical.len());
            schema.categorical.push(ColumnRef::Name(name.clone()));
        }
    }
    (schema, mapped)
}

/// Impressions with the mapped columns as user, item, category and
/// position ids (token ids are 1-based, 0 = padding, as the models expect
/// for items and categories), and the sizes of their id spaces.
fn impressions_of(labels: &[f32], columns: &[attnlab_data::Column], mapped: &[Option<usize>; 4]) -> (Impressions, Cardinalities) {
    let n = labels.len();
    let ids = |slot: usize| -> (Vec<u32>, usize) {
        match mapped[slot].map(|c| &columns[c]) {
            Some(column) => match &column.data {
                ColumnData::Token(ids) => (ids.clone(), column.vocab.as_ref().map_or(1, |v| v.id_space())),
                _ => unreachable!("load_ctr gives token columns"),
            },
            None => (vec![0; n], 1),
        }
    };
    let (user, users) = ids(0);
    let (item, items) = ids(1);
    let (category, categories) = ids(2);
    let (position, positions) = ids(3);
    let nan = vec![f32::NAN; n];
    let zeros = vec![0.0f32; n];
    let data = Impressions {
        user,
        item,
        category,
        position,
        timestamp: (0..n as u64).collect(),
        click: labels.to_vec(),
        dwell_ms: vec![0; n],
        true_ctr: nan.clone(),
        is_ad: vec![false; n],
        advertiser: vec![0; n],
        bid: zeros.clone(),
        charge: zeros.clone(),
        cart: zeros.clone(),
        conversion: zeros.clone(),
        true_cvr: nan,
        price: zeros,
        history_items: vec![PAD; n],
        history_categories: vec![PAD; n],
        history_len: 1,
    };
    (data, Cardinalities { users, items, categories, positions })
}

/// blake3 over the file's sha256 and every setting that shapes the rows and split.
fn fingerprint(file: &Path, spec: &attnlab_spec::Spec) -> anyhow::Result<String> {
    let source = attnlab_data::SourceFile::hash(file)?;
    let sections = serde_json::json!({
        "source": source,
        "ctr_log": spec.dataset.ctr_log,
        "on_bad_row": spec.dataset.on_bad_row,
        "ratios": spec.protocol.ratios,
    });
    Ok(blake3::hash(sections.to_string().as_bytes()).to_hex()[..16].to_string())
}
