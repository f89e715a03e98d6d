//! The typed row engine behind every loader: each row is parsed completely
//! into a scratch buffer first and only then committed to the columns, so a
//! skipped bad row leaves no trace (not even a token in a vocabulary).

use std::ops::Range;

use super::reader::{
    Delimiter, LineReader, field_label, parse_bool, parse_f32, parse_i64, parse_u32, quoted,
};
use super::{LoadReport, OnBadRow};
use crate::interactions::{Column, ColumnData, Vocab};
use crate::{DataError, Result};

/// How one field is read and where it goes.
#[derive(Debug)]
pub(crate) enum Col {
    /// A token interned into `vocab`. Empty: an error when `required`,
    /// else `missing_token` if given, else PAD (0).
    Token {
        ids: Vec<u32>,
        vocab: Vocab,
        required: bool,
        missing_token: Option<&'static str>,
        unique: Option<Vec<u64>>,
    },
    /// Tokens separated by the table's sequence separator.
    TokenSeq {
        offsets: Vec<u32>,
        values: Vec<u32>,
        vocab: Vocab,
    },
    /// Empty: an error when `required`, else NaN. With `nonnegative` a
    /// value below 0 is an error at its line.
    Float {
        values: Vec<f32>,
        required: bool,
        nonnegative: bool,
    },
    FloatSeq {
        offsets: Vec<u32>,
        values: Vec<f32>,
    },
    Int {
        values: Vec<i64>,
    },
    U32 {
        values: Vec<u32>,
    },
    /// Empty: `None`.
    OptU32 {
        values: Vec<Option<u32>>,
    },
    Bool {
        values: Vec<bool>,
    },
    /// One of a fixed set of words, stored as its index.
    Choice {
        values: Vec<u8>,
        choices: &'static [&'static str],
    },
    Skip,
}

impl Col {
    pub(crate) fn token(vocab: Vocab, required: bool) -> Col {
        Col::Token {
            ids: Vec::new(),
            vocab,
            required,
            missing_token: None,
            unique: None,
        }
    }

    pub(crate) fn float(required: bool) -> Col {
        Col::Float {
            values: Vec::new(),
            required,
            nonnegative: false,
        }
    }

    /// An optional number that must not be negative (durations).
    pub(crate) fn nonnegative_float() -> Col {
        Col::Float {
            values: Vec::new(),
            required: false,
            nonnegative: true,
        }
    }

    pub(crate) fn of_type(kind: crate::FieldType) -> Col {
        match kind {
            crate::FieldType::Token => Col::token(Vocab::padded(), false),
            crate::FieldType::TokenSeq => Col::TokenSeq {
                offsets: vec![0],
                values: Vec::new(),
                vocab: Vocab::padded(),
            },
            crate::FieldType::Float => Col::float(false),
            crate::FieldType::FloatSeq => Col::FloatSeq {
                offsets: vec![0],
                values: Vec::new(),
            },
        }
    }

    /// The generic column, for token / token_seq / float / float_seq.
    pub(crate) fn into_column(self, name: String) -> Option<Column> {
        let (data, vocab) = match self {
            Col::Token { ids, vocab, .. } => (ColumnData::Token(ids), Some(vocab)),
            Col::TokenSeq {
                offsets,
                values,
                vocab,
            } => (ColumnData::TokenSeq { offsets, values }, Some(vocab)),
            Col::Float { values, .. } => (ColumnData::Float(values), None),
            Col::FloatSeq { offsets, values } => (ColumnData::FloatSeq { offsets, values }, None),
            _ => return None,
        };
        Some(Column { name, data, vocab })
    }
}

#[derive(Debug)]
pub(crate) struct ColSpec {
    pub name: String,
    pub col: Col,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct TableFormat {
    pub delimiter: Delimiter,
    /// Separator of token_seq / float_seq values.
    pub seq_separator: u8,
    /// Reject fields starting with `"` (CSV quoting is not supported).
    pub reject_quotes: bool,
    pub on_bad_row: OnBadRow,
}

#[derive(Clone, Copy)]
enum Val {
    None,
    Str(u32, u32),
    F(f32),
    I(i64),
    U(u32),
    B(bool),
    C(u8),
    /// Range into the token-range scratch.
    Seq(u32, u32),
    /// Range into the float scratch.
    FSeq(u32, u32),
}

/// Reads every remaining row of `reader` into `cols`; returns the number of
/// rows loaded.
pub(crate) fn read_rows(
    reader: &mut LineReader,
    cols: &mut [ColSpec],
    format: TableFormat,
    report: &mut LoadReport,
) -> Result<()> {
    read_numbered_rows(reader, cols, format, report, None)
}

/// [`read_rows`], also pushing each kept row's 1-based line number into
/// `lines`, for errors a later pass finds in a row.
pub(crate) fn read_numbered_rows(
    reader: &mut LineReader,
    cols: &mut [ColSpec],
    format: TableFormat,
    report: &mut LoadReport,
    mut lines: Option<&mut Vec<u64>>,
) -> Result<()> {
    let path = reader.path().to_path_buf();
    let mut ranges: Vec<Range<usize>> = Vec::with_capacity(cols.len() + 1);
    let mut vals: Vec<Val> = Vec::with_capacity(cols.len());
    let mut tok_scratch: Vec<(u32, u32)> = Vec::new();
    let mut f_scratch: Vec<f32> = Vec::new();
    loop {
        let (line_no, line) = match reader.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e @ DataError::Parse { .. }) => {
                report.bad_row(format.on_bad_row, e)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        format.delimiter.split(line, &mut ranges);
        vals.clear();
        tok_scratch.clear();
        f_scratch.clear();
        let parsed = parse_row(
            line,
            &ranges,
            cols,
            format,
            &mut vals,
            &mut tok_scratch,
            &mut f_scratch,
        );
        if let Err((field, message)) = parsed {
            let error = DataError::Parse {
                path: path.clone(),
                line: line_no,
                field,
                message,
            };
            report.bad_row(format.on_bad_row, error)?;
            continue;
        }
        commit_row(line, line_no, cols, &vals, &tok_scratch, &f_scratch);
        if let Some(lines) = lines.as_deref_mut() {
            lines.push(line_no);
        }
        report.rows += 1;
    }
    Ok(())
}

fn parse_row(
    line: &str,
    ranges: &[Range<usize>],
    cols: &[ColSpec],
    format: TableFormat,
    vals: &mut Vec<Val>,
    tok_scratch: &mut Vec<(u32, u32)>,
    f_scratch: &mut Vec<f32>,
) -> std::result::Result<(), (String, String)> {
    if ranges.len() != cols.len() {
        return Err((
            String::new(),
            format!(
                "expected {} fields separated by {}, found {}",
                cols.len(),
                format.delimiter.describe(),
                ranges.len()
            ),
        ));
    }
    for (i, (spec, r)) in cols.iter().zip(ranges).enumerate() {
        let s = &line[r.clone()];
        let fail = |message: String| (field_label(i, &spec.name), message);
        if format.reject_quotes && s.starts_with('"') {
            return Err(fail("quoted CSV fields are not supported".into()));
        }
        let v = match &spec.col {
            Col::Skip => Val::None,
            Col::Token {
                required,
                missing_token,
                unique,
                vocab,
                ..
            } => {
                if s.is_empty() {
                    if *required {
                        return Err(fail("empty value".into()));
                    }
                    match missing_token {
                        Some(_) => Val::Str(u32::MAX, u32::MAX),
                        None => Val::None,
                    }
                } else {
                    if let (Some(first), Some(id)) = (unique, vocab.get(s))
                        && let Some(&line) = first.get(id as usize)
                        && line != 0
                    {
                        return Err(fail(format!(
                            "duplicate {} (first on line {line})",
                            quoted(s)
                        )));
                    }
                    Val::Str(r.start as u32, r.end as u32)
                }
            }
            Col::TokenSeq { .. } => {
                let start = tok_scratch.len() as u32;
                let bytes = s.as_bytes();
                let mut p = 0;
                for q in memchr::memchr_iter(format.seq_separator, bytes)
                    .chain(std::iter::once(bytes.len()))
                {
                    if q > p {
                        tok_scratch.push(((r.start + p) as u32, (r.start + q) as u32));
                    }
                    p = q + 1;
                }
                Val::Seq(start, tok_scratch.len() as u32)
            }
            Col::Float { required, nonnegative, .. } => {
                if s.trim_ascii().is_empty() {
                    if *required {
                        return Err(fail("empty value".into()));
                    }
                    Val::F(f32::NAN)
                } else {
                    let x = parse_f32(s).map_err(fail)?;
                    if *required && !x.is_finite() {
                        return Err(fail(format!(
                            "expected a finite number, found {}",
                            quoted(s)
                        )));
                    }
                    if *nonnegative && x < 0.0 {
                        return Err(fail(format!("must be >= 0, found {}", quoted(s))));
                    }
                    Val::F(x)
                }
            }
            Col::FloatSeq { .. } => {
                let start = f_scratch.len() as u32;
                for piece in s
                    .split(format.seq_separator as char)
                    .filter(|p| !p.is_empty())
                {
                    f_scratch.push(parse_f32(piece).map_err(fail)?);
                }
                Val::FSeq(start, f_scratch.len() as u32)
            }
            Col::Int { .. } => Val::I(parse_i64(s).map_err(fail)?),
            Col::U32 { .. } => Val::U(parse_u32(s).map_err(fail)?),
            Col::OptU32 { .. } if s.is_empty() => Val::None,
            Col::OptU32 { .. } => Val::U(parse_u32(s).map_err(fail)?),
            Col::Bool { .. } => Val::B(parse_bool(s).map_err(fail)?),
            Col::Choice { choices, .. } => match choices.iter().position(|c| *c == s) {
                Some(k) => Val::C(k as u8),
                None => {
                    return Err(fail(format!(
                        "expected one of {}, found {}",
                        choices.join("|"),
                        quoted(s)
                    )));
                }
            },
        };
        vals.push(v);
    }
    Ok(())
}

fn commit_row(
    line: &str,
    line_no: u64,
    cols: &mut [ColSpec],
    vals: &[Val],
    tok_scratch: &[(u32, u32)],
    f_scratch: &[f32],
) {
    for (spec, v) in cols.iter_mut().zip(vals) {
        match (&mut spec.col, *v) {
            (Col::Skip, _) => {}
            (
                Col::Token {
                    ids,
                    vocab,
                    missing_token,
                    unique,
                    ..
                },
                v,
            ) => {
                let id = match v {
                    Val::Str(u32::MAX, u32::MAX) => {
                        vocab.intern(missing_token.unwrap_or(Vocab::MISSING_TOKEN))
                    }
                    Val::Str(a, b) => vocab.intern(&line[a as usize..b as usize]),
                    _ => crate::PAD,
                };
                if let Some(first) = unique {
                    if first.len() <= id as usize {
                        first.resize(id as usize + 1, 0);
                    }
                    first[id as usize] = line_no;
                }
                ids.push(id);
            }
            (
                Col::TokenSeq {
                    offsets,
                    values,
                    vocab,
                },
                Val::Seq(a, b),
            ) => {
                for &(s, e) in &tok_scratch[a as usize..b as usize] {
                    values.push(vocab.intern(&line[s as usize..e as usize]));
                }
                offsets.push(values.len() as u32);
            }
            (Col::Float { values, .. }, Val::F(x)) => values.push(x),
            (Col::FloatSeq { offsets, values }, Val::FSeq(a, b)) => {
                values.extend_from_slice(&f_scratch[a as usize..b as usize]);
                offsets.push(values.len() as u32);
            }
            (Col::Int { values }, Val::I(x)) => values.push(x),
            (Col::U32 { values }, Val::U(x)) => values.push(x),
            (Col::OptU32 { values }, Val::U(x)) => values.push(Some(x)),
            (Col::OptU32 { values }, Val::None) => values.push(None),
            (Col::Bool { values }, Val::B(x)) => values.push(x),
            (Col::Choice { values, .. }, Val::C(x)) => values.push(x),
            _ => unreachable!("parse_row produced a value of another type"),
        }
    }
}
