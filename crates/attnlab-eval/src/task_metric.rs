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
    /// RMSE of the predicted `log1p(dwell s)` over clicks (`dwell_rmse`; see [`crate::dwell`]).
    DwellRmse,
    /// MAE of the predicted `log1p(dwell s)` over clicks (`dwell_mae`).
    DwellMae,
    /// Dwell-weighted AUC (`dwell_auc`).
    DwellAuc,
    /// Dwell seconds in each user's top K (`dwell@K`).
    DwellAt(u32),
    /// NDCG@K with gain = dwell (`dwell_ndcg@K`).
    DwellNdcg(u32),
    /// AUC at position 0 against the simulator's true relevance (`relevance_auc`).
    RelevanceAuc,
    /// Disparity of exposure among item providers in the top-K lists
    /// (`exposure.disparity@K`, [`crate::exposure::disparity_of_exposure`]):
    /// a predictions file's `provider` column names them; a run logs it
    /// under the same name when its spec sets `protocol.providers`.
    ExposureDisparity(u32),
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
            TaskMetric::DwellRmse => "dwell_rmse".into(),
            TaskMetric::DwellMae => "dwell_mae".into(),
            TaskMetric::DwellAuc => "dwell_auc".into(),
            TaskMetric::DwellAt(k) => format!("dwell@{k}"),
            TaskMetric::DwellNdcg(k) => format!("dwell_ndcg@{k}"),
            TaskMetric::RelevanceAuc => "relevance_auc".into(),
            TaskMetric::ExposureDisparity(k) => format!("exposure.disparity@{k}"),
        }
    }

    /// Whether this is one of the metrics of time ([`crate::dwell`]), which
    /// need dwell labels.
    pub fn is_dwell(self) -> bool {
        matches!(
            self,
            TaskMetric::DwellRmse | TaskMetric::DwellMae | TaskMetric::DwellAuc | TaskMetric::DwellAt(_) | TaskMetric::DwellNdcg(_)
        )
    }

    /// Reads [`TaskMetric::name`] back (case-insensitive); anything else is
    /// parsed as a [`Metric`].
    pub fn parse(name: &str) -> crate::Result<TaskMetric> {
        let lower = name.trim().to_ascii_lowercase();
        let plain = [TaskMetric::DwellRmse, TaskMetric::DwellMae, TaskMetric::DwellAuc, TaskMetric::RelevanceAuc];
        if let Some(m) = TaskMetric::MULTITASK.into_iter().chain(plain).find(|m| m.name() == lower) {
            return Ok(m);
        }
        let at_k = |prefix: &str| lower.strip_prefix(prefix).and_then(|k| k.trim().parse::<u32>().ok()).filter(|&k| k >= 1);
        if let Some(k) = at_k("dwell@") {
            return Ok(TaskMetric::DwellAt(k));
        }
        if let Some(k) = at_k("dwell_ndcg@") {
            return Ok(TaskMetric::DwellNdcg(k));
        }
        if let Some(k) = at_k("exposure.disparity@") {
            return Ok(TaskMetric::ExposureDisparity(k));
        }
        Metric::parse(name).map(TaskMetric::Metric).map_err(|e| match e {
            crate::EvalError::UnknownMetric { name, known } => crate::EvalError::UnknownMetric {
                name,
                known: format!("{known}, ctr_auc, cvr_auc, ctcvr_auc, dwell_rmse, dwell_mae, dwell_auc, dwell@K, dwell_ndcg@K, relevance_auc, exposure.disparity@K"),
            },
            other => other,
        })
    }

    pub fn higher_is_better(self) -> bool {
        match self {
            TaskMetric::Metric(m) => m.higher_is_better(),
            TaskMetric::DwellRmse | TaskMetric::DwellMae | TaskMetric::ExposureDisparity(_) => false,
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

    #[test]
    fn dwell_names_round_trip_and_directions() {
        for m in [
            TaskMetric::DwellRmse,
            TaskMetric::DwellMae,
            TaskMetric::DwellAuc,
            TaskMetric::DwellAt(10),
            TaskMetric::DwellNdcg(5),
            TaskMetric::RelevanceAuc,
            TaskMetric::ExposureDisparity(10),
        ] {
            assert_eq!(TaskMetric::parse(&m.name()).unwrap(), m);
        }
        assert_eq!(TaskMetric::parse("Exposure.Disparity@5").unwrap().name(), "exposure.disparity@5");
        assert!(!TaskMetric::ExposureDisparity(10).better(0.7, 0.6));
        assert!(TaskMetric::parse("exposure.disparity@0").is_err());
        assert_eq!(TaskMetric::parse("Dwell_NDCG@10").unwrap().name(), "dwell_ndcg@10");
        assert!(!TaskMetric::DwellRmse.better(0.7, 0.6));
        assert!(TaskMetric::DwellNdcg(10).better(0.7, 0.6));
        assert!(TaskMetric::DwellAt(3).is_dwell() && !TaskMetric::RelevanceAuc.is_dwell());
        assert!(TaskMetric::parse("dwell@0").is_err());
        assert!(TaskMetric::parse("dwell_ndcg@x").is_err());
    }
}
