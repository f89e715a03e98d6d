//! The auction of one feed request, and per-advertiser budget pacing.
//!
//! # Model
//!
//! A request has K ad slots; slot `k` (0-based, top first) is examined with
//! probability `e_k`, non-increasing in `k` (the simulator's
//! `e_p = 1 / (1 + p)^0.7` is [`position_examination`]). Position effects are
//! *separable*: an ad with click probability `pctr` (given examination) is
//! clicked in slot `k` with probability `e_k · pctr`.
//!
//! Every [`Ad`] is compared per click: its **click bid** is `bid` for a CPC
//! bid and `bid · pcvr` for a CPA bid (a bid per conversion is worth
//! `bid · pcvr` per click), and its **eCPM** — expected value per examined
//! impression, *not* multiplied by 1000 — is `click bid · pctr`, i.e.
//! `bid · pCTR` (CPC) or `bid · pCTR · pCVR` (CPA).
//!
//! # Rules
//!
//! 1. Candidates are filtered: `quality ≥ quality_floor`,
//!    `click bid ≥ reserve_cpc` (the reserve is a price *per click*) and
//!    `eCPM > 0`.
//! 2. One ad per advertiser: an advertiser's best candidate (by the order
//!    below) represents it; its other ads are dropped. This makes every
//!    advertiser a single bidder, which the truthfulness of VCG needs.
//! 3. Ranking by eCPM descending; **ties** go to the lower advertiser id, then
//!    to the lower candidate index, so the result does not depend on the
//!    order of the input except between one advertiser's equal ads.
//! 4. The top `min(K, eligible)` ads take slots 0, 1, …; `s_j` below is the
//!    eCPM of the ad ranked `j` (0 past the last eligible ad), `c_i` the
//!    winner's pCTR and `r` the reserve.
//!
//! # Prices
//!
//! [`Winner::price_per_click`] is what the winner pays per click;
//! [`Winner::price`] is the same in its billing unit: per click for CPC,
//! **per conversion for CPA** (`price_per_click / pcvr`, charged on a
//! conversion, so the expected charge per click is the same when pCVR is
//! calibrated). Every price is at most the bid and at least the reserve.
//!
//! - [`Mechanism::Gsp`]: the minimum click bid that keeps the slot,
//!   `max(r, s_{i+1} / c_i)`.
//! - [`Mechanism::Vcg`]: the externality the winner imposes on the ads below
//!   it, per impression `Σ_{k=i}^{K-1} (e_k − e_{k+1}) · max(r·c_i, s_{k+1})`
//!   with `e_K = 0`, divided by its expected clicks `e_i · c_i`. With `r = 0`
//!   this is the classic VCG payment; with a reserve it is the critical-value
//!   (Myerson) payment of the same allocation, so truthful bidding stays a
//!   dominant strategy. Since the weights `(e_k − e_{k+1}) / e_i` sum to 1
//!   and `s_{k+1} ≤ s_{i+1}`, VCG never charges more than GSP for the same
//!   allocation (Edelman, Ostrovsky & Schwarz 2007; Varian 2007).
//! - [`Mechanism::FirstPrice`]: the click bid itself.

use crate::{EvalError, Result};

/// How an advertiser pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BidKind {
    /// `bid` is per click.
    Cpc,
    /// `bid` is per conversion.
    Cpa,
}

/// One auction candidate: an ad with its advertiser's bid and the platform's
/// predictions for this request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ad {
    pub advertiser: u32,
    /// Per click (CPC) or per conversion (CPA), in currency units, ≥ 0.
    pub bid: f64,
    /// Predicted click probability given examination, in [0, 1].
    pub pctr: f64,
    /// Predicted conversion probability given a click, in [0, 1] (only CPA
    /// bids use it).
    pub pcvr: f64,
    pub bid_kind: BidKind,
    /// An ad-quality score (e.g. relevance or landing-page score); the
    /// auction only compares it with [`AuctionConfig::quality_floor`].
    pub quality: f64,
}

impl Ad {
    /// The bid per click: `bid` (CPC) or `bid · pcvr` (CPA).
    pub fn click_bid(&self) -> f64 {
        match self.bid_kind {
            BidKind::Cpc => self.bid,
            BidKind::Cpa => self.bid * self.pcvr,
        }
    }

    /// Expected value per examined impression: `bid · pctr` (CPC) or
    /// `bid · pctr · pcvr` (CPA). Not scaled by 1000.
    pub fn ecpm(&self) -> f64 {
        self.click_bid() * self.pctr
    }

    /// Converts a price per click into this ad's billing unit.
    fn billed(&self, per_click: f64) -> f64 {
        match self.bid_kind {
            BidKind::Cpc => per_click,
            BidKind::Cpa => per_click / self.pcvr,
        }
    }
}

/// The pricing rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Generalized second price.
    Gsp,
    /// Vickrey–Clarke–Groves with position effects.
    Vcg,
    /// Pay your bid.
    FirstPrice,
}

/// The slots and rules of one auction.
#[derive(Debug, Clone, PartialEq)]
pub struct AuctionConfig {
    /// Examination probability of each ad slot, top first: in (0, 1] and
    /// non-increasing. Its length is the number of slots K.
    pub examination: Vec<f64>,
    /// Reserve price per click (≥ 0).
    pub reserve_cpc: f64,
    /// Minimum [`Ad::quality`].
    pub quality_floor: f64,
    pub mechanism: Mechanism,
}

impl AuctionConfig {
    /// GSP over these slots, no reserve, no quality floor.
    pub fn new(examination: Vec<f64>) -> Self {
        AuctionConfig { examination, reserve_cpc: 0.0, quality_floor: f64::NEG_INFINITY, mechanism: Mechanism::Gsp }
    }

    pub fn with_mechanism(self, mechanism: Mechanism) -> Self {
        AuctionConfig { mechanism, ..self }
    }

    pub fn with_reserve(self, reserve_cpc: f64) -> Self {
        AuctionConfig { reserve_cpc, ..self }
    }

    pub fn with_quality_floor(self, quality_floor: f64) -> Self {
        AuctionConfig { quality_floor, ..self }
    }

    fn check(&self) -> Result<()> {
        let e = &self.examination;
        if let Some(k) = e.iter().position(|&x| !(x > 0.0 && x <= 1.0)) {
            return Err(bad(format!("examination[{k}] = {} is not in (0, 1]", e[k])));
        }
        if let Some(k) = e.windows(2).position(|w| w[1] > w[0]) {
            return Err(bad(format!("examination must not increase: slot {} has {} > {}", k + 1, e[k + 1], e[k])));
        }
        if !(self.reserve_cpc.is_finite() && self.reserve_cpc >= 0.0) {
            return Err(bad(format!("reserve_cpc = {} must be finite and ≥ 0", self.reserve_cpc)));
        }
        if self.quality_floor.is_nan() {
            return Err(bad("quality_floor is NaN".into()));
        }
        Ok(())
    }
}

/// `e_p = 1 / (1 + p)^decay` for `p = 0..slots`: the simulator's
/// examination curve (its decay is 0.7).
pub fn position_examination(slots: usize, decay: f64) -> Vec<f64> {
    (0..slots).map(|p| 1.0 / (1.0 + p as f64).powf(decay)).collect()
}

/// One allocated slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Winner {
    /// 0-based slot, top first.
    pub slot: usize,
    /// Index of the ad in the candidate slice.
    pub candidate: usize,
    pub advertiser: u32,
    pub bid_kind: BidKind,
    pub ecpm: f64,
    /// Predicted click probability in this slot: `e_slot · pctr`.
    pub click_prob: f64,
    /// Price per click.
    pub price_per_click: f64,
    /// Price in the billing unit: per click (CPC) or per conversion (CPA).
    pub price: f64,
}

impl Winner {
    /// Predicted payment of this impression: `click_prob · price_per_click`.
    pub fn expected_payment(&self) -> f64 {
        self.click_prob * self.price_per_click
    }
}

/// The result of one auction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuctionOutcome {
    /// `winners[k]` holds slot k; fewer than K when too few ads are eligible.
    pub winners: Vec<Winner>,
    /// Eligible candidate indices in rank order (one per advertiser), the
    /// winners first.
    pub ranking: Vec<usize>,
}

fn bad(message: String) -> EvalError {
    EvalError::InvalidArgument(message)
}

fn check_ad(i: usize, ad: &Ad) -> Result<()> {
    let prob = |x: f64| (0.0..=1.0).contains(&x);
    if !(ad.bid.is_finite() && ad.bid >= 0.0) {
        return Err(bad(format!("ad {i}: bid {} must be finite and ≥ 0", ad.bid)));
    }
    if !prob(ad.pctr) || !prob(ad.pcvr) {
        return Err(bad(format!("ad {i}: pctr {} and pcvr {} must be in [0, 1]", ad.pctr, ad.pcvr)));
    }
    if ad.quality.is_nan() {
        return Err(bad(format!("ad {i}: quality is NaN")));
    }
    Ok(())
}

/// Runs one auction; see the module doc for the rules and prices. Errors on
/// a bad config or a bid/probability that is not finite or out of range.
pub fn run_auction(ads: &[Ad], config: &AuctionConfig) -> Result<AuctionOutcome> {
    config.check()?;
    for (i, ad) in ads.iter().enumerate() {
        check_ad(i, ad)?;
    }
    let r = config.reserve_cpc;
    // rank order: eCPM desc, advertiser asc, index asc
    let before = |a: usize, b: usize| {
        let (x, y) = (&ads[a], &ads[b]);
        y.ecpm().total_cmp(&x.ecpm()).then(x.advertiser.cmp(&y.advertiser)).then(a.cmp(&b))
    };
    let mut ranking: Vec<usize> = (0..ads.len())
        .filter(|&i| {
            let ad = &ads[i];
            ad.quality >= config.quality_floor && ad.click_bid() >= r && ad.ecpm() > 0.0
        })
        .collect();
    ranking.sort_by(|&a, &b| before(a, b));
    // one ad per advertiser: the first in rank order
    let mut seen = std::collections::HashSet::new();
    ranking.retain(|&i| seen.insert(ads[i].advertiser));

    let e = &config.examination;
    let slots = e.len();
    let score = |j: usize| ranking.get(j).map_or(0.0, |&c| ads[c].ecpm());
    let winners = ranking
        .iter()
        .take(slots)
        .enumerate()
        .map(|(i, &c)| {
            let ad = &ads[c];
            let ctr = ad.pctr;
            let per_click = match config.mechanism {
                Mechanism::FirstPrice => ad.click_bid(),
                Mechanism::Gsp => r.max(score(i + 1) / ctr),
                Mechanism::Vcg => {
                    let per_impression: f64 = (i..slots)
                        .map(|k| {
                            let below = if k + 1 < slots { e[k + 1] } else { 0.0 };
                            (e[k] - below) * (r * ctr).max(score(k + 1))
                        })
                        .sum();
                    per_impression / (e[i] * ctr)
                }
            };
            // rounding must never push a price above the bid
            let per_click = per_click.min(ad.click_bid());
            Winner {
                slot: i,
                candidate: c,
                advertiser: ad.advertiser,
                bid_kind: ad.bid_kind,
                ecpm: ad.ecpm(),
                click_prob: e[i] * ctr,
                price_per_click: per_click,
                price: ad.billed(per_click).min(ad.bid),
            }
        })
        .collect();
    Ok(AuctionOutcome { winners, ranking })
}

/// Daily budget pacing for one advertiser by **bid shading**: the advertiser
/// bids `multiplier · bid`, with the multiplier in `[min_multiplier, 1]`.
///
/// Shading (rather than probabilistic throttling) keeps pacing
/// deterministic, lets a paced advertiser still win cheap traffic, and never
/// raises a price: in every mechanism here the price is at most the shaded
/// bid. The multiplier follows an integral controller on the spend error
/// against a uniform spend plan: after each auction, [`Pacer::update`] with
/// the elapsed fraction `t` of the day's traffic does
/// `multiplier ← clamp(multiplier · exp(gain · (budget·t − spend) / budget))`,
/// so overspending shades bids down and underspending lets them recover.
///
/// Hard cap: once `spend ≥ budget`, [`Pacer::shade`] returns `None` and the
/// advertiser sits out the rest of the day. As one auction charges at most
/// one price, spend stays below `budget + one max price` whenever each
/// auction's charge is recorded before the next auction (delayed CPA
/// conversions can overshoot by one price per pending conversion).
#[derive(Debug, Clone, PartialEq)]
pub struct Pacer {
    budget: f64,
    spend: f64,
    multiplier: f64,
    gain: f64,
    min_multiplier: f64,
}

impl Pacer {
    /// Default controller gain per update.
    pub const DEFAULT_GAIN: f64 = 0.05;
    /// Default lowest multiplier.
    pub const DEFAULT_MIN_MULTIPLIER: f64 = 0.01;

    /// A pacer with a positive, finite daily budget, multiplier 1.
    pub fn new(daily_budget: f64) -> Result<Pacer> {
        if !(daily_budget.is_finite() && daily_budget > 0.0) {
            return Err(bad(format!("daily budget {daily_budget} must be finite and > 0")));
        }
        Ok(Pacer {
            budget: daily_budget,
            spend: 0.0,
            multiplier: 1.0,
            gain: Self::DEFAULT_GAIN,
            min_multiplier: Self::DEFAULT_MIN_MULTIPLIER,
        })
    }

    /// Sets the controller gain (≥ 0; 0 disables pacing and keeps only the
    /// hard cap).
    pub fn with_gain(self, gain: f64) -> Pacer {
        Pacer { gain: gain.max(0.0), ..self }
    }

    /// The bid to enter: `multiplier · bid`, or `None` once the budget is spent.
    pub fn shade(&self, bid: f64) -> Option<f64> {
        (self.spend < self.budget).then_some(bid * self.multiplier)
    }

    /// Records a charge (≥ 0).
    pub fn charge(&mut self, amount: f64) {
        self.spend += amount.max(0.0);
    }

    /// One controller step at elapsed fraction `day_fraction` (in [0, 1]) of
    /// the day's expected traffic. Call once per auction (the gain is per call).
    pub fn update(&mut self, day_fraction: f64) {
        let target = self.budget * day_fraction.clamp(0.0, 1.0);
        let error = (target - self.spend) / self.budget;
        self.multiplier = (self.multiplier * (self.gain * error).exp()).clamp(self.min_multiplier, 1.0);
    }

    /// Starts a new day: spend 0, multiplier 1.
    pub fn new_day(&mut self) {
        self.spend = 0.0;
        self.multiplier = 1.0;
    }

    pub fn budget(&self) -> f64 {
        self.budget
    }

    pub fn spend(&self) -> f64 {
        self.spend
    }

    pub fn multiplier(&self) -> f64 {
        self.multiplier
    }
}
