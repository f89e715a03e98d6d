//! The metrics a spec can name.

use crate::ranking::{labeled_ranking, RankingOptions};
use crate::{auc, gauc, log_loss, mae, rmse, EvalError, Result};

/// What a model predicted on one split, aligned row by row.
#[derive(Debug, Clone, Copy)]
pub struct Predictions<'a> {
    pub users: &'a [u32],
    pub labels: &'a [f32],
    /// Probabilities in [0, 1].
    pub scores: &'a [f32],
}

impl<'a> Predictions<'a> {
    pub fn new(users: &'a [u32], labels: &'a [f32], scores: &'a [f32]) -> Result<Self> {
        if labels.len() != scores.len() || users.len() != labels.len() {
            return Err(EvalError::LengthMismatch { labels: labels.len(), scores: scores.len(), users: users.len() });
        }
        if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
            return Err(EvalError::NonFiniteScore { index });
        }
        Ok(Predictions { users, labels, scores })
    }
}

/// A top-K metric; see [`crate::ranking`] for the definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RankingMetric {
    Hit,
    Recall,
    Precision,
    Ndcg,
    Mrr,
    Map,
    ItemCoverage,
    AveragePopularity,
    GiniIndex,
    /// Gini of position-discounted item exposure over the catalogue.
    ExposureGini,
    /// Share of position-discounted exposure going to long-tail items.
    LongTailShare,
}

impl RankingMetric {
    pub const ALL: [RankingMetric; 11] = [
        RankingMetric::Hit,
        RankingMetric::Recall,
        RankingMetric::Precision,
        RankingMetric::Ndcg,
        RankingMetric::Mrr,
        RankingMetric::Map,
        RankingMetric::ItemCoverage,
        RankingMetric::AveragePopularity,
        RankingMetric::GiniIndex,
        RankingMetric::ExposureGini,
        RankingMetric::LongTailShare,
    ];

    /// The name before `@K`, as RecBole spells it in lower case.
    pub fn name(self) -> &'static str {
        match self {
            RankingMetric::Hit => "hit",
            RankingMetric::Recall => "recall",
            RankingMetric::Precision => "precision",
            RankingMetric::Ndcg => "ndcg",
            RankingMetric::Mrr => "mrr",
            RankingMetric::Map => "map",
            RankingMetric::ItemCoverage => "itemcoverage",
            RankingMetric::AveragePopularity => "averagepopularity",
            RankingMetric::GiniIndex => "giniindex",
            RankingMetric::ExposureGini => "exposuregini",
            RankingMetric::LongTailShare => "longtailshare",
        }
    }

    /// AveragePopularity, GiniIndex and ExposureGini are lower-is-better
    /// (popularity bias, concentration), as RecBole marks the first two
    /// `smaller = True`.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, RankingMetric::AveragePopularity | RankingMetric::GiniIndex | RankingMetric::ExposureGini)
    }

    /// Whether the metric has a value per user (all but ItemCoverage,
    /// GiniIndex, ExposureGini and LongTailShare, which describe the set of
    /// all top-K lists).
    pub fn is_per_user(self) -> bool {
        !matches!(
            self,
            RankingMetric::ItemCoverage | RankingMetric::GiniIndex | RankingMetric::ExposureGini | RankingMetric::LongTailShare
        )
    }

    /// Whether the metric needs item ids (not just which rows are relevant).
    pub fn needs_items(self) -> bool {
        !matches!(
            self,
            RankingMetric::Hit | RankingMetric::Recall | RankingMetric::Precision | RankingMetric::Ndcg | RankingMetric::Mrr | RankingMetric::Map
        )
    }

    /// Whether the metric needs the items' training popularity.
    pub fn needs_popularity(self) -> bool {
        matches!(self, RankingMetric::AveragePopularity | RankingMetric::LongTailShare)
    }
}

/// A metric a spec can name: point-wise ones, and top-K ranking ones that
/// carry their K (`ndcg@10` is `Ranking(Ndcg, 10)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Auc,
    /// Impression-weighted per-user AUC.
    Gauc,
    /// Per-user AUC, every user weighing the same.
    GaucUnweighted,
    LogLoss,
    Rmse,
    Mae,
    /// A top-K metric at K (K >= 1).
    Ranking(RankingMetric, u32),
}

/// The K values that [`Metric::ALL`] lists for every ranking metric.
pub const STANDARD_KS: [u32; 6] = [1, 5, 10, 20, 50, 100];

const POINTWISE: [Metric; 6] = [Metric::Auc, Metric::Gauc, Metric::GaucUnweighted, Metric::LogLoss, Metric::Rmse, Metric::Mae];

const fn all_metrics() -> [Metric; 6 + RankingMetric::ALL.len() * 6] {
    let mut out = [Metric::Auc; 6 + RankingMetric::ALL.len() * 6];
    let mut i = 0;
    while i < POINTWISE.len() {
        out[i] = POINTWISE[i];
        i += 1;
    }
    let mut r = 0;
    while r < RankingMetric::ALL.len() {
        let mut k = 0;
        while k < STANDARD_KS.len() {
            out[6 + r * STANDARD_KS.len() + k] = Metric::Ranking(RankingMetric::ALL[r], STANDARD_KS[k]);
            k += 1;
        }
        r += 1;
    }
    out
}

impl Metric {
    /// Every point-wise metric, then every ranking metric at each of
    /// [`STANDARD_KS`] (the order reports use for columns). [`Metric::parse`]
    /// accepts any K >= 1, not only these.
    pub const ALL: [Metric; 6 + RankingMetric::ALL.len() * 6] = all_metrics();

    /// Parses a metric name, case-insensitively: `auc`, `gauc`,
    /// `gauc_unweighted`, `logloss`, `rmse`, `mae`, or `NAME@K` with NAME one of
    /// hit, recall, precision, ndcg, mrr, map, itemcoverage,
    /// averagepopularity, giniindex, exposuregini, longtailshare and K >= 1.
    pub fn parse(name: &str) -> Result<Metric> {
        let lower = name.trim().to_ascii_lowercase();
        let found = match lower.split_once('@') {
            None => POINTWISE.into_iter().find(|m| m.name() == lower),
            Some((base, k)) => {
                let k = k.trim().parse::<u32>().ok().filter(|&k| k >= 1);
                let r = RankingMetric::ALL.into_iter().find(|r| r.name() == base.trim());
                r.zip(k).map(|(r, k)| Metric::Ranking(r, k))
            }
        };
        found.ok_or_else(|| EvalError::UnknownMetric { name: name.to_string(), known: Metric::known_forms() })
    }

    /// The accepted forms, for error messages.
    pub fn known_forms() -> String {
        let mut forms: Vec<String> = POINTWISE.iter().map(|m| m.name()).collect();
        forms.extend(RankingMetric::ALL.iter().map(|r| format!("{}@K", r.name())));
        forms.join(", ")
    }

    /// The canonical name, e.g. `auc` or `ndcg@10`; [`Metric::parse`] reads it back.
    pub fn name(self) -> String {
        match self {
            Metric::Auc => "auc".into(),
            Metric::Gauc => "gauc".into(),
            Metric::GaucUnweighted => "gauc_unweighted".into(),
            Metric::LogLoss => "logloss".into(),
            Metric::Rmse => "rmse".into(),
            Metric::Mae => "mae".into(),
            Metric::Ranking(r, k) => format!("{}@{k}", r.name()),
        }
    }

    pub fn higher_is_better(self) -> bool {
        match self {
            Metric::LogLoss | Metric::Rmse | Metric::Mae => false,
            Metric::Ranking(r, _) => r.higher_is_better(),
            _ => true,
        }
    }

    /// The ranking metric and K, if this is one.
    pub fn ranking(self) -> Option<(RankingMetric, u32)> {
        match self {
            Metric::Ranking(r, k) => Some((r, k)),
            _ => None,
        }
    }

    /// `None` where the metric is undefined on this data (e.g. one class
    /// only). Ranking metrics rank each user's rows by score with the rows
    /// labeled 1 as ground truth (users without one are skipped);
    /// ItemCoverage, AveragePopularity and GiniIndex need item ids and
    /// popularity, which `Predictions` lacks, so they are `None` here — use
    /// [`crate::RankingEvaluator`].
    pub fn compute(self, p: &Predictions) -> Option<f64> {
        match self {
            Metric::Auc => auc(p.labels, p.scores),
            Metric::Gauc => gauc(p.users, p.labels, p.scores).value,
            Metric::GaucUnweighted => gauc(p.users, p.labels, p.scores).unweighted,
            Metric::LogLoss => log_loss(p.labels, p.scores),
            Metric::Rmse => rmse(p.labels, p.scores),
            Metric::Mae => mae(p.labels, p.scores),
            Metric::Ranking(r, _) if r.needs_items() => None,
            Metric::Ranking(..) => {
                let report = labeled_ranking(p.users, None, p.labels, p.scores, &[self], RankingOptions::default()).ok()?;
                report.values.first().map(|&(_, v)| v)
            }
        }
    }

    /// True when `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() { a > b } else { a < b }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_direction() {
        assert_eq!(Metric::parse("AUC").unwrap(), Metric::Auc);
        let err = Metric::parse("acu").unwrap_err().to_string();
        assert!(err.contains("known: auc, gauc, gauc_unweighted, logloss, rmse, mae, hit@K, recall@K"), "{err}");
        assert!(Metric::Auc.better(0.8, 0.7) && !Metric::LogLoss.better(0.8, 0.7));
    }

    #[test]
    fn parse_every_form_and_round_trip() {
        let cases = [
            ("hit@10", Metric::Ranking(RankingMetric::Hit, 10)),
            ("Recall@20", Metric::Ranking(RankingMetric::Recall, 20)),
            ("NDCG@10", Metric::Ranking(RankingMetric::Ndcg, 10)),
            ("mrr@10", Metric::Ranking(RankingMetric::Mrr, 10)),
            ("precision@5", Metric::Ranking(RankingMetric::Precision, 5)),
            ("map@10", Metric::Ranking(RankingMetric::Map, 10)),
            ("ItemCoverage@10", Metric::Ranking(RankingMetric::ItemCoverage, 10)),
            ("averagepopularity@10", Metric::Ranking(RankingMetric::AveragePopularity, 10)),
            ("GiniIndex@10", Metric::Ranking(RankingMetric::GiniIndex, 10)),
            ("rmse", Metric::Rmse),
            ("MAE", Metric::Mae),
            ("gauc_unweighted", Metric::GaucUnweighted),
            ("logloss", Metric::LogLoss),
        ];
        for (text, m) in cases {
            assert_eq!(Metric::parse(text).unwrap(), m, "{text}");
            assert_eq!(Metric::parse(&m.name()).unwrap(), m);
        }
        for m in Metric::ALL {
            assert_eq!(Metric::parse(&m.name()).unwrap(), m);
        }
        for bad in ["ndcg", "ndcg@0", "ndcg@x", "auc@5", "hit@-1", "recall@", ""] {
            assert!(matches!(Metric::parse(bad), Err(EvalError::UnknownMetric { .. })), "{bad}");
        }
    }

    #[test]
    fn directions() {
        for (m, up) in [
            ("auc", true),
            ("gauc_unweighted", true),
            ("rmse", false),
            ("mae", false),
            ("ndcg@5", true),
            ("itemcoverage@5", true),
            ("averagepopularity@5", false),
            ("giniindex@5", false),
        ] {
            assert_eq!(Metric::parse(m).unwrap().higher_is_better(), up, "{m}");
        }
    }

    #[test]
    fn predictions_reject_misaligned_or_nan() {
        assert!(Predictions::new(&[1], &[1.0, 0.0], &[0.5, 0.5]).is_err());
        assert_eq!(Predictions::new(&[1, 1], &[1.0, 0.0], &[0.5, f32::NAN]).unwrap_err(), EvalError::NonFiniteScore { index: 1 });
    }

    #[test]
    fn compute_ranking_on_labeled_rows() {
        // user 1: rows scored 0.9 (y=0), 0.8 (y=1) -> first hit at rank 2
        let p = Predictions::new(&[1, 1, 2], &[0.0, 1.0, 0.0], &[0.9, 0.8, 0.1]).unwrap();
        assert_eq!(Metric::parse("mrr@2").unwrap().compute(&p), Some(0.5));
        assert_eq!(Metric::parse("hit@1").unwrap().compute(&p), Some(0.0));
        assert_eq!(Metric::parse("itemcoverage@1").unwrap().compute(&p), None);
    }
}
