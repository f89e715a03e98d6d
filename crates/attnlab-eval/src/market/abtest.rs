//! Offline A/B replay of ranking models in a mixed feed.
//!
//! # Replay
//!
//! Every arm sees the **same** [`Session`]s: organic candidates and ad
//! candidates with their *true* probabilities (from the simulator), plus
//! the arm's own [`ArmPredictions`]. For each session an arm builds a feed
//! of `examination.len()` positions:
//!
//! 1. its [`FeedPolicy::ad_slots`] are auctioned ([`super::run_auction`], the arm's
//!    mechanism, reserve and quality floor) with eCPMs from the arm's
//!    predicted pCTR/pCVR; winners take the ad positions top first;
//! 2. every other position, and every ad position nobody bought, gets the
//!    next organic item by the arm's predicted engagement (descending; ties
//!    to the lower index). With too few organic items positions stay empty.
//!
//! With an attention weight λ > 0 ([`FeedPolicy::attention_weight`]) organic
//! items are ordered by predicted attention and an ad slot goes to the best
//! organic item left when that item's `λ · attention` beats the winner's
//! `eCPM + λ · attention`. Steps 1 and 2 are [`super::rank_feed`], shared
//! with anything that ranks a live request.
//!
//! Outcomes come from the truth: an item at position `p` is clicked when
//! `u_click < e_p · true_ctr`, and a clicked ad converts when
//! `u_conv < true_cvr`. The uniforms are keyed by (seed, session, item), not
//! by arm: **common random numbers**, so an item shown at the same position
//! by two arms has the same outcome, and moving it changes the outcome
//! monotonically. This removes the outcome noise two arms share from their
//! difference. [`ReplayConfig::common_random_numbers`] = false keys them by
//! arm too (independent draws), for comparison.
//!
//! Billing: a CPC winner pays its price per click on a click, a CPA winner
//! its price per conversion on a conversion.
//!
//! Budgets: without [`ReplayConfig::budgets`] advertisers have none. With
//! them, sessions are traffic in time order, `sessions_per_day` to a day, and
//! each arm gives every advertiser a [`Pacer`] on its daily budget: an ad
//! enters the auction with its pacer's shaded bid (or not at all once the
//! day's budget is spent), charges are recorded as they happen, and after
//! every session each pacer steps its controller at the elapsed fraction of
//! the day (with `pacing` off, the gain is 0: the hard cap alone). Sessions
//! of one arm then depend on each other; the paired comparison below still
//! treats them as independent.
//!
//! # Metrics and comparisons
//!
//! Per session, [`SessionOutcome`] counts revenue, ad impressions, clicks
//! and conversions, advertiser value (`conversions · conversion_value`),
//! attention (`Σ clicks · expected_dwell` over ads and organic items) and
//! organic impressions and clicks. [`MarketMetric`]s are per-session means
//! (revenue, conversions, attention, organic clicks) or ratios of totals (ad
//! CTR, ad CVR, ROI = advertiser value / spend).
//!
//! Arm `b`'s difference from arm 0 is paired over sessions and uses the
//! normal approximation: `diff = mean_s(d_s)` with
//! `se = sd(d) / √n`, `CI = diff ± 1.96 se`, `p = 2(1 − Φ(|diff| / se))`. For a
//! per-session mean `d_s = x_s^b − x_s^0`; for a ratio `R = ΣY / ΣX` each
//! arm's session is linearised (delta method) to `z_s = R + (Y_s − R X_s) / X̄`
//! and `d_s = z_s^b − z_s^0`, whose mean is exactly `R_b − R_0`. An
//! undefined ratio (no denominator) is NaN, and so is its difference.

use super::auction::{BidKind, Mechanism, Pacer};
use super::feed::{Placement, rank_feed};
use super::{Z_95, mean_var, normal_quantile, normal_two_sided};
use crate::{EvalError, Result};

/// An organic item of a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrganicCandidate {
    /// True click probability given examination (the simulator's
    /// `attract(u, i)`: its `true_ctr` column divided by `e_position`).
    pub true_ctr: f64,
    /// Expected dwell after a click (any unit, e.g. seconds).
    pub expected_dwell: f64,
}

/// An ad of a session, with its advertiser's bid and the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdCandidate {
    pub advertiser: u32,
    /// Per click (CPC) or per conversion (CPA).
    pub bid: f64,
    pub bid_kind: BidKind,
    pub quality: f64,
    /// True click probability given examination.
    pub true_ctr: f64,
    /// True conversion probability given a click.
    pub true_cvr: f64,
    /// What one conversion is worth to the advertiser (e.g. the item price).
    pub conversion_value: f64,
    /// Expected dwell after a click.
    pub expected_dwell: f64,
}

/// The candidates of one feed request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    pub organic: Vec<OrganicCandidate>,
    pub ads: Vec<AdCandidate>,
}

/// One arm's predictions for one session, aligned with its candidates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArmPredictions {
    /// Predicted engagement of each organic candidate (any finite score).
    pub organic: Vec<f64>,
    /// Predicted click probability of each ad, in [0, 1].
    pub ad_pctr: Vec<f64>,
    /// Predicted conversion probability of each ad, in [0, 1].
    pub ad_pcvr: Vec<f64>,
    /// Predicted attention of each organic candidate once examined, `pCTR ·
    /// E[dwell | click]` (seconds, ≥ 0); empty: none predicted (0 each).
    pub organic_attention: Vec<f64>,
    /// The same for each ad; empty: 0 each.
    pub ad_attention: Vec<f64>,
}

/// How an arm lays out and sells its feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPolicy {
    /// 0-based feed positions sold to ads (distinct, within the feed).
    pub ad_slots: Vec<usize>,
    /// Reserve price per click.
    pub reserve_cpc: f64,
    pub quality_floor: f64,
    pub mechanism: Mechanism,
    /// λ, money per second of expected attention (≥ 0): an ad slot shows
    /// its auction winner only while `eCPM + λ · attention` of the ad beats
    /// `λ · attention` of the best organic item left, and organic items are
    /// ordered by predicted attention ([`super::rank_feed`]). 0: revenue alone.
    pub attention_weight: f64,
}

impl Default for FeedPolicy {
    /// The simulator's layout: ads at positions 1 and 4, GSP, no reserve.
    fn default() -> Self {
        FeedPolicy {
            ad_slots: vec![1, 4],
            reserve_cpc: 0.0,
            quality_floor: f64::NEG_INFINITY,
            mechanism: Mechanism::Gsp,
            attention_weight: 0.0,
        }
    }
}

/// One arm: a policy and its predictions, one [`ArmPredictions`] per session.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub name: String,
    pub policy: FeedPolicy,
    pub predictions: Vec<ArmPredictions>,
}

/// What every arm shares.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// Examination probability of each feed position, top first, in (0, 1];
    /// its length is the feed length. It must not increase across an arm's
    /// ad slots (the auction's position effects).
    pub examination: Vec<f64>,
    pub seed: u64,
    /// Draw outcomes from the same uniforms in every arm (default true).
    pub common_random_numbers: bool,
    /// Advertisers' daily budgets (default none); see the module doc.
    pub budgets: Option<Budgets>,
}

impl ReplayConfig {
    pub fn new(examination: Vec<f64>, seed: u64) -> Self {
        ReplayConfig { examination, seed, common_random_numbers: true, budgets: None }
    }
}

/// Daily budgets of the advertisers in a replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Budgets {
    /// Index `a - 1`: advertiser `a`'s budget per day, > 0.
    pub daily: Vec<f64>,
    /// Session `s` is on day `⌊s / sessions_per_day⌋` (> 0).
    pub sessions_per_day: f64,
    /// Shade bids to spread spend over the day ([`Pacer`]); `false` keeps
    /// only the hard cap.
    pub pacing: bool,
}

impl Budgets {
    /// One pacer per advertiser (index `a - 1`), as each arm of a replay
    /// starts with (and a served market run, live).
    pub fn pacers(&self) -> Result<Vec<Pacer>> {
        let gain = if self.pacing { Pacer::DEFAULT_GAIN } else { 0.0 };
        self.daily.iter().map(|&b| Pacer::new(b).map(|p| p.with_gain(gain))).collect()
    }

    /// (day, elapsed fraction of the day after this session) of session `s`.
    pub fn clock(&self, s: usize) -> (u64, f64) {
        let t = s as f64 / self.sessions_per_day;
        let day = t.floor();
        let next = (s + 1) as f64 / self.sessions_per_day;
        (day as u64, if next >= day + 1.0 { 1.0 } else { next - day })
    }
}

/// What happened in one session under one arm (counts as `f64`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SessionOutcome {
    /// Money charged to advertisers.
    pub revenue: f64,
    pub ad_impressions: f64,
    pub ad_clicks: f64,
    pub conversions: f64,
    /// `Σ conversions · conversion_value`.
    pub advertiser_value: f64,
    /// `Σ clicks · expected_dwell`, ads and organic items.
    pub attention: f64,
    pub organic_impressions: f64,
    pub organic_clicks: f64,
}

impl SessionOutcome {
    fn add(&mut self, o: &SessionOutcome) {
        self.revenue += o.revenue;
        self.ad_impressions += o.ad_impressions;
        self.ad_clicks += o.ad_clicks;
        self.conversions += o.conversions;
        self.advertiser_value += o.advertiser_value;
        self.attention += o.attention;
        self.organic_impressions += o.organic_impressions;
        self.organic_clicks += o.organic_clicks;
    }
}

/// The compared metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketMetric {
    /// Revenue per session.
    Revenue,
    /// Ad clicks / ad impressions.
    AdCtr,
    /// Conversions / ad clicks.
    AdCvr,
    /// Conversions per session.
    Conversions,
    /// Advertiser value / advertiser spend (= revenue).
    Roi,
    /// Attention (dwell proxy) per session.
    Attention,
    /// Organic clicks per session (organic engagement).
    OrganicClicks,
}

impl MarketMetric {
    pub const ALL: [MarketMetric; 7] = [
        MarketMetric::Revenue,
        MarketMetric::AdCtr,
        MarketMetric::AdCvr,
        MarketMetric::Conversions,
        MarketMetric::Roi,
        MarketMetric::Attention,
        MarketMetric::OrganicClicks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MarketMetric::Revenue => "revenue_per_session",
            MarketMetric::AdCtr => "ad_ctr",
            MarketMetric::AdCvr => "ad_cvr",
            MarketMetric::Conversions => "conversions_per_session",
            MarketMetric::Roi => "advertiser_roi",
            MarketMetric::Attention => "attention_per_session",
            MarketMetric::OrganicClicks => "organic_clicks_per_session",
        }
    }

    /// A session's numerator: the value of a per-session mean, the
    /// numerator of a ratio.
    fn numerator(self, o: &SessionOutcome) -> f64 {
        match self {
            MarketMetric::Revenue => o.revenue,
            MarketMetric::AdCtr => o.ad_clicks,
            MarketMetric::AdCvr | MarketMetric::Conversions => o.conversions,
            MarketMetric::Roi => o.advertiser_value,
            MarketMetric::Attention => o.attention,
            MarketMetric::OrganicClicks => o.organic_clicks,
        }
    }

    /// A ratio's denominator; `None` for a per-session mean.
    fn denominator(self, o: &SessionOutcome) -> Option<f64> {
        match self {
            MarketMetric::AdCtr => Some(o.ad_impressions),
            MarketMetric::AdCvr => Some(o.ad_clicks),
            MarketMetric::Roi => Some(o.revenue),
            MarketMetric::Revenue
            | MarketMetric::Conversions
            | MarketMetric::Attention
            | MarketMetric::OrganicClicks => None,
        }
    }

    pub fn is_ratio(self) -> bool {
        self.denominator(&SessionOutcome::default()).is_some()
    }

    /// The metric over `sessions` and each session's linearised value, whose
    /// mean is the metric: the value itself for a per-session mean,
    /// `R + (Y_s − R X_s) / X̄` for a ratio `R = ΣY / ΣX` (delta method).
    fn linearised(self, sessions: &[SessionOutcome]) -> (f64, Vec<f64>) {
        let n = sessions.len() as f64;
        let y: Vec<f64> = sessions.iter().map(|o| self.numerator(o)).collect();
        if !self.is_ratio() {
            return (y.iter().sum::<f64>() / n, y);
        }
        let x: Vec<f64> = sessions.iter().map(|o| self.denominator(o).unwrap_or(0.0)).collect();
        let x_total: f64 = x.iter().sum();
        if x_total <= 0.0 {
            return (f64::NAN, vec![f64::NAN; sessions.len()]);
        }
        let (r, x_mean) = (y.iter().sum::<f64>() / x_total, x_total / n);
        (r, y.iter().zip(&x).map(|(ys, xs)| r + (ys - r * xs) / x_mean).collect())
    }
}

/// What one advertiser got from an arm, summed over sessions.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AdvertiserOutcome {
    pub advertiser: u32,
    /// Slots won.
    pub impressions: f64,
    /// `Σ examination probability` of the slots won: the attention its ads
    /// were given.
    pub exposure: f64,
    pub clicks: f64,
    /// What it was charged.
    pub spend: f64,
}

/// One arm's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmReport {
    pub name: String,
    /// Sums over sessions.
    pub totals: SessionOutcome,
    /// One per session, in session order.
    pub sessions: Vec<SessionOutcome>,
    /// Every advertiser with an ad in any session, by id (also those that won
    /// nothing, so shares and the Gini count them).
    pub advertisers: Vec<AdvertiserOutcome>,
}

impl ArmReport {
    /// The metric's value for this arm (NaN for an undefined ratio).
    pub fn value(&self, metric: MarketMetric) -> f64 {
        metric.linearised(&self.sessions).0
    }

    /// The 95% normal interval of the metric over this arm's sessions
    /// (ratios linearised by the delta method).
    pub fn interval(&self, metric: MarketMetric) -> (f64, f64) {
        let (value, z) = metric.linearised(&self.sessions);
        let (_, var) = mean_var(&z);
        let half = Z_95 * (var / z.len() as f64).sqrt();
        (value - half, value + half)
    }

    /// Each advertiser's share of the exposure that went to ads.
    pub fn advertiser_exposure_shares(&self) -> Vec<(u32, f64)> {
        let total: f64 = self.advertisers.iter().map(|a| a.exposure).sum();
        self.advertisers.iter().map(|a| (a.advertiser, if total > 0.0 { a.exposure / total } else { 0.0 })).collect()
    }

    /// The Gini coefficient of the platform's revenue over advertisers (0:
    /// every advertiser pays the same); `None` when nobody paid anything.
    pub fn advertiser_revenue_gini(&self) -> Option<f64> {
        let spend: Vec<f64> = self.advertisers.iter().map(|a| a.spend).collect();
        crate::exposure::gini(&spend).ok()
    }
}

/// Arm `arm`'s difference from arm 0 on one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    pub arm: usize,
    pub metric: MarketMetric,
    /// Arm 0's value.
    pub baseline: f64,
    /// This arm's value.
    pub value: f64,
    /// `value - baseline`.
    pub diff: f64,
    /// Standard error of `diff` (paired, normal approximation).
    pub se: f64,
    /// 95% CI of `diff`.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Two-sided p-value of `diff = 0` (1 when `diff = se = 0`).
    pub p_value: f64,
}

/// Every arm's results and its differences from arm 0.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    pub arms: Vec<ArmReport>,
    /// For arms 1.., every metric of [`MarketMetric::ALL`], arm-major.
    pub differences: Vec<Difference>,
}

impl ReplayReport {
    pub fn difference(&self, arm: usize, metric: MarketMetric) -> Option<&Difference> {
        self.differences.iter().find(|d| d.arm == arm && d.metric == metric)
    }
}

fn bad(message: String) -> EvalError {
    EvalError::InvalidArgument(message)
}

fn check(sessions: &[Session], arms: &[Arm], config: &ReplayConfig) -> Result<()> {
    if sessions.is_empty() || arms.is_empty() {
        return Err(bad("the replay needs at least one session and one arm".into()));
    }
    let feed = config.examination.len();
    if let Some(p) = config.examination.iter().position(|&e| !(e > 0.0 && e <= 1.0)) {
        return Err(bad(format!("examination[{p}] = {} is not in (0, 1]", config.examination[p])));
    }
    let prob = |x: f64| (0.0..=1.0).contains(&x);
    let nonneg = |x: f64| x.is_finite() && x >= 0.0;
    for (s, session) in sessions.iter().enumerate() {
        if let Some(i) = session.organic.iter().position(|o| !prob(o.true_ctr) || !nonneg(o.expected_dwell)) {
            return Err(bad(format!("session {s}, organic {i}: true_ctr must be in [0, 1] and dwell ≥ 0")));
        }
        if let Some(i) = session.ads.iter().position(|a| {
            !prob(a.true_ctr) || !prob(a.true_cvr) || !nonneg(a.expected_dwell) || !a.conversion_value.is_finite()
        }) {
            return Err(bad(format!(
                "session {s}, ad {i}: true probabilities must be in [0, 1], dwell ≥ 0, value finite"
            )));
        }
    }
    if let Some(b) = &config.budgets {
        if !(b.sessions_per_day.is_finite() && b.sessions_per_day > 0.0) {
            return Err(bad(format!("budgets: sessions_per_day {} must be finite and > 0", b.sessions_per_day)));
        }
        b.pacers()?;
        let known = b.daily.len() as u32;
        if let Some(s) = sessions.iter().position(|s| s.ads.iter().any(|a| a.advertiser == 0 || a.advertiser > known)) {
            return Err(bad(format!("session {s}: an ad's advertiser has no budget (advertisers are 1..={known})")));
        }
    }
    for arm in arms {
        let lambda = arm.policy.attention_weight;
        if !(lambda.is_finite() && lambda >= 0.0) {
            return Err(bad(format!("arm `{}`: attention weight {lambda} must be finite and ≥ 0", arm.name)));
        }
        let slots = &arm.policy.ad_slots;
        if let Some(k) = slots.iter().enumerate().position(|(k, &p)| p >= feed || slots[..k].contains(&p)) {
            return Err(bad(format!(
                "arm `{}`: ad slot {} is repeated or past the feed of {feed}",
                arm.name, slots[k]
            )));
        }
        if arm.predictions.len() != sessions.len() {
            return Err(bad(format!(
                "arm `{}`: {} predictions for {} sessions",
                arm.name,
                arm.predictions.len(),
                sessions.len()
            )));
        }
        for (s, (p, session)) in arm.predictions.iter().zip(sessions).enumerate() {
            let n_ads = session.ads.len();
            if p.organic.len() != session.organic.len() || p.ad_pctr.len() != n_ads || p.ad_pcvr.len() != n_ads {
                return Err(bad(format!("arm `{}`, session {s}: predictions do not match the candidates", arm.name)));
            }
            if p.organic.iter().any(|x| !x.is_finite()) {
                return Err(bad(format!("arm `{}`, session {s}: organic score not finite", arm.name)));
            }
            let attention_ok = |a: &[f64], n: usize| (a.is_empty() || a.len() == n) && a.iter().all(|&x| nonneg(x));
            if !attention_ok(&p.organic_attention, session.organic.len()) || !attention_ok(&p.ad_attention, n_ads) {
                return Err(bad(format!("arm `{}`, session {s}: attention predictions must match the candidates and be ≥ 0", arm.name)));
            }
        }
    }
    Ok(())
}

/// A uniform on [0, 1) that depends only on its keys (splitmix64 mixing).
fn keyed_uniform(keys: [u64; 5]) -> f64 {
    let mut h: u64 = 0x243F_6A88_85A3_08D3;
    for k in keys {
        h = (h ^ k).wrapping_add(0x9E37_79B9_7F4A_7C15);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

const ORGANIC: u64 = 0;
const AD: u64 = 1;
const CLICK: u64 = 0;
const CONVERSION: u64 = 1;

/// One arm on one session; with `pacers`, bids are shaded and charges recorded.
fn play(
    session: &Session,
    pred: &ArmPredictions,
    policy: &FeedPolicy,
    config: &ReplayConfig,
    key: [u64; 2],
    mut pacers: Option<&mut [Pacer]>,
    advertisers: &mut [AdvertiserOutcome],
) -> Result<SessionOutcome> {
    let e = &config.examination;
    let draw = |kind: u64, index: usize, what: u64| {
        keyed_uniform([config.seed, key[0], key[1], (kind << 32) | index as u64, what])
    };
    let mut out = SessionOutcome::default();

    let shaded = |a: &AdCandidate| match pacers.as_deref() {
        // a spent budget bids 0, which no auction accepts
        Some(p) => p[a.advertiser as usize - 1].shade(a.bid).unwrap_or(0.0),
        None => a.bid,
    };
    let feed = rank_feed(session, pred, policy, e, shaded)?;
    for (placement, &examine) in feed.iter().zip(e) {
        match placement {
            Some(Placement::Ad(w)) => {
                let ad = &session.ads[w.candidate];
                // `advertisers` holds every advertiser of the sessions, sorted by id
                let slot = advertisers.partition_point(|a| a.advertiser < ad.advertiser);
                let by_advertiser = &mut advertisers[slot];
                by_advertiser.impressions += 1.0;
                by_advertiser.exposure += examine;
                out.ad_impressions += 1.0;
                if draw(AD, w.candidate, CLICK) < examine * ad.true_ctr {
                    out.ad_clicks += 1.0;
                    by_advertiser.clicks += 1.0;
                    out.attention += ad.expected_dwell;
                    let converted = draw(AD, w.candidate, CONVERSION) < ad.true_cvr;
                    if converted {
                        out.conversions += 1.0;
                        out.advertiser_value += ad.conversion_value;
                    }
                    if w.bid_kind == BidKind::Cpc || converted {
                        out.revenue += w.price;
                        advertisers[slot].spend += w.price;
                        if let Some(p) = pacers.as_deref_mut() {
                            p[w.advertiser as usize - 1].charge(w.price);
                        }
                    }
                }
            }
            Some(Placement::Organic(i)) => {
                let item = &session.organic[*i];
                out.organic_impressions += 1.0;
                if draw(ORGANIC, *i, CLICK) < examine * item.true_ctr {
                    out.organic_clicks += 1.0;
                    out.attention += item.expected_dwell;
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// Replays every arm on every session and compares arms 1.. with arm 0;
/// see the module doc. Errors on mismatched or out-of-range inputs.
pub fn replay(sessions: &[Session], arms: &[Arm], config: &ReplayConfig) -> Result<ReplayReport> {
    check(sessions, arms, config)?;
    let mut ids: Vec<u32> = sessions.iter().flat_map(|s| s.ads.iter().map(|a| a.advertiser)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut reports = Vec::with_capacity(arms.len());
    for (a, arm) in arms.iter().enumerate() {
        let arm_key = if config.common_random_numbers { 0 } else { a as u64 + 1 };
        let mut pacers = config.budgets.as_ref().map(Budgets::pacers).transpose()?;
        let mut day = 0;
        let mut outcomes = Vec::with_capacity(sessions.len());
        let mut by_advertiser: Vec<AdvertiserOutcome> =
            ids.iter().map(|&advertiser| AdvertiserOutcome { advertiser, ..Default::default() }).collect();
        for (s, (session, pred)) in sessions.iter().zip(&arm.predictions).enumerate() {
            let clock = config.budgets.as_ref().map(|b| b.clock(s));
            if let (Some(p), Some((today, _))) = (pacers.as_mut(), clock)
                && today != day
            {
                p.iter_mut().for_each(Pacer::new_day);
                day = today;
            }
            outcomes.push(play(session, pred, &arm.policy, config, [s as u64, arm_key], pacers.as_deref_mut(), &mut by_advertiser)?);
            if let (Some(p), Some((_, elapsed))) = (pacers.as_mut(), clock) {
                p.iter_mut().for_each(|pacer| pacer.update(elapsed));
            }
        }
        let mut totals = SessionOutcome::default();
        outcomes.iter().for_each(|o| totals.add(o));
        reports.push(ArmReport { name: arm.name.clone(), totals, sessions: outcomes, advertisers: by_advertiser });
    }
    let mut differences = Vec::new();
    for a in 1..reports.len() {
        for metric in MarketMetric::ALL {
            differences.push(paired_difference(a, metric, &reports[0].sessions, &reports[a].sessions));
        }
    }
    Ok(ReplayReport { arms: reports, differences })
}

fn paired_difference(
    arm: usize,
    metric: MarketMetric,
    base: &[SessionOutcome],
    other: &[SessionOutcome],
) -> Difference {
    let (baseline, zb) = metric.linearised(base);
    let (value, zo) = metric.linearised(other);
    let d: Vec<f64> = zo.iter().zip(&zb).map(|(o, b)| o - b).collect();
    let (diff, var) = mean_var(&d);
    let se = (var / d.len() as f64).sqrt();
    let p_value = if se > 0.0 {
        normal_two_sided(diff / se)
    } else if diff == 0.0 {
        1.0
    } else if diff.is_nan() {
        f64::NAN
    } else {
        0.0
    };
    Difference { arm, metric, baseline, value, diff, se, ci_low: diff - Z_95 * se, ci_high: diff + Z_95 * se, p_value }
}

/// Sessions needed to detect a mean per-session difference `effect` with a
/// two-sided paired z-test at level `alpha` with probability `power`:
/// `n = ⌈((z_{1−α/2} + z_{power}) · σ / |effect|)²⌉`, where `σ` is
/// `per_session_std`, the standard deviation of the *per-session
/// differences* (for two independent groups of n each, pass `σ_unit · √2`).
pub fn sessions_needed(effect: f64, per_session_std: f64, alpha: f64, power: f64) -> Result<usize> {
    if !(effect.is_finite() && effect != 0.0) {
        return Err(bad(format!("effect {effect} must be finite and non-zero")));
    }
    if !(per_session_std.is_finite() && per_session_std > 0.0) {
        return Err(bad(format!("per-session std {per_session_std} must be finite and > 0")));
    }
    if !(alpha > 0.0 && alpha < 1.0 && power > 0.0 && power < 1.0) {
        return Err(bad(format!("alpha {alpha} and power {power} must be in (0, 1)")));
    }
    let z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    // the 1e-9 keeps an exact integer from being pushed up by rounding
    Ok(((z * per_session_std / effect.abs()).powi(2) - 1e-9).ceil().max(1.0) as usize)
}
