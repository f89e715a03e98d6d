//! Hyper-parameter sweeps: a `sweep:` section expands into trials, each a
//! list of `key=value` overrides of the spec it sits in.
//!
//! `grid` takes the cartesian product of value lists (the first parameter
//! varies slowest). `random` draws `trials` points from lists (uniform
//! choice) or distributions with our own splitmix64 generator, so a seed
//! gives the same trials on every machine and with every dependency version.
//! Sampled floats are rounded to 4 significant digits (readable labels,
//! exact round trips through the override text) and kept in `[low, high]`.

use std::fmt;

use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_yaml::Value;

use crate::explain::inline;
use crate::overrides::{apply_overrides, Override};
use crate::suggest::suggest;
use crate::{Result, Spec, SpecError};

/// The most trials a sweep may expand to.
pub const MAX_TRIALS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SweepMethod {
    Grid,
    Random,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub method: SweepMethod,
    /// Random sweeps: how many trials to draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<u64>,
    /// Random sweeps: the generator's seed (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Dotted override keys (e.g. `train.optimizer.lr`) and their values, in
    /// file order.
    pub params: SweepParams,
}

/// Swept keys in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SweepParams(pub Vec<(String, SweepValues)>);

/// A list of values, or (random sweeps only) a distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SweepValues {
    List(Vec<Value>),
    Dist(Distribution),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Distribution {
    Uniform { low: f64, high: f64 },
    LogUniform { low: f64, high: f64 },
    /// Both ends included.
    Int { low: i64, high: i64 },
    Choice { values: Vec<Value> },
}

impl<'de> Deserialize<'de> for SweepParams {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SweepParams;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of dotted keys to value lists or distributions")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<SweepParams, A::Error> {
                let mut out: Vec<(String, SweepValues)> = Vec::new();
                while let Some((key, values)) = map.next_entry::<String, SweepValues>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(A::Error::custom(format!("`{key}` is swept twice")));
                    }
                    out.push((key, values));
                }
                Ok(SweepParams(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for SweepParams {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for SweepValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Sequence(items) => Ok(SweepValues::List(items)),
            v @ Value::Mapping(_) => Distribution::deserialize(v).map(SweepValues::Dist).map_err(|e| D::Error::custom(suggest(&e.to_string()))),
            _ => Err(D::Error::custom("expected a list of values or `{ dist: uniform|loguniform|int|choice, ... }`")),
        }
    }
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    /// 0-based position in the sweep.
    pub index: usize,
    /// `key=value` texts, ready for `load_spec` (before any command-line ones).
    pub overrides: Vec<String>,
    /// Short form, e.g. `lr=0.001 embed_dim=8` (empty without a sweep).
    pub label: String,
}

/// Problems of the sweep section itself, as (field, message).
pub(crate) fn structure_problems(s: &SweepSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = |field: String, message: &str| out.push((field, message.to_string()));
    match s.method {
        SweepMethod::Grid => {
            if s.trials.is_some() {
                bad("sweep.trials".into(), "only for `method: random` (a grid runs every combination)");
            }
            if s.seed.is_some() {
                bad("sweep.seed".into(), "only for `method: random`");
            }
        }
        SweepMethod::Random if s.trials.unwrap_or(0) == 0 => bad("sweep.trials".into(), "a random sweep needs `trials: N` with N >= 1"),
        SweepMethod::Random if s.trials.unwrap_or(0) > MAX_TRIALS as u64 => {
            bad("sweep.trials".into(), &format!("at most {MAX_TRIALS} trials"))
        }
        SweepMethod::Random => {}
    }
    if s.params.0.is_empty() {
        bad("sweep.params".into(), "nothing to sweep");
    }
    let mut grid_size: usize = 1;
    for (key, values) in &s.params.0 {
        let field = format!("sweep.params.{key}");
        if key.split('.').next().is_some_and(|first| first == "sweep" || first == "defaults") {
            bad(field.clone(), "a sweep cannot change `sweep` or `defaults`");
        }
        if key.split('.').any(str::is_empty) {
            bad(field.clone(), "empty key segment");
        }
        match values {
            SweepValues::List(items) => {
                if items.is_empty() {
                    bad(field, "an empty list of values");
                }
                grid_size = grid_size.saturating_mul(items.len().max(1));
            }
            SweepValues::Dist(_) if s.method == SweepMethod::Grid => {
                bad(field, "distributions need `method: random`; a grid takes a list of values")
            }
            SweepValues::Dist(d) => match *d {
                Distribution::Uniform { low, high } if !(low.is_finite() && high.is_finite() && low <= high) => {
                    bad(field, "uniform needs finite `low <= high`")
                }
                Distribution::LogUniform { low, high } if !(low > 0.0 && high.is_finite() && low <= high) => {
                    bad(field, "loguniform needs `0 < low <= high`")
                }
                Distribution::Int { low, high } if low > high => bad(field, "int needs `low <= high`"),
                Distribution::Choice { ref values } if values.is_empty() => bad(field, "choice needs at least one value"),
                _ => {}
            },
        }
    }
    if s.method == SweepMethod::Grid && grid_size > MAX_TRIALS {
        bad("sweep.params".into(), &format!("the grid has {grid_size} combinations, more than {MAX_TRIALS}"));
    }
    out
}

/// The trials of a spec's sweep; without a sweep, one trial without
/// overrides. Every trial is checked by applying its overrides to the spec
/// and parsing the result, so a key the schema does not know (or a value of
/// the wrong type) is an error naming the swept key.
pub fn expand_sweep(spec: &Spec) -> Result<Vec<Trial>> {
    let trials = trials(spec)?;
    match check_trials(spec, &trials).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(trials),
    }
}

pub(crate) fn trials(spec: &Spec) -> Result<Vec<Trial>> {
    let Some(sweep) = &spec.sweep else {
        return Ok(vec![Trial { index: 0, overrides: Vec::new(), label: String::new() }]);
    };
    if let Some((field, message)) = structure_problems(sweep).into_iter().next() {
        return Err(SpecError::Sweep { key: field, message });
    }
    let params = &sweep.params.0;
    let points: Vec<Vec<Value>> = match sweep.method {
        SweepMethod::Grid => {
            let mut points = vec![Vec::new()];
            for (_, values) in params {
                let SweepValues::List(items) = values else { unreachable!("checked above") };
                points = points.into_iter().flat_map(|p| items.iter().map(move |v| [p.clone(), vec![v.clone()]].concat())).collect();
            }
            points
        }
        SweepMethod::Random => {
            let mut rng = SplitMix64(sweep.seed.unwrap_or(0));
            let n = sweep.trials.unwrap_or(0) as usize;
            (0..n).map(|_| params.iter().map(|(_, values)| rng.sample(values)).collect()).collect()
        }
    };
    let short: Vec<&str> = params
        .iter()
        .map(|(key, _)| {
            let last = key.rsplit('.').next().unwrap_or(key);
            let clash = params.iter().filter(|(k, _)| k.rsplit('.').next() == Some(last)).count() > 1;
            if clash { key.as_str() } else { last }
        })
        .collect();
    Ok(points
        .into_iter()
        .enumerate()
        .map(|(index, values)| {
            let texts: Vec<String> = values.iter().map(inline).collect();
            Trial {
                index,
                overrides: params.iter().zip(&texts).map(|((k, _), v)| format!("{k}={v}")).collect(),
                label: short.iter().zip(&texts).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "),
            }
        })
        .collect())
}

/// Every problem of the trials (one per swept key, one per failing trial).
pub(crate) fn check_trials(spec: &Spec, trials: &[Trial]) -> Vec<SpecError> {
    let base = match serde_yaml::to_value(spec) {
        Ok(v) => v,
        Err(e) => return vec![SpecError::Sweep { key: "sweep".into(), message: e.to_string() }],
    };
    let parse = |texts: &[&String]| -> std::result::Result<Spec, String> {
        let overrides = texts.iter().map(|t| Override::parse(t)).collect::<Result<Vec<_>>>().map_err(|e| e.to_string())?;
        let mut tree = base.clone();
        apply_overrides(&mut tree, &overrides).map_err(|e| e.to_string())?;
        serde_yaml::from_value(tree).map_err(|e| suggest(&e.to_string()))
    };
    let mut errors = Vec::new();
    let mut blamed: Vec<String> = Vec::new();
    // problems of the spec itself are reported once, not again per trial
    let sweep_path = std::path::Path::new("<sweep>");
    let own: Vec<String> = crate::validate::rules(spec, sweep_path).iter().map(ToString::to_string).collect();
    for trial in trials {
        let all: Vec<&String> = trial.overrides.iter().collect();
        match parse(&all) {
            Ok(spec) => {
                let new_problems = crate::validate::rules(&spec, sweep_path).into_iter().filter(|e| !own.contains(&e.to_string()));
                if let Some(e) = new_problems.into_iter().next() {
                    let message = format!("trial {} ({}): {e}", trial.index, trial.label);
                    if !errors.iter().any(|x: &SpecError| matches!(x, SpecError::Sweep { message: m, .. } if m.ends_with(&e.to_string()))) {
                        errors.push(SpecError::Sweep { key: "sweep".into(), message });
                    }
                }
            }
            Err(whole) => {
                let mut found = false;
                for text in &trial.overrides {
                    let key = text.split_once('=').map_or(text.as_str(), |(k, _)| k).to_string();
                    if let Err(message) = parse(&[text]) {
                        found = true;
                        if !blamed.contains(&key) {
                            errors.push(SpecError::Sweep { key: key.clone(), message: format!("{text}: {message}") });
                            blamed.push(key);
                        }
                    }
                }
                if !found {
                    errors.push(SpecError::Sweep { key: "sweep".into(), message: format!("trial {} ({}): {whole}", trial.index, trial.label) });
                }
            }
        }
    }
    errors
}

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever here.
pub(crate) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n >= 1), by multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    fn sample(&mut self, values: &SweepValues) -> Value {
        let pick = |rng: &mut Self, items: &[Value]| items[rng.below(items.len() as u64) as usize].clone();
        let float = |x: f64, low: f64, high: f64| Value::from(round4(x).clamp(low, high));
        match values {
            SweepValues::List(items) => pick(self, items),
            SweepValues::Dist(Distribution::Choice { values }) => pick(self, values),
            SweepValues::Dist(Distribution::Uniform { low, high }) => float(low + self.unit() * (high - low), *low, *high),
            SweepValues::Dist(Distribution::LogUniform { low, high }) => {
                float((low.ln() + self.unit() * (high.ln() - low.ln())).exp(), *low, *high)
            }
            SweepValues::Dist(Distribution::Int { low, high }) => {
                let span = (*high as i128 - *low as i128 + 1).min(u64::MAX as i128) as u64;
                Value::from((*low as i128 + self.below(span) as i128) as i64)
            }
        }
    }
}

/// 4 significant digits.
fn round4(x: f64) -> f64 {
    format!("{x:.3e}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_is_the_published_sequence() {
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn rounding_keeps_four_digits() {
        assert_eq!(round4(0.000123456), 0.0001235);
        assert_eq!(round4(1234.56), 1235.0);
    }
}
