//! Fresh feed requests from an already simulated world, for offline replay
//! (A/B tests of ranking policies, off-policy estimators).
//!
//! [`SessionSampler::new`] rebuilds the world and economy of a
//! [`SimulatorConfig`] (streams 1 and 4 of its seed: the same users, items,
//! ads and advertisers as the training data) and runs the simulation once to
//! know each user's behaviour history at the end of the simulated period.
//! [`SessionSampler::draw`] then draws requests from its own seed, which
//! never touches the training streams:
//!
//! - user `u` uniform;
//! - `organic_candidates` distinct organic items drawn as the feed draws them
//!   (half from the user's interests, half by topic popularity);
//! - `ad_candidates` distinct ads uniform from the ad catalogue (capped at its
//!   size).
//!
//! Every candidate is one row of [`MarketSessions::candidates`] with the
//! features a model reads (user, item, category, the user's history at the
//! end of the period, position 0) and the truth: `true_ctr` is
//! `attract(u, i)`, the click probability of an *examined* slot (position 0
//! has examination 1), `true_cvr` is P(conversion | click), and
//! [`MarketSessions::expected_dwell_s`] is `E[dwell | click] =
//! exp(10 + 0.3 a + w_len ln(len_i / 60) + 0.6²/2)` ms in seconds. Labels (`click`, `conversion`,
//! …) are 0: outcomes are drawn by whoever replays the sessions. Histories
//! do not grow during the fresh sessions.

use std::ops::Range;

use super::market::{Economy, ad_count};
use super::{
    attract, fill_organic, simulate_market, Advertiser, SimulatorConfig, World,
    DWELL_LOG_SD, HORIZON_S, POSITION_DECAY,
};
use crate::{DataError, Impressions, Result, Rng, PAD};

/// How many fresh requests to draw, and their candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDraw {
    pub sessions: usize,
    /// Seed of the fresh requests (use one the training data does not).
    pub seed: u64,
    /// Organic candidates per request (at least the feed length).
    pub organic_candidates: usize,
    /// Ads per request's auction.
    pub ad_candidates: usize,
}

/// The rows of one request in [`MarketSessions::candidates`].
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRows {
    pub user: u32,
    pub organic: Range<usize>,
    pub ads: Range<usize>,
}

/// Fresh requests with their candidates; see the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSessions {
    /// One row per candidate, each request's organic items then its ads.
    pub candidates: Impressions,
    pub sessions: Vec<SessionRows>,
    /// Per row: expected dwell after a click, in seconds.
    pub expected_dwell_s: Vec<f64>,
    /// Per row: the ad's creative quality `q_i` (0 for organic items), the
    /// score a quality floor compares.
    pub quality: Vec<f64>,
    /// Index `a - 1` is advertiser `a`.
    pub advertisers: Vec<Advertiser>,
    /// Requests per simulated day in the world (`users · sessions_per_user /
    /// 30`): the traffic a daily budget is sized for.
    pub sessions_per_day: f64,
    /// Examination probability of each feed position, `1 / (1 + p)^0.7`.
    pub examination: Vec<f64>,
    /// Ads' clicks per examined impression over the simulated period
    /// (`Σ clicks / Σ e_position`): a market-wide pCTR prior.
    pub period_ad_ctr: f64,
    /// Ads' conversions per click over the simulated period: a pCVR prior.
    pub period_ad_cvr: f64,
    /// Mean dwell after a click over the simulated period, in seconds: the
    /// `E[dwell | click]` prior of a model that predicts no dwell.
    pub period_dwell_s: f64,
}

/// A simulated world ready to draw fresh requests from.
pub struct SessionSampler {
    config: SimulatorConfig,
    world: World,
    eco: Economy,
    /// Per user: the last `history_len` clicked items (1-based), oldest first.
    history: Vec<Vec<u32>>,
    examination: Vec<f64>,
    /// (period_ad_ctr, period_ad_cvr, period_dwell_s) of [`MarketSessions`].
    period_rates: (f64, f64, f64),
}

impl SessionSampler {
    /// Rebuilds the world of `config` and the users' histories (runs the
    /// simulation once). The config must have ads.
    pub fn new(config: &SimulatorConfig) -> Result<SessionSampler> {
        if !config.ads.enabled() {
            return Err(DataError::Config { field: "ads", message: "fresh market sessions need ads in the simulator".into() });
        }
        let market = simulate_market(config)?;
        let n_ads = ad_count(&config.ads, config.items);
        let mut root = Rng::new(config.seed);
        let world = config.build_world(&mut root.fork(1), config.items - n_ads);
        // streams 2 and 3 are the schedule and the feeds: forked, as in
        // `simulate_market`, so that stream 4 is the same economy
        let _ = (root.fork(2), root.fork(3));
        let eco = Economy::build(&config.ads, config.items, config.users, &mut root.fork(4));
        // rows are in time order: the last clicks of each user are their history
        let d = &market.impressions;
        let mut history = vec![Vec::new(); config.users];
        for row in (0..d.len()).filter(|&r| d.click[r] > 0.5) {
            history[d.user[row] as usize].push(d.item[row]);
        }
        for h in &mut history {
            let drop = h.len().saturating_sub(config.history_len);
            h.drain(..drop);
        }
        let examination: Vec<f64> = (0..config.slots).map(|p| 1.0 / (1.0 + p as f64).powf(POSITION_DECAY)).collect();
        let (mut examined, mut clicks, mut conversions) = (0.0, 0.0, 0.0);
        for row in (0..d.len()).filter(|&r| d.is_ad[r]) {
            examined += examination[d.position[row] as usize];
            clicks += d.click[row] as f64;
            conversions += d.conversion[row] as f64;
        }
        let (mut all_clicks, mut dwell_ms) = (0.0, 0.0);
        for row in (0..d.len()).filter(|&r| d.click[r] > 0.5) {
            all_clicks += 1.0;
            dwell_ms += d.dwell_ms[row] as f64;
        }
        let period_rates =
            (clicks / examined.max(1e-12), conversions / clicks.max(1.0), dwell_ms / 1000.0 / f64::max(all_clicks, 1.0));
        Ok(SessionSampler { config: config.clone(), world, eco, history, examination, period_rates })
    }

    /// Organic items in the catalogue: the most organic candidates a request can have.
    pub fn organic_items(&self) -> usize {
        self.eco.first_ad
    }

    /// Draws fresh requests; see the module doc.
    pub fn draw(&self, draw: &SessionDraw) -> Result<MarketSessions> {
        let c = &self.config;
        let organic_items = self.eco.first_ad;
        if draw.organic_candidates < c.slots || draw.organic_candidates > organic_items {
            return Err(DataError::Config {
                field: "organic_candidates",
                message: format!(
                    "{} must be between the feed length {} and the {organic_items} organic items",
                    draw.organic_candidates, c.slots
                ),
            });
        }
        if draw.ad_candidates == 0 {
            return Err(DataError::Config { field: "ad_candidates", message: "must be at least 1".into() });
        }
        let n_ads = c.items - organic_items;
        let per_session = draw.organic_candidates + draw.ad_candidates.min(n_ads);
        let mut rows = Rows::with_capacity(c.history_len, draw.sessions * per_session);
        let mut rng = Rng::new(draw.seed);
        let (mut organic, mut ads) = (Vec::new(), Vec::new());
        for s in 0..draw.sessions {
            let u = rng.below(c.users);
            organic.clear();
            fill_organic(&self.world, &mut rng, u, &mut organic, draw.organic_candidates);
            ads.clear();
            while ads.len() < draw.ad_candidates.min(n_ads) {
                let ad = organic_items + rng.below(n_ads);
                if !ads.contains(&ad) {
                    ads.push(ad);
                }
            }
            self.push_session(&mut rows, s, u, &organic, &ads, &self.history[u]);
        }
        Ok(self.sessions_of(rows))
    }

    /// Live feed requests as rows with the same features and truth as drawn
    /// ones (request `s` is session `s`): what a front end ranks with. A
    /// candidate that is not of its kind, or an id outside the world, is
    /// refused, the message naming the request.
    pub fn requests(&self, requests: &[FeedRequest]) -> Result<MarketSessions> {
        let bad = |field: &'static str, s: usize, message: String| DataError::Config { field, message: format!("request {s}: {message}") };
        let rows = requests.iter().map(|r| r.organic.len() + r.ads.len()).sum();
        let mut out = Rows::with_capacity(self.config.history_len, rows);
        for (s, r) in requests.iter().enumerate() {
            if r.user >= self.config.users {
                return Err(bad("user", s, format!("{} is not a user of the world (0..{})", r.user, self.config.users)));
            }
            let known = |items: &[u32], ad: bool, field: &'static str| {
                match items.iter().find(|&&i| self.advertiser_of(i).is_none_or(|a| (a != 0) != ad)) {
                    Some(i) => Err(bad(field, s, format!("item {i} is not {} of the world", if ad { "an ad" } else { "an organic item" }))),
                    None => Ok(items.iter().map(|&i| i as usize - 1).collect::<Vec<usize>>()),
                }
            };
            let (organic, ads) = (known(&r.organic, false, "organic")?, known(&r.ads, true, "ads")?);
            if let Some(i) = r.history.iter().find(|&&i| self.advertiser_of(i).is_none()) {
                return Err(bad("history", s, format!("item {i} is not an item of the world")));
            }
            let tail = &r.history[r.history.len().saturating_sub(self.config.history_len)..];
            self.push_session(&mut out, s, r.user, &organic, &ads, tail);
        }
        Ok(self.sessions_of(out))
    }

    /// The advertiser of 1-based item `item` (0 for an organic item), `None`
    /// for an id outside the world.
    pub fn advertiser_of(&self, item: u32) -> Option<u32> {
        (item >= 1 && item as usize <= self.config.items).then(|| self.eco.item_advertiser[item as usize - 1])
    }

    /// User `user`'s clicks at the end of the simulated period (1-based item
    /// ids, oldest first; at most `history_len`).
    pub fn history(&self, user: usize) -> &[u32] {
        self.history.get(user).map_or(&[], Vec::as_slice)
    }

    /// Users of the world.
    pub fn users(&self) -> usize {
        self.config.users
    }

    /// Items of the world (organic items and ads).
    pub fn items(&self) -> usize {
        self.config.items
    }

    /// Appends request `s` of user `u`: one row per candidate (0-based
    /// items, organic then ads) with the history window `h` (at most
    /// `history_len` items, oldest first).
    fn push_session(&self, rows: &mut Rows, s: usize, u: usize, organic: &[usize], ads: &[usize], h: &[u32]) {
        let k = self.config.history_len;
        let mut item_window = vec![PAD; k - h.len()];
        item_window.extend_from_slice(h);
        let category_window: Vec<u32> =
            item_window.iter().map(|&i| if i == PAD { PAD } else { self.world.item_topic[i as usize - 1] as u32 + 1 }).collect();
        let out = &mut rows.out;
        let start = out.len();
        for &item in organic.iter().chain(ads) {
            let topic = self.world.item_topic[item];
            let advertiser = self.eco.item_advertiser[item];
            let affinity = self.world.user_affinity[u][topic];
            out.user.push(u as u32);
            out.item.push(item as u32 + 1);
            out.category.push(topic as u32 + 1);
            out.position.push(0);
            out.timestamp.push(HORIZON_S + s as u64);
            out.click.push(0.0);
            out.dwell_ms.push(0);
            out.true_ctr.push(attract(&self.world, &self.eco, u, item) as f32);
            out.is_ad.push(advertiser != 0);
            out.advertiser.push(advertiser);
            out.bid.push(if advertiser == 0 { 0.0 } else { self.eco.advertisers[advertiser as usize - 1].bid });
            out.charge.push(0.0);
            out.cart.push(0.0);
            out.conversion.push(0.0);
            out.true_cvr.push(self.eco.cvr(&self.world, u, item) as f32);
            out.price.push(self.eco.price[item]);
            out.history_items.extend_from_slice(&item_window);
            out.history_categories.extend_from_slice(&category_window);
            let log_ms = self.eco.dwell_log_ms(affinity, item) + DWELL_LOG_SD * DWELL_LOG_SD / 2.0;
            rows.expected_dwell_s.push(log_ms.exp() / 1000.0);
            rows.quality.push(if advertiser == 0 { 0.0 } else { self.world.item_quality[item] });
        }
        let split = start + organic.len();
        rows.sessions.push(SessionRows { user: u as u32, organic: start..split, ads: split..out.len() });
    }

    fn sessions_of(&self, rows: Rows) -> MarketSessions {
        let c = &self.config;
        MarketSessions {
            candidates: rows.out,
            sessions: rows.sessions,
            expected_dwell_s: rows.expected_dwell_s,
            quality: rows.quality,
            advertisers: self.eco.advertisers.clone(),
            sessions_per_day: (c.users * c.sessions_per_user) as f64 * 86_400.0 / HORIZON_S as f64,
            examination: self.examination.clone(),
            period_ad_ctr: self.period_rates.0,
            period_ad_cvr: self.period_rates.1,
            period_dwell_s: self.period_rates.2,
        }
    }
}

/// A live feed request in the world's ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedRequest {
    /// 0-based user.
    pub user: usize,
    /// 1-based organic items.
    pub organic: Vec<u32>,
    /// 1-based ad items.
    pub ads: Vec<u32>,
    /// The user's clicks, oldest first (1-based; the last `history_len` are read).
    pub history: Vec<u32>,
}

/// The rows of requests being built.
struct Rows {
    out: Impressions,
    expected_dwell_s: Vec<f64>,
    quality: Vec<f64>,
    sessions: Vec<SessionRows>,
}

impl Rows {
    fn with_capacity(history_len: usize, rows: usize) -> Rows {
        let mut out = Impressions { history_len, ..Default::default() };
        out.reserve(rows);
        Rows { out, expected_dwell_s: Vec::with_capacity(rows), quality: Vec::with_capacity(rows), sessions: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AdsConfig, simulate};

    fn config() -> SimulatorConfig {
        SimulatorConfig {
            seed: 5,
            users: 300,
            items: 200,
            topics: 6,
            sessions_per_user: 8,
            slots: 6,
            interest_sharpness: 2.0,
            history_len: 5,
            ads: AdsConfig { advertisers: 6, ad_share: 0.2, ..AdsConfig::default() },
        }
    }

    fn draw(seed: u64) -> SessionDraw {
        SessionDraw { sessions: 400, seed, organic_candidates: 10, ad_candidates: 8 }
    }

    #[test]
    fn sessions_come_from_the_training_world() {
        let config = config();
        let trained = simulate(&config).unwrap();
        let fresh = SessionSampler::new(&config).unwrap().draw(&draw(99)).unwrap();
        let d = &fresh.candidates;
        assert_eq!(fresh.sessions.len(), 400);
        assert_eq!(d.len(), 400 * 18);
        // an item has the same topic, advertiser, price and bid as in training
        for row in 0..trained.len() {
            let i = trained.item[row];
            if let Some(j) = d.item.iter().position(|&x| x == i) {
                assert_eq!(
                    (d.category[j], d.advertiser[j], d.price[j], d.bid[j]),
                    (trained.category[row], trained.advertiser[row], trained.price[row], trained.bid[row])
                );
            }
        }
        // true pCTR given examination: a training row's true_ctr / e_p for the same (user, item)
        let e = &fresh.examination;
        let mut matched = 0;
        for j in (0..d.len()).step_by(7) {
            if let Some(row) = (0..trained.len()).find(|&r| trained.user[r] == d.user[j] && trained.item[r] == d.item[j]) {
                let expected = trained.true_ctr[row] as f64 / e[trained.position[row] as usize];
                assert!((d.true_ctr[j] as f64 - expected).abs() < 1e-5, "row {j}");
                assert!((d.true_cvr[j] - trained.true_cvr[row]).abs() < 1e-6);
                matched += 1;
            }
        }
        assert!(matched > 20, "only {matched} rows matched");
        // the history is the user's last clicks of the period
        for s in fresh.sessions.iter().step_by(13) {
            let u = s.user;
            let clicks: Vec<u32> = (0..trained.len()).filter(|&r| trained.user[r] == u && trained.click[r] > 0.5).map(|r| trained.item[r]).collect();
            let tail: Vec<u32> = clicks[clicks.len().saturating_sub(5)..].to_vec();
            let window: Vec<u32> = d.history_of(s.organic.start).iter().copied().filter(|&i| i != PAD).collect();
            assert_eq!(window, tail, "user {u}");
        }
    }

    #[test]
    fn candidates_are_distinct_and_split_into_organic_and_ads() {
        let fresh = SessionSampler::new(&config()).unwrap().draw(&draw(1)).unwrap();
        let d = &fresh.candidates;
        for s in &fresh.sessions {
            assert_eq!((s.organic.len(), s.ads.len()), (10, 8));
            assert!(s.organic.clone().all(|r| !d.is_ad[r] && d.user[r] == s.user && fresh.quality[r] == 0.0));
            assert!(s.ads.clone().all(|r| d.is_ad[r] && d.bid[r] > 0.0));
            let items: Vec<u32> = (s.organic.start..s.ads.end).map(|r| d.item[r]).collect();
            assert!(items.iter().enumerate().all(|(k, i)| !items[..k].contains(i)));
        }
        assert!(fresh.expected_dwell_s.iter().all(|&w| w > 5.0 && w < 200.0));
        assert!((fresh.sessions_per_day - 300.0 * 8.0 / 30.0).abs() < 1e-9);
        // the priors: ads won auctions on relevance, so they beat a random ad's click rate
        let ads: Vec<usize> = (0..d.len()).filter(|&r| d.is_ad[r]).collect();
        let mean_ctr = ads.iter().map(|&r| d.true_ctr[r] as f64).sum::<f64>() / ads.len() as f64;
        assert!(fresh.period_ad_ctr > mean_ctr && fresh.period_ad_ctr < 1.0, "{} vs {mean_ctr}", fresh.period_ad_ctr);
        assert!(fresh.period_ad_cvr > 0.0 && fresh.period_ad_cvr < 0.5, "{}", fresh.period_ad_cvr);
    }

    #[test]
    fn a_request_for_drawn_candidates_is_the_drawn_session() {
        let sampler = SessionSampler::new(&config()).unwrap();
        let fresh = sampler.draw(&draw(4)).unwrap();
        for s in fresh.sessions.iter().take(5) {
            let d = &fresh.candidates;
            let items = |r: std::ops::Range<usize>| d.item[r].to_vec();
            let req = FeedRequest { user: s.user as usize, organic: items(s.organic.clone()), ads: items(s.ads.clone()), history: sampler.history(s.user as usize).to_vec() };
            let one = sampler.requests(&[req]).unwrap();
            let rows: Vec<usize> = (s.organic.start..s.ads.end).collect();
            let mut expected = d.select(&rows);
            expected.timestamp = one.candidates.timestamp.clone();
            assert_eq!(one.candidates, expected);
            assert_eq!(one.quality, rows.iter().map(|&r| fresh.quality[r]).collect::<Vec<_>>());
        }
        // the history read is the last `history_len` clicks given
        let long: Vec<u32> = (1..=8).collect();
        let req = |organic: Vec<u32>, ads: Vec<u32>, history: Vec<u32>| FeedRequest { user: 0, organic, ads, history };
        let one = sampler.requests(&[req(vec![1], vec![], long)]).unwrap();
        assert_eq!(one.candidates.history_of(0), &[4, 5, 6, 7, 8]);
        let first_ad = (1..=200).find(|&i| sampler.advertiser_of(i) != Some(0)).unwrap();
        for (organic, ads, field) in [(vec![first_ad], vec![], "organic"), (vec![], vec![1], "ads"), (vec![201], vec![], "organic")] {
            let err = sampler.requests(&[req(vec![1], vec![], vec![]), req(organic, ads, vec![])]).unwrap_err();
            assert!(err.to_string().contains("request 1"), "{err}");
            assert!(matches!(err, DataError::Config { field: f, .. } if f == field), "{err}");
        }
        assert!(sampler.requests(&[FeedRequest { user: 300, ..req(vec![1], vec![], vec![]) }]).is_err());
        assert!(sampler.requests(&[req(vec![1], vec![], vec![0])]).is_err());
    }

    #[test]
    fn the_draw_seed_changes_the_requests_not_the_world() {
        let sampler = SessionSampler::new(&config()).unwrap();
        let (a, b) = (sampler.draw(&draw(1)).unwrap(), sampler.draw(&draw(2)).unwrap());
        assert_eq!(a, sampler.draw(&draw(1)).unwrap());
        assert_ne!(a.candidates.item, b.candidates.item);
        assert_eq!(a.advertisers, b.advertisers);
        let bad = SessionDraw { organic_candidates: 3, ..draw(1) };
        assert!(sampler.draw(&bad).unwrap_err().to_string().contains("organic_candidates"));
    }
}
