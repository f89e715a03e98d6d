//! The `ab_test:` section: an offline A/B test of ranking policies on fresh
//! sessions of the spec's simulated market. Each arm is a model of this spec
//! (its finished run), a run of the store (id prefix), or a built-in policy.
//! Like `sweep`, it is left out of the spec fingerprint: adding or changing
//! an A/B test does not retrain anything.

use serde::{Deserialize, Serialize};

use crate::range::at_least_one;
use crate::{DataSource, Spec};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbTestSpec {
    /// Two or more arms; differences are against the first.
    pub arms: Vec<ArmSpec>,
    /// Fresh sessions replayed for every arm (the same ones for all).
    #[serde(default = "default_sessions", deserialize_with = "at_least_one")]
    pub sessions: u64,
    /// Seed of the fresh sessions and of their outcomes; the simulated world
    /// (users, items, ads, advertisers) is the dataset's.
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub mechanism: MechanismSpec,
    /// Reserve price per click, in currency units.
    #[serde(default)]
    pub reserve: f64,
    /// Minimum ad quality score (the simulator's creative quality, about N(0, 0.6²)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_floor: Option<f64>,
    /// 0-based feed positions sold to ads; default: the dataset's ad slots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_slots: Option<Vec<u64>>,
    /// Instead of `ad_slots`: this many ad slots per feed, spread from position 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_load: Option<u64>,
    /// Advertisers' daily budgets bind, with bid-shading pacing (`false`:
    /// budgets are not applied).
    #[serde(default)]
    pub pacing: bool,
    /// Organic candidates per session (default: twice the feed length).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organic_candidates: Option<u64>,
    /// Ads entering each session's auction (default 8, as the simulator's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_candidates: Option<u64>,
    /// pCVR given to CPA bids by models without a conversion head; default:
    /// the conversion rate after a click on ads in the training data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_cvr: Option<f64>,
    /// λ, money per second of expected attention: every slot is scored
    /// `eCPM + λ · pCTR · E[dwell | click]` (organic items: λ times their
    /// expected attention), so a larger λ gives ad slots to organic items
    /// that hold users longer. 0 (default): revenue alone.
    #[serde(default)]
    pub lambda: f64,
    /// A revenue/engagement curve: every arm replayed at each value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_off: Option<TradeOffSpec>,
    /// Sessions needed to detect a relative revenue lift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerSpec>,
}

fn default_sessions() -> u64 {
    20_000
}

fn default_seed() -> u64 {
    1_000_003
}

/// One arm: give exactly one of `model`, `run` or `policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmSpec {
    pub name: String,
    /// A model name of this spec: its finished run for the first seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A finished run in the store, by id or unique prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ArmPolicy>,
}

/// Where an arm's predictions come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmSource<'a> {
    Model(&'a str),
    Run(&'a str),
    Policy(ArmPolicy),
}

impl ArmSpec {
    /// The arm's source; `None` unless exactly one is given (a validation error).
    pub fn source(&self) -> Option<ArmSource<'_>> {
        match (&self.model, &self.run, self.policy) {
            (Some(m), None, None) => Some(ArmSource::Model(m)),
            (None, Some(r), None) => Some(ArmSource::Run(r)),
            (None, None, Some(p)) => Some(ArmSource::Policy(p)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmPolicy {
    /// Ads ranked by bid alone (a constant pCTR and pCVR); organic items in
    /// the order they were drawn.
    BidOnly,
    /// The simulator's true probabilities: the best any model can do.
    TrueProbabilities,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MechanismSpec {
    #[default]
    Gsp,
    Vcg,
    FirstPrice,
}

/// What varies along the trade-off curve: give one of the three lists.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TradeOffSpec {
    /// Ad slots per feed (see `ad_load`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_loads: Option<Vec<u64>>,
    /// Reserve prices per click.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserves: Option<Vec<f64>>,
    /// Attention weights λ (see `ab_test.lambda`): the money/attention frontier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambdas: Option<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerSpec {
    /// The relative change of revenue per session to detect, e.g. 0.02.
    pub lift: f64,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default = "default_power")]
    pub power: f64,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_power() -> f64 {
    0.8
}

/// The ad positions of a feed of `slots` with `load` ad slots: `1, 1 + s,
/// 1 + 2s, …` with `s = ⌊(slots − 1) / load⌋` (a load of 2 in 8 slots gives
/// the simulator's default 1 and 4). `None` when `load > slots − 1`.
pub fn ad_load_positions(load: u64, slots: u64) -> Option<Vec<u64>> {
    if load == 0 {
        return Some(Vec::new());
    }
    if load > slots.saturating_sub(1) {
        return None;
    }
    let step = (slots - 1) / load;
    Some((0..load).map(|k| 1 + k * step).collect())
}

/// Problems of `spec.ab_test`, as (field, message).
pub(crate) fn problems(spec: &Spec) -> Vec<(String, String)> {
    let Some(ab) = &spec.ab_test else { return Vec::new() };
    let mut out = Vec::new();
    let mut bad = |field: &str, message: String| out.push((format!("ab_test{field}"), message));
    if spec.dataset.source != DataSource::Simulator || spec.dataset.simulator.ads.is_none() {
        bad("", "an A/B test replays the simulated market: needs `dataset.source: simulator` with `dataset.simulator.ads`".into());
    }
    if spec.sweep.is_some() {
        bad("", "cannot be combined with `sweep` (which trial's models would the arms be?)".into());
    }
    if ab.arms.len() < 2 {
        bad(".arms", format!("needs at least two arms, got {}", ab.arms.len()));
    }
    let models: Vec<&str> = spec.models.iter().map(|m| m.name.as_str()).collect();
    let safe_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    for (i, arm) in ab.arms.iter().enumerate() {
        if !safe_name(&arm.name) {
            bad(&format!(".arms[{i}].name"), format!("`{}` must be letters, digits, `-`, `_` or `.`", arm.name));
        }
        if ab.arms[..i].iter().any(|a| a.name == arm.name) {
            bad(&format!(".arms[{i}].name"), format!("`{}` is used twice", arm.name));
        }
        match arm.source() {
            None => bad(&format!(".arms[{i}]"), "give exactly one of `model`, `run` or `policy`".into()),
            Some(ArmSource::Model(m)) if !models.contains(&m) => bad(
                &format!(".arms[{i}].model"),
                format!("`{m}` names an unknown model (this spec's models: {})", models.join(", ")),
            ),
            Some(ArmSource::Run(r)) if r.len() < 4 => {
                bad(&format!(".arms[{i}].run"), format!("`{r}`: give at least 4 characters of the run id"))
            }
            Some(_) => {}
        }
    }
    let slots = spec.dataset.simulator.slots;
    match (&ab.ad_slots, ab.ad_load) {
        (Some(_), Some(_)) => bad("", "give either `ad_slots` or `ad_load`, not both".into()),
        (Some(ps), None) => {
            for (k, &p) in ps.iter().enumerate() {
                if p >= slots {
                    bad(".ad_slots", format!("position {p} is past the last slot {}", slots - 1));
                } else if ps[..k].contains(&p) {
                    bad(".ad_slots", format!("position {p} is listed twice"));
                }
            }
        }
        (None, Some(load)) if ad_load_positions(load, slots).is_none() => {
            bad(".ad_load", format!("{load} ad slots do not fit a feed of {slots} (at most {})", slots - 1))
        }
        _ => {}
    }
    if !(ab.reserve.is_finite() && ab.reserve >= 0.0) {
        bad(".reserve", format!("{} must be a finite price >= 0", ab.reserve));
    }
    if ab.quality_floor.is_some_and(|q| !q.is_finite()) {
        bad(".quality_floor", "must be a finite number".into());
    }
    if ab.organic_candidates.is_some_and(|n| n < slots) {
        bad(".organic_candidates", format!("must be at least the feed length {slots}"));
    }
    if ab.ad_candidates == Some(0) {
        bad(".ad_candidates", "must be at least 1".into());
    }
    if !(ab.lambda.is_finite() && ab.lambda >= 0.0) {
        bad(".lambda", format!("{} must be a finite weight >= 0 (money per second of attention)", ab.lambda));
    }
    if ab.default_cvr.is_some_and(|c| !(c > 0.0 && c <= 1.0)) {
        bad(".default_cvr", "must be in (0, 1]".into());
    }
    if let Some(t) = &ab.trade_off {
        match (&t.ad_loads, &t.reserves, &t.lambdas) {
            (Some(loads), None, None) => {
                if loads.is_empty() {
                    bad(".trade_off.ad_loads", "needs at least one value".into());
                }
                if let Some(l) = loads.iter().find(|&&l| ad_load_positions(l, slots).is_none()) {
                    bad(".trade_off.ad_loads", format!("{l} ad slots do not fit a feed of {slots} (at most {})", slots - 1));
                }
            }
            (None, Some(reserves), None) => {
                if reserves.is_empty() {
                    bad(".trade_off.reserves", "needs at least one value".into());
                }
                if let Some(r) = reserves.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
                    bad(".trade_off.reserves", format!("{r} must be a finite price >= 0"));
                }
            }
            (None, None, Some(lambdas)) => {
                if lambdas.is_empty() {
                    bad(".trade_off.lambdas", "needs at least one value".into());
                }
                if let Some(l) = lambdas.iter().find(|l| !(l.is_finite() && **l >= 0.0)) {
                    bad(".trade_off.lambdas", format!("{l} must be a finite weight >= 0"));
                }
            }
            _ => bad(".trade_off", "give exactly one of `ad_loads`, `reserves` or `lambdas`".into()),
        }
    }
    if let Some(p) = &ab.power {
        if !(p.lift.is_finite() && p.lift != 0.0) {
            bad(".power.lift", format!("{} must be a finite, non-zero relative change", p.lift));
        }
        if !(p.alpha > 0.0 && p.alpha < 1.0) {
            bad(".power.alpha", format!("{} must be in (0, 1)", p.alpha));
        }
        if !(p.power > 0.0 && p.power < 1.0) {
            bad(".power.power", format!("{} must be in (0, 1)", p.power));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ad_loads_spread_from_position_one() {
        assert_eq!(ad_load_positions(2, 8), Some(vec![1, 4]));
        assert_eq!(ad_load_positions(1, 8), Some(vec![1]));
        assert_eq!(ad_load_positions(3, 8), Some(vec![1, 3, 5]));
        assert_eq!(ad_load_positions(7, 8), Some((1..8).collect()));
        assert_eq!(ad_load_positions(0, 8), Some(vec![]));
        assert_eq!(ad_load_positions(8, 8), None);
    }
}
