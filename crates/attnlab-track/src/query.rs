//! Finding, comparing and naming runs: the store side of `attnlab runs
//! list|show|diff`.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use serde::Serialize;

use crate::error::{Result, TrackError};
use crate::model::{RunRecord, RunStatus};
use crate::store::{RUN_COLUMNS, Store, run_row};

/// Shortest run id prefix [`Store::resolve_run_id`] accepts.
pub const MIN_PREFIX: usize = 4;

/// How many candidates an ambiguous prefix error lists.
pub const MAX_CANDIDATES: usize = 10;

/// Which runs to list. Every condition must hold; an empty filter matches all runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Exact experiment name.
    pub experiment: Option<String>,
    pub status: Option<RunStatus>,
    /// Each (key, value) must be a tag of the run with exactly that value.
    pub tags: Vec<(String, String)>,
    /// Each (key, value) must be a param of the run with exactly that value.
    pub params: Vec<(String, String)>,
    /// Only the children of this run (a sweep's trials).
    pub parent: Option<String>,
}

/// Values of one key across the runs given to [`diff_runs`], in their
/// order; `None` where a run lacks the key.
pub type DiffRow<T> = (String, Vec<Option<T>>);

/// What differs between runs: only keys whose values are not the same in
/// every run (a key missing from some runs counts as differing). Keys are sorted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunDiff {
    /// Run ids, giving the column order of every row below.
    pub runs: Vec<String>,
    /// Run attributes: experiment, name, model, seed, status, run_key, parent.
    pub fields: Vec<DiffRow<String>>,
    pub params: Vec<DiffRow<String>>,
    /// Summary (last) metric values.
    pub metrics: Vec<DiffRow<f64>>,
    pub tags: Vec<DiffRow<String>>,
}

impl RunDiff {
    /// True when the runs agree on everything compared.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.params.is_empty()
            && self.metrics.is_empty()
            && self.tags.is_empty()
    }
}

/// Compares runs key by key and keeps what differs. Pure: no store needed.
/// Metric values are compared exactly (they are stored values, not recomputed ones).
pub fn diff_runs(runs: &[RunRecord]) -> RunDiff {
    let fields = {
        let attrs: [(&str, fn(&RunRecord) -> Option<String>); 7] = [
            ("experiment", |r| Some(r.experiment.clone())),
            ("name", |r| Some(r.name.clone())),
            ("model", |r| Some(r.model.clone())),
            ("seed", |r| Some(r.seed.to_string())),
            ("status", |r| Some(r.status.to_string())),
            ("run_key", |r| Some(r.run_key.clone())),
            ("parent", |r| r.parent.clone()),
        ];
        attrs
            .iter()
            .map(|(name, get)| ((*name).to_owned(), runs.iter().map(get).collect::<Vec<_>>()))
            .filter(|(_, values)| differs(values))
            .collect()
    };
    RunDiff {
        runs: runs.iter().map(|r| r.id.clone()).collect(),
        fields,
        params: diff_maps(runs, |r| &r.params),
        metrics: diff_maps(runs, |r| &r.metrics),
        tags: diff_maps(runs, |r| &r.tags),
    }
}

fn diff_maps<T: Clone + PartialEq>(
    runs: &[RunRecord],
    map: impl Fn(&RunRecord) -> &BTreeMap<String, T>,
) -> Vec<DiffRow<T>> {
    let keys: BTreeSet<&String> = runs.iter().flat_map(|r| map(r).keys()).collect();
    keys.into_iter()
        .map(|key| {
            let values: Vec<Option<T>> = runs.iter().map(|r| map(r).get(key).cloned()).collect();
            (key.clone(), values)
        })
        .filter(|(_, values)| differs(values))
        .collect()
}

fn differs<T: PartialEq>(values: &[Option<T>]) -> bool {
    values.windows(2).any(|pair| pair[0] != pair[1])
}

impl Store {
    /// Runs matching `filter`, oldest first, each with params, tags and
    /// summary metrics. Filtering happens in SQL; one read transaction, so
    /// the list is a consistent snapshot. An `experiment` that does not
    /// exist is [`TrackError::UnknownExperiment`] (a typo, not "no runs").
    pub fn find_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        const OP: &str = "find runs";
        let mut sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE 1"
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(experiment) = &filter.experiment {
            args.push(Value::Text(experiment.clone()));
            sql.push_str(&format!(" AND e.name = ?{}", args.len()));
        }
        if let Some(status) = filter.status {
            args.push(Value::Text(status.as_str().to_owned()));
            sql.push_str(&format!(" AND r.status = ?{}", args.len()));
        }
        if let Some(parent) = &filter.parent {
            args.push(Value::Text(parent.clone()));
            sql.push_str(&format!(" AND r.parent_run_id = ?{}", args.len()));
        }
        for (table, pairs) in [("tags", &filter.tags), ("params", &filter.params)] {
            for (key, value) in pairs {
                args.push(Value::Text(key.clone()));
                args.push(Value::Text(value.clone()));
                let (k, v) = (args.len() - 1, args.len());
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = ?{k} AND x.value = ?{v})"
                ));
            }
        }
        sql.push_str(" ORDER BY r.start_ms, r.rowid");
        self.read(OP, |tx| {
            if let Some(experiment) = &filter.experiment {
                let exists = tx
                    .query_row("SELECT 1 FROM experiments WHERE name = ?1", [experiment], |_| Ok(()))
                    .optional()
                    .map_err(self.err(OP))?;
                if exists.is_none() {
                    return Err(TrackError::UnknownExperiment {
                        path: self.path.clone(),
                        name: experiment.clone(),
                    });
                }
            }
            let mut stmt = tx.prepare(&sql).map_err(self.err(OP))?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), run_row)
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            rows.into_iter().map(|row| self.complete(tx, row)).collect()
        })
    }

    /// The full id of the one run whose id starts with `prefix` (at least
    /// [`MIN_PREFIX`] characters, case-insensitive, surrounding spaces
    /// ignored). Too short -> [`TrackError::RunIdTooShort`]; no match ->
    /// [`TrackError::NoRunMatches`]; several -> [`TrackError::AmbiguousRunId`]
    /// listing them.
    pub fn resolve_run_id(&self, prefix: &str) -> Result<String> {
        const OP: &str = "resolve run id";
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.chars().count() < MIN_PREFIX {
            return Err(TrackError::RunIdTooShort {
                path: self.path.clone(),
                prefix,
                min: MIN_PREFIX,
            });
        }
        // A range on the primary key instead of LIKE, whose `%` and `_` are wildcards.
        let upper = format!("{prefix}\u{10FFFF}");
        let (total, candidates) = self.read(OP, |tx| {
            let total: i64 = tx
                .query_row(
                    "SELECT COUNT(*) FROM runs WHERE id >= ?1 AND id < ?2",
                    [&prefix, &upper],
                    |row| row.get(0),
                )
                .map_err(self.err(OP))?;
            let mut stmt = tx
                .prepare_cached("SELECT id FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3")
                .map_err(self.err(OP))?;
            let ids = stmt
                .query_map(
                    rusqlite::params![prefix, upper, MAX_CANDIDATES as i64],
                    |row| row.get::<_, String>(0),
                )
                .map_err(self.err(OP))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(self.err(OP))?;
            Ok((total, ids))
        })?;
        match (total, candidates.as_slice()) {
            (0, _) => Err(TrackError::NoRunMatches {
                path: self.path.clone(),
                prefix,
            }),
            (1, [only]) => Ok(only.clone()),
            _ => Err(TrackError::AmbiguousRunId {
                path: self.path.clone(),
                prefix,
                total: usize::try_from(total).unwrap_or(usize::MAX),
                candidates,
            }),
        }
    }
}
