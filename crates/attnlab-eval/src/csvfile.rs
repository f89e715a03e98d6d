//! `evaluate_csv`: metrics of a predictions file, for `attnlab metrics FILE`.
//!
//! Two layouts, told apart by the header (columns in any order, names
//! case-insensitive):
//!
//! - point-wise: `user,label,score`;
//! - ranking: `user,item,score,label` — rows are grouped by user (in any
//!   order), each user's rows are their candidates and the rows with label 1
//!   their ground truth.
//!
//! Point-wise metrics work on both layouts; ranking metrics that need item ids
//! (itemcoverage, averagepopularity, giniindex) need the ranking layout. By
//! default `num_items` is the number of distinct items in the file and an
//! item's popularity is its number of label-1 rows in the file (the only
//! interactions the file holds); [`evaluate_csv_with`] takes the training
//! set's instead.
//!
//! User and item ids are any text without a comma (`u17`, a hash, `42`),
//! interned in order of appearance: only equality matters. The exception is
//! an item popularity given by the caller ([`CsvOptions::ranking`]), which
//! is indexed by integer item ids, so items must then be such ids.
//!
//! Labels are 0 or 1; any other label is an error at its line (a wrong
//! column, or ratings where clicks were meant), unless the labels are
//! declared graded ([`CsvOptions::graded_labels`]), which only the
//! error metrics `rmse` and `mae` read. Log loss is defined for scores
//! strictly between 0 and 1: any other score is an error at its line,
//! unless [`CsvOptions::clip_scores`] clips them to [1e-7, 1 - 1e-7]. A
//! UTF-8 byte order mark before the header is skipped.
//!
//! An optional `dwell` column (seconds after the click, 0 without one, never
//! negative) feeds the metrics of time ([`crate::dwell`], through
//! [`evaluate_csv_metrics`]): `dwell_auc`, `dwell@K` and `dwell_ndcg@K`
//! rank by `score`; `dwell_rmse` and `dwell_mae` read `score` as the
//! predicted `log1p(dwell seconds)` of the rows with label 1.
//!
//! An optional `provider` column (the ranking layout; one provider per item,
//! empty: none) feeds `exposure.disparity@K`: each provider's share of the
//! position-discounted exposure in the users' top-K lists against its share
//! of the rows with label 1 ([`crate::exposure::disparity_of_exposure`]).
//! As for every ranking metric, users without a row of label 1 are left out.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::ranking::{labeled_ranking, RankingOptions};
use crate::dwell::{dwell_at_k, dwell_ndcg_at_k, dwell_weighted_auc, log_dwell_errors, DwellPredictions};
use crate::exposure::disparity_of_exposure;
use crate::{EvalError, Metric, Predictions, RankingMetric, Result, TaskMetric};

/// Reads the file as a stream and computes each metric. A bad row is an error
/// naming the file, line and column; a metric with no value on this data
/// (e.g. AUC with one class) is an [`EvalError::Undefined`].
pub fn evaluate_csv(path: &Path, metrics: &[Metric]) -> Result<Vec<(Metric, f64)>> {
    evaluate_csv_with(path, metrics, &CsvOptions::default())
}

/// How a predictions file is read.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Number of items and training popularity, replacing the ones derived from the file.
    pub ranking: Option<RankingOptions>,
    /// Labels are graded relevance or ratings (any finite number), read by
    /// `rmse` and `mae` only.
    pub graded_labels: bool,
    /// Scores outside (0, 1) are clipped for log loss instead of refused.
    pub clip_scores: bool,
}

/// [`evaluate_csv`] with [`CsvOptions`].
pub fn evaluate_csv_with(path: &Path, metrics: &[Metric], csv: &CsvOptions) -> Result<Vec<(Metric, f64)>> {
    let shown = path.display().to_string();
    if csv.graded_labels
        && let Some(m) = metrics.iter().find(|m| !matches!(m, Metric::Rmse | Metric::Mae))
    {
        return Err(EvalError::Csv {
            path: shown,
            line: 1,
            column: "label".into(),
            message: format!("{} needs labels 0 or 1; graded labels are read by rmse and mae only", m.name()),
        });
    }
    let rows = open_rows(path, metrics, Needs::default(), csv)?;
    Ok(evaluate_rows(&rows, metrics, csv, &[])?.0)
}

/// The optional columns the metrics asked for need.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    dwell: bool,
    providers: bool,
}

fn open_rows(path: &Path, metrics: &[Metric], needs: Needs, csv: &CsvOptions) -> Result<Rows> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| EvalError::Io { path: shown.clone(), message: e.to_string() })?;
    read_rows(std::io::BufReader::new(file), &shown, metrics, needs, csv)
}

/// [`evaluate_csv_with`] for any [`TaskMetric`]: the plain metrics and the
/// metrics of time (which need the `dwell` column) and the disparity of
/// exposure among providers (the `provider` column), in the order given. The
/// multi-task AUCs and `relevance_auc` need a model's towers or the
/// simulator's truth, not a file: asking for one is an error.
pub fn evaluate_csv_metrics(path: &Path, metrics: &[TaskMetric], csv: &CsvOptions) -> Result<Vec<(TaskMetric, f64)>> {
    let plain: Vec<Metric> = metrics.iter().filter_map(|m| m.metric()).collect();
    let disparity_ks: Vec<u32> = metrics.iter().filter_map(|m| if let TaskMetric::ExposureDisparity(k) = m { Some(*k) } else { None }).collect();
    if let Some(m) = metrics.iter().find(|m| m.metric().is_none() && !m.is_dwell() && !matches!(m, TaskMetric::ExposureDisparity(_))) {
        return Err(EvalError::Undefined { metric: m.name(), reason: "it is computed in a run, not from a predictions file".into() });
    }
    let needs_dwell = metrics.iter().any(|m| m.is_dwell());
    if csv.graded_labels && needs_dwell {
        return Err(EvalError::Csv {
            path: path.display().to_string(),
            line: 1,
            column: "label".into(),
            message: "the metrics of time need labels 0 or 1 (clicks)".into(),
        });
    }
    let rows = open_rows(path, &plain, Needs { dwell: needs_dwell, providers: !disparity_ks.is_empty() }, csv)?;
    let (values, exposure) = evaluate_rows(&rows, &plain, csv, &disparity_ks)?;
    let mut values = values.into_iter();
    let dwell = rows.dwell.as_deref().unwrap_or(&[]);
    let p = DwellPredictions { users: &rows.users, clicks: &rows.labels, dwell_s: dwell, scores: &rows.scores, log_dwell: None };
    let mut out = Vec::with_capacity(metrics.len());
    for &m in metrics {
        let v = match m {
            TaskMetric::Metric(_) => values.next().map(|(_, v)| v),
            TaskMetric::DwellRmse => log_dwell_errors(p.clicks, p.dwell_s, p.scores).map(|e| e.0),
            TaskMetric::DwellMae => log_dwell_errors(p.clicks, p.dwell_s, p.scores).map(|e| e.1),
            TaskMetric::DwellAuc => dwell_weighted_auc(p.clicks, p.dwell_s, p.scores),
            TaskMetric::DwellAt(k) => dwell_at_k(&p, k as usize),
            TaskMetric::DwellNdcg(k) => dwell_ndcg_at_k(&p, k as usize),
            TaskMetric::ExposureDisparity(k) => {
                let at_k = exposure.iter().find(|(x, _)| *x == k).map(|(_, e)| e.as_slice());
                let v = at_k.and_then(|e| rows.disparity(e));
                let reason = "it needs items of two providers or more among the rows with label 1, and the number of items";
                out.push((m, v.ok_or_else(|| EvalError::Undefined { metric: m.name(), reason: reason.into() })?));
                continue;
            }
            _ => None,
        };
        let reason = "it needs rows with label 1 and positive dwell (and, for dwell_auc, a row with label 0)";
        out.push((m, v.ok_or_else(|| EvalError::Undefined { metric: m.name(), reason: reason.into() })?));
    }
    Ok(out)
}

/// The metrics' values and, for each K of `exposure_at` (and of the
/// ranking metrics), each item's position-discounted exposure in the top-K
/// lists.
fn evaluate_rows(rows: &Rows, metrics: &[Metric], csv: &CsvOptions, exposure_at: &[u32]) -> Result<(Vec<(Metric, f64)>, Vec<(u32, Vec<f64>)>)> {
    let options = csv.ranking.clone();
    let mut out = Vec::with_capacity(metrics.len());
    let mut ranking: Vec<Metric> = metrics.iter().copied().filter(|m| m.ranking().is_some()).collect();
    // the evaluator keeps the exposure at every K it ranks to: a K asked
    // for exposure alone rides on a hit@K nobody reads
    for &k in exposure_at {
        if !ranking.iter().any(|m| m.ranking().is_some_and(|(_, at)| at == k)) {
            ranking.push(Metric::Ranking(RankingMetric::Hit, k));
        }
    }
    let ranked = if ranking.is_empty() {
        None
    } else {
        let options = options.unwrap_or_else(|| rows.default_options());
        Some(labeled_ranking(&rows.users, rows.items.as_deref(), &rows.labels, &rows.scores, &ranking, options)?)
    };
    let p = Predictions::new(&rows.users, &rows.labels, &rows.scores)?;
    for &m in metrics {
        let v = match (m.ranking(), &ranked) {
            (Some(_), Some(r)) => r.values.iter().find(|(x, _)| *x == m).map(|&(_, v)| v),
            _ => m.compute(&p),
        };
        let v = v.ok_or_else(|| EvalError::Undefined {
            metric: m.name(),
            reason: if m.ranking().is_some() {
                "no user has a row with label 1".into()
            } else {
                "it needs rows, and both labels for AUC".into()
            },
        })?;
        out.push((m, v));
    }
    let exposure = ranked.map(|r| r.item_exposure).unwrap_or_default();
    Ok((out, exposure))
}

struct Rows {
    users: Vec<u32>,
    items: Option<Vec<u32>>,
    labels: Vec<f32>,
    scores: Vec<f32>,
    /// Dwell seconds, when the file has the column.
    dwell: Option<Vec<f32>>,
    /// Each item id's provider (`None`: an empty field), when the file has
    /// the column.
    providers: Option<HashMap<u32, Option<String>>>,
}

impl Rows {
    fn default_options(&self) -> RankingOptions {
        let Some(items) = &self.items else { return RankingOptions::default() };
        let mut distinct: Vec<u32> = items.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let max = items.iter().copied().max().map_or(0, |m| m as usize + 1);
        let mut popularity = vec![0u64; max];
        for (&it, &l) in items.iter().zip(&self.labels) {
            if l > 0.5 {
                popularity[it as usize] += 1;
            }
        }
        RankingOptions { num_items: Some(distinct.len()), item_popularity: Some(popularity), exclude_history: false }
    }

    /// Disparity of exposure among the providers, given each item id's
    /// exposure; an item's relevance is its number of rows with label 1.
    /// `None` where it is undefined (fewer than two providers with
    /// relevance, nothing exposed).
    fn disparity(&self, exposure: &[f64]) -> Option<f64> {
        let (items, providers) = (self.items.as_ref()?, self.providers.as_ref()?);
        let mut relevance = vec![0.0; exposure.len()];
        for (&it, &l) in items.iter().zip(&self.labels) {
            if let Some(r) = relevance.get_mut(it as usize).filter(|_| l > 0.5) {
                *r += 1.0;
            }
        }
        let group: Vec<Option<&str>> = (0..exposure.len() as u32).map(|i| providers.get(&i).and_then(|p| p.as_deref())).collect();
        disparity_of_exposure(exposure, &relevance, &group).ok().map(|d| d.max_ratio_gap)
    }
}

fn read_rows<R: BufRead>(mut r: R, path: &str, metrics: &[Metric], needs: Needs, csv: &CsvOptions) -> Result<Rows> {
    let err = |line: usize, column: &str, message: String| EvalError::Csv {
        path: path.to_string(),
        line,
        column: column.to_string(),
        message,
    };
    let io = |e: std::io::Error| EvalError::Io { path: path.to_string(), message: e.to_string() };
    let mut line = String::new();
    if r.read_line(&mut line).map_err(io)? == 0 {
        return Err(err(1, "header", "empty file: expected `user,label,score` or `user,item,score,label`".into()));
    }
    // a byte order mark (spreadsheets write one) is not part of the first column's name
    let header_text = line.strip_prefix('\u{feff}').unwrap_or(&line);
    let header: Vec<String> = header_text.trim_end_matches(['\n', '\r']).split(',').map(|c| c.trim().to_ascii_lowercase()).collect();
    let mut col: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if !["user", "item", "score", "label", "dwell", "provider"].contains(&name.as_str()) {
            return Err(err(1, "header", format!("unknown column `{name}` (expected user, label, score and optionally item, dwell, provider)")));
        }
        if col.insert(name.as_str(), i).is_some() {
            return Err(err(1, "header", format!("column `{name}` appears twice")));
        }
    }
    for need in ["user", "label", "score"] {
        if !col.contains_key(need) {
            return Err(err(1, "header", format!("missing column `{need}`")));
        }
    }
    let item_col = col.get("item").copied();
    if item_col.is_none()
        && let Some(m) = metrics.iter().find(|m| m.ranking().is_some_and(|(r, _)| r.needs_items()))
    {
        return Err(err(1, "header", format!("{} needs an `item` column (header `user,item,score,label`)", m.name())));
    }
    let dwell_col = col.get("dwell").copied();
    if needs.dwell && dwell_col.is_none() {
        return Err(err(1, "header", "the metrics of time need a `dwell` column (seconds after the click)".into()));
    }
    let provider_col = col.get("provider").copied();
    if needs.providers && (provider_col.is_none() || item_col.is_none()) {
        return Err(err(1, "header", "exposure.disparity@K needs `item` and `provider` columns (header `user,item,score,label,provider`)".into()));
    }
    if provider_col.is_some() && item_col.is_none() {
        return Err(err(1, "header", "a `provider` column says whose each item is: it needs an `item` column".into()));
    }
    let (cu, cl, cs) = (col["user"], col["label"], col["score"]);
    let ncols = header.len();
    let mut rows = Rows {
        users: Vec::new(),
        items: item_col.map(|_| Vec::new()),
        labels: Vec::new(),
        scores: Vec::new(),
        dwell: dwell_col.map(|_| Vec::new()),
        providers: provider_col.map(|_| HashMap::new()),
    };
    let needs_probability = metrics.contains(&Metric::LogLoss);
    let mut users = Interner::default();
    let given_popularity = csv.ranking.as_ref().is_some_and(|r| r.item_popularity.is_some());
    let mut item_ids = (!given_popularity).then(Interner::default);
    let mut lineno = 1;
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(io)? == 0 {
            break;
        }
        lineno += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() != ncols {
            return Err(err(lineno, "row", format!("expected {ncols} fields, found {}", fields.len())));
        }
        if fields[cu].is_empty() {
            return Err(err(lineno, "user", "empty user id".into()));
        }
        let user = users.intern(fields[cu]);
        let label = fields[cl].parse::<f32>().ok().filter(|l| l.is_finite());
        let label = label.ok_or_else(|| err(lineno, "label", format!("`{}` is not a finite number", fields[cl])))?;
        let score = fields[cs].parse::<f32>().ok().filter(|s| s.is_finite());
        let score = score.ok_or_else(|| err(lineno, "score", format!("`{}` is not a finite number", fields[cs])))?;
        if !csv.graded_labels && label != 0.0 && label != 1.0 {
            let message = format!("`{}` is not a label: labels are 0 or 1 (graded labels: `--labels graded`, for rmse and mae)", fields[cl]);
            return Err(err(lineno, "label", message));
        }
        if needs_probability && !csv.clip_scores && !(score > 0.0 && score < 1.0) {
            let message = format!("`{}` is not a probability in (0, 1), which log loss needs (`--clip` clips scores to [1e-7, 1 - 1e-7])", fields[cs]);
            return Err(err(lineno, "score", message));
        }
        if let (Some(ci), Some(items)) = (item_col, rows.items.as_mut()) {
            let item = match &mut item_ids {
                _ if fields[ci].is_empty() => return Err(err(lineno, "item", "empty item id".into())),
                Some(ids) => ids.intern(fields[ci]),
                None => fields[ci].parse::<u32>().map_err(|e| {
                    let why = "the item popularity given is indexed by integer item ids";
                    err(lineno, "item", format!("`{}` is not an item id ({why}): {e}", fields[ci]))
                })?,
            };
            items.push(item);
            if let (Some(cp), Some(providers)) = (provider_col, rows.providers.as_mut()) {
                let provider = Some(fields[cp]).filter(|p| !p.is_empty());
                let known = providers.entry(item).or_insert_with(|| provider.map(str::to_string));
                if known.as_deref() != provider {
                    let message = format!("item `{}` has provider `{}` here and `{}` on an earlier line: an item has one provider", fields[ci], fields[cp], known.as_deref().unwrap_or(""));
                    return Err(err(lineno, "provider", message));
                }
            }
        }
        if let (Some(cd), Some(dwell)) = (dwell_col, rows.dwell.as_mut()) {
            let d = fields[cd].parse::<f32>().ok().filter(|d| d.is_finite() && *d >= 0.0);
            dwell.push(d.ok_or_else(|| err(lineno, "dwell", format!("`{}` is not a dwell: seconds >= 0", fields[cd])))?);
        }
        rows.users.push(user);
        rows.labels.push(label);
        rows.scores.push(score);
    }
    Ok(rows)
}

/// Dense ids for the tokens of one column, in order of appearance.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    fn intern(&mut self, token: &str) -> u32 {
        let next = self.ids.len() as u32;
        *self.ids.entry(token.to_string()).or_insert(next)
    }
}
