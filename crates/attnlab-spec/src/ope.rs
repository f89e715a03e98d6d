//! OPE specs: a YAML document with a `name` and an `ope:` section, the
//! off-policy evaluation of a target policy from the logs of another.
//! `attnlab ope SPEC` reads it; `attnlab ope --logs ... --target ...` builds
//! the same section from flags, so both paths share [`OpeSpec::problems`].
//!
//! ```yaml
//! name: obd-ope
//! ope:
//!   logs: obd:random/all        # obd:POLICY/CAMPAIGN, POLICY random|bts, CAMPAIGN all|men|women
//!   target: obd:bts/all         # uniform, a logged policy's empirical action distribution,
//!                               # or a trained click run: run:EXPERIMENT/MODEL or run:ID_PREFIX
//!   ranking: top-3              # a run's scores as a policy: top-3 or softmax
//!   temperature: 1.0            # softmax over the run's logits / temperature
//!   reward_model: run:obd-click/deepfm   # optional: DM/DR's reward model (default: item x slot CTR)
//!   truth: obd:bts/all          # optional: the log whose mean click is the truth (default: the target's)
//!   estimators: [dm, ipw, snipw, dr, sndr, switch-dr, dros]
//!   switch_tau: 10              # Switch-DR's weight threshold
//!   dros_lambda: 10             # DRos's shrinkage
//!   bootstrap: 1000             # resamples of the 95% CI
//!   seed: 2024
//!   reward_prior: 10            # pseudo-records of the reward model's shrinkage
//!   data: data/obd              # where `attnlab data fetch obd` put the data set
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::load::{located, read};
use crate::{Result, SpecError};

/// A whole OPE spec file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub ope: OpeSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeSpec {
    /// The logged feedback the estimates are computed from.
    #[serde(deserialize_with = "logs_field")]
    pub logs: ObdRef,
    #[serde(deserialize_with = "target_field")]
    pub target: OpeTarget,
    /// How a run target's scores become a policy.
    #[serde(default)]
    pub ranking: Ranking,
    /// The softmax's temperature (`ranking: softmax`).
    #[serde(default = "default_one")]
    pub temperature: f64,
    /// A trained click run whose predictions are DM's and the DR family's
    /// reward model (default: the logs' smoothed item x slot CTR).
    #[serde(default, deserialize_with = "reward_model_field", skip_serializing_if = "Option::is_none")]
    pub reward_model: Option<RunRef>,
    /// A log whose mean click is the target's true value (default: the
    /// target's own log; `uniform` has none, `obd:random/CAMPAIGN` is its truth).
    #[serde(default, deserialize_with = "truth_field", skip_serializing_if = "Option::is_none")]
    pub truth: Option<ObdRef>,
    #[serde(default = "all_estimators")]
    pub estimators: Vec<OpeEstimator>,
    #[serde(default = "default_ten")]
    pub switch_tau: f64,
    #[serde(default = "default_ten")]
    pub dros_lambda: f64,
    /// Bootstrap resamples of each estimator's 95% CI.
    #[serde(default = "default_bootstrap")]
    pub bootstrap: u64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Pseudo-records shrinking the reward model's item x slot CTR toward the slot's CTR.
    #[serde(default = "default_ten")]
    pub reward_prior: f64,
    /// The folder `attnlab data fetch obd` wrote.
    #[serde(default = "default_data")]
    pub data: PathBuf,
}

/// A string field parsed with `FromStr`; errors name the field.
fn parsed<'de, D: serde::Deserializer<'de>, T: FromStr<Err = String>>(d: D, field: &str) -> std::result::Result<T, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|e| serde::de::Error::custom(format!("{field}: {e}")))
}
fn logs_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<ObdRef, D::Error> {
    parsed(d, "logs")
}
fn target_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<OpeTarget, D::Error> {
    parsed(d, "target")
}

fn reward_model_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<RunRef>, D::Error> {
    parsed(d, "reward_model").map(Some)
}

fn truth_field<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<ObdRef>, D::Error> {
    parsed(d, "truth").map(Some)
}

fn all_estimators() -> Vec<OpeEstimator> {
    OpeEstimator::ALL.to_vec()
}
fn default_ten() -> f64 {
    10.0
}
fn default_one() -> f64 {
    1.0
}
fn default_bootstrap() -> u64 {
    1000
}
fn default_seed() -> u64 {
    2024
}
fn default_data() -> PathBuf {
    PathBuf::from("data/obd")
}

impl OpeSpec {
    /// The section with every default, for `logs` and `target`.
    pub fn new(logs: ObdRef, target: OpeTarget) -> OpeSpec {
        OpeSpec {
            logs,
            target,
            ranking: Ranking::default(),
            temperature: default_one(),
            reward_model: None,
            truth: None,
            estimators: all_estimators(),
            switch_tau: default_ten(),
            dros_lambda: default_ten(),
            bootstrap: default_bootstrap(),
            seed: default_seed(),
            reward_prior: default_ten(),
            data: default_data(),
        }
    }

    /// Problems as (field under `ope.`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |field: &str, message: String| out.push((format!("ope.{field}"), message));
        if self.estimators.is_empty() {
            bad("estimators", "needs at least one estimator".into());
        }
        for (i, e) in self.estimators.iter().enumerate() {
            if self.estimators[..i].contains(e) {
                bad(&format!("estimators[{i}]"), format!("`{e}` is listed twice"));
            }
        }
        for (field, v) in [("switch_tau", self.switch_tau), ("dros_lambda", self.dros_lambda)] {
            if v.is_nan() || v < 0.0 {
                bad(field, format!("{v} must be >= 0 (.inf allowed)"));
            }
        }
        if !(self.reward_prior.is_finite() && self.reward_prior >= 0.0) {
            bad("reward_prior", format!("{} must be a finite number >= 0", self.reward_prior));
        }
        if self.bootstrap < 2 {
            bad("bootstrap", format!("{} resamples cannot make an interval (at least 2)", self.bootstrap));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            bad("temperature", format!("{} must be a finite number > 0", self.temperature));
        }
        if let (OpeTarget::Run(r), Some(_)) = (&self.target, &self.truth) {
            bad("truth", format!("no log follows the policy of {r}: its value has no truth to compare with"));
        }
        if let Some(t) = self.truth.as_ref().filter(|t| t.campaign != self.logs.campaign) {
            bad("truth", format!("campaign `{}` shows other items than the logs' campaign `{}`", t.campaign, self.logs.campaign));
        }
        match &self.target {
            OpeTarget::Logged(t) if t.campaign != self.logs.campaign => bad(
                "target",
                format!("campaign `{}` shows other items than the logs' campaign `{}`", t.campaign, self.logs.campaign),
            ),
            _ => {}
        }
        out
    }

    /// The first problem as an error blamed on `path` (or on the command line).
    pub fn check(&self, path: &Path) -> Result<()> {
        match self.problems().into_iter().next() {
            Some((field, message)) => Err(SpecError::Invalid { path: path.to_path_buf(), field, message }),
            None => Ok(()),
        }
    }
}

/// Reads and checks an OPE spec file.
pub fn load_ope(path: &Path) -> Result<OpeFile> {
    let text = read(path)?;
    let file: OpeFile = serde_yaml::from_str(&text).map_err(|e| located(path, &e))?;
    let safe = !file.name.is_empty() && file.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !safe {
        return Err(SpecError::Invalid {
            path: path.to_path_buf(),
            field: "name".into(),
            message: format!("`{}` must be non-empty letters, digits, `-`, `_` or `.`", file.name),
        });
    }
    file.ope.check(path)?;
    Ok(file)
}

/// Whether the file is an OPE spec: a YAML mapping with a top-level `ope`
/// key (what `attnlab validate` reads it as). Unreadable or non-YAML files
/// are not; loading them as experiment specs reports why.
pub fn is_ope_spec(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    matches!(serde_yaml::from_str::<serde_yaml::Value>(&text), Ok(serde_yaml::Value::Mapping(m)) if m.contains_key("ope"))
}

/// The policy being evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OpeTarget {
    /// Every item equally likely in every slot.
    Uniform,
    /// A logged policy's empirical item distribution per slot; its truth is
    /// its logs' mean click.
    Logged(ObdRef),
    /// A trained click run's scores made a policy ([`Ranking`]); no truth.
    Run(RunRef),
}

impl FromStr for OpeTarget {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s == "uniform" {
            return Ok(OpeTarget::Uniform);
        }
        if s.starts_with("run:") {
            return s.parse().map(OpeTarget::Run);
        }
        s.parse().map(OpeTarget::Logged).map_err(|_| format!("expected `uniform`, {} or {RUN_SYNTAX}, found `{s}`", obd_syntax()))
    }
}

impl TryFrom<String> for OpeTarget {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<OpeTarget> for String {
    fn from(t: OpeTarget) -> String {
        t.to_string()
    }
}

impl fmt::Display for OpeTarget {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            OpeTarget::Uniform => f.write_str("uniform"),
            OpeTarget::Logged(r) => r.fmt(f),
            OpeTarget::Run(r) => r.fmt(f),
        }
    }
}

/// `obd:POLICY/CAMPAIGN`: one log of the Open Bandit Dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObdRef {
    /// `random` (uniform) or `bts` (Bernoulli Thompson sampling).
    pub policy: String,
    /// `all`, `men` or `women`.
    pub campaign: String,
}

/// The logging policies of the Open Bandit Dataset.
pub const OBD_POLICIES: [&str; 2] = ["random", "bts"];
/// Its campaigns.
pub const OBD_CAMPAIGNS: [&str; 3] = ["all", "men", "women"];

impl ObdRef {
    /// The folder of this log under the data set's root.
    pub fn dir(&self, root: &Path) -> PathBuf {
        root.join(&self.policy).join(&self.campaign)
    }
}

fn obd_syntax() -> String {
    format!("obd:POLICY/CAMPAIGN (POLICY {}, CAMPAIGN {})", OBD_POLICIES.join("|"), OBD_CAMPAIGNS.join("|"))
}

impl FromStr for ObdRef {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let expected = || format!("expected {}, found `{s}`", obd_syntax());
        let (policy, campaign) = s.strip_prefix("obd:").and_then(|r| r.split_once('/')).ok_or_else(expected)?;
        if !OBD_POLICIES.contains(&policy) || !OBD_CAMPAIGNS.contains(&campaign) {
            return Err(expected());
        }
        Ok(ObdRef { policy: policy.into(), campaign: campaign.into() })
    }
}

impl TryFrom<String> for ObdRef {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<ObdRef> for String {
    fn from(r: ObdRef) -> String {
        r.to_string()
    }
}

impl fmt::Display for ObdRef {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "obd:{}/{}", self.policy, self.campaign)
    }
}

/// The estimators of `attnlab_eval::ope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpeEstimator {
    Dm,
    Ipw,
    Snipw,
    Dr,
    Sndr,
    SwitchDr,
    Dros,
}

impl OpeEstimator {
    pub const ALL: [OpeEstimator; 7] = [
        OpeEstimator::Dm,
        OpeEstimator::Ipw,
        OpeEstimator::Snipw,
        OpeEstimator::Dr,
        OpeEstimator::Sndr,
        OpeEstimator::SwitchDr,
        OpeEstimator::Dros,
    ];

    pub fn name(self) -> &'static str {
        ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dros"][self as usize]
    }
}

impl FromStr for OpeEstimator {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let names: Vec<&str> = Self::ALL.iter().map(|e| e.name()).collect();
        Self::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| format!("unknown estimator `{s}` (known: {})", names.join(", ")))
    }
}

impl fmt::Display for OpeEstimator {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a run's scores for every item in a slot become the target policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ranking {
    /// Deterministic: slot 1 shows the item of highest score there, each
    /// later slot the best of the items not shown yet.
    #[default]
    #[serde(rename = "top-3")]
    Top3,
    /// Stochastic: each slot draws an item with probability
    /// `softmax(logit / temperature)` of the scores there.
    Softmax,
}

const RUN_SYNTAX: &str = "run:EXPERIMENT/MODEL or run:RUN_ID_PREFIX";

/// `run:EXPERIMENT/MODEL` (the finished run of that model with the lowest
/// seed, latest first) or `run:ID_PREFIX`: a trained click run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RunRef {
    Model { experiment: String, model: String },
    Id(String),
}

impl FromStr for RunRef {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let expected = || format!("expected {RUN_SYNTAX}, found `{s}`");
        let rest = s.strip_prefix("run:").filter(|r| !r.is_empty()).ok_or_else(expected)?;
        let name_ok = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        match rest.split_once('/') {
            Some((e, m)) if name_ok(e) && name_ok(m) => Ok(RunRef::Model { experiment: e.into(), model: m.into() }),
            None if rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => Ok(RunRef::Id(rest.into())),
            _ => Err(expected()),
        }
    }
}

impl TryFrom<String> for RunRef {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<RunRef> for String {
    fn from(r: RunRef) -> String {
        r.to_string()
    }
}

impl fmt::Display for RunRef {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            RunRef::Model { experiment, model } => write!(f, "run:{experiment}/{model}"),
            RunRef::Id(id) => write!(f, "run:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_references() {
        let t: OpeTarget = "run:obd-click/deepfm".parse().unwrap();
        assert_eq!(t, OpeTarget::Run(RunRef::Model { experiment: "obd-click".into(), model: "deepfm".into() }));
        assert_eq!(t.to_string(), "run:obd-click/deepfm");
        assert_eq!("run:3fa9c2".parse::<RunRef>().unwrap(), RunRef::Id("3fa9c2".into()));
        for bad in ["run:", "run:a/", "run:/b", "run:x y", "run:not-hex!"] {
            assert!(bad.parse::<RunRef>().is_err(), "{bad}");
        }
        let e = "greedy".parse::<OpeTarget>().unwrap_err();
        assert!(e.contains("run:EXPERIMENT/MODEL"), "{e}");
        let mut spec = OpeSpec::new("obd:random/all".parse().unwrap(), t);
        assert!(spec.problems().is_empty());
        spec.truth = Some("obd:bts/all".parse().unwrap());
        spec.temperature = 0.0;
        let fields: Vec<String> = spec.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["ope.temperature", "ope.truth"]);
    }
}
