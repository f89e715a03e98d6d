//! Line-by-line reading with one reused buffer, field splitting, and the
//! located errors every loader shares.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::{DataError, Result};

/// What a loader does with a row it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBadRow {
    /// Stop with an error naming file, line and field.
    #[default]
    Error,
    /// Skip the row and count it in the [`LoadReport`].
    Skip,
}

/// How many rows one file gave, and which were skipped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub path: PathBuf,
    /// Rows loaded.
    pub rows: usize,
    /// Rows skipped under [`OnBadRow::Skip`].
    pub skipped: usize,
    /// The first [`LoadReport::MAX_EXAMPLES`] skipped rows, each as its
    /// error message (`path:line: field N (name): why`).
    pub first_skipped: Vec<String>,
}

impl LoadReport {
    pub const MAX_EXAMPLES: usize = 10;

    pub(crate) fn new(path: &Path) -> LoadReport {
        LoadReport {
            path: path.to_path_buf(),
            ..LoadReport::default()
        }
    }

    /// Skips the row under `Skip`; returns the error under `Error`.
    pub(crate) fn bad_row(&mut self, on_bad_row: OnBadRow, error: DataError) -> Result<()> {
        match on_bad_row {
            OnBadRow::Error => Err(error),
            OnBadRow::Skip => {
                self.skipped += 1;
                if self.first_skipped.len() < Self::MAX_EXAMPLES {
                    self.first_skipped.push(error.to_string());
                }
                Ok(())
            }
        }
    }
}

/// Text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Invalid UTF-8 is an error naming line and field.
    #[default]
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value (the
    /// MovieLens item files).
    Latin1,
}

/// A field delimiter: one ASCII byte or an ASCII string such as `::`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Byte(u8),
    Str(&'static str),
    /// Commas outside double quotes (RFC 4180 on one line, as ML-20M's
    /// `movies.csv` quotes titles that hold commas): a quoted field's range
    /// is what lies between its quotes, doubled quotes left as written.
    QuotedComma,
}

impl Delimiter {
    /// Pushes the byte range of every field of `line` into `out` (cleared first).
    pub(crate) fn split(self, line: &str, out: &mut Vec<Range<usize>>) {
        out.clear();
        let bytes = line.as_bytes();
        let mut start = 0;
        match self {
            Delimiter::Byte(d) => {
                for i in memchr::memchr_iter(d, bytes) {
                    out.push(start..i);
                    start = i + 1;
                }
            }
            Delimiter::Str(d) => {
                for i in memchr::memmem::find_iter(bytes, d.as_bytes()) {
                    if i >= start {
                        out.push(start..i);
                        start = i + d.len();
                    }
                }
            }
            Delimiter::QuotedComma => return split_quoted(bytes, out),
        }
        out.push(start..bytes.len());
    }

    fn count_in(self, bytes: &[u8]) -> usize {
        match self {
            Delimiter::Byte(d) => memchr::memchr_iter(d, bytes).count(),
            Delimiter::Str(d) => memchr::memmem::find_iter(bytes, d.as_bytes()).count(),
            Delimiter::QuotedComma => {
                let mut fields = Vec::new();
                split_quoted(bytes, &mut fields);
                fields.len() - 1
            }
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            Delimiter::Byte(b'\t') => "tab".into(),
            Delimiter::Byte(b) => format!("`{}`", b as char),
            Delimiter::Str(s) => format!("`{s}`"),
            Delimiter::QuotedComma => "`,` (outside double quotes)".into(),
        }
    }
}

/// [`Delimiter::QuotedComma`]'s split. A quote that is not closed, or a
/// closing quote followed by anything but a comma, leaves the rest of the
/// line as one field, which then fails the row's field count.
fn split_quoted(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    let mut start = 0;
    loop {
        if bytes.get(start) == Some(&b'"') {
            let mut i = start + 1;
            let close = loop {
                match memchr::memchr(b'"', &bytes[i..]) {
                    Some(at) if bytes.get(i + at + 1) == Some(&b'"') => i += at + 2,
                    Some(at) => break Some(i + at),
                    None => break None,
                }
            };
            match close {
                Some(end) if end + 1 == bytes.len() => {
                    out.push(start + 1..end);
                    return;
                }
                Some(end) if bytes[end + 1] == b',' => {
                    out.push(start + 1..end);
                    start = end + 2;
                    continue;
                }
                _ => {
                    out.push(start..bytes.len());
                    return;
                }
            }
        }
        match memchr::memchr(b',', &bytes[start..]) {
            Some(at) => {
                out.push(start..start + at);
                start += at + 1;
            }
            None => {
                out.push(start..bytes.len());
                return;
            }
        }
    }
}

/// Reads a file line by line into one reused buffer. Lines lose their
/// `\n` / `\r\n`; empty lines are skipped; a UTF-8 byte-order mark on the
/// first line is dropped.
pub(crate) struct LineReader {
    reader: BufReader<File>,
    buf: Vec<u8>,
    text: String,
    line: u64,
    path: PathBuf,
    encoding: Encoding,
    delimiter: Delimiter,
}

impl LineReader {
    pub(crate) fn open(
        path: &Path,
        encoding: Encoding,
        delimiter: Delimiter,
    ) -> Result<LineReader> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        Ok(LineReader {
            reader: BufReader::with_capacity(1 << 20, file),
            buf: Vec::with_capacity(1024),
            text: String::new(),
            line: 0,
            path: path.to_path_buf(),
            encoding,
            delimiter,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The next non-empty line and its 1-based number. A line that is not
    /// valid UTF-8 is a [`DataError::Parse`] naming the field and byte; the
    /// next call continues after it.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &str)>> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| DataError::io(&self.path, e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            }
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
            if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
                self.buf.drain(..3);
            }
            if !self.buf.is_empty() {
                break;
            }
        }
        let line = self.line;
        if self.encoding == Encoding::Latin1 && !self.buf.is_ascii() {
            self.text.clear();
            self.text.extend(self.buf.iter().map(|&b| b as char));
            return Ok(Some((line, &self.text)));
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some((line, s))),
            Err(e) => {
                let at = e.valid_up_to();
                let field = self.delimiter.count_in(&self.buf[..at]) + 1;
                Err(DataError::Parse {
                    path: self.path.clone(),
                    line,
                    field: format!("field {field}"),
                    message: format!(
                        "invalid UTF-8 (byte 0x{:02X} at byte column {})",
                        self.buf[at],
                        at + 1
                    ),
                })
            }
        }
    }
}

/// `field N (name)` for error messages; `index` is 0-based.
pub(crate) fn field_label(index: usize, name: &str) -> String {
    if name.is_empty() {
        format!("field {}", index + 1)
    } else {
        format!("field {} ({name})", index + 1)
    }
}

/// A value quoted for an error message, shortened when long.
pub(crate) fn quoted(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        format!("`{value}`")
    } else {
        format!("`{}...`", value.chars().take(MAX).collect::<String>())
    }
}

pub(crate) fn parse_f32(s: &str) -> std::result::Result<f32, String> {
    s.trim_ascii()
        .parse::<f32>()
        .map_err(|_| format!("expected a number, found {}", quoted(s)))
}

/// An integer; an integral float (`881250949.0`, `8.8e8`) is accepted,
/// a fractional one is not.
pub(crate) fn parse_i64(s: &str) -> std::result::Result<i64, String> {
    let t = s.trim_ascii();
    if let Ok(v) = t.parse::<i64>() {
        return Ok(v);
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
        Ok(f) if f.is_finite() && f.fract() != 0.0 => Err(format!(
            "expected an integer, found the fractional {}",
            quoted(s)
        )),
        _ => Err(format!("expected an integer, found {}", quoted(s))),
    }
}

pub(crate) fn parse_u32(s: &str) -> std::result::Result<u32, String> {
    s.trim_ascii()
        .parse::<u32>()
        .map_err(|_| format!("expected a non-negative integer, found {}", quoted(s)))
}

pub(crate) fn parse_bool(s: &str) -> std::result::Result<bool, String> {
    match s.trim_ascii() {
        "1" | "true" | "True" | "TRUE" => Ok(true),
        "0" | "false" | "False" | "FALSE" => Ok(false),
        _ => Err(format!("expected 0 or 1, found {}", quoted(s))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fields() {
        let mut out = Vec::new();
        let line = "1::2::::5";
        Delimiter::Str("::").split(line, &mut out);
        let fields: Vec<&str> = out.iter().map(|r| &line[r.clone()]).collect();
        assert_eq!(fields, ["1", "2", "", "5"]);
        let line = "a\t\tb\t";
        Delimiter::Byte(b'\t').split(line, &mut out);
        let fields: Vec<&str> = out.iter().map(|r| &line[r.clone()]).collect();
        assert_eq!(fields, ["a", "", "b", ""]);
    }

    #[test]
    fn split_quoted_commas() {
        let fields = |line: &str| {
            let mut out = Vec::new();
            Delimiter::QuotedComma.split(line, &mut out);
            out.iter().map(|r| line[r.clone()].to_string()).collect::<Vec<_>>()
        };
        assert_eq!(fields("11,\"American President, The (1995)\",Comedy|Drama|Romance"), ["11", "American President, The (1995)", "Comedy|Drama|Romance"]);
        assert_eq!(fields("1,\"say \"\"hi\"\", x\",\"\""), ["1", "say \"\"hi\"\", x", ""]);
        assert_eq!(fields("1,,3,"), ["1", "", "3", ""]);
        assert_eq!(fields("a,b\"c,d"), ["a", "b\"c", "d"], "a quote inside a field is text");
        // broken quoting keeps the rest as one field, so the field count fails
        assert_eq!(fields("1,\"open, and never closed"), ["1", "\"open, and never closed"]);
        assert_eq!(fields("1,\"closed\" late,3"), ["1", "\"closed\" late,3"]);
        assert_eq!(Delimiter::QuotedComma.count_in(b"1,\"a,b\",c"), 2);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_i64("881250949"), Ok(881250949));
        assert_eq!(parse_i64("881250949.0"), Ok(881250949));
        assert!(parse_i64("1.5").unwrap_err().contains("fractional"));
        assert!(parse_f32("x").is_err());
        assert_eq!(parse_f32(" 3 "), Ok(3.0));
        assert!(parse_u32("-1").is_err());
    }
}
