//! Behaviour / attention logs: CSV with the header [`ATTENTION_LOG_HEADER`],
//! one row per event. The simulator writes this format; this loader reads it.

use std::path::Path;

use super::reader::{Delimiter, Encoding, LineReader, quoted};
use super::table::{Col, ColSpec, TableFormat, read_rows};
use super::{LoadReport, OnBadRow};
use crate::interactions::{Interactions, Vocab};
use crate::{DataError, Result};

/// The exact header line of an attention log. Columns:
/// - `user`, `item`: tokens (any string without a comma);
/// - `timestamp`: integer (seconds);
/// - `event`: `impression`, `click`, `cart` or `purchase`;
/// - `position`: 0-based slot in the feed;
/// - `dwell_ms`: non-negative integer, empty where not applicable (`None`);
/// - `is_ad`: 0 or 1;
/// - `bid`, `price`: numbers, empty for organic items (read as NaN).
pub const ATTENTION_LOG_HEADER: &str =
    "user,item,timestamp,event,position,dwell_ms,is_ad,bid,price";

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
    pub users: Vocab,
    pub items: Vocab,
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

/// Reads an attention log; the first line must be [`ATTENTION_LOG_HEADER`].
pub fn load_attention_log(path: &Path, on_bad_row: OnBadRow) -> Result<(AttentionLog, LoadReport)> {
    let delimiter = Delimiter::Byte(b',');
    let mut reader = LineReader::open(path, Encoding::Utf8, delimiter)?;
    match reader.next_line()? {
        Some((_, line)) if line == ATTENTION_LOG_HEADER => {}
        Some((n, line)) => {
            return Err(DataError::Parse {
                path: path.to_path_buf(),
                line: n,
                field: String::new(),
                message: format!(
                    "header {} is not the attention-log header `{ATTENTION_LOG_HEADER}`",
                    quoted(line)
                ),
            });
        }
        None => {
            return Err(DataError::Schema {
                path: path.to_path_buf(),
                message: "empty file: no header".into(),
            });
        }
    }
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
    let mut cols: Vec<ColSpec> = cols
        .into_iter()
        .map(|(n, col)| ColSpec {
            name: n.into(),
            col,
        })
        .collect();
    let format = TableFormat {
        delimiter,
        seq_separator: b' ',
        reject_quotes: true,
        on_bad_row,
    };
    let mut report = LoadReport::new(path);
    read_rows(&mut reader, &mut cols, format, &mut report)?;
    let mut it = cols.into_iter().map(|c| c.col);
    let mut next = || it.next().unwrap();
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
    ) = (next(), next())
    else {
        unreachable!()
    };
    let Col::Int { values: timestamp } = next() else {
        unreachable!()
    };
    let Col::Choice { values: event, .. } = next() else {
        unreachable!()
    };
    let (Col::U32 { values: position }, Col::OptU32 { values: dwell_ms }) = (next(), next()) else {
        unreachable!()
    };
    let Col::Bool { values: is_ad } = next() else {
        unreachable!()
    };
    let (Col::Float { values: bid, .. }, Col::Float { values: price, .. }) = (next(), next())
    else {
        unreachable!()
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
            users,
            items,
        },
        report,
    ))
}
