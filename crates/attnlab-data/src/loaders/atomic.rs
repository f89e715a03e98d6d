//! RecBole atomic files: `NAME.inter`, `NAME.user`, `NAME.item`, tab
//! separated, with a typed header `field:token|token_seq|float|float_seq`
//! and space-separated sequences (RecBole's `field_separator` /
//! `seq_separator` defaults).

use std::path::Path;

use super::reader::{Delimiter, Encoding, LineReader, field_label, quoted};
use super::table::{Col, ColSpec, TableFormat, read_rows};
use super::{LoadReport, OnBadRow};
use crate::interactions::{Column, ColumnData, FeatureTable, FieldType, Interactions, Vocab};
use crate::{DataError, Result};

/// Which fields play which role, as in RecBole's config
/// (`USER_ID_FIELD`, `ITEM_ID_FIELD`, `TIME_FIELD`, `RATING_FIELD`,
/// `LABEL_FIELD`, `load_col`).
#[derive(Debug, Clone, PartialEq)]
pub struct AtomicOptions {
    pub user_field: String,
    pub item_field: String,
    /// Read as an integer (RecBole declares it `float`); absent from the
    /// header: no timestamps.
    pub time_field: Option<String>,
    pub rating_field: Option<String>,
    pub label_field: Option<String>,
    /// Only these fields are kept (ids and the role fields always are);
    /// `None`: all fields.
    pub load_columns: Option<Vec<String>>,
    pub field_separator: u8,
    pub seq_separator: u8,
    pub on_bad_row: OnBadRow,
}

impl Default for AtomicOptions {
    fn default() -> AtomicOptions {
        AtomicOptions {
            user_field: "user_id".into(),
            item_field: "item_id".into(),
            time_field: Some("timestamp".into()),
            rating_field: Some("rating".into()),
            label_field: Some("label".into()),
            load_columns: None,
            field_separator: b'\t',
            seq_separator: b' ',
            on_bad_row: OnBadRow::Error,
        }
    }
}

/// A data set read from atomic files.
#[derive(Debug, Clone)]
pub struct AtomicDataset {
    /// With `user_features` / `item_features` set when the files exist.
    pub interactions: Interactions,
    /// One per file read, `.inter` first.
    pub reports: Vec<LoadReport>,
}

/// Reads `dir/NAME.inter` and, when present, `dir/NAME.user` and
/// `dir/NAME.item`. Users and items that appear only in a feature file get
/// ids too (after those of the `.inter` file), as in RecBole.
pub fn load_atomic(dir: &Path, name: &str, options: &AtomicOptions) -> Result<AtomicDataset> {
    let file = |ext: &str| dir.join(format!("{name}.{ext}"));
    let (mut interactions, report) = load_atomic_inter(&file("inter"), options)?;
    let mut reports = vec![report];
    if file("user").exists() {
        let (table, report) = load_atomic_features(
            &file("user"),
            &options.user_field,
            &mut interactions.users,
            options,
        )?;
        interactions.user_features = Some(table);
        reports.push(report);
    }
    if file("item").exists() {
        let (table, report) = load_atomic_features(
            &file("item"),
            &options.item_field,
            &mut interactions.items,
            options,
        )?;
        interactions.item_features = Some(table);
        reports.push(report);
    }
    // a feature file may add ids after the other table was built: pad it
    pad_features(
        &mut interactions.user_features,
        interactions.users.id_space(),
    );
    pad_features(
        &mut interactions.item_features,
        interactions.items.id_space(),
    );
    Ok(AtomicDataset {
        interactions,
        reports,
    })
}

fn pad_features(table: &mut Option<FeatureTable>, rows: usize) {
    if let Some(t) = table {
        for c in &mut t.columns {
            while c.data.len() < rows {
                c.data.push_missing();
            }
        }
    }
}

/// One header field: `name:type`.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomicField {
    pub name: String,
    pub kind: FieldType,
}

/// Reads the typed header of an atomic file.
pub fn read_atomic_header(path: &Path, separator: u8) -> Result<Vec<AtomicField>> {
    let mut reader = LineReader::open(path, Encoding::Utf8, Delimiter::Byte(separator))?;
    header(&mut reader, separator)
}

fn header(reader: &mut LineReader, separator: u8) -> Result<Vec<AtomicField>> {
    let path = reader.path().to_path_buf();
    let Some((line_no, line)) = reader.next_line()? else {
        return Err(DataError::Schema {
            path,
            message: "empty file: no header".into(),
        });
    };
    let mut fields: Vec<AtomicField> = Vec::new();
    for (i, raw) in line.split(separator as char).enumerate() {
        let err = |message: String| DataError::Parse {
            path: path.clone(),
            line: line_no,
            field: field_label(i, ""),
            message,
        };
        let Some((name, kind)) = raw.rsplit_once(':') else {
            return Err(err(format!(
                "header field {} has no type (expected name:token|token_seq|float|float_seq)",
                quoted(raw)
            )));
        };
        let Some(kind) = FieldType::parse(kind) else {
            return Err(err(format!(
                "unknown type {} of `{name}` (expected token, token_seq, float or float_seq)",
                quoted(kind)
            )));
        };
        if name.is_empty() {
            return Err(err("empty field name".into()));
        }
        if fields.iter().any(|f| f.name == name) {
            return Err(err(format!("duplicate field `{name}`")));
        }
        fields.push(AtomicField {
            name: name.to_string(),
            kind,
        });
    }
    Ok(fields)
}

fn keep(options: &AtomicOptions, name: &str) -> bool {
    options
        .load_columns
        .as_ref()
        .is_none_or(|cols| cols.iter().any(|c| c == name))
}

fn require_type(path: &Path, field: &AtomicField, allowed: &[FieldType], role: &str) -> Result<()> {
    if allowed.contains(&field.kind) {
        return Ok(());
    }
    Err(DataError::Schema {
        path: path.to_path_buf(),
        message: format!(
            "{role} field `{}` is declared `{}`, expected {}",
            field.name,
            field.kind.as_str(),
            allowed
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    User,
    Item,
    Time,
    Rating,
    Label,
    Extra,
    Skip,
}

/// Opens an atomic file and reads its typed header.
fn open_with_header(path: &Path, options: &AtomicOptions) -> Result<(LineReader, Vec<AtomicField>)> {
    let mut reader = LineReader::open(path, Encoding::Utf8, Delimiter::Byte(options.field_separator))?;
    let fields = header(&mut reader, options.field_separator)?;
    Ok((reader, fields))
}

/// Reads one `.inter` file.
pub fn load_atomic_inter(
    path: &Path,
    options: &AtomicOptions,
) -> Result<(Interactions, LoadReport)> {
    let (mut reader, fields) = open_with_header(path, options)?;
    let is = |f: &AtomicField, o: &Option<String>| o.as_deref() == Some(f.name.as_str());
    let mut roles = Vec::new();
    let mut cols = Vec::new();
    for f in &fields {
        let (role, col) = if f.name == options.user_field {
            require_type(path, f, &[FieldType::Token], "user id")?;
            (Role::User, Col::token(Vocab::unpadded(), true))
        } else if f.name == options.item_field {
            require_type(path, f, &[FieldType::Token], "item id")?;
            (Role::Item, Col::token(Vocab::padded(), true))
        } else if is(f, &options.time_field) {
            require_type(path, f, &[FieldType::Float, FieldType::Token], "time")?;
            (Role::Time, Col::Int { values: Vec::new() })
        } else if is(f, &options.rating_field) {
            require_type(path, f, &[FieldType::Float], "rating")?;
            (Role::Rating, Col::float(true))
        } else if is(f, &options.label_field) {
            require_type(path, f, &[FieldType::Float], "label")?;
            (Role::Label, Col::float(true))
        } else if keep(options, &f.name) {
            (Role::Extra, Col::of_type(f.kind))
        } else {
            (Role::Skip, Col::Skip)
        };
        roles.push(role);
        cols.push(ColSpec {
            name: f.name.clone(),
            col,
        });
    }
    for (role, name) in [
        (Role::User, &options.user_field),
        (Role::Item, &options.item_field),
    ] {
        if !roles.contains(&role) {
            return Err(DataError::Schema {
                path: path.to_path_buf(),
                message: format!(
                    "no `{name}` field in the header (fields: {})",
                    fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    let format = TableFormat {
        delimiter: Delimiter::Byte(options.field_separator),
        seq_separator: options.seq_separator,
        reject_quotes: false,
        on_bad_row: options.on_bad_row,
    };
    let mut report = LoadReport::new(path);
    read_rows(&mut reader, &mut cols, format, &mut report)?;
    if report.rows == 0 {
        // said here, where the file is known: later it is only "an empty table"
        let skipped = match report.skipped {
            0 => String::new(),
            n => format!("; all {n} rows were bad and skipped"),
        };
        return Err(DataError::Schema {
            path: path.to_path_buf(),
            message: format!("no interactions: the file has a header but no rows{skipped}"),
        });
    }

    let mut out = Interactions::empty();
    for (role, spec) in roles.into_iter().zip(cols) {
        match (role, spec.col) {
            (Role::User, Col::Token { ids, vocab, .. }) => (out.user, out.users) = (ids, vocab),
            (Role::Item, Col::Token { ids, vocab, .. }) => (out.item, out.items) = (ids, vocab),
            (Role::Time, Col::Int { values }) => out.timestamp = Some(values),
            (Role::Rating, Col::Float { values, .. }) => out.rating = Some(values),
            (Role::Label, Col::Float { values, .. }) => out.label = Some(values),
            (Role::Extra, col) => out.extra.extend(col.into_column(spec.name)),
            _ => {}
        }
    }
    Ok((out, report))
}

/// Reads a `.user` or `.item` file whose id field is `id_field`, interning
/// ids into `ids` (the interaction table's vocabulary). Row `id` of the
/// result describes that id; ids without a row have missing values. A
/// repeated id is a bad row.
pub fn load_atomic_features(
    path: &Path,
    id_field: &str,
    ids: &mut Vocab,
    options: &AtomicOptions,
) -> Result<(FeatureTable, LoadReport)> {
    let (mut reader, fields) = open_with_header(path, options)?;
    let mut id_index = None;
    let mut cols = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let col = if f.name == id_field {
            require_type(path, f, &[FieldType::Token], "id")?;
            id_index = Some(i);
            Col::Token {
                ids: Vec::new(),
                vocab: std::mem::take(ids),
                required: true,
                missing_token: None,
                unique: Some(Vec::new()),
            }
        } else if keep(options, &f.name) {
            Col::of_type(f.kind)
        } else {
            Col::Skip
        };
        cols.push(ColSpec {
            name: f.name.clone(),
            col,
        });
    }
    let Some(id_index) = id_index else {
        return Err(DataError::Schema {
            path: path.to_path_buf(),
            message: format!("no `{id_field}` field in the header"),
        });
    };
    let format = TableFormat {
        delimiter: Delimiter::Byte(options.field_separator),
        seq_separator: options.seq_separator,
        reject_quotes: false,
        on_bad_row: options.on_bad_row,
    };
    let mut report = LoadReport::new(path);
    let result = read_rows(&mut reader, &mut cols, format, &mut report);
    // give the vocabulary back even when reading failed
    let row_ids = match &mut cols[id_index].col {
        Col::Token {
            ids: row_ids,
            vocab,
            ..
        } => {
            *ids = std::mem::take(vocab);
            std::mem::take(row_ids)
        }
        _ => unreachable!(),
    };
    result?;
    let table = scatter(cols, id_index, &row_ids, ids.id_space());
    Ok((table, report))
}

/// Rows in file order -> rows in id order (`rows` of them).
pub(crate) fn scatter(
    cols: Vec<ColSpec>,
    id_index: usize,
    row_ids: &[u32],
    rows: usize,
) -> FeatureTable {
    let mut at: Vec<Option<usize>> = vec![None; rows];
    for (r, &id) in row_ids.iter().enumerate() {
        at[id as usize] = Some(r);
    }
    let columns = cols
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != id_index)
        .filter_map(|(_, spec)| spec.col.into_column(spec.name))
        .map(|c| Column {
            data: gather(&c.data, &at),
            ..c
        })
        .collect();
    FeatureTable { columns }
}

pub(crate) fn gather(data: &ColumnData, at: &[Option<usize>]) -> ColumnData {
    let mut out = ColumnData::new(data.kind());
    for &r in at {
        match (r, data, &mut out) {
            (None, _, out) => out.push_missing(),
            (Some(r), ColumnData::Token(v), ColumnData::Token(o)) => o.push(v[r]),
            (Some(r), ColumnData::Float(v), ColumnData::Float(o)) => o.push(v[r]),
            (
                Some(r),
                src @ ColumnData::TokenSeq { .. },
                ColumnData::TokenSeq { offsets, values },
            ) => {
                values.extend_from_slice(src.token_seq(r).unwrap());
                offsets.push(values.len() as u32);
            }
            (
                Some(r),
                src @ ColumnData::FloatSeq { .. },
                ColumnData::FloatSeq { offsets, values },
            ) => {
                values.extend_from_slice(src.float_seq(r).unwrap());
                offsets.push(values.len() as u32);
            }
            _ => unreachable!(),
        }
    }
    out
}
