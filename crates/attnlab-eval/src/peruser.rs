//! Per-user metric values, saved as a run artifact for paired significance
//! tests: CSV `user,metric,value` with a header, written and read as a stream.
//! In memory a run's values carry dense ids (`PerUser<u64>`); the file names
//! users as the data did (original ids, or pseudonyms), so what is read back
//! is a `PerUser<String>`. A user id with a comma, quote or line break is
//! quoted as RFC 4180 says.

use std::fmt::Display;
use std::io::{BufRead, Write};

use crate::{EvalError, Result};

/// One metric's value for each user, aligned by index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerUser<U = u64> {
    pub metric: String,
    /// The users' ids: dense ids while a run holds them, the names its
    /// artifact gives them once written.
    pub users: Vec<U>,
    pub values: Vec<f64>,
}

impl PerUser<u64> {
    /// The same values with each user named by `name`.
    pub fn named<N: Display>(&self, mut name: impl FnMut(u64) -> N) -> PerUser<N> {
        PerUser { metric: self.metric.clone(), users: self.users.iter().map(|&u| name(u)).collect(), values: self.values.clone() }
    }
}

/// Per-user AUC as a [`PerUser`] named `gauc`, users with one class skipped.
pub fn gauc_per_user(users: &[u32], labels: &[f32], scores: &[f32]) -> PerUser {
    let (mut u, mut v) = (Vec::new(), Vec::new());
    for (user, _, a) in crate::per_user_auc(users, labels, scores) {
        if let Some(a) = a {
            u.push(u64::from(user));
            v.push(a);
        }
    }
    PerUser { metric: "gauc".into(), users: u, values: v }
}

pub const PER_USER_HEADER: &str = "user,metric,value";

/// Writes `user,metric,value` rows, one per user per metric, after a
/// header. Values use Rust's shortest round-trip form, so reading gives the
/// same `f64` back. Fails on a metric name with a comma, quote or line
/// break, and on a user id with a line break.
pub fn write_per_user<W: Write, U: Display>(w: W, results: &[PerUser<U>]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(w);
    writeln!(w, "{PER_USER_HEADER}")?;
    for r in results {
        if r.metric.is_empty() || r.metric.contains([',', '"', '\n', '\r']) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("bad metric name {:?}", r.metric)));
        }
        if r.users.len() != r.values.len() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{}: {} users but {} values", r.metric, r.users.len(), r.values.len()),
            ));
        }
        for (u, v) in r.users.iter().zip(&r.values) {
            writeln!(w, "{},{},{v:?}", csv_field(&u.to_string())?, r.metric)?;
        }
    }
    w.flush()
}

/// Reads what [`write_per_user`] wrote; rows are grouped by metric in order of
/// first appearance. `source` names the input in errors (e.g. the path).
pub fn read_per_user<R: BufRead>(r: R, source: &str) -> Result<Vec<PerUser<String>>> {
    let err = |line: usize, column: &str, message: String| EvalError::Csv {
        path: source.to_string(),
        line,
        column: column.to_string(),
        message,
    };
    let mut out: Vec<PerUser<String>> = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| EvalError::Io { path: source.to_string(), message: e.to_string() })?;
        let line = line.trim_end_matches('\r');
        if i == 0 {
            if line.trim() != PER_USER_HEADER {
                return Err(err(1, "header", format!("expected `{PER_USER_HEADER}`, found `{line}`")));
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (user, rest) = split_user(line).map_err(|message| err(lineno, "user", message))?;
        let fields: Vec<&str> = rest.split(',').collect();
        if fields.len() != 2 {
            return Err(err(lineno, "row", format!("expected 3 fields, found {}", fields.len() + 1)));
        }
        if user.is_empty() {
            return Err(err(lineno, "user", "empty".into()));
        }
        let metric = fields[0].trim();
        if metric.is_empty() {
            return Err(err(lineno, "metric", "empty".into()));
        }
        let value = fields[1].trim().parse::<f64>().map_err(|e| err(lineno, "value", format!("`{}`: {e}", fields[1])))?;
        match out.iter_mut().find(|p| p.metric == metric) {
            Some(p) => {
                p.users.push(user);
                p.values.push(value);
            }
            None => out.push(PerUser { metric: metric.to_string(), users: vec![user], values: vec![value] }),
        }
    }
    Ok(out)
}

/// `text` as one CSV field: quoted (quotes doubled) when it holds a comma
/// or quote. Rows are lines, so a line break cannot be written.
fn csv_field(text: &str) -> std::io::Result<std::borrow::Cow<'_, str>> {
    if text.contains(['\n', '\r']) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("user id {text:?} holds a line break")));
    }
    Ok(if text.contains([',', '"']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    })
}

/// The first field of a row (unquoted) and what follows its comma.
fn split_user(line: &str) -> std::result::Result<(String, &str), String> {
    let Some(quoted) = line.strip_prefix('"') else {
        return match line.split_once(',') {
            Some((user, rest)) => Ok((user.trim().to_string(), rest)),
            None => Err("expected 3 fields, found 1".into()),
        };
    };
    let mut user = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '"' {
            user.push(c);
        } else if chars.peek().is_some_and(|&(_, next)| next == '"') {
            user.push('"');
            chars.next();
        } else {
            return match quoted[i + 1..].strip_prefix(',') {
                Some(rest) => Ok((user, rest)),
                None => Err("a quoted user id must be followed by a comma".into()),
            };
        }
    }
    Err("a quoted user id is not closed".into())
}

/// [`write_per_user`] to a file (created or truncated).
pub fn write_per_user_file<U: Display>(path: &std::path::Path, results: &[PerUser<U>]) -> Result<()> {
    let io = |e: std::io::Error| EvalError::Io { path: path.display().to_string(), message: e.to_string() };
    let f = std::fs::File::create(path).map_err(io)?;
    write_per_user(f, results).map_err(io)
}

/// [`read_per_user`] from a file.
pub fn read_per_user_file(path: &std::path::Path) -> Result<Vec<PerUser<String>>> {
    let f = std::fs::File::open(path).map_err(|e| EvalError::Io { path: path.display().to_string(), message: e.to_string() })?;
    read_per_user(std::io::BufReader::new(f), &path.display().to_string())
}
