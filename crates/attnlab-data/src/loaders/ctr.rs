//! Click logs in the Criteo / Avazu style: one label column, numeric
//! ("dense") columns and categorical columns, tab- or comma-separated, with
//! or without a header.

use std::path::Path;

use super::reader::{Delimiter, Encoding, LineReader, quoted};
use super::table::{Col, ColSpec, TableFormat, read_rows};
use super::{LoadReport, OnBadRow};
use crate::interactions::{Column, ColumnData, Vocab};
use crate::{DataError, Result};

/// A column by 0-based position or by header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    Index(usize),
    Name(String),
}

impl From<usize> for ColumnRef {
    fn from(i: usize) -> ColumnRef {
        ColumnRef::Index(i)
    }
}

impl From<&str> for ColumnRef {
    fn from(s: &str) -> ColumnRef {
        ColumnRef::Name(s.to_string())
    }
}

/// Where label, dense and categorical values are. Columns not named are
/// ignored, but every row must have as many fields as the header (or, with
/// no header, as the first row).
#[derive(Debug, Clone, PartialEq)]
pub struct CtrSchema {
    /// 0 or 1 on every row.
    pub label: ColumnRef,
    /// Numbers; an empty value is NaN (missing).
    pub dense: Vec<ColumnRef>,
    /// Tokens; an empty value is the token [`Vocab::MISSING_TOKEN`].
    pub categorical: Vec<ColumnRef>,
    pub delimiter: u8,
    pub header: bool,
    /// Names of the columns of a file without header (default `c0`, `c1`, ...).
    pub column_names: Option<Vec<String>>,
    /// Dwell after a click, in milliseconds (empty: none, 0); a negative
    /// value is an error at its line.
    pub dwell: Option<ColumnRef>,
}

impl CtrSchema {
    /// Criteo display-ads (Kaggle `train.txt`): tab-separated, no header,
    /// label, I1..I13 numeric, C1..C26 categorical.
    pub fn criteo() -> CtrSchema {
        let mut names = vec!["label".to_string()];
        names.extend((1..=13).map(|i| format!("I{i}")));
        names.extend((1..=26).map(|i| format!("C{i}")));
        CtrSchema {
            label: ColumnRef::Index(0),
            dense: (1..=13).map(ColumnRef::Index).collect(),
            categorical: (14..=39).map(ColumnRef::Index).collect(),
            delimiter: b'\t',
            header: false,
            column_names: Some(names),
            dwell: None,
        }
    }

    /// Avazu: comma-separated with header; label `click`; every other column
    /// but `id` categorical (`hour` included, as YYMMDDHH tokens).
    pub fn avazu() -> CtrSchema {
        let cats = [
            "hour",
            "C1",
            "banner_pos",
            "site_id",
            "site_domain",
            "site_category",
            "app_id",
            "app_domain",
            "app_category",
            "device_id",
            "device_ip",
            "device_model",
            "device_type",
            "device_conn_type",
            "C14",
            "C15",
            "C16",
            "C17",
            "C18",
            "C19",
            "C20",
            "C21",
        ];
        CtrSchema {
            label: "click".into(),
            dense: Vec::new(),
            categorical: cats.iter().map(|&c| c.into()).collect(),
            delimiter: b',',
            header: true,
            column_names: None,
            dwell: None,
        }
    }
}

/// A numeric column of a CTR log.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseColumn {
    pub name: String,
    /// NaN = missing.
    pub values: Vec<f32>,
}

/// A loaded CTR log, columnar.
#[derive(Debug, Clone, PartialEq)]
pub struct CtrTable {
    pub label: Vec<f32>,
    pub dense: Vec<DenseColumn>,
    /// Token columns (1-based ids, each with its padded vocabulary).
    pub categorical: Vec<Column>,
    /// The schema's dwell column, milliseconds (NaN: empty).
    pub dwell_ms: Option<Vec<f32>>,
}

impl CtrTable {
    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }
}

/// The names of a log's columns under `schema`: its header, the schema's
/// `column_names` (checked against the first row's field count), or `c0`,
/// `c1`, ... Empty for an empty file.
pub fn ctr_column_names(path: &Path, schema: &CtrSchema) -> Result<Vec<String>> {
    let delimiter = Delimiter::Byte(schema.delimiter);
    let schema_err = |message: String| DataError::Schema {
        path: path.to_path_buf(),
        message,
    };
    // from the header, or counted on the first row
    let names = {
        let mut reader = LineReader::open(path, Encoding::Utf8, delimiter)?;
        match reader.next_line()? {
            None => Vec::new(),
            Some((_, line)) => {
                let n = line.split(schema.delimiter as char).count();
                if schema.header {
                    line.split(schema.delimiter as char)
                        .map(str::to_string)
                        .collect()
                } else if let Some(names) = &schema.column_names {
                    if names.len() != n {
                        return Err(schema_err(format!(
                            "the schema names {} columns, the first row has {n} fields",
                            names.len()
                        )));
                    }
                    names.clone()
                } else {
                    (0..n).map(|i| format!("c{i}")).collect()
                }
            }
        }
    };
    Ok(names)
}

/// Streams a CTR log into columns.
pub fn load_ctr(
    path: &Path,
    schema: &CtrSchema,
    on_bad_row: OnBadRow,
) -> Result<(CtrTable, LoadReport)> {
    let delimiter = Delimiter::Byte(schema.delimiter);
    let schema_err = |message: String| DataError::Schema {
        path: path.to_path_buf(),
        message,
    };
    let names = ctr_column_names(path, schema)?;
    if names.is_empty() {
        return Err(schema_err("empty file".into()));
    }
    let resolve = |r: &ColumnRef| -> Result<usize> {
        match r {
            ColumnRef::Index(i) if *i < names.len() => Ok(*i),
            ColumnRef::Index(i) => Err(schema_err(format!(
                "column {i} does not exist: rows have {} fields",
                names.len()
            ))),
            ColumnRef::Name(n) if !schema.header && schema.column_names.is_none() => {
                Err(schema_err(format!(
                    "column `{n}` named, but the file has no header and the schema no column names"
                )))
            }
            ColumnRef::Name(n) => names.iter().position(|h| h == n).ok_or_else(|| {
                schema_err(format!(
                    "no column {} in the header ({})",
                    quoted(n),
                    names.join(",")
                ))
            }),
        }
    };
    let label = resolve(&schema.label)?;
    let dwell = schema.dwell.as_ref().map(&resolve).transpose()?;
    let dense: Vec<usize> = schema.dense.iter().map(&resolve).collect::<Result<_>>()?;
    let cats: Vec<usize> = schema
        .categorical
        .iter()
        .map(&resolve)
        .collect::<Result<_>>()?;
    let mut cols: Vec<ColSpec> = names
        .iter()
        .map(|n| ColSpec {
            name: n.clone(),
            col: Col::Skip,
        })
        .collect();
    let mut used = vec![false; names.len()];
    for (&i, col) in std::iter::once((&label, Col::Bool { values: Vec::new() }))
        .chain(dwell.iter().map(|i| (i, Col::nonnegative_float())))
        .chain(dense.iter().map(|i| (i, Col::float(false))))
        .chain(cats.iter().map(|i| {
            (
                i,
                Col::Token {
                    ids: Vec::new(),
                    vocab: Vocab::padded(),
                    required: false,
                    missing_token: Some(Vocab::MISSING_TOKEN),
                    unique: None,
                },
            )
        }))
    {
        if std::mem::replace(&mut used[i], true) {
            return Err(DataError::Invalid {
                what: "CTR schema",
                message: format!("column `{}` is used twice", names[i]),
            });
        }
        cols[i].col = col;
    }

    let mut reader = LineReader::open(path, Encoding::Utf8, delimiter)?;
    if schema.header {
        reader.next_line()?;
    }
    let format = TableFormat {
        delimiter,
        seq_separator: b' ',
        reject_quotes: schema.delimiter == b',',
        on_bad_row,
    };
    let mut report = LoadReport::new(path);
    read_rows(&mut reader, &mut cols, format, &mut report)?;

    let mut take = |i: usize| std::mem::replace(&mut cols[i].col, Col::Skip);
    let Col::Bool { values: labels } = take(label) else {
        unreachable!()
    };
    let label = labels.into_iter().map(|b| b as u8 as f32).collect();
    let dwell_ms = dwell.map(|i| match take(i) {
        Col::Float { values, .. } => values,
        _ => unreachable!(),
    });
    let dense = dense
        .iter()
        .map(|&i| match take(i) {
            Col::Float { values, .. } => DenseColumn {
                name: names[i].clone(),
                values,
            },
            _ => unreachable!(),
        })
        .collect();
    let categorical = cats
        .iter()
        .map(|&i| match take(i) {
            Col::Token { ids, vocab, .. } => Column {
                name: names[i].clone(),
                data: ColumnData::Token(ids),
                vocab: Some(vocab),
            },
            _ => unreachable!(),
        })
        .collect();
    Ok((
        CtrTable {
            label,
            dense,
            categorical,
            dwell_ms,
        },
        report,
    ))
}
