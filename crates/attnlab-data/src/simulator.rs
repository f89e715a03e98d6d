//! The attention-market simulator, version 2: organic items and ads in one
//! feed, clicks, dwell, add-to-cart and purchases, advertisers with bids and
//! daily budgets. Deterministic from its seed; it records the true click and
//! conversion probability of every impression, so a model can be compared
//! with the best possible AUC.
//!
//! # Generative model
//!
//! Notation: `N(m, s²)` normal, `LogN(m, s²)` = `exp(N(m, s²))`,
//! `σ(x) = 1 / (1 + e^-x)`, `U` uniform on [0, 1). `T` topics, `I` items,
//! `U` users. All constants below are the `const`s of this module and of
//! `simulator/market.rs`; config fields are in `code`.
//!
//! ## World (RNG stream 1, identical to version 1)
//!
//! - Topic popularity `π_k ∝ 1/√(k+1)`, k = 0..T (Zipf-like).
//! - Item topic: items 0..T get topic `i` (every topic has an item), the
//!   others `topic_i ~ Categorical(π)`.
//! - Item quality `q_i ~ N(0, 0.6²)`.
//! - User interest `θ_u = softmax(s · z)`, `z ~ N(0, 1)^T`,
//!   `s = interest_sharpness`. Affinity
//!   `a_uk = clamp(ln θ_uk + ln T, -4, ln T)`: 0 for a uniform interest.
//! - User click bias `b_u ~ N(0, 0.3²)`.
//!
//! ## Economy (stream 4)
//!
//! - Conversion quality `c_i ~ N(0, 0.5²)` and price
//!   `price_i ~ LogN(3.0, 0.8²)` (median ≈ 20.09) rounded to cents, for every item.
//! - User purchase bias `β_u ~ N(0, 0.4²)`.
//! - Ads: `A = ads.advertisers`; when `A > 0` the last
//!   `n_ads = round(ads.ad_share · I)` item ids are ads (organic items are the
//!   rest; ads keep their world topic and quality); ad `j` (0-based among
//!   ads) belongs to advertiser `j mod A + 1`.
//! - Advertiser `a`: CPA with probability `ads.cpa_share`, else CPC. Bid
//!   `ads.mean_cpc_bid · LogN(-0.3²/2, 0.3²)`, divided by 0.08 for CPA
//!   (a CPA bid is "per conversion", and 0.08 is a reference CVR); daily budget
//!   `ads.mean_daily_budget · LogN(-0.5²/2, 0.5²)`. Both rounded to cents
//!   (at least one cent). Spend is kept in integer cents.
//!
//! ## Sessions (stream 2, identical to version 1)
//!
//! Each user has `sessions_per_user` sessions starting at
//! `⌊U · 30 days⌋` seconds; sessions are replayed in start order. Slot `p`
//! (0-based) of a session is shown at `start + 5p` seconds. Day `d` of an
//! impression is `⌊timestamp / 86400⌋`.
//!
//! ## Feed (streams 3 and 5)
//!
//! Ad slots: `ads.placement` is `Slots(ps)` (those positions, every feed) or
//! `Load(f)` (each slot independently with probability `f`, stream 5). With
//! ads off there are none. The organic slots are filled first (stream 3):
//! repeat { topic ~ θ_u with probability 0.5, else π; item uniform among
//! the topic's organic items } until that many distinct items. Ad slots are
//! then filled in position order, each by an auction at the moment of that
//! impression (stream 5): 8 ads drawn uniformly with replacement from the
//! ad catalogue; an ad is eligible when its advertiser has spent less than
//! its daily budget on day `d` and has no other ad in this feed; the winner
//! maximises `bid · attract(u, i)` (CPC) or `bid · attract(u, i) · cvr(u, i)`
//! (CPA), with the true probabilities below. With no eligible candidate the
//! slot gets one more distinct organic item, drawn as above from stream 5.
//! Exposure is therefore not random: ads are shown more to users with a
//! high affinity for their topic, and budgets bind late in a day.
//!
//! ## Clicks and dwell (stream 3, identical to version 1 for organic items)
//!
//! - Examination `e_p = 1 / (1 + p)^0.7`.
//! - Attractiveness `attract(u, i) = σ(-1.2 + 0.9 · a_{u,topic_i} + q_i + b_u + o_i)`,
//!   `o_i = -0.4` for ads ("ad blindness"), 0 for organic items.
//! - `click ~ Bernoulli(e_p · attract(u, i))`. This product is the column
//!   `true_ctr`: the click probability given everything the simulator
//!   knows, so the AUC of `true_ctr` against `click` is the best AUC any
//!   model can reach (the Bayes-optimal score; history, ids and position are
//!   all functions of, or independent given, the latents above).
//! - Dwell after a click:
//!   `dwell_ms = ⌊exp(10.0 + 0.3 · a + w_len · ln(len_i / 60) + 0.6 · N(0, 1))⌋`
//!   (median ≈ 22 s, longer for higher affinity; `DWELL_LOG_MS`,
//!   `DWELL_AFFINITY`, `DWELL_LOG_SD`); 0 without a click. `len_i`, the
//!   item's content length in seconds, is `60 · LogN(0, 0.8²)`, drawn for
//!   every item at the end of stream 4; `w_len = ads.dwell_length_weight`
//!   (default 0, so dwell is then independent of length and the data is
//!   version 2's). Dwell does not depend on the position: the examination
//!   model decides whether an item is seen, not how long it is read. So
//!   `E[dwell | click] = exp(10.0 + 0.3 a + w_len ln(len_i / 60) + 0.6²/2)`
//!   ms and the expected dwell of an impression is `true_ctr` times that.
//!
//! ## Cart and purchase (stream 6, only for clicked impressions)
//!
//! - `cvr(u, i) = σ(-3.0 + w · a_{u,topic_i} + c_i + β_u + r_i)`,
//!   `w = ads.cvr_affinity_weight` (default 0.5),
//!   `r_i = +0.5` for ads: the column `true_cvr`, P(purchase | click),
//!   recorded for every row (clicked or not), independent of dwell given
//!   (u, i).
//! - One draw `v ~ U` per click: `conversion = v < cvr`,
//!   `cart = v < min(1, 2 · cvr)`: a purchase always follows an add-to-cart,
//!   `P(cart | click) = min(1, 2·cvr)`, `P(purchase | click) = cvr`.
//!   So `P(conversion) = true_ctr · true_cvr` for every row.
//! - `price` is the item's price on every row; the revenue of a row is
//!   `conversion · price`.
//!
//! ## Billing (pacing)
//!
//! A CPC ad is charged its bid on a click, a CPA ad its bid on a purchase
//! (column `charge`), on day `d`. The eligibility check above makes an
//! advertiser's spend on a day at most its budget plus one bid.
//!
//! ## Behaviour history
//!
//! `history_items` of an impression holds the user's last `history_len`
//! clicked items (organic or ad) strictly before the session start, most
//! recent last, left-padded with `PAD`.
//!
//! With `ads.advertisers = 0` (see [`AdsConfig::off`]) every column of
//! version 1 is bit-identical to version 1's output for the same config.

mod market;
mod sessions;

pub use market::{Advertiser, Bidding};
pub use sessions::{FeedRequest, MarketSessions, SessionDraw, SessionRows, SessionSampler};

use market::{Economy, Ledger};

use crate::{Cardinalities, DataError, ExtraFields, Impressions, Result, Rng, PAD};

/// Bumped whenever the same config produces different data: include it in
/// data fingerprints so cached runs on older data are not reused.
pub const SIMULATOR_VERSION: u32 = 2;

const POSITION_DECAY: f64 = 0.7;
const BASE_LOGIT: f64 = -1.2;
const AFFINITY_WEIGHT: f64 = 0.9;
/// Share of feed slots filled from the user's interests (the rest uniform):
/// exposure follows interest, as under a real recommender.
const PERSONALISED_SHARE: f64 = 0.5;
const HORIZON_S: u64 = 30 * 24 * 3600;
const SLOT_GAP_S: u64 = 5;
const DWELL_LOG_MS: f64 = 10.0;
const DWELL_AFFINITY: f64 = 0.3;
const DWELL_LOG_SD: f64 = 0.6;
/// `P(cart | click) = min(1, CART_RATIO · cvr)`.
const CART_RATIO: f64 = 2.0;

/// Where ads go in a feed.
#[derive(Debug, Clone, PartialEq)]
pub enum AdPlacement {
    /// These 0-based positions in every feed.
    Slots(Vec<usize>),
    /// Each slot is an ad slot independently with this probability.
    Load(f64),
}

/// The ad market. `advertisers = 0` switches ads off.
#[derive(Debug, Clone, PartialEq)]
pub struct AdsConfig {
    /// Number of advertisers (default 20); 0 = no ads (version-1 feed).
    pub advertisers: usize,
    /// Share of the catalogue that are ads, in (0, 1) (default 0.1).
    pub ad_share: f64,
    /// Ad slots (default positions 1 and 4).
    pub placement: AdPlacement,
    /// Share of advertisers paying per conversion, in [0, 1] (default 0.3).
    pub cpa_share: f64,
    /// Mean bid per click in currency units (default 0.5); CPA bids are
    /// this / 0.08 on average.
    pub mean_cpc_bid: f64,
    /// Mean daily budget per advertiser in currency units (default 5.0).
    pub mean_daily_budget: f64,
    /// Weight of the user's topic affinity in the conversion logit (default
    /// 0.5). The same affinity drives clicks (weight 0.9), so a larger
    /// weight makes the clicked impressions a more biased sample of the
    /// space where conversion rates are predicted (ESMM's sample selection
    /// bias). Applies to organic items too.
    pub cvr_affinity_weight: f64,
    /// Weight of the item's log length (`ln(length / 60 s)`) in the log
    /// dwell (default 0: dwell does not depend on length, as in version 2).
    /// Applies to organic items too; at 1, dwell is proportional to length.
    pub dwell_length_weight: f64,
}

impl Default for AdsConfig {
    fn default() -> Self {
        AdsConfig {
            advertisers: 20,
            ad_share: 0.1,
            placement: AdPlacement::Slots(vec![1, 4]),
            cpa_share: 0.3,
            mean_cpc_bid: 0.5,
            mean_daily_budget: 5.0,
            cvr_affinity_weight: market::CVR_AFFINITY_WEIGHT,
            dwell_length_weight: 0.0,
        }
    }
}

impl AdsConfig {
    /// No ads: the organic feed of version 1.
    pub fn off() -> Self {
        AdsConfig { advertisers: 0, ..AdsConfig::default() }
    }

    pub fn enabled(&self) -> bool {
        self.advertisers > 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorConfig {
    pub seed: u64,
    pub users: usize,
    pub items: usize,
    pub topics: usize,
    pub sessions_per_user: usize,
    pub slots: usize,
    pub interest_sharpness: f64,
    pub history_len: usize,
    /// The ad market (default: [`AdsConfig::default`], ads on).
    pub ads: AdsConfig,
}

impl Default for SimulatorConfig {
    /// The quickstart world (experiments/quickstart.yaml) with the default ad market.
    fn default() -> Self {
        SimulatorConfig {
            seed: 7,
            users: 1500,
            items: 600,
            topics: 12,
            sessions_per_user: 12,
            slots: 8,
            interest_sharpness: 3.0,
            history_len: 20,
            ads: AdsConfig::default(),
        }
    }
}

/// The simulator's output with the ad side's ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub impressions: Impressions,
    /// Index `a - 1` is advertiser `a`.
    pub advertisers: Vec<Advertiser>,
    /// Per item id (index 0 is padding): 0 organic, else its advertiser.
    pub item_advertiser: Vec<u32>,
    /// Per item id (index 0 is padding, 0.0): price in currency units.
    pub item_price: Vec<f32>,
    /// Per item id (index 0 is padding, 0.0): content length in seconds,
    /// which sets dwell with `ads.dwell_length_weight`.
    pub item_length_s: Vec<f64>,
}

struct World {
    item_topic: Vec<usize>,
    item_quality: Vec<f64>,
    items_by_topic: Vec<Vec<usize>>,
    topic_popularity: Vec<f64>, // cumulative
    user_affinity: Vec<Vec<f64>>,
    user_interest: Vec<Vec<f64>>, // cumulative
    user_bias: Vec<f64>,
}

impl SimulatorConfig {
    /// The checks [`simulate`] makes before drawing anything, so a spec can
    /// be validated without simulating it.
    pub fn check(&self) -> Result<()> {
        let bad = |field: &'static str, message: String| Err(DataError::Config { field, message });
        let positive = |field: &'static str, v: usize| {
            if v == 0 { bad(field, "must be at least 1".into()) } else { Ok(()) }
        };
        positive("users", self.users)?;
        positive("items", self.items)?;
        positive("topics", self.topics)?;
        positive("sessions_per_user", self.sessions_per_user)?;
        positive("slots", self.slots)?;
        positive("history_len", self.history_len)?;
        if self.items < self.topics {
            return bad("items", format!("{} items cannot cover {} topics", self.items, self.topics));
        }
        if self.slots > self.items {
            return bad("slots", format!("{} slots need at least as many items, got {}", self.slots, self.items));
        }
        if !(self.interest_sharpness.is_finite() && self.interest_sharpness > 0.0) {
            return bad("interest_sharpness", "must be > 0".into());
        }
        let ads = &self.ads;
        if !ads.dwell_length_weight.is_finite() {
            return bad("ads.dwell_length_weight", format!("must be finite, got {}", ads.dwell_length_weight));
        }
        if !ads.cvr_affinity_weight.is_finite() {
            return bad("ads.cvr_affinity_weight", format!("must be finite, got {}", ads.cvr_affinity_weight));
        }
        if !ads.enabled() {
            return Ok(());
        }
        if !(ads.ad_share > 0.0 && ads.ad_share < 1.0) {
            return bad("ads.ad_share", format!("must be in (0, 1), got {}", ads.ad_share));
        }
        let n_ads = market::ad_count(ads, self.items);
        if n_ads < ads.advertisers {
            return bad(
                "ads.ad_share",
                format!("{n_ads} ad items (share {} of {}) cannot cover {} advertisers", ads.ad_share, self.items, ads.advertisers),
            );
        }
        let organic = self.items - n_ads;
        if organic < self.topics.max(self.slots) {
            return bad(
                "ads.ad_share",
                format!("leaves {organic} organic items; need at least topics ({}) and slots ({})", self.topics, self.slots),
            );
        }
        match &ads.placement {
            AdPlacement::Slots(ps) => {
                for (k, &p) in ps.iter().enumerate() {
                    if p >= self.slots {
                        return bad("ads.placement", format!("ad slot {p} is past the last slot {}", self.slots - 1));
                    }
                    if ps[..k].contains(&p) {
                        return bad("ads.placement", format!("ad slot {p} is listed twice"));
                    }
                }
            }
            AdPlacement::Load(f) => {
                if !(0.0..=1.0).contains(f) {
                    return bad("ads.placement", format!("ad load must be in [0, 1], got {f}"));
                }
            }
        }
        if !(0.0..=1.0).contains(&ads.cpa_share) {
            return bad("ads.cpa_share", format!("must be in [0, 1], got {}", ads.cpa_share));
        }
        for (field, v) in [("ads.mean_cpc_bid", ads.mean_cpc_bid), ("ads.mean_daily_budget", ads.mean_daily_budget)] {
            if !(v.is_finite() && v > 0.0) {
                return bad(field, format!("must be > 0, got {v}"));
            }
        }
        Ok(())
    }

    pub fn cardinalities(&self) -> Cardinalities {
        Cardinalities { users: self.users, items: self.items + 1, categories: self.topics + 1, positions: self.slots, extra: ExtraFields::NONE }
    }

    fn build_world(&self, rng: &mut Rng, organic_items: usize) -> World {
        let t = self.topics;
        // Zipf-like topic popularity: a few topics dominate the catalogue.
        let mut acc = 0.0;
        let topic_popularity: Vec<f64> = (0..t).map(|k| { acc += 1.0 / (k as f64 + 1.0).sqrt(); acc }).collect();
        let mut items_by_topic = vec![Vec::new(); t];
        let mut item_topic = Vec::with_capacity(self.items);
        for i in 0..self.items {
            // the first `t` items cover every topic once, so no topic is empty
            let topic = if i < t { i } else { rng.weighted(&topic_popularity) };
            item_topic.push(topic);
            // the organic feed draws from organic items only
            if i < organic_items {
                items_by_topic[topic].push(i);
            }
        }
        let item_quality = (0..self.items).map(|_| 0.6 * rng.normal()).collect();
        let uniform = (t as f64).ln();
        let mut user_affinity = Vec::with_capacity(self.users);
        let mut user_interest = Vec::with_capacity(self.users);
        for _ in 0..self.users {
            let logits: Vec<f64> = (0..t).map(|_| self.interest_sharpness * rng.normal()).collect();
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + logits.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
            let log_theta: Vec<f64> = logits.iter().map(|l| l - lse).collect();
            user_affinity.push(log_theta.iter().map(|lt| (lt + uniform).clamp(-4.0, uniform)).collect());
            let mut acc = 0.0;
            user_interest.push(log_theta.iter().map(|lt| { acc += lt.exp(); acc }).collect());
        }
        let user_bias = (0..self.users).map(|_| 0.3 * rng.normal()).collect();
        World { item_topic, item_quality, items_by_topic, topic_popularity, user_affinity, user_interest, user_bias }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `attract(u, i)`: the click probability of an examined slot.
fn attract(world: &World, eco: &Economy, u: usize, item: usize) -> f64 {
    let affinity = world.user_affinity[u][world.item_topic[item]];
    let logit = BASE_LOGIT + AFFINITY_WEIGHT * affinity + world.item_quality[item] + world.user_bias[u];
    if eco.is_ad(item) { sigmoid(logit + market::AD_ATTRACT_OFFSET) } else { sigmoid(logit) }
}

/// Draws distinct organic items into `feed` until it holds `n`.
fn fill_organic(world: &World, rng: &mut Rng, u: usize, feed: &mut Vec<usize>, n: usize) {
    while feed.len() < n {
        let topic = if rng.bernoulli(PERSONALISED_SHARE) {
            rng.weighted(&world.user_interest[u])
        } else {
            rng.weighted(&world.topic_popularity)
        };
        let pool = &world.items_by_topic[topic];
        if pool.is_empty() {
            continue; // a topic whose only items are ads
        }
        let item = pool[rng.below(pool.len())];
        if !feed.contains(&item) {
            feed.push(item);
        }
    }
}

/// The probability that slot `position` (0-based) is examined: `1 / (1 + p)^0.7`.
pub fn examination(position: usize) -> f64 {
    1.0 / (1.0 + position as f64).powf(POSITION_DECAY)
}

/// Each row's true relevance, the click probability it would have at the
/// top position (`true_ctr / examination(position)`); `None` for a table
/// without the truth (a real log's `true_ctr` is NaN).
pub fn true_relevance(data: &Impressions) -> Option<Vec<f32>> {
    let relevance: Vec<f32> =
        data.true_ctr.iter().zip(&data.position).map(|(&p, &pos)| (f64::from(p) / examination(pos as usize)) as f32).collect();
    (!data.is_empty() && relevance.iter().all(|r| r.is_finite())).then_some(relevance)
}

/// Runs the simulator; the same config always gives the same table.
pub fn simulate(config: &SimulatorConfig) -> Result<Impressions> {
    Ok(simulate_market(config)?.impressions)
}

/// Runs the simulator and returns the impressions with the advertisers and
/// item economics behind them.
pub fn simulate_market(config: &SimulatorConfig) -> Result<Market> {
    config.check()?;
    let n_ads = market::ad_count(&config.ads, config.items);
    let mut root = Rng::new(config.seed);
    let world = config.build_world(&mut root.fork(1), config.items - n_ads);
    let mut schedule_rng = root.fork(2);
    let mut rng = root.fork(3);
    let eco = Economy::build(&config.ads, config.items, config.users, &mut root.fork(4));
    let mut ads_rng = root.fork(5);
    let mut conversion_rng = root.fork(6);

    // Sessions at random times, replayed in time order so that each
    // impression's history holds only clicks that happened before it.
    let mut sessions: Vec<(u64, usize)> = (0..config.users)
        .flat_map(|u| (0..config.sessions_per_user).map(move |_| u))
        .map(|u| ((schedule_rng.uniform() * HORIZON_S as f64) as u64, u))
        .collect();
    sessions.sort_unstable();

    let slots = config.slots;
    let last_timestamp = sessions.last().map_or(0, |s| s.0) + slots as u64 * SLOT_GAP_S;
    let mut ledger = Ledger::new(eco.advertisers.len(), last_timestamp);
    let examine: Vec<f64> = (0..slots).map(examination).collect();
    let mut is_ad_slot = vec![false; slots];
    if let (true, AdPlacement::Slots(ps)) = (config.ads.enabled(), &config.ads.placement) {
        for &p in ps {
            is_ad_slot[p] = true;
        }
    }

    let k = config.history_len;
    let rows = sessions.len() * slots;
    let mut out = Impressions { history_len: k, ..Default::default() };
    out.reserve(rows);
    // (timestamp, item) of each user's clicks, in time order
    let mut clicked: Vec<Vec<(u64, u32)>> = vec![Vec::new(); config.users];
    let mut history = Vec::with_capacity(k);
    let mut history_window = Vec::with_capacity(k);
    let mut category_window = Vec::with_capacity(k);
    let mut organic = Vec::with_capacity(2 * slots);
    let mut advertisers_in_feed = Vec::with_capacity(slots);
    let mut session_clicks = Vec::with_capacity(slots);
    for &(start, u) in &sessions {
        if let (true, AdPlacement::Load(f)) = (config.ads.enabled(), &config.ads.placement) {
            for s in is_ad_slot.iter_mut() {
                *s = ads_rng.bernoulli(*f);
            }
        }
        let n_ad_slots = is_ad_slot.iter().filter(|&&s| s).count();
        organic.clear();
        fill_organic(&world, &mut rng, u, &mut organic, slots - n_ad_slots);
        let mut next_organic = 0;
        advertisers_in_feed.clear();
        // a session may start before an overlapping earlier one has ended
        history.clear();
        history.extend(clicked[u].iter().rev().filter(|(t, _)| *t < start).take(k).map(|&(_, i)| i));
        history.reverse();
        // the session's history windows, left-padded, copied into every row
        history_window.clear();
        history_window.resize(k - history.len(), PAD);
        history_window.extend_from_slice(&history);
        category_window.clear();
        category_window.resize(k - history.len(), PAD);
        category_window.extend(history.iter().map(|&i| world.item_topic[i as usize - 1] as u32 + 1));
        session_clicks.clear();
        for slot in 0..slots {
            let timestamp = start + slot as u64 * SLOT_GAP_S;
            let won = if is_ad_slot[slot] {
                market::auction(&world, &eco, &ledger, &mut ads_rng, u, timestamp, &advertisers_in_feed)
            } else {
                None
            };
            let item = match won {
                Some(ad) => {
                    advertisers_in_feed.push(eco.item_advertiser[ad]);
                    ad
                }
                None => {
                    if next_organic == organic.len() {
                        // an ad slot nobody could buy: one more organic item
                        let n = organic.len() + 1;
                        fill_organic(&world, &mut ads_rng, u, &mut organic, n);
                    }
                    next_organic += 1;
                    organic[next_organic - 1]
                }
            };
            let topic = world.item_topic[item];
            let affinity = world.user_affinity[u][topic];
            let p = examine[slot] * attract(&world, &eco, u, item);
            let click = rng.bernoulli(p);
            let dwell = if click { (rng.normal() * DWELL_LOG_SD + eco.dwell_log_ms(affinity, item)).exp() as u32 } else { 0 };
            let cvr = eco.cvr(&world, u, item);
            let (cart, conversion) = if click {
                let v = conversion_rng.uniform();
                (v < (CART_RATIO * cvr).min(1.0), v < cvr)
            } else {
                (false, false)
            };
            let advertiser = eco.item_advertiser[item];
            let (bid, charge) = if advertiser == 0 {
                (0.0, 0.0)
            } else {
                let a = &eco.advertisers[advertiser as usize - 1];
                let billed = match a.bidding {
                    Bidding::Cpc => click,
                    Bidding::Cpa => conversion,
                };
                if billed {
                    ledger.charge(advertiser, timestamp, eco.bid_cents[advertiser as usize - 1]);
                }
                (a.bid, if billed { a.bid } else { 0.0 })
            };
            out.user.push(u as u32);
            out.item.push(item as u32 + 1);
            out.category.push(topic as u32 + 1);
            out.position.push(slot as u32);
            out.timestamp.push(timestamp);
            out.click.push(if click { 1.0 } else { 0.0 });
            out.dwell_ms.push(dwell);
            out.true_ctr.push(p as f32);
            out.is_ad.push(advertiser != 0);
            out.advertiser.push(advertiser);
            out.bid.push(bid);
            out.charge.push(charge);
            out.cart.push(if cart { 1.0 } else { 0.0 });
            out.conversion.push(if conversion { 1.0 } else { 0.0 });
            out.true_cvr.push(cvr as f32);
            out.price.push(eco.price[item]);
            out.history_items.extend_from_slice(&history_window);
            out.history_categories.extend_from_slice(&category_window);
            if click {
                session_clicks.push((timestamp, item as u32 + 1));
            }
        }
        // keep the user's clicks sorted (the same order as sorting the whole list)
        let user_clicks = &mut clicked[u];
        for &c in &session_clicks {
            let at = user_clicks.partition_point(|x| *x <= c);
            user_clicks.insert(at, c);
        }
    }
    let item_advertiser = std::iter::once(0).chain(eco.item_advertiser.iter().copied()).collect();
    let item_price = std::iter::once(0.0).chain(eco.price.iter().copied()).collect();
    let item_length_s = std::iter::once(0.0).chain(eco.item_length_s.iter().copied()).collect();
    Ok(Market { impressions: out, advertisers: eco.advertisers, item_advertiser, item_price, item_length_s })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version-1 test world, ads off.
    fn small() -> SimulatorConfig {
        SimulatorConfig {
            seed: 11,
            users: 200,
            items: 150,
            topics: 6,
            sessions_per_user: 6,
            slots: 6,
            interest_sharpness: 2.0,
            history_len: 5,
            ads: AdsConfig::off(),
        }
    }

    /// A market with tight budgets, so pacing binds.
    fn market() -> SimulatorConfig {
        SimulatorConfig {
            users: 400,
            ads: AdsConfig { advertisers: 8, ad_share: 0.2, mean_daily_budget: 1.0, ..AdsConfig::default() },
            ..small()
        }
    }

    fn fnv(h: &mut u64, bytes: &[u8]) {
        for &b in bytes {
            *h ^= b as u64;
            *h = h.wrapping_mul(0x100_0000_01b3);
        }
    }

    /// FNV-1a over the version-1 columns.
    fn v1_digest(d: &Impressions) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for c in [&d.user, &d.item, &d.category, &d.position, &d.dwell_ms, &d.history_items, &d.history_categories] {
            c.iter().for_each(|v| fnv(&mut h, &v.to_le_bytes()));
        }
        d.timestamp.iter().for_each(|v| fnv(&mut h, &v.to_le_bytes()));
        d.click.iter().chain(&d.true_ctr).for_each(|v| fnv(&mut h, &v.to_le_bytes()));
        h
    }

    fn sum(xs: impl Iterator<Item = f64>) -> f64 {
        xs.sum()
    }

    #[test]
    fn deterministic_from_seed() {
        for config in [small(), market()] {
            let a = simulate_market(&config).unwrap();
            assert_eq!(a, simulate_market(&config).unwrap());
            let b = simulate(&SimulatorConfig { seed: 12, ..config }).unwrap();
            assert_ne!(a.impressions.click, b.click);
        }
    }

    #[test]
    fn ads_off_reproduces_version_1_bit_for_bit() {
        // digests of version 1's output, taken before the ad market was added
        let d = simulate(&small()).unwrap();
        assert_eq!((d.len(), v1_digest(&d)), (7200, 0xf581_e4a2_e196_4aa1));
        let quickstart = SimulatorConfig { ads: AdsConfig::off(), ..SimulatorConfig::default() };
        let q = simulate(&quickstart).unwrap();
        assert_eq!((q.len(), v1_digest(&q)), (144_000, 0x687d_3dfe_76cb_c2b8));
        assert!(q.is_ad.iter().all(|&a| !a) && q.charge.iter().all(|&c| c == 0.0));
    }

    #[test]
    fn ads_reuse_the_world_streams() {
        // turning ads on keeps every item's topic and the session schedule
        let off = simulate(&small()).unwrap();
        let on = simulate(&market()).unwrap();
        let mut topic = vec![0u32; 151];
        off.item.iter().zip(&off.category).for_each(|(&i, &c)| topic[i as usize] = c);
        assert!(on.item.iter().zip(&on.category).all(|(&i, &c)| topic[i as usize] == 0 || topic[i as usize] == c));
        let on_small = simulate(&SimulatorConfig { ads: market().ads, ..small() }).unwrap();
        assert_eq!(off.timestamp, on_small.timestamp);
        assert_eq!(off.user, on_small.user);
    }

    #[test]
    fn shapes_ids_and_rates_are_plausible() {
        let d = simulate(&small()).unwrap();
        let c = small();
        assert_eq!(d.len(), c.users * c.sessions_per_user * c.slots);
        assert_eq!(d.history_items.len(), d.len() * c.history_len);
        assert!(d.item.iter().all(|&i| i >= 1 && i as usize <= c.items));
        let ctr = d.click_rate();
        assert!((0.05..0.4).contains(&ctr), "click rate {ctr}");
        // the empirical click rate tracks the recorded probabilities
        let mean_p = d.true_ctr.iter().map(|&p| p as f64).sum::<f64>() / d.len() as f64;
        assert!((ctr - mean_p).abs() < 0.02, "ctr {ctr} vs mean p {mean_p}");
        // dwell only after clicks
        assert!(d.click.iter().zip(&d.dwell_ms).all(|(&c, &w)| (c > 0.5) == (w > 0)));
    }

    #[test]
    fn market_columns_are_consistent() {
        let config = market();
        let m = simulate_market(&config).unwrap();
        let d = &m.impressions;
        let n = d.len();
        assert_eq!(n, config.users * config.sessions_per_user * config.slots);
        for len in [d.is_ad.len(), d.advertiser.len(), d.bid.len(), d.charge.len(), d.cart.len(), d.conversion.len()] {
            assert_eq!(len, n);
        }
        assert_eq!((d.true_cvr.len(), d.price.len(), d.history_categories.len()), (n, n, n * config.history_len));
        assert_eq!((m.item_advertiser.len(), m.item_price.len()), (config.items + 1, config.items + 1));
        assert_eq!(m.advertisers.len(), 8);
        for i in 0..n {
            let item = d.item[i] as usize;
            assert!((1..=config.items).contains(&item));
            assert!((1..=config.topics as u32).contains(&d.category[i]));
            assert_eq!(d.advertiser[i], m.item_advertiser[item], "row {i}");
            assert_eq!(d.is_ad[i], d.advertiser[i] != 0);
            assert_eq!(d.price[i], m.item_price[item]);
            assert!(d.price[i] >= 0.01 && d.true_cvr[i] > 0.0 && d.true_cvr[i] < 1.0);
            if d.is_ad[i] {
                assert_eq!(d.bid[i], m.advertisers[d.advertiser[i] as usize - 1].bid);
            } else {
                assert_eq!((d.bid[i], d.charge[i]), (0.0, 0.0));
            }
        }
        // an advertiser shows at most one ad per feed
        for feed in d.advertiser.chunks(config.slots) {
            let ads: Vec<u32> = feed.iter().copied().filter(|&a| a != 0).collect();
            assert!(ads.iter().enumerate().all(|(k, a)| !ads[..k].contains(a)), "{feed:?}");
        }
        assert!(m.advertisers.iter().any(|a| a.bidding == Bidding::Cpa) && m.advertisers.iter().any(|a| a.bidding == Bidding::Cpc));
    }

    #[test]
    fn ad_share_and_ad_slots_as_configured() {
        let rich = AdsConfig { mean_daily_budget: 1e6, ..market().ads };
        let m = simulate_market(&SimulatorConfig { ads: rich.clone(), ..market() }).unwrap();
        let ad_items = m.item_advertiser.iter().filter(|&&a| a != 0).count();
        assert_eq!(ad_items, 30, "0.2 of 150 items");
        // each advertiser has ads
        assert!((1..=8).all(|a| m.item_advertiser.contains(&a)));
        let d = &m.impressions;
        // with budgets that never bind, slots 1 and 4 always show ads, others never
        for i in 0..d.len() {
            assert_eq!(d.is_ad[i], d.position[i] == 1 || d.position[i] == 4, "row {i} at {}", d.position[i]);
        }
        // an ad load fraction: each slot is an ad slot with that probability
        let load = SimulatorConfig { ads: AdsConfig { placement: AdPlacement::Load(0.25), ..rich }, ..market() };
        let d = simulate(&load).unwrap();
        let share = d.is_ad.iter().filter(|&&a| a).count() as f64 / d.len() as f64;
        // at most 6 ad slots per feed, 8 advertisers: nearly every ad slot is sold
        let sd = (0.25 * 0.75 / d.len() as f64).sqrt();
        assert!((share - 0.25).abs() < 4.0 * sd + 0.005, "ad share {share}");
        for p in 0..6 {
            let at: Vec<usize> = (0..d.len()).filter(|&i| d.position[i] == p).collect();
            let s = at.iter().filter(|&&i| d.is_ad[i]).count() as f64 / at.len() as f64;
            assert!((s - 0.25).abs() < 0.05, "position {p}: ad share {s}");
        }
    }

    #[test]
    fn budgets_are_never_exceeded_and_pacing_binds() {
        let config = market();
        let m = simulate_market(&config).unwrap();
        let d = &m.impressions;
        let days = 31;
        let mut spent = vec![0.0f64; m.advertisers.len() * days];
        let mut exhausted_then_shown = 0;
        for i in 0..d.len() {
            // rows are in the order the simulator billed them
            let a = d.advertiser[i] as usize;
            if a == 0 {
                continue;
            }
            let adv = &m.advertisers[a - 1];
            let slot = (a - 1) * days + (d.timestamp[i] / 86_400) as usize;
            if spent[slot] >= adv.daily_budget as f64 - 1e-4 {
                exhausted_then_shown += 1;
            }
            spent[slot] += d.charge[i] as f64;
            assert!(spent[slot] <= adv.daily_budget as f64 + adv.bid as f64 + 1e-3, "advertiser {a} row {i}: {}", spent[slot]);
            let billed = match adv.bidding {
                Bidding::Cpc => d.click[i] > 0.5,
                Bidding::Cpa => d.conversion[i] > 0.5,
            };
            assert_eq!(d.charge[i], if billed { adv.bid } else { 0.0 }, "row {i}");
        }
        assert_eq!(exhausted_then_shown, 0, "ads shown after the day's budget was spent");
        // the test is not vacuous: budgets were reached, and ad slots went organic
        let reached = (0..spent.len()).filter(|&s| spent[s] >= m.advertisers[s / days].daily_budget as f64 - 1e-4).count();
        assert!(reached > 20, "only {reached} advertiser-days reached their budget");
        let unsold = (0..d.len()).filter(|&i| (d.position[i] == 1 || d.position[i] == 4) && !d.is_ad[i]).count();
        assert!(unsold > 0 && unsold < d.len() / 6 * 2, "{unsold} unsold ad slots");
    }

    /// |Σ y − Σ p| within 4 standard deviations of a sum of Bernoullis.
    fn assert_tracks(label: &str, y: &[f32], p: &[f32], rows: &[usize]) {
        let sy = sum(rows.iter().map(|&i| y[i] as f64));
        let sp = sum(rows.iter().map(|&i| p[i] as f64));
        let var = sum(rows.iter().map(|&i| p[i] as f64 * (1.0 - p[i] as f64)));
        assert!(rows.len() > 300, "{label}: only {} rows", rows.len());
        assert!((sy - sp).abs() < 4.0 * var.sqrt() + 1.0, "{label}: {sy} events vs {sp:.1} expected (sd {:.1})", var.sqrt());
    }

    #[test]
    fn empirical_rates_track_the_true_probabilities() {
        let config = SimulatorConfig { users: 1500, ads: AdsConfig { mean_daily_budget: 20.0, ..market().ads }, ..market() };
        let d = simulate(&config).unwrap();
        let all: Vec<usize> = (0..d.len()).collect();
        assert_tracks("ctr", &d.click, &d.true_ctr, &all);
        // calibrated within quintiles of the true probability, for ads and organic items
        for ads in [false, true] {
            let mut rows: Vec<usize> = all.iter().copied().filter(|&i| d.is_ad[i] == ads).collect();
            rows.sort_by(|&a, &b| d.true_ctr[a].total_cmp(&d.true_ctr[b]));
            for (q, part) in rows.chunks(rows.len().div_ceil(5)).enumerate() {
                assert_tracks(&format!("ctr ads={ads} quintile {q}"), &d.click, &d.true_ctr, part);
            }
        }
        // conversion given click
        let mut clicked: Vec<usize> = all.iter().copied().filter(|&i| d.click[i] > 0.5).collect();
        assert_tracks("cvr", &d.conversion, &d.true_cvr, &clicked);
        clicked.sort_by(|&a, &b| d.true_cvr[a].total_cmp(&d.true_cvr[b]));
        for (q, part) in clicked.chunks(clicked.len().div_ceil(3)).enumerate() {
            assert_tracks(&format!("cvr tercile {q}"), &d.conversion, &d.true_cvr, part);
        }
        // P(cart | click) = min(1, 2 cvr)
        let cart_p: Vec<f32> = d.true_cvr.iter().map(|&p| (2.0 * p).min(1.0)).collect();
        assert_tracks("cart", &d.cart, &cart_p, &clicked);
        // unconditionally, P(conversion) = true_ctr * true_cvr
        let joint: Vec<f32> = (0..d.len()).map(|i| d.true_ctr[i] * d.true_cvr[i]).collect();
        assert_tracks("conversion", &d.conversion, &joint, &all);
        let cvr = d.conversion_rate_after_click();
        assert!((0.02..0.3).contains(&cvr), "cvr {cvr}");
    }

    #[test]
    fn conversions_and_carts_only_after_clicks() {
        let d = simulate(&market()).unwrap();
        for i in 0..d.len() {
            assert!(d.conversion[i] <= d.cart[i] && d.cart[i] <= d.click[i], "row {i}");
        }
        assert!(d.conversion.iter().any(|&c| c > 0.5));
    }

    #[test]
    fn dwell_follows_item_length_with_its_weight_and_nothing_else_changes() {
        let base = SimulatorConfig { users: 600, ..market() };
        let long = SimulatorConfig { ads: AdsConfig { dwell_length_weight: 1.0, ..base.ads.clone() }, ..base.clone() };
        let (a, b) = (simulate_market(&base).unwrap(), simulate_market(&long).unwrap());
        // the same impressions and clicks: only the dwell column moves
        assert_eq!((&a.impressions.click, &a.impressions.item), (&b.impressions.click, &b.impressions.item));
        assert_eq!(a.item_length_s, b.item_length_s);
        assert_ne!(a.impressions.dwell_ms, b.impressions.dwell_ms);
        // log dwell moves by exactly ln(length / 60) (up to the floor to whole ms)
        let d = (&a.impressions, &b.impressions);
        let mut lengths: Vec<f64> = Vec::new();
        for i in (0..d.0.len()).filter(|&i| d.0.click[i] > 0.5) {
            let length = a.item_length_s[d.0.item[i] as usize];
            lengths.push(length);
            let shift = (f64::from(d.1.dwell_ms[i]) + 0.5).ln() - (f64::from(d.0.dwell_ms[i]) + 0.5).ln();
            assert!((shift - (length / 60.0).ln()).abs() < 0.01, "row {i}: {shift} vs length {length}");
        }
        // lengths are log-normal around 60 s
        let median = {
            lengths.sort_by(f64::total_cmp);
            lengths[lengths.len() / 2]
        };
        assert!((median / 60.0).ln().abs() < 0.15, "median length {median}");
        assert_eq!(a.item_length_s[0], 0.0);
    }

    #[test]
    fn dwell_only_after_clicks_and_longer_for_high_affinity() {
        let config = SimulatorConfig { users: 1000, ..market() };
        let d = simulate(&config).unwrap();
        assert!(d.click.iter().zip(&d.dwell_ms).all(|(&c, &w)| (c > 0.5) == (w > 0)));
        // rebuild the world (stream 1) to know each row's affinity
        let world = config.build_world(&mut Rng::new(config.seed).fork(1), 120);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for i in (0..d.len()).filter(|&i| d.click[i] > 0.5) {
            xs.push(world.user_affinity[d.user[i] as usize][d.category[i] as usize - 1]);
            ys.push((d.dwell_ms[i] as f64).ln());
        }
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let sxx = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
        let slope = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum::<f64>() / sxx;
        let resid_sd = (xs.iter().zip(&ys).map(|(x, y)| (y - my - slope * (x - mx)).powi(2)).sum::<f64>() / n).sqrt();
        let slope_se = resid_sd / sxx.sqrt();
        assert!((slope - 0.3).abs() < 4.0 * slope_se, "log-dwell slope {slope} (se {slope_se})");
        assert!((resid_sd - 0.6).abs() < 0.03, "log-dwell sd {resid_sd}");
        // and plainly: clicks on high-affinity topics are read longer
        let mut rows: Vec<usize> = (0..xs.len()).collect();
        rows.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
        let mean = |r: &[usize]| r.iter().map(|&i| ys[i]).sum::<f64>() / r.len() as f64;
        let third = rows.len() / 3;
        assert!(mean(&rows[2 * third..]) > mean(&rows[..third]) + 0.1);
    }

    #[test]
    fn position_lowers_clicks() {
        for config in [small(), market()] {
            let d = simulate(&SimulatorConfig { users: 600, ..config }).unwrap();
            let rate = |pos: u32| {
                let rows: Vec<usize> = (0..d.len()).filter(|&i| d.position[i] == pos).collect();
                rows.iter().map(|&i| d.click[i] as f64).sum::<f64>() / rows.len() as f64
            };
            assert!(rate(0) > 1.5 * rate(5), "top {} vs bottom {}", rate(0), rate(5));
        }
    }

    #[test]
    fn history_holds_only_earlier_clicks_of_the_same_user() {
        for config in [small(), market()] {
            let d = simulate(&config).unwrap();
            for row in (0..d.len()).step_by(37) {
                let u = d.user[row];
                for &h in d.history_of(row).iter().filter(|&&h| h != PAD) {
                    let earlier = (0..d.len()).any(|j| {
                        d.user[j] == u && d.item[j] == h && d.click[j] > 0.5 && d.timestamp[j] < d.timestamp[row]
                    });
                    assert!(earlier, "row {row}: history item {h} was not clicked earlier by user {u}");
                }
            }
        }
    }

    #[test]
    fn history_predicts_clicks() {
        // a user clicks more often on an item of a topic already in their history
        for config in [small(), market()] {
            let d = simulate(&SimulatorConfig { users: 800, ..config }).unwrap();
            let (mut hit, mut hit_n, mut miss, mut miss_n) = (0.0, 0.0, 0.0, 0.0);
            for row in 0..d.len() {
                let cats = &d.history_categories[row * d.history_len..(row + 1) * d.history_len];
                if cats.iter().all(|&c| c == PAD) {
                    continue;
                }
                if cats.contains(&d.category[row]) {
                    hit += d.click[row] as f64;
                    hit_n += 1.0;
                } else {
                    miss += d.click[row] as f64;
                    miss_n += 1.0;
                }
            }
            assert!(hit / hit_n > 1.5 * (miss / miss_n), "in-history {} vs other {}", hit / hit_n, miss / miss_n);
        }
    }

    #[test]
    fn rejects_impossible_configs() {
        let e = simulate(&SimulatorConfig { slots: 200, ..small() }).unwrap_err();
        assert!(e.to_string().contains("slots"), "{e}");
        assert!(simulate(&SimulatorConfig { users: 0, ..small() }).is_err());
        let ads = |ads: AdsConfig| simulate(&SimulatorConfig { ads, ..small() }).unwrap_err().to_string();
        let base = market().ads;
        assert!(ads(AdsConfig { ad_share: 1.0, ..base.clone() }).contains("ads.ad_share"));
        assert!(ads(AdsConfig { ad_share: 0.01, ..base.clone() }).contains("cannot cover 8 advertisers"));
        assert!(ads(AdsConfig { ad_share: 0.97, advertisers: 2, ..base.clone() }).contains("organic"));
        assert!(ads(AdsConfig { placement: AdPlacement::Slots(vec![1, 6]), ..base.clone() }).contains("past the last slot"));
        assert!(ads(AdsConfig { placement: AdPlacement::Slots(vec![1, 1]), ..base.clone() }).contains("twice"));
        assert!(ads(AdsConfig { placement: AdPlacement::Load(1.5), ..base.clone() }).contains("ad load"));
        assert!(ads(AdsConfig { cpa_share: -0.1, ..base.clone() }).contains("ads.cpa_share"));
        assert!(ads(AdsConfig { mean_daily_budget: f64::NAN, ..base.clone() }).contains("ads.mean_daily_budget"));
        assert!(ads(AdsConfig { mean_cpc_bid: 0.0, ..base.clone() }).contains("ads.mean_cpc_bid"));
        // ads off ignores the other ad settings
        assert!(simulate(&SimulatorConfig { ads: AdsConfig { advertisers: 0, ad_share: 5.0, ..base }, ..small() }).is_ok());
    }
}
