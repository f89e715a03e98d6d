//! The name of a validation figure: any attnlab-eval [`Metric`] (CTR,
//! ranking) or one of the multi-task AUCs (CTR, CVR, CTCVR), which are not
//! [`Metric`]s of their own: they need both towers of a model.

use crate::Metric;

/// What a task's validation reports, and what early stopping watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskMetric {
    /// A point-wise or ranking metric (`auc`, `logloss`, `ndcg@10`, …).
    Metric(Metric),
    /// AUC of pCTR against clicks over all impressions (`ctr_auc`).
    CtrAuc,
    /// AUC of pCVR against conversions over clicked impressions (`cvr_auc`).
    CvrAuc,
    /// AUC of pCTR·pCVR against click·conversion over all impressions (`ctcvr_auc`).
    CtcvrAuc,
}

impl TaskMetric {
    /// The multi-task AUCs, in report order.
    pub const MULTITASK: [TaskMetric; 3] = [TaskMetric::CtrAuc, TaskMetric::CvrAuc, TaskMetric::CtcvrAuc];

    /// `ctr_auc`, `cvr_auc`, `ctcvr_auc`, or the metric's own name.
    pub fn name(self) -> String {
        match self {
            TaskMetric::Metric(m) => m.name(),
            TaskMetric::CtrAuc => "ctr_auc".into(),
            TaskMetric::CvrAuc => "cvr_auc".into(),
            TaskMetric::CtcvrAuc => "ctcvr_auc".into(),
        }
    }

    /// Reads [`TaskMetric::name`] back (case-insensitive); anything else is
    /// parsed as a [`Metric`].
    pub fn parse(name: &str) -> crate::Result<TaskMetric> {
        let lower = name.trim().to_ascii_lowercase();
        match TaskMetric::MULTITASK.into_iter().find(|m| m.name() == lower) {
            Some(m) => Ok(m),
            None => Metric::parse(name).map(TaskMetric::Metric),
        }
    }

    pub fn higher_is_better(self) -> bool {
        match self {
            TaskMetric::Metric(m) => m.higher_is_better(),
            _ => true,
        }
    }

    /// True when `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() { a > b } else { a < b }
    }

    /// The eval metric, if this is one.
    pub fn metric(self) -> Option<Metric> {
        match self {
            TaskMetric::Metric(m) => Some(m),
            _ => None,
        }
    }
}

impl From<Metric> for TaskMetric {
    fn from(m: Metric) -> TaskMetric {
        TaskMetric::Metric(m)
    }
}

impl PartialEq<Metric> for TaskMetric {
    fn eq(&self, other: &Metric) -> bool {
        *self == TaskMetric::Metric(*other)
    }
}

impl std::fmt::Display for TaskMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_directions() {
        for m in TaskMetric::MULTITASK {
            assert_eq!(TaskMetric::parse(&m.name()).unwrap(), m);
            assert!(m.better(0.7, 0.6));
        }
        assert_eq!(TaskMetric::parse("CVR_AUC").unwrap(), TaskMetric::CvrAuc);
        assert_eq!(TaskMetric::parse("ndcg@10").unwrap().name(), "ndcg@10");
        assert_eq!(TaskMetric::parse("logloss").unwrap(), Metric::LogLoss);
        assert!(!TaskMetric::from(Metric::LogLoss).better(0.7, 0.6));
        assert!(TaskMetric::parse("cvr").is_err());
    }
}
