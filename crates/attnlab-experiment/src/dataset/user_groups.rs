//! `protocol.user_groups`: token columns of the source's user file (RecBole
//! `.user`, MovieLens `u.user` / `users.dat`: gender, age, occupation, ...)
//! whose values group the users; every next-item run then reports, for
//! each per-user test metric, the gap between the best and the worst
//! group's mean and its bootstrap CI (`attnlab_eval::group_gap`).

use attnlab_data::FieldType;
use attnlab_eval::exposure::group_gap;
use attnlab_eval::PerUser;
use attnlab_spec::LoadedSpec;

use super::InteractionRows;
use crate::{ExperimentError, Result};

/// Bootstrap resamples and level of the gaps' CIs.
const RESAMPLES: usize = 1000;
const LEVEL: f64 = 0.95;

/// One grouping of the users: a user column's value per user id.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroups {
    pub column: String,
    /// The group of user id `u` (`None`: no value in the user file).
    pub group: Vec<Option<String>>,
}

/// The spec's `protocol.user_groups`, read from the user file.
pub(crate) fn user_groups(loaded: &LoadedSpec, rows: &InteractionRows<'_>, num_users: usize) -> Result<Vec<UserGroups>> {
    let names = &loaded.spec.protocol.user_groups;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let named = |i: usize, message: String| ExperimentError::bad(format!("{}: protocol.user_groups[{i}]: {message}", loaded.path.display()));
    let clean = super::read_again(loaded, rows)?;
    let table = clean.user_features.as_ref().ok_or_else(|| {
        named(0, format!("the data beside {} have no user file (RecBole `.user`, MovieLens `u.user`) to group users by", rows.file.display()))
    })?;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if names[..i].contains(name) {
                return Err(named(i, format!("`{name}` is named twice")));
            }
            let column = table.column(name).ok_or_else(|| {
                let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                named(i, format!("`{name}` is not a user column (the user file has: {})", known.join(", ")))
            })?;
            if column.kind() != FieldType::Token {
                return Err(named(i, format!("`{name}` is a {} column; users are grouped by a token column", column.kind().as_str())));
            }
            let group = (0..num_users).map(|u| column.token_str(u).map(str::to_string)).collect();
            Ok(UserGroups { column: name.clone(), group })
        })
        .collect()
}

/// For each grouping and per-user metric with users in two groups or more:
/// `gap.<column>.<metric>` and its CI, `.ci_low` and `.ci_high`.
pub fn group_gaps(per_user: &[PerUser], groupings: &[UserGroups], seed: u64) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for grouping in groupings {
        for metric in per_user {
            let (values, groups): (Vec<f64>, Vec<&str>) = metric
                .users
                .iter()
                .zip(&metric.values)
                .filter_map(|(&u, &v)| Some((v, grouping.group.get(u as usize)?.as_deref()?)))
                .unzip();
            // fewer than two groups among the evaluated users: no gap to report
            let Ok(gap) = group_gap(&values, &groups, RESAMPLES, LEVEL, seed) else { continue };
            let key = format!("gap.{}.{}", grouping.column, metric.metric);
            out.extend([(format!("{key}.ci_low"), gap.ci_low), (format!("{key}.ci_high"), gap.ci_high), (key, gap.gap)]);
        }
    }
    out
}
