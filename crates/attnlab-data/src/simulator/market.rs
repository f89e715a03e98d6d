//! The ad side of the attention market: advertisers with bids and daily
//! budgets, per-item conversion economics, the per-slot auction and the
//! budget ledger. The generative model is documented in the parent module.

use super::{sigmoid, AdsConfig, World};
use crate::Rng;

/// Candidates sampled for each ad slot's auction.
pub(super) const AUCTION_CANDIDATES: usize = 8;
/// Logit offset of an ad's attractiveness against an organic item of the
/// same topic and quality ("ad blindness").
pub(super) const AD_ATTRACT_OFFSET: f64 = -0.4;
pub(super) const CVR_BASE_LOGIT: f64 = -3.0;
/// Default of [`AdsConfig::cvr_affinity_weight`].
pub(super) const CVR_AFFINITY_WEIGHT: f64 = 0.5;
pub(super) const CVR_QUALITY_SD: f64 = 0.5;
pub(super) const BUY_BIAS_SD: f64 = 0.4;
/// Logit offset of an ad's conversion: ads promote products to buy.
pub(super) const AD_CVR_OFFSET: f64 = 0.5;
pub(super) const PRICE_LOG_MEDIAN: f64 = 3.0; // e^3 ≈ 20.09
pub(super) const PRICE_LOG_SD: f64 = 0.8;
pub(super) const BID_LOG_SD: f64 = 0.3;
pub(super) const BUDGET_LOG_SD: f64 = 0.5;
/// A CPA bid is a CPC-style draw divided by this reference conversion rate,
/// so that CPC and CPA advertisers compete on comparable expected value.
pub(super) const CPA_REFERENCE_CVR: f64 = 0.08;
pub(super) const DAY_S: u64 = 24 * 3600;
/// Median item length (seconds of content: a video's duration, an
/// article's reading time) and the spread of its log.
pub(super) const ITEM_LENGTH_MEDIAN_S: f64 = 60.0;
pub(super) const ITEM_LENGTH_LOG_SD: f64 = 0.8;

/// How an advertiser pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bidding {
    /// Pays its bid per click.
    Cpc,
    /// Pays its bid per conversion (purchase).
    Cpa,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Advertiser {
    /// 1-based; 0 in [`crate::Impressions::advertiser`] means organic.
    pub id: u32,
    pub bidding: Bidding,
    /// Per click (CPC) or per conversion (CPA), in currency units (cents exact).
    pub bid: f32,
    /// Currency units per simulated day.
    pub daily_budget: f32,
}

/// Item economics and the ad catalogue, drawn from their own stream.
pub(super) struct Economy {
    pub cvr_quality: Vec<f64>,
    pub price: Vec<f32>,
    pub buy_bias: Vec<f64>,
    /// 0-based index of the first ad item; ads are `first_ad..items`.
    pub first_ad: usize,
    /// Per item: 0 organic, else the 1-based advertiser.
    pub item_advertiser: Vec<u32>,
    pub advertisers: Vec<Advertiser>,
    pub bid_cents: Vec<u64>,
    pub budget_cents: Vec<u64>,
    /// Weight of the user's topic affinity in the conversion logit.
    pub cvr_affinity_weight: f64,
    /// Per item: content length in seconds (drawn after everything else of
    /// this stream, so the other draws are those of version 2).
    pub item_length_s: Vec<f64>,
    /// Weight of `ln(length / median)` in the log dwell.
    pub dwell_length_weight: f64,
}

fn cents(x: f64) -> u64 {
    ((x * 100.0).round() as u64).max(1)
}

pub(super) fn ad_count(ads: &AdsConfig, items: usize) -> usize {
    if ads.advertisers == 0 { 0 } else { (ads.ad_share * items as f64).round() as usize }
}

impl Economy {
    pub fn build(ads: &AdsConfig, items: usize, users: usize, rng: &mut Rng) -> Economy {
        // every item, organic or ad, has a conversion quality and a price
        let cvr_quality = (0..items).map(|_| CVR_QUALITY_SD * rng.normal()).collect();
        let price = (0..items)
            .map(|_| (cents((PRICE_LOG_MEDIAN + PRICE_LOG_SD * rng.normal()).exp()) as f64 / 100.0) as f32)
            .collect();
        let buy_bias = (0..users).map(|_| BUY_BIAS_SD * rng.normal()).collect();
        let n_ads = ad_count(ads, items);
        let first_ad = items - n_ads;
        let mut item_advertiser = vec![0u32; items];
        for (j, a) in item_advertiser[first_ad..].iter_mut().enumerate() {
            *a = (j % ads.advertisers.max(1)) as u32 + 1;
        }
        // log-normal bids and budgets whose means are the configured means
        let lognormal = |rng: &mut Rng, mean: f64, sd: f64| mean * (sd * rng.normal() - sd * sd / 2.0).exp();
        let mut advertisers = Vec::with_capacity(ads.advertisers);
        let (mut bid_cents, mut budget_cents) = (Vec::new(), Vec::new());
        for a in 0..ads.advertisers {
            let bidding = if rng.bernoulli(ads.cpa_share) { Bidding::Cpa } else { Bidding::Cpc };
            let mut bid = lognormal(rng, ads.mean_cpc_bid, BID_LOG_SD);
            if bidding == Bidding::Cpa {
                bid /= CPA_REFERENCE_CVR;
            }
            let budget = lognormal(rng, ads.mean_daily_budget, BUDGET_LOG_SD);
            bid_cents.push(cents(bid));
            budget_cents.push(cents(budget));
            advertisers.push(Advertiser {
                id: a as u32 + 1,
                bidding,
                bid: (bid_cents[a] as f64 / 100.0) as f32,
                daily_budget: (budget_cents[a] as f64 / 100.0) as f32,
            });
        }
        Economy {
            cvr_quality,
            price,
            buy_bias,
            first_ad,
            item_advertiser,
            advertisers,
            bid_cents,
            budget_cents,
            cvr_affinity_weight: ads.cvr_affinity_weight,
            item_length_s: (0..items).map(|_| ITEM_LENGTH_MEDIAN_S * (ITEM_LENGTH_LOG_SD * rng.normal()).exp()).collect(),
            dwell_length_weight: ads.dwell_length_weight,
        }
    }

    /// The mean of the log dwell (ms) after a click on `item` by a user of
    /// topic affinity `affinity`; the dwell is this plus `0.6 · N(0, 1)`.
    pub fn dwell_log_ms(&self, affinity: f64, item: usize) -> f64 {
        let length = (self.item_length_s[item] / ITEM_LENGTH_MEDIAN_S).ln();
        super::DWELL_LOG_MS + super::DWELL_AFFINITY * affinity + self.dwell_length_weight * length
    }

    pub fn is_ad(&self, item: usize) -> bool {
        item >= self.first_ad
    }

    /// P(conversion | click) of user `u` on `item`.
    pub fn cvr(&self, world: &World, u: usize, item: usize) -> f64 {
        let affinity = world.user_affinity[u][world.item_topic[item]];
        let offset = if self.is_ad(item) { AD_CVR_OFFSET } else { 0.0 };
        sigmoid(CVR_BASE_LOGIT + self.cvr_affinity_weight * affinity + self.cvr_quality[item] + self.buy_bias[u] + offset)
    }
}

/// Money spent per advertiser per day, in cents.
pub(super) struct Ledger {
    days: usize,
    spent: Vec<u64>,
}

impl Ledger {
    pub fn new(advertisers: usize, last_timestamp: u64) -> Ledger {
        let days = (last_timestamp / DAY_S) as usize + 1;
        Ledger { days, spent: vec![0; advertisers * days] }
    }

    fn slot(&self, advertiser: u32, timestamp: u64) -> usize {
        (advertiser as usize - 1) * self.days + (timestamp / DAY_S) as usize
    }

    pub fn has_budget(&self, eco: &Economy, advertiser: u32, timestamp: u64) -> bool {
        self.spent[self.slot(advertiser, timestamp)] < eco.budget_cents[advertiser as usize - 1]
    }

    pub fn charge(&mut self, advertiser: u32, timestamp: u64, cents: u64) {
        let s = self.slot(advertiser, timestamp);
        self.spent[s] += cents;
    }
}

/// The winner of one ad slot: the eligible sampled ad with the highest
/// expected value per impression (bid × pCTR, × pCVR for CPA), or `None`.
pub(super) fn auction(
    world: &World,
    eco: &Economy,
    ledger: &Ledger,
    rng: &mut Rng,
    u: usize,
    timestamp: u64,
    advertisers_in_feed: &[u32],
) -> Option<usize> {
    let n_ads = eco.item_advertiser.len() - eco.first_ad;
    let mut best = None;
    let mut best_value = 0.0;
    for _ in 0..AUCTION_CANDIDATES {
        let ad = eco.first_ad + rng.below(n_ads);
        let a = eco.item_advertiser[ad];
        if advertisers_in_feed.contains(&a) || !ledger.has_budget(eco, a, timestamp) {
            continue;
        }
        let adv = &eco.advertisers[a as usize - 1];
        let mut value = eco.bid_cents[a as usize - 1] as f64 * super::attract(world, eco, u, ad);
        if adv.bidding == Bidding::Cpa {
            value *= eco.cvr(world, u, ad);
        }
        if value > best_value {
            best_value = value;
            best = Some(ad);
        }
    }
    best
}
