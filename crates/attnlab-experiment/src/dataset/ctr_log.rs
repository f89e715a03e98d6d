//! The `ctr-log` source: a Criteo/Avazu-style click log as impressions for
//! the CTR models.
//!
//! `dataset.ctr_log.fields` names the categorical columns that fill the
//! models' four role fields (user, item, category, position; an unmapped
//! one is the constant id 0). Every other column is read as an extra field
//! by default (`categorical: all`, `numeric: all`), or those listed:
//! categorical fields embedded per id, numeric fields as a vector scaled by
//! the value (or, with `numeric_preprocess: log_square`, discretised into
//! categorical buckets). Vocabularies and the standardisation are fitted on
//! the training rows (FuxiCTR's `min_categr_count` is `min_count`). The
//! history is empty (one padding slot), so DIN has nothing to attend to.
//!
//! Rows keep file order (their index is the timestamp), so the temporal
//! split cuts the log into its first, middle and last fractions.

use std::path::{Path, PathBuf};

use attnlab_data::loaders::{ctr_column_names, ColumnRef};
use attnlab_data::preprocess::{encode_ctr_table, CtrEncoding, NumericEncoding};
use attnlab_data::{
    load_ctr, split_temporal_owned, temporal_cut, Cardinalities, CategoricalField, Column, ColumnData, CtrSchema, CtrTable, ExtraColumns,
    ExtraFields, Impressions, OnBadRow, Vocab, PAD,
};
use attnlab_spec::{BadRowPolicy, ColumnSelection, CtrLogFormat, CtrLogSpec, LoadedSpec, NumericPreprocess};

use super::{check, Dataset, IdVocabularies, Prepared};
use crate::{ExperimentError, Result};

/// The four role fields, in `CtrBatch` order.
const ROLES: [&str; 4] = ["user", "item", "category", "position"];

/// Loads, encodes and splits the spec's click log.
pub fn prepare_ctr_log(loaded: &LoadedSpec) -> Result<Prepared> {
    let (metrics, valid_metric) = check(loaded)?;
    let spec = &loaded.spec;
    let in_spec = |message: String| ExperimentError::bad(format!("{}: {message}", loaded.path.display()));
    let log = spec.dataset.ctr_log.as_ref().ok_or_else(|| in_spec("dataset.ctr_log: missing for source `ctr-log`".into()))?;
    let file = PathBuf::from(spec.dataset.path.as_deref().unwrap_or(".")).join(&log.file);
    if !file.exists() {
        return Err(in_spec(format!(
            "dataset.ctr_log.file: {} does not exist; the spec's header comment says where to get the data",
            file.display()
        )));
    }
    let mut schema = base_schema(log);
    let names = ctr_column_names(&file, &schema).map_err(|e| in_spec(format!("dataset.ctr_log: {e}")))?;
    if names.is_empty() {
        return Err(in_spec(format!("dataset.ctr_log.file: {} is empty", file.display())));
    }
    let columns = choose_columns(log, &names, &file).map_err(in_spec)?;
    schema.dense = columns.numeric.iter().map(|n| ColumnRef::Name(n.clone())).collect();
    schema.categorical = columns.roles.iter().flatten().chain(&columns.categorical).map(|n| ColumnRef::Name(n.clone())).collect();
    let on_bad_row = match spec.dataset.on_bad_row {
        BadRowPolicy::Error => OnBadRow::Error,
        BadRowPolicy::Skip => OnBadRow::Skip,
    };
    let (mut table, report) = load_ctr(&file, &schema, on_bad_row).map_err(|e| in_spec(format!("dataset.ctr_log: {e}")))?;
    let mut notes = Vec::new();
    if report.skipped > 0 {
        notes.push(format!("{}: skipped {} bad rows (first: {})", file.display(), report.skipped, report.first_skipped.join("; ")));
    }
    if table.is_empty() {
        return Err(in_spec(format!("dataset.ctr_log.file: {} has no rows", file.display())));
    }
    let (train_rows, _) = temporal_cut(table.len(), spec.protocol.ratios);
    encode_ctr_table(&mut table, train_rows, &encoding_of(log))
        .map_err(|e| in_spec(format!("dataset.ctr_log ({}): {e}", file.display())))?;
    let (data, sizes, vocabularies) = impressions_of(table, &columns.roles);
    let splits = split_temporal_owned(data, spec.protocol.ratios).map_err(|e| in_spec(format!("protocol.ratios: {e}")))?;
    let data_fingerprint = fingerprint(&file, spec, &columns)?;
    Ok(Prepared { data: Dataset::Impressions { splits, sizes, oracle_test_auc: None, vocabularies }, data_fingerprint, metrics, valid_metric, notes })
}

/// The columns a spec reads, resolved against the file's column names.
#[derive(Debug, serde::Serialize)]
struct ChosenColumns {
    /// The column of each role field, in [`ROLES`] order.
    roles: [Option<String>; 4],
    /// Extra categorical fields, in file order for `all`, else as listed.
    categorical: Vec<String>,
    numeric: Vec<String>,
}

/// The format's layout, with no column chosen yet.
fn base_schema(log: &CtrLogSpec) -> CtrSchema {
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
            dwell: None,
        },
    };
    schema.dense.clear();
    schema.categorical.clear();
    schema.dwell = log.dwell.as_deref().map(ColumnRef::from);
    schema
}

/// Resolves `fields`, `categorical` and `numeric` against the log's
/// columns: every name must exist, and no column may be read twice or be
/// the label. `all` means, for numeric columns, the format's numeric
/// columns (Criteo's I1..I13; Avazu and plain CSV have none) and, for
/// categorical ones, the format's categorical columns (Criteo's C1..C26;
/// Avazu's, so never `id`; every column of a plain CSV) but the label,
/// the role and the numeric columns.
fn choose_columns(log: &CtrLogSpec, names: &[String], file: &Path) -> Result<ChosenColumns, String> {
    let label = match log.format {
        CtrLogFormat::Criteo => "label",
        CtrLogFormat::Avazu => "click",
        CtrLogFormat::Csv => log.label.as_str(),
    };
    let f = &log.fields;
    let roles = [f.user.clone(), f.item.clone(), f.category.clone(), f.position.clone()];
    let numeric = match &log.numeric {
        ColumnSelection::All if log.format == CtrLogFormat::Criteo => (1..=13).map(|i| format!("I{i}")).collect(),
        ColumnSelection::All => Vec::new(),
        ColumnSelection::List(list) => list.clone(),
    };
    let is_role = |name: &str| roles.iter().flatten().any(|r| r == name);
    let categorical = match &log.categorical {
        ColumnSelection::All => {
            let format_columns = |schema: CtrSchema| -> Vec<String> {
                schema
                    .categorical
                    .iter()
                    .filter_map(|c| match c {
                        ColumnRef::Name(n) => Some(n.clone()),
                        ColumnRef::Index(i) => names.get(*i).cloned(),
                    })
                    .collect()
            };
            let candidates = match log.format {
                CtrLogFormat::Criteo => format_columns(CtrSchema::criteo()),
                CtrLogFormat::Avazu => format_columns(CtrSchema::avazu()),
                CtrLogFormat::Csv => names.to_vec(),
            };
            let dwell = log.dwell.as_deref();
            candidates.into_iter().filter(|n| n != label && !is_role(n) && !numeric.contains(n) && Some(n.as_str()) != dwell).collect()
        }
        ColumnSelection::List(list) => list.clone(),
    };
    let mut seen: Vec<(&str, String)> = Vec::new();
    let used = roles
        .iter()
        .zip(ROLES)
        .filter_map(|(column, role)| column.as_deref().map(|c| (c, format!("dataset.ctr_log.fields.{role}"))))
        .chain(categorical.iter().map(|c| (c.as_str(), "dataset.ctr_log.categorical".to_string())))
        .chain(numeric.iter().map(|c| (c.as_str(), "dataset.ctr_log.numeric".to_string())))
        .chain(log.dwell.iter().map(|c| (c.as_str(), "dataset.ctr_log.dwell".to_string())));
    for (column, key) in used {
        if !names.iter().any(|n| n == column) {
            return Err(format!("{key}: no column `{column}` in {} (columns: {})", file.display(), names.join(",")));
        }
        if column == label {
            return Err(format!("{key}: `{column}` is the label column"));
        }
        if let Some((_, first)) = seen.iter().find(|(c, _)| *c == column) {
            return Err(format!("{key}: column `{column}` is already read by {first}; a column can be one field only"));
        }
        seen.push((column, key));
    }
    Ok(ChosenColumns { roles, categorical, numeric })
}

fn encoding_of(log: &CtrLogSpec) -> CtrEncoding {
    let numeric = match log.numeric_preprocess {
        NumericPreprocess::AsIs => NumericEncoding::AsIs,
        NumericPreprocess::LogSquare => NumericEncoding::LogSquare,
        NumericPreprocess::Standardise => NumericEncoding::Standardise,
    };
    CtrEncoding { min_count: log.min_count, numeric }
}

/// Impressions from an encoded table whose categorical columns are the
/// mapped role columns (in [`ROLES`] order), then the extra categorical
/// fields: the role columns become user, item, category and position ids
/// (an unmapped role is the constant id 0 with an id space of 1), the rest
/// extra fields; the sizes of every id space; and the tokens of the user
/// and item ids when both roles are mapped.
pub(super) fn impressions_of(table: CtrTable, roles: &[Option<String>; 4]) -> (Impressions, Cardinalities, Option<IdVocabularies>) {
    let n = table.len();
    let mut categorical = table.categorical.into_iter();
    let mut role = |slot: usize| -> (Vec<u32>, usize, Option<Vocab>) {
        match roles[slot] {
            Some(_) => token_ids(categorical.next().expect("one loaded column per mapped role")),
            None => (vec![0; n], 1, None),
        }
    };
    let (user, users, user_tokens) = role(0);
    let (item, items, item_tokens) = role(1);
    let (category, categories, _) = role(2);
    let (position, positions, _) = role(3);
    let vocabularies = user_tokens.zip(item_tokens).map(|(users, items)| IdVocabularies { users, items });
    let (mut extra_ids, mut extra_fields) = (Vec::new(), Vec::new());
    for column in categorical {
        let name = column.name.clone();
        let (ids, size, _) = token_ids(column);
        extra_ids.push(ids);
        extra_fields.push(CategoricalField { name, size });
    }
    let numeric_names = table.dense.iter().map(|c| c.name.clone()).collect();
    let extra = ExtraColumns { categorical: extra_ids, numeric: table.dense.into_iter().map(|c| c.values).collect() };
    let nan = vec![f32::NAN; n];
    let zeros = vec![0.0f32; n];
    // an empty dwell is none (NaN fails `>= 0` below and becomes 0)
    let dwell_ms = table.dwell_ms.map_or_else(|| vec![0; n], |d| d.iter().map(|&ms| if ms >= 0.0 { ms.round() as u32 } else { 0 }).collect());
    let data = Impressions {
        user,
        item,
        category,
        position,
        timestamp: (0..n as u64).collect(),
        click: table.label,
        dwell_ms,
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
        extra,
    };
    let extra = ExtraFields { categorical: extra_fields, numeric: numeric_names };
    (data, Cardinalities { users, items, categories, positions, extra }, vocabularies)
}

/// A token column's ids, id space and tokens.
fn token_ids(column: Column) -> (Vec<u32>, usize, Option<Vocab>) {
    let size = column.vocab.as_ref().map_or(1, |v| v.id_space());
    match column.data {
        ColumnData::Token(ids) => (ids, size, column.vocab),
        _ => unreachable!("load_ctr gives token columns"),
    }
}

/// The data's identity: the file's sha256, every `ctr_log` setting (fields,
/// `min_count`, numeric preprocessing), the columns they resolved to, and
/// the split; through `attnlab_data::fingerprint` (canonical JSON, format
/// version).
fn fingerprint(file: &Path, spec: &attnlab_spec::Spec, columns: &ChosenColumns) -> Result<String> {
    let source = attnlab_data::DataSource::Files(vec![attnlab_data::SourceFile::hash(file)?]);
    let settings = serde_json::json!({
        "ctr_log": spec.dataset.ctr_log,
        "columns": columns,
        "on_bad_row": spec.dataset.on_bad_row,
        "ratios": spec.protocol.ratios,
    });
    Ok(attnlab_data::fingerprint(&source, &settings)?.as_str()[..16].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(json: &str) -> CtrLogSpec {
        serde_json::from_str(json).unwrap()
    }

    fn criteo_names() -> Vec<String> {
        let mut names = vec!["label".to_string()];
        names.extend((1..=13).map(|i| format!("I{i}")));
        names.extend((1..=26).map(|i| format!("C{i}")));
        names
    }

    #[test]
    fn all_reads_every_column_but_the_label_and_the_roles() {
        let chosen = choose_columns(&log(r#"{ "file": "f", "format": "criteo", "fields": { "user": "C1", "item": "C2" } }"#), &criteo_names(), Path::new("f")).unwrap();
        assert_eq!(chosen.numeric.len(), 13);
        assert_eq!(chosen.categorical.len(), 24);
        assert_eq!((chosen.categorical[0].as_str(), chosen.categorical[23].as_str()), ("C3", "C26"));

        let mut names = vec!["id".to_string(), "click".to_string()];
        names.extend(CtrSchema::avazu().categorical.iter().map(|c| match c {
            ColumnRef::Name(n) => n.clone(),
            ColumnRef::Index(_) => unreachable!("Avazu names its columns"),
        }));
        let avazu = CtrLogSpec { format: CtrLogFormat::Avazu, ..log(r#"{ "file": "f" }"#) };
        let chosen = choose_columns(&avazu, &names, Path::new("f")).unwrap();
        assert_eq!(chosen.categorical.len(), 22, "{chosen:?}");
        assert!(!chosen.categorical.contains(&"id".to_string()) && chosen.numeric.is_empty(), "{chosen:?}");

        let csv = log(r#"{ "file": "f", "label": "y", "numeric": ["x"] }"#);
        let names: Vec<String> = ["y", "a", "x", "b"].iter().map(|s| s.to_string()).collect();
        let chosen = choose_columns(&csv, &names, Path::new("f")).unwrap();
        assert_eq!((chosen.categorical, chosen.numeric), (vec!["a".to_string(), "b".to_string()], vec!["x".to_string()]));
    }

    #[test]
    fn bad_column_choices_name_the_spec_key() {
        let err = |json: &str| choose_columns(&log(json), &criteo_names(), Path::new("train.txt")).unwrap_err();
        let e = err(r#"{ "file": "f", "format": "criteo", "categorical": ["C5", "C99"] }"#);
        assert!(e.contains("dataset.ctr_log.categorical: no column `C99` in train.txt"), "{e}");
        let e = err(r#"{ "file": "f", "format": "criteo", "fields": { "user": "C5" }, "categorical": ["C5"] }"#);
        assert!(e.contains("already read by dataset.ctr_log.fields.user"), "{e}");
        let e = err(r#"{ "file": "f", "format": "criteo", "categorical": ["I3"] }"#);
        assert!(e.contains("dataset.ctr_log.numeric: column `I3` is already read by dataset.ctr_log.categorical"), "{e}");
        let e = err(r#"{ "file": "f", "format": "criteo", "numeric": ["label"] }"#);
        assert!(e.contains("is the label column"), "{e}");
    }
}
