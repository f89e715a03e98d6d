//! Behaviour / attention logs: CSV with the header [`ATTENTION_LOG_HEADER`],
//! one row per event. The simulator writes this format; this loader reads it.

use std::path::Path;

use super::reader::{Delimiter, Encoding, LineReader, quoted};
use super::table::{Col, ColSpec, TableFormat, read_numbered_rows};
use super::{LoadReport, OnBadRow};
use crate::interactions::{Interactions, Vocab};
use crate::{DataError, Result};

/// The columns every attention log starts with, as its header line. Columns:
/// - `user`, `item`: tokens (any string without a comma);
/// - `timestamp`: integer (seconds);
/// - `event`: `impression`, `click`, `cart` or `purchase`;
/// - `position`: 0-based slot in the feed;
/// - `dwell_ms`: non-negative integer, empty where not applicable (`None`);
/// - `is_ad`: 0 or 1;
/// - `bid`, `price`: numbers, empty for organic items (read as NaN).
///
/// Optional columns may follow, in any order ([`ATTENTION_LOG_OPTIONAL`]):
/// - `category`: the item's category, a token;
/// - `session`: the feed request (session) the row belongs to, a token: an
///   impression's behaviour history holds the clicks before its session
///   began, not the clicks earlier in the same feed.
pub const ATTENTION_LOG_HEADER: &str =
    "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price";

/// The optional columns an attention log may add after the required ones.
pub const ATTENTION_LOG_OPTIONAL: [&str; 2] = ["category", "session"];

/// An event of an attention log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Event {
    Impression = 0,
    Click = 1,
    Cart = 2,
    Purchase = 3,
}

impl Event {
    pub const ALL: [Event; 4] = [
        Event::Impression,
        Event::Click,
        Event::Cart,
        Event::Purchase,
    ];
    const NAMES: [&'static str; 4] = ["impression", "click", "cart", "purchase"];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(s: &str) -> Option<Event> {
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|k| Self::ALL[k])
    }
}

/// A loaded attention log, columnar, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionLog {
    /// 0-based user id.
    pub user: Vec<u32>,
    /// 1-based item id (0 = padding).
    pub item: Vec<u32>,
    pub timestamp: Vec<i64>,
    pub event: Vec<Event>,
    pub position: Vec<u32>,
    /// `None` where empty (not applicable, e.g. an impression row).
    pub dwell_ms: Vec<Option<u32>>,
    pub is_ad: Vec<bool>,
    /// NaN where empty.
    pub bid: Vec<f32>,
    /// NaN where empty.
    pub price: Vec<f32>,
    /// 1-based category ids (0 = padding), when the log has a `category`
    /// column; ids in `categories`.
    pub category: Option<Vec<u32>>,
    /// 0-based session ids, when the log has a `session` column.
    pub session: Option<Vec<u32>>,
    /// The 1-based line of each row in the file.
    pub line: Vec<u64>,
    pub users: Vocab,
    pub items: Vocab,
    pub categories: Vocab,
}

impl AttentionLog {
    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// The rows whose event is in `events` as an interaction table (same
    /// user and item ids), e.g. `&[Event::Click]` for implicit feedback.
    /// `position`, `dwell_ms` (NaN where empty) and `is_ad` travel as float
    /// extra columns.
    pub fn interactions(&self, events: &[Event]) -> Interactions {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&r| events.contains(&self.event[r]))
            .collect();
        let float_col = |name: &str, f: &dyn Fn(usize) -> f32| crate::Column {
            name: name.into(),
            data: crate::ColumnData::Float(rows.iter().map(|&r| f(r)).collect()),
            vocab: None,
        };
        Interactions {
            user: rows.iter().map(|&r| self.user[r]).collect(),
            item: rows.iter().map(|&r| self.item[r]).collect(),
            timestamp: Some(rows.iter().map(|&r| self.timestamp[r]).collect()),
            rating: None,
            label: None,
            extra: vec![
                float_col("position", &|r| self.position[r] as f32),
                float_col("dwell_ms", &|r| {
                    self.dwell_ms[r].map_or(f32::NAN, |d| d as f32)
                }),
                float_col("is_ad", &|r| self.is_ad[r] as u8 as f32),
            ],
            users: self.users.clone(),
            items: self.items.clone(),
            user_features: None,
            item_features: None,
        }
    }
}

/// Reads an attention log: its header must start with
/// [`ATTENTION_LOG_HEADER`], followed by any of [`ATTENTION_LOG_OPTIONAL`].
pub fn load_attention_log(path: &Path, on_bad_row: OnBadRow) -> Result<(AttentionLog, LoadReport)> {
    let delimiter = Delimiter::Byte(b',');
    let mut reader = LineReader::open(path, Encoding::Utf8, delimiter)?;
    let optional = match reader.next_line()? {
        Some((n, line)) => optional_columns(path, n, line)?,
        None => {
            return Err(DataError::Schema {
                path: path.to_path_buf(),
                message: "empty file: no header".into(),
            });
        }
    };
    const EVENTS: &[&str] = &["impression", "click", "cart", "purchase"];
    let cols = [
        ("user", Col::token(Vocab::unpadded(), true)),
        ("item", Col::token(Vocab::padded(), true)),
        ("timestamp", Col::Int { values: Vec::new() }),
        (
            "event",
            Col::Choice {
                values: Vec::new(),
                choices: EVENTS,
            },
        ),
        ("position", Col::U32 { values: Vec::new() }),
        ("dwell_ms", Col::OptU32 { values: Vec::new() }),
        ("is_ad", Col::Bool { values: Vec::new() }),
        ("bid", Col::float(false)),
        ("price", Col::float(false)),
    ];
    let optional_col = |name: &str| match name {
        "category" => Col::token(Vocab::padded(), true),
        _ => Col::token(Vocab::unpadded(), true),
    };
    let mut cols: Vec<ColSpec> = cols
        .into_iter()
        .map(|(n, col)| (n.to_string(), col))
        .chain(optional.iter().map(|n| (n.to_string(), optional_col(n))))
        .map(|(name, col)| ColSpec { name, col })
        .collect();
    let format = TableFormat {
        delimiter,
        seq_separator: b' ',
        reject_quotes: true,
        on_bad_row,
    };
    let mut report = LoadReport::new(path);
    let mut line = Vec::new();
    read_numbered_rows(&mut reader, &mut cols, format, &mut report, Some(&mut line))?;
    let mut category = None;
    let mut categories = Vocab::padded();
    let mut session = None;
    for spec in cols.drain(ATTENTION_LOG_HEADER.split(',').count()..) {
        if let Col::Token { ids, vocab, .. } = spec.col {
            if spec.name == "category" {
                (category, categories) = (Some(ids), vocab);
            } else {
                session = Some(ids);
            }
        }
    }
    let mut it = cols.into_iter().map(|c| c.col);
    let mut next = || it.next().unwrap_or(Col::Skip);
    let (
        Col::Token {
            ids: user,
            vocab: users,
            ..
        },
        Col::Token {
            ids: item,
            vocab: items,
            ..
        },
        Col::Int { values: timestamp },
        Col::Choice { values: event, .. },
        Col::U32 { values: position },
        Col::OptU32 { values: dwell_ms },
        Col::Bool { values: is_ad },
        Col::Float { values: bid, .. },
        Col::Float { values: price, .. },
    ) = (next(), next(), next(), next(), next(), next(), next(), next(), next())
    else {
        unreachable!("the columns are built above in this order")
    };
    let event = event.into_iter().map(|k| Event::ALL[k as usize]).collect();
    Ok((
        AttentionLog {
            user,
            item,
            timestamp,
            event,
            position,
            dwell_ms,
            is_ad,
            bid,
            price,
            category,
            session,
            line,
            users,
            items,
            categories,
        },
        report,
    ))
}

/// The optional columns a header adds after the required ones.
fn optional_columns(path: &Path, line_no: u64, line: &str) -> Result<Vec<String>> {
    let bad = |message: String| DataError::Parse {
        path: path.to_path_buf(),
        line: line_no,
        field: String::new(),
        message,
    };
    let Some(rest) = line.strip_prefix(ATTENTION_LOG_HEADER) else {
        return Err(bad(format!(
            "header {} does not start with the attention-log header `{ATTENTION_LOG_HEADER}`",
            quoted(line)
        )));
    };
    let mut names: Vec<String> = Vec::new();
    if rest.is_empty() {
        return Ok(names);
    }
    let Some(rest) = rest.strip_prefix(',') else {
        return Err(bad(format!("header {} does not start with the attention-log header `{ATTENTION_LOG_HEADER}`", quoted(line))));
    };
    let required = ATTENTION_LOG_HEADER.split(',').count();
    for (k, name) in rest.split(',').enumerate() {
        let field = crate::loaders::reader::field_label(required + k, name);
        if !ATTENTION_LOG_OPTIONAL.contains(&name) {
            return Err(DataError::Parse {
                path: path.to_path_buf(),
                line: line_no,
                field,
                message: format!("unknown column {} (optional columns: {})", quoted(name), ATTENTION_LOG_OPTIONAL.join(", ")),
            });
        }
        if names.iter().any(|n| n == name) {
            return Err(DataError::Parse { path: path.to_path_buf(), line: line_no, field, message: format!("column {} appears twice", quoted(name)) });
        }
        names.push(name.to_string());
    }
    Ok(names)
}
