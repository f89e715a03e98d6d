//! Per-user metric values, saved as a run artifact for paired significance
//! tests: CSV `user,metric,value` with a header, written and read as a stream.

use std::io::{BufRead, Write};

use crate::{EvalError, Result};

/// One metric's value for each user, aligned by index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerUser {
    pub metric: String,
    /// The users' ids: dense ids, or 64-bit pseudonyms when the run
    /// pseudonymises users.
    pub users: Vec<u64>,
    pub values: Vec<f64>,
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
/// same `f64` back. Fails on a metric name with a comma, quote or line break.
pub fn write_per_user<W: Write>(w: W, results: &[PerUser]) -> std::io::Result<()> {
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
            writeln!(w, "{u},{},{v:?}", r.metric)?;
        }
    }
    w.flush()
}

/// Reads what [`write_per_user`] wrote; rows are grouped by metric in order of
/// first appearance. `source` names the input in errors (e.g. the path).
pub fn read_per_user<R: BufRead>(r: R, source: &str) -> Result<Vec<PerUser>> {
    let err = |line: usize, column: &str, message: String| EvalError::Csv {
        path: source.to_string(),
        line,
        column: column.to_string(),
        message,
    };
    let mut out: Vec<PerUser> = Vec::new();
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
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 3 {
            return Err(err(lineno, "row", format!("expected 3 fields, found {}", fields.len())));
        }
        let user = fields[0].trim().parse::<u64>().map_err(|e| err(lineno, "user", format!("`{}`: {e}", fields[0])))?;
        let metric = fields[1].trim();
        if metric.is_empty() {
            return Err(err(lineno, "metric", "empty".into()));
        }
        let value = fields[2].trim().parse::<f64>().map_err(|e| err(lineno, "value", format!("`{}`: {e}", fields[2])))?;
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

/// [`write_per_user`] to a file (created or truncated).
pub fn write_per_user_file(path: &std::path::Path, results: &[PerUser]) -> Result<()> {
    let io = |e: std::io::Error| EvalError::Io { path: path.display().to_string(), message: e.to_string() };
    let f = std::fs::File::create(path).map_err(io)?;
    write_per_user(f, results).map_err(io)
}

/// [`read_per_user`] from a file.
pub fn read_per_user_file(path: &std::path::Path) -> Result<Vec<PerUser>> {
    let f = std::fs::File::open(path).map_err(|e| EvalError::Io { path: path.display().to_string(), message: e.to_string() })?;
    read_per_user(std::io::BufReader::new(f), &path.display().to_string())
}
