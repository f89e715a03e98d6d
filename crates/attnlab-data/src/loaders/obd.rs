//! The Open Bandit Dataset (ZOZOTOWN fashion recommendations, small
//! version): one folder per logging policy (`random`, `bts`) and campaign
//! (`all`, `men`, `women`) holding `CAMPAIGN.csv`, one row per shown
//! (item, slot), and `item_context.csv`, one row per item. Both start with
//! an unnamed pandas index column, which is ignored.
//!
//! Log columns (each required, in any order): `timestamp`
//! (`2019-11-24 00:01:03.979311+00:00`), `item_id` (0-based, below the
//! number of items in `item_context.csv`), `position` (the slot, 1..=3 in
//! the file, stored 0-based), `click` (0 or 1), `propensity_score` (the
//! logging policy's probability of this item in this slot, in (0, 1]),
//! `user_feature_0..3` (hashed tokens) and `user-item_affinity_J` for every
//! item J. Item context: `item_id` (0, 1, ... in order), `item_feature_0`
//! (a number), `item_feature_1..3` (hashed tokens).

use std::path::{Path, PathBuf};

use super::reader::{Delimiter, Encoding, LineReader, field_label, parse_bool, parse_i64, quoted};
use crate::interactions::Vocab;
use crate::{DataError, Result};

/// Slots of a recommendation page.
pub const OBD_SLOTS: usize = 3;

/// A column of interned tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenColumn {
    pub name: String,
    /// Ids from `vocab` (unpadded: the first token is 0).
    pub ids: Vec<u32>,
    pub vocab: Vocab,
}

/// `item_context.csv`, indexed by item id.
#[derive(Debug, Clone, PartialEq)]
pub struct ObdItems {
    /// `item_feature_0`.
    pub feature_0: Vec<f64>,
    /// `item_feature_1..3`.
    pub categorical: Vec<TokenColumn>,
}

impl ObdItems {
    pub fn len(&self) -> usize {
        self.feature_0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.feature_0.is_empty()
    }
}

/// One policy x campaign log, columnar, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ObdLog {
    /// The log file.
    pub path: PathBuf,
    /// Microseconds since the Unix epoch, UTC.
    pub timestamp_us: Vec<i64>,
    pub item: Vec<u32>,
    /// 0-based slot, below [`OBD_SLOTS`].
    pub position: Vec<u8>,
    pub click: Vec<bool>,
    /// The logging policy's probability of this item in this slot, in (0, 1].
    pub propensity: Vec<f64>,
    /// `user_feature_0..3`.
    pub user_features: Vec<TokenColumn>,
    /// Row-major `rows x items`: `user-item_affinity_J` of each row.
    pub affinity: Vec<f32>,
    pub items: ObdItems,
}

impl ObdLog {
    pub fn len(&self) -> usize {
        self.item.len()
    }

    pub fn is_empty(&self) -> bool {
        self.item.is_empty()
    }

    /// Items as action indices.
    pub fn actions(&self) -> Vec<usize> {
        self.item.iter().map(|&i| i as usize).collect()
    }

    /// 0-based slots as indices.
    pub fn slots(&self) -> Vec<usize> {
        self.position.iter().map(|&p| p as usize).collect()
    }

    /// Clicks as rewards 0 / 1.
    pub fn rewards(&self) -> Vec<f64> {
        self.click.iter().map(|&c| if c { 1.0 } else { 0.0 }).collect()
    }

    /// The mean click: the logging policy's own CTR per shown item.
    pub fn ctr(&self) -> f64 {
        self.click.iter().filter(|&&c| c).count() as f64 / self.len().max(1) as f64
    }
}

const USER_FEATURES: usize = 4;

/// Reads `dir/CAMPAIGN.csv` and `dir/item_context.csv`.
pub fn load_obd(dir: &Path, campaign: &str) -> Result<ObdLog> {
    let items = load_items(&dir.join("item_context.csv"))?;
    let path = dir.join(format!("{campaign}.csv"));
    let mut reader = LineReader::open(&path, Encoding::Utf8, Delimiter::Byte(b','))?;
    let n_items = items.len();
    let mut names: Vec<String> = ["timestamp", "item_id", "position", "click", "propensity_score"].map(String::from).to_vec();
    names.extend((0..USER_FEATURES).map(|k| format!("user_feature_{k}")));
    names.extend((0..n_items).map(|j| format!("user-item_affinity_{j}")));
    let header = Header::read(&mut reader, &names)?;
    let mut log = ObdLog {
        path: path.clone(),
        timestamp_us: Vec::new(),
        item: Vec::new(),
        position: Vec::new(),
        click: Vec::new(),
        propensity: Vec::new(),
        user_features: (0..USER_FEATURES)
            .map(|k| TokenColumn { name: format!("user_feature_{k}"), ids: Vec::new(), vocab: Vocab::unpadded() })
            .collect(),
        affinity: Vec::new(),
        items,
    };
    let mut fields = Vec::new();
    while let Some((line, text)) = reader.next_line()? {
        let row = header.split(&path, line, text, &mut fields)?;
        let at = |k: usize| (header.columns[k], row[header.columns[k]]);
        let bad = |k: usize, message: String| DataError::Parse {
            path: path.clone(),
            line,
            field: field_label(header.columns[k], &names[k]),
            message,
        };
        let (_, ts) = at(0);
        log.timestamp_us.push(parse_timestamp_us(ts).map_err(|m| bad(0, m))?);
        let item = parse_i64(at(1).1).map_err(|m| bad(1, m))?;
        if !(0..n_items as i64).contains(&item) {
            return Err(bad(1, format!("item {item} is not in item_context.csv (0..={})", n_items as i64 - 1)));
        }
        log.item.push(item as u32);
        let position = parse_i64(at(2).1).map_err(|m| bad(2, m))?;
        if !(1..=OBD_SLOTS as i64).contains(&position) {
            return Err(bad(2, format!("position {position} is outside the slots 1..={OBD_SLOTS} (0..={} zero-based)", OBD_SLOTS - 1)));
        }
        log.position.push((position - 1) as u8);
        log.click.push(parse_bool(at(3).1).map_err(|m| bad(3, m))?);
        let p = parse_f64(at(4).1).map_err(|m| bad(4, m))?;
        if !(p > 0.0 && p <= 1.0) {
            return Err(bad(4, format!("propensity {p} is not a probability in (0, 1]")));
        }
        log.propensity.push(p);
        for k in 0..USER_FEATURES {
            let token = at(5 + k).1;
            if token.is_empty() {
                return Err(bad(5 + k, "empty token".into()));
            }
            let column = &mut log.user_features[k];
            column.ids.push(column.vocab.intern(token));
        }
        for j in 0..n_items {
            let k = 5 + USER_FEATURES + j;
            log.affinity.push(parse_f64(at(k).1).map_err(|m| bad(k, m))? as f32);
        }
    }
    if log.is_empty() {
        return Err(DataError::Schema { path, message: "no rows after the header".into() });
    }
    Ok(log)
}

/// Reads `item_context.csv`; item ids must be 0, 1, ... in order.
fn load_items(path: &Path) -> Result<ObdItems> {
    let mut reader = LineReader::open(path, Encoding::Utf8, Delimiter::Byte(b','))?;
    let names: Vec<String> = ["item_id", "item_feature_0", "item_feature_1", "item_feature_2", "item_feature_3"].map(String::from).to_vec();
    let header = Header::read(&mut reader, &names)?;
    let mut items = ObdItems {
        feature_0: Vec::new(),
        categorical: (1..=3)
            .map(|k| TokenColumn { name: format!("item_feature_{k}"), ids: Vec::new(), vocab: Vocab::unpadded() })
            .collect(),
    };
    let mut fields = Vec::new();
    while let Some((line, text)) = reader.next_line()? {
        let row = header.split(path, line, text, &mut fields)?;
        let bad = |k: usize, message: String| DataError::Parse {
            path: path.to_path_buf(),
            line,
            field: field_label(header.columns[k], &names[k]),
            message,
        };
        let id = parse_i64(row[header.columns[0]]).map_err(|m| bad(0, m))?;
        if id != items.len() as i64 {
            return Err(bad(0, format!("item {id} out of order: expected item {}", items.len())));
        }
        items.feature_0.push(parse_f64(row[header.columns[1]]).map_err(|m| bad(1, m))?);
        for k in 0..3 {
            let column = &mut items.categorical[k];
            column.ids.push(column.vocab.intern(row[header.columns[2 + k]]));
        }
    }
    if items.is_empty() {
        return Err(DataError::Schema { path: path.to_path_buf(), message: "no items after the header".into() });
    }
    Ok(items)
}

/// Where each wanted column sits in a header line.
struct Header {
    /// Field index of each wanted name, in the order asked.
    columns: Vec<usize>,
    fields: usize,
}

impl Header {
    /// Reads the header line. The first field may be the unnamed index;
    /// every wanted name must be there once, and nothing else.
    fn read(reader: &mut LineReader, wanted: &[String]) -> Result<Header> {
        let path = reader.path().to_path_buf();
        let Some((line, text)) = reader.next_line()? else {
            return Err(DataError::Schema { path, message: "empty file: no header".into() });
        };
        let bad = |field: String, message: String| DataError::Parse { path: path.clone(), line, field, message };
        let names: Vec<&str> = text.split(',').collect();
        let mut columns = vec![usize::MAX; wanted.len()];
        for (i, name) in names.iter().enumerate() {
            if i == 0 && name.is_empty() {
                continue;
            }
            match wanted.iter().position(|w| w == name) {
                Some(k) if columns[k] != usize::MAX => return Err(bad(field_label(i, name), "column repeated".into())),
                Some(k) => columns[k] = i,
                None => return Err(bad(field_label(i, name), format!("unexpected column {}", quoted(name)))),
            }
        }
        if let Some(k) = columns.iter().position(|&c| c == usize::MAX) {
            return Err(bad(String::new(), format!("missing column `{}`", wanted[k])));
        }
        Ok(Header { columns, fields: names.len() })
    }

    /// The fields of a data line; their count must match the header's.
    fn split<'t>(&self, path: &Path, line: u64, text: &'t str, scratch: &mut Vec<std::ops::Range<usize>>) -> Result<Vec<&'t str>> {
        Delimiter::Byte(b',').split(text, scratch);
        if scratch.len() != self.fields {
            return Err(DataError::Parse {
                path: path.to_path_buf(),
                line,
                field: String::new(),
                message: format!("{} fields, but the header has {}", scratch.len(), self.fields),
            });
        }
        Ok(scratch.iter().map(|r| &text[r.clone()]).collect())
    }
}

fn parse_f64(s: &str) -> std::result::Result<f64, String> {
    match s.trim_ascii().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("expected a finite number, found {}", quoted(s))),
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM|-HH:MM|Z]` (no offset: UTC) to
/// microseconds since the Unix epoch.
fn parse_timestamp_us(s: &str) -> std::result::Result<i64, String> {
    let bad = || format!("expected a time like `2019-11-24 00:01:03.979311+00:00`, found {}", quoted(s));
    let s = s.trim_ascii();
    let (date, rest) = s.split_once([' ', 'T']).ok_or_else(bad)?;
    let num = |t: &str, lo: i64, hi: i64| -> std::result::Result<i64, String> {
        let v: i64 = t.parse().map_err(|_| bad())?;
        if t.bytes().all(|b| b.is_ascii_digit()) && (lo..=hi).contains(&v) { Ok(v) } else { Err(bad()) }
    };
    let mut d = date.split('-');
    let (y, m, day) = match (d.next(), d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(day), None) => (num(y, 1, 9999)?, num(m, 1, 12)?, num(day, 1, 31)?),
        _ => return Err(bad()),
    };
    let (time, offset_s) = match rest.find(['+', '-', 'Z']) {
        None => (rest, 0),
        Some(i) if &rest[i..] == "Z" => (&rest[..i], 0),
        Some(i) => {
            let (h, mm) = rest[i + 1..].split_once(':').ok_or_else(bad)?;
            let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
            (&rest[..i], sign * (num(h, 0, 23)? * 3600 + num(mm, 0, 59)? * 60))
        }
    };
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':');
    let (hh, mi, ss) = match (t.next(), t.next(), t.next(), t.next()) {
        (Some(h), Some(mi), Some(ss), None) => (num(h, 0, 23)?, num(mi, 0, 59)?, num(ss, 0, 60)?),
        _ => return Err(bad()),
    };
    if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let micros = if frac.is_empty() { 0 } else { frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(6 - frac.len() as u32) };
    let seconds = days_from_civil(y, m, day) * 86_400 + hh * 3600 + mi * 60 + ss - offset_s;
    Ok(seconds * 1_000_000 + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp_us("1970-01-01 00:00:00+00:00"), Ok(0));
        // 2019-11-24T00:01:03Z is 1574553663 s (date -u -d ... +%s)
        assert_eq!(parse_timestamp_us("2019-11-24 00:01:03.979311+00:00"), Ok(1_574_553_663_979_311));
        assert_eq!(parse_timestamp_us("2019-11-24 01:01:03.5+01:00"), Ok(1_574_553_663_500_000));
        assert_eq!(parse_timestamp_us("2000-03-01 00:00:00"), Ok(951_868_800_000_000));
        for bad in ["2019-11-24", "2019-13-01 00:00:00", "2019-11-24 00:01:03.1234567", "x 00:00:00", "2019-11-24 24:00:00"] {
            assert!(parse_timestamp_us(bad).is_err(), "{bad}");
        }
    }
}
