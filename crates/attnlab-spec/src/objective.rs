//! `train.target` and `train.position_debias` (with `train.propensities`
//! for IPS): what a click model learns
//! from an impression, and how it treats the slot the impression was shown
//! in; `train.task_weights`: the weights of a multi-task model's losses. All
//! may be set per model (`models[i].train`).

use serde::{Deserialize, Serialize};

/// The label a click model is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Clicks, by binary cross-entropy (the default).
    #[default]
    Click,
    /// Regression of `log1p(dwell seconds)` over clicked impressions: the
    /// output is the dwell a click would bring.
    DwellLog,
    /// YouTube's weighted logistic regression: clicks weighted by their
    /// dwell seconds, unclicked impressions by 1, so `exp(logit)` estimates
    /// the expected dwell of the impression.
    DwellWeighted,
}

impl Target {
    pub fn is_click(&self) -> bool {
        *self == Target::Click
    }

    /// Whether the target needs dwell times in the data.
    pub fn needs_dwell(self) -> bool {
        self != Target::Click
    }

    /// The name as a spec writes it.
    pub fn name(self) -> &'static str {
        match self {
            Target::Click => "click",
            Target::DwellLog => "dwell_log",
            Target::DwellWeighted => "dwell_weighted",
        }
    }
}

/// How a click or multi-task model treats the position of an impression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionDebias {
    /// Position is an ordinary feature (the default).
    #[default]
    None,
    /// PAL (Guo et al., RecSys 2019): a shallow position tower whose click
    /// probability multiplies the relevance tower's in training; at
    /// inference only the relevance tower scores. On a multi-task model
    /// the tower multiplies the click head.
    Pal,
    /// Inverse propensity scoring (Saito et al., WSDM 2020): each click is
    /// weighted by 1 / the examination propensity of its slot
    /// (`train.propensities`), an unbiased estimate of relevance whatever
    /// the slot. Click models with the click target.
    Ips,
}

impl PositionDebias {
    pub fn is_none(&self) -> bool {
        *self == PositionDebias::None
    }
}

/// Weights of a multi-task model's loss terms: click, conversion and (with
/// a dwell head) `log1p` dwell regression over clicks. Each finite and >= 0;
/// defaults 1, 1 and 0.03 (the regression's gradients are far larger than
/// the cross-entropies': see `attnlab_models::LossWeights`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaskWeights {
    pub click: f64,
    pub conversion: f64,
    pub dwell: f64,
}

impl Default for TaskWeights {
    fn default() -> Self {
        TaskWeights { click: 1.0, conversion: 1.0, dwell: 0.03 }
    }
}

impl TaskWeights {
    pub fn is_default(&self) -> bool {
        *self == TaskWeights::default()
    }

    /// The first weight that is not finite and >= 0, as (key, value).
    pub fn invalid(&self) -> Option<(&'static str, f64)> {
        [("click", self.click), ("conversion", self.conversion), ("dwell", self.dwell)]
            .into_iter()
            .find(|(_, w)| !(w.is_finite() && *w >= 0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let t = |s: &str| serde_yaml::from_str::<Target>(s).map_err(|e| e.to_string());
        assert_eq!(t("dwell_log"), Ok(Target::DwellLog));
        assert_eq!(t("dwell_weighted"), Ok(Target::DwellWeighted));
        assert_eq!(t("click"), Ok(Target::Click));
        assert!(t("dwell").is_err());
        for target in [Target::Click, Target::DwellLog, Target::DwellWeighted] {
            assert_eq!(t(target.name()), Ok(target));
        }
        assert_eq!(serde_yaml::from_str::<PositionDebias>("pal").unwrap(), PositionDebias::Pal);
        assert_eq!(serde_yaml::from_str::<PositionDebias>("ips").unwrap(), PositionDebias::Ips);
        assert!(serde_yaml::from_str::<PositionDebias>("dla").is_err());
    }
}
