//! The offline A/B test: the spec's `ab_test:` replayed on fresh simulated
//! sessions from runs that already finished.
//!
//! Every arm is resolved (its run found, finished and with a checkpoint)
//! before anything is simulated or scored ([`plan`]). The result is stored
//! as a run of the experiment with model and name [`AB_TEST_MODEL`]: params
//! describe the test, metrics are `ab.<arm>.<metric>` (and, for arms after
//! the first, `ab.<arm>.<metric>.diff|ci_low|ci_high|p`), and the artifact
//! [`AB_TEST_ARTIFACT`] holds the full report that `attnlab report` renders.

pub mod scoring;
pub mod sessions;

use attnlab_data::{MarketSessions, SessionDraw, SessionSampler, SimulatorConfig};
use attnlab_eval::market::{
    replay, sessions_needed, Arm, ArmPredictions, FeedPolicy, MarketMetric, Mechanism, ReplayConfig, ReplayReport, Session,
};
use attnlab_report::{AbArm, AbDifference, AbPower, AbTestReport, AbTradeOff, AbTradeOffPoint, AB_TEST_ARTIFACT};
use attnlab_spec::{ad_load_positions, AbTestSpec, ArmPolicy, ArmSource, DeviceChoice, LoadedSpec, MechanismSpec};
use attnlab_track::{MetricPoint, RunRecord, RunStatus, Store};
use attnlab_train::resolve_device;

use crate::dataset::{simulator_config, Prepared};
use crate::evaluation_run::{split_evaluation, store_evaluation, EvaluationRun};
use crate::identity::{run_key, VERSION};
use crate::pseudonym::Pseudonymiser;
use crate::train_config::device_choice;
use crate::{ExperimentError, Result};
use scoring::score_run;
use sessions::{arm_predictions, bid_only_scores, budgets, replay_sessions, true_scores, RowScores};

/// Model and name of the run that stores an A/B test.
pub const AB_TEST_MODEL: &str = "ab-test";

/// What ranks an arm.
enum ArmInput {
    Run(Box<RunRecord>),
    Policy(ArmPolicy),
}

impl ArmInput {
    fn describe(&self) -> String {
        match self {
            ArmInput::Run(r) => format!("model {} ({}, run {})", r.name, r.model, &r.id[..8.min(r.id.len())]),
            ArmInput::Policy(ArmPolicy::BidOnly) => "policy bid-only".into(),
            ArmInput::Policy(ArmPolicy::TrueProbabilities) => "policy true-probabilities".into(),
        }
    }
}

/// An A/B test ready to replay: its arms resolved and scored on fresh sessions.
pub struct AbTest<'a> {
    loaded: &'a LoadedSpec,
    prepared: &'a Prepared,
    ab: &'a AbTestSpec,
    inputs: Vec<(String, ArmInput)>,
    world: SimulatorConfig,
    draw: SessionDraw,
    fresh: MarketSessions,
    sessions: Vec<Session>,
    default_cvr: f64,
    predictions: Vec<Vec<ArmPredictions>>,
}

/// Resolves every arm of the spec's A/B test (a missing run is bad input),
/// draws the fresh sessions and scores them with each arm.
/// `pseudonyms` is the pseudonymiser the spec's runs were made with (part
/// of their identity).
pub fn plan<'a>(
    store: &Store,
    loaded: &'a LoadedSpec,
    prepared: &'a Prepared,
    pseudonyms: Option<&Pseudonymiser>,
) -> Result<AbTest<'a>> {
    let spec = &loaded.spec;
    let ab = spec.ab_test.as_ref().ok_or_else(|| ExperimentError::bad(format!("{}: the spec has no `ab_test:` section", loaded.path.display())))?;
    let inputs = resolve_arms(store, loaded, prepared, ab, pseudonyms)?;

    let world = simulator_config(spec);
    let in_file = |e: &dyn std::fmt::Display| ExperimentError::bad(format!("{}: ab_test: {e}", loaded.path.display()));
    let sampler = SessionSampler::new(&world).map_err(|e| in_file(&e))?;
    let draw = SessionDraw {
        sessions: ab.sessions as usize,
        seed: ab.seed,
        organic_candidates: ab.organic_candidates.map_or((2 * world.slots).min(sampler.organic_items()), |n| n as usize),
        ad_candidates: ab.ad_candidates.unwrap_or(8) as usize,
    };
    let fresh = sampler.draw(&draw).map_err(|e| in_file(&e))?;
    let sessions = replay_sessions(&fresh);
    let default_cvr = default_cvr(Some(ab), &fresh);
    let choice = DeviceChoice::parse(&spec.train.device)
        .ok_or_else(|| ExperimentError::bad(format!("train.device `{}` is not auto, cpu or cuda:N", spec.train.device)))?;
    let device = resolve_device(device_choice(choice))?;
    let scores: Vec<RowScores> = inputs
        .iter()
        .map(|(_, input)| match input {
            ArmInput::Run(run) => score_run(run, &world, &fresh, default_cvr, &device),
            ArmInput::Policy(ArmPolicy::BidOnly) => Ok(bid_only_scores(&fresh)),
            ArmInput::Policy(ArmPolicy::TrueProbabilities) => Ok(true_scores(&fresh)),
        })
        .collect::<Result<_>>()?;
    let predictions = scores.iter().map(|s| arm_predictions(&fresh, s)).collect();
    Ok(AbTest { loaded, prepared, ab, inputs, world, draw, fresh, sessions, default_cvr, predictions })
}

impl AbTest<'_> {
    /// Arms, in the spec's order.
    pub fn arms(&self) -> usize {
        self.inputs.len()
    }

    /// Fresh sessions each arm is replayed on.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The replay of every arm (and the trade-off curve the spec asks for).
    pub fn replay(&self) -> Result<AbTestReport> {
        let (ab, world, fresh) = (self.ab, &self.world, &self.fresh);
        let policy = feed_policy(Some(ab), world);
        let ad_slots = policy.ad_slots.clone();
        let mut config = ReplayConfig::new(fresh.examination.clone(), ab.seed);
        config.budgets = ab.pacing.then(|| budgets(fresh, true));
        let arms_with = |policy: &FeedPolicy| -> Vec<Arm> {
            self.inputs
                .iter()
                .zip(&self.predictions)
                .map(|((name, _), p)| Arm { name: name.clone(), policy: policy.clone(), predictions: p.clone() })
                .collect()
        };
        let main = replay(&self.sessions, &arms_with(&policy), &config)?;
        let trade_off = match &ab.trade_off {
            None => None,
            Some(t) => {
                let (varied, values, vary): (&str, Vec<f64>, Box<dyn Fn(f64) -> FeedPolicy>) = match (&t.ad_loads, &t.reserves, &t.lambdas) {
                    (Some(loads), _, _) => (
                        "ad load",
                        loads.iter().map(|&l| l as f64).collect(),
                        Box::new(|l: f64| FeedPolicy { ad_slots: positions(l as u64, world.slots), ..policy.clone() }),
                    ),
                    (None, Some(reserves), _) => {
                        ("reserve", reserves.clone(), Box::new(|r: f64| FeedPolicy { reserve_cpc: r, ..policy.clone() }))
                    }
                    (None, None, Some(lambdas)) => {
                        ("lambda", lambdas.clone(), Box::new(|l: f64| FeedPolicy { attention_weight: l, ..policy.clone() }))
                    }
                    (None, None, None) => {
                        return Err(ExperimentError::bad("ab_test.trade_off: give one of `ad_loads`, `reserves` or `lambdas`"))
                    }
                };
                Some(trade_off_curve(&self.sessions, &config, varied, &values, |v| arms_with(&vary(v)))?)
            }
        };
        let settings = vec![
            ("seed".to_string(), ab.seed.to_string()),
            ("mechanism".into(), mechanism_name(ab.mechanism).into()),
            ("reserve per click".into(), ab.reserve.to_string()),
            ("attention weight lambda".into(), ab.lambda.to_string()),
            ("quality floor".into(), ab.quality_floor.map_or("none".into(), |q| q.to_string())),
            ("ad slots".into(), format!("{ad_slots:?}")),
            ("budgets and pacing".into(), if ab.pacing { "on" } else { "off" }.into()),
            ("candidates per session".into(), format!("{} organic, {} ads", self.draw.organic_candidates, self.draw.ad_candidates)),
            ("pCVR of CTR-only models".into(), format!("{:.4}", self.default_cvr)),
        ];
        Ok(to_report(&main, &self.inputs, settings, ab, trade_off))
    }

    /// Stores `report` as a finished run of the experiment; its id.
    pub fn store(&self, store: &Store, report: &AbTestReport) -> Result<String> {
        store_result(store, self.loaded, self.prepared, self.ab, &self.inputs, report)
    }
}

/// How the feed of `world` is laid out and sold under the spec's A/B test
/// `ab` (without one: the world's ad slots, GSP, no reserve, no quality
/// floor, λ = 0): the policy every arm of the replay ranks with, and a live
/// feed request too.
pub fn feed_policy(ab: Option<&AbTestSpec>, world: &SimulatorConfig) -> FeedPolicy {
    let ad_slots: Vec<usize> = match (ab.and_then(|a| a.ad_slots.as_ref()), ab.and_then(|a| a.ad_load), &world.ads.placement) {
        (Some(ps), _, _) => ps.iter().map(|&p| p as usize).collect(),
        (None, Some(load), _) => positions(load, world.slots),
        (None, None, attnlab_data::AdPlacement::Slots(ps)) => ps.clone(),
        (None, None, attnlab_data::AdPlacement::Load(f)) => positions((f * world.slots as f64).round() as u64, world.slots),
    };
    FeedPolicy {
        ad_slots,
        reserve_cpc: ab.map_or(0.0, |a| a.reserve),
        quality_floor: ab.and_then(|a| a.quality_floor).unwrap_or(f64::NEG_INFINITY),
        mechanism: ab.map_or(Mechanism::Gsp, |a| mechanism(a.mechanism)),
        attention_weight: ab.map_or(0.0, |a| a.lambda),
    }
}

/// The pCVR of CTR-only models on `sessions`: the test's `default_cvr`,
/// else the period's conversion rate after a click on ads.
pub fn default_cvr(ab: Option<&AbTestSpec>, sessions: &MarketSessions) -> f64 {
    ab.and_then(|a| a.default_cvr).unwrap_or(sessions.period_ad_cvr)
}

fn positions(load: u64, slots: usize) -> Vec<usize> {
    ad_load_positions(load, slots as u64).unwrap_or_default().into_iter().map(|p| p as usize).collect()
}

fn mechanism(m: MechanismSpec) -> Mechanism {
    match m {
        MechanismSpec::Gsp => Mechanism::Gsp,
        MechanismSpec::Vcg => Mechanism::Vcg,
        MechanismSpec::FirstPrice => Mechanism::FirstPrice,
    }
}

fn mechanism_name(m: MechanismSpec) -> &'static str {
    match m {
        MechanismSpec::Gsp => "gsp",
        MechanismSpec::Vcg => "vcg",
        MechanismSpec::FirstPrice => "first-price",
    }
}

/// Every arm's input, or the first arm that cannot be used (exit 2).
fn resolve_arms(
    store: &Store,
    loaded: &LoadedSpec,
    prepared: &Prepared,
    ab: &AbTestSpec,
    pseudonyms: Option<&Pseudonymiser>,
) -> Result<Vec<(String, ArmInput)>> {
    let spec = &loaded.spec;
    let path = loaded.path.display();
    let mut out = Vec::new();
    for (i, arm) in ab.arms.iter().enumerate() {
        let field = format!("{path}: ab_test.arms[{i}] `{}`", arm.name);
        let input = match arm.source().ok_or_else(|| ExperimentError::bad(format!("{field}: no source")))? {
            ArmSource::Policy(p) => ArmInput::Policy(p),
            ArmSource::Model(name) => {
                let model = spec
                    .models
                    .iter()
                    .find(|m| m.name == name)
                    .ok_or_else(|| ExperimentError::bad(format!("{field}: no model `{name}` in the spec")))?;
                let seed = spec.seeds[0];
                let key = run_key(loaded, &prepared.data_fingerprint, model, seed, pseudonyms);
                let run = store.finished_run_by_key(&key)?.ok_or_else(|| {
                    ExperimentError::bad(format!(
                        "{field}: model `{name}` has no finished run of this spec (seed {seed}); run `attnlab run {path}` first"
                    ))
                })?;
                ArmInput::Run(Box::new(run))
            }
            ArmSource::Run(prefix) => {
                let id = store.resolve_run_id(prefix).map_err(|e| ExperimentError::bad(format!("{field}: {e}")))?;
                let run = store.run(&id)?;
                if run.status != RunStatus::Finished {
                    return Err(ExperimentError::bad(format!("{field}: run {prefix} is {:?}, not finished", run.status)));
                }
                ArmInput::Run(Box::new(run))
            }
        };
        out.push((arm.name.clone(), input));
    }
    Ok(out)
}

fn trade_off_curve(
    sessions: &[Session],
    config: &ReplayConfig,
    varied: &str,
    values: &[f64],
    arms_at: impl Fn(f64) -> Vec<Arm>,
) -> Result<AbTradeOff> {
    let mut points = Vec::new();
    for &v in values {
        let report = replay(sessions, &arms_at(v), config)?;
        for arm in &report.arms {
            points.push(AbTradeOffPoint {
                arm: arm.name.clone(),
                value: v,
                revenue_per_session: arm.value(MarketMetric::Revenue),
                attention_per_session: arm.value(MarketMetric::Attention),
                organic_clicks_per_session: arm.value(MarketMetric::OrganicClicks),
                revenue_ci: Some(arm.interval(MarketMetric::Revenue)),
                attention_ci: Some(arm.interval(MarketMetric::Attention)),
                pareto: false,
            });
        }
    }
    let mut curve = AbTradeOff { varied: varied.into(), points };
    curve.mark_pareto();
    Ok(curve)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn to_report(
    main: &ReplayReport,
    inputs: &[(String, ArmInput)],
    settings: Vec<(String, String)>,
    ab: &AbTestSpec,
    trade_off: Option<AbTradeOff>,
) -> AbTestReport {
    let n = main.arms.first().map_or(0, |a| a.sessions.len());
    let arms = main
        .arms
        .iter()
        .zip(inputs)
        .map(|(a, (_, input))| AbArm {
            name: a.name.clone(),
            source: input.describe(),
            values: MarketMetric::ALL.iter().map(|&m| finite(a.value(m))).chain(exposure_values(a)).collect(),
        })
        .collect();
    let differences = main
        .differences
        .iter()
        .map(|d| AbDifference {
            arm: main.arms[d.arm].name.clone(),
            metric: d.metric.name().into(),
            diff: finite(d.diff),
            ci_low: finite(d.ci_low),
            ci_high: finite(d.ci_high),
            p_value: finite(d.p_value),
        })
        .collect();
    let power = ab.power.as_ref().map(|p| AbPower {
        lift: p.lift,
        alpha: p.alpha,
        power: p.power,
        needed: (1..main.arms.len())
            .map(|a| {
                let d = main.difference(a, MarketMetric::Revenue);
                // sd of the per-session differences, from the standard error of their mean
                let needed = d.and_then(|d| {
                    sessions_needed(p.lift * d.baseline, d.se * (n as f64).sqrt(), p.alpha, p.power).ok()
                });
                (main.arms[a].name.clone(), needed)
            })
            .collect(),
    });
    AbTestReport {
        sessions: n,
        settings,
        metrics: MarketMetric::ALL.iter().map(|m| m.name()).chain(EXPOSURE_METRICS).map(str::to_string).collect(),
        arms,
        differences,
        power,
        trade_off,
    }
}

/// Who gets seen among advertisers, after the market metrics: the Gini of
/// the platform's revenue over advertisers and the largest advertiser's
/// share of the ads' exposure (1 / advertisers when it is even).
const EXPOSURE_METRICS: [&str; 2] = ["advertiser_revenue_gini", "top_advertiser_exposure_share"];

fn exposure_values(arm: &attnlab_eval::market::ArmReport) -> [Option<f64>; 2] {
    let top = arm.advertiser_exposure_shares().into_iter().map(|(_, s)| s).reduce(f64::max);
    [arm.advertiser_revenue_gini().and_then(finite), top.and_then(finite)]
}

fn store_result(
    store: &Store,
    loaded: &LoadedSpec,
    prepared: &Prepared,
    ab: &AbTestSpec,
    inputs: &[(String, ArmInput)],
    report: &AbTestReport,
) -> Result<String> {
    let spec = &loaded.spec;
    let arm_runs: Vec<String> = inputs
        .iter()
        .map(|(name, input)| match input {
            ArmInput::Run(r) => format!("{name}={}", r.id),
            ArmInput::Policy(_) => format!("{name}={}", input.describe()),
        })
        .collect();
    let identity = format!("{}|{}|{}|{VERSION}", serde_json::to_string(ab)?, arm_runs.join(","), prepared.data_fingerprint);
    let mut params = vec![
        ("ab.sessions".to_string(), ab.sessions.to_string()),
        ("ab.arms".into(), inputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(",")),
    ];
    params.extend(report.settings.iter().map(|(k, v)| (format!("ab.{}", k.replace(' ', "_")), v.clone())));
    let mut tags = vec![
        ("spec.path".to_string(), loaded.path.display().to_string()),
        ("spec.fingerprint".into(), loaded.fingerprint.clone()),
        ("spec.resolved".into(), loaded.resolved_yaml()),
        ("data.fingerprint".into(), prepared.data_fingerprint.clone()),
        ("attnlab.version".into(), VERSION.into()),
    ];
    tags.extend(inputs.iter().zip(&report.arms).map(|((name, _), a)| (format!("ab.arm.{name}"), a.source.clone())));
    let mut points = Vec::new();
    for a in &report.arms {
        for (m, v) in report.metrics.iter().zip(&a.values) {
            points.extend(v.map(|v| MetricPoint::now(format!("ab.{}.{m}", a.name), v, 0)));
        }
    }
    for d in &report.differences {
        for (what, v) in [("diff", d.diff), ("ci_low", d.ci_low), ("ci_high", d.ci_high), ("p", d.p_value)] {
            points.extend(v.map(|v| MetricPoint::now(format!("ab.{}.{}.{what}", d.arm, d.metric), v, 0)));
        }
    }
    store_evaluation(
        store,
        EvaluationRun {
            experiment: &spec.name,
            model: AB_TEST_MODEL,
            seed: ab.seed,
            identity: &identity,
            params,
            tags,
            metrics: points,
            report: (AB_TEST_ARTIFACT, serde_json::to_vec_pretty(report)?),
        },
    )
}

/// The latest finished A/B test among `runs` (read from its artifact), and
/// the other runs. An unreadable artifact becomes a note.
pub fn split_ab_tests(
    store: &Store,
    runs: Vec<RunRecord>,
    notes: &mut Vec<String>,
) -> Result<(Option<AbTestReport>, Vec<RunRecord>)> {
    split_evaluation(store, runs, (AB_TEST_MODEL, AB_TEST_ARTIFACT, "A/B test"), notes)
}
