//! The attention-market simulator, version 1.
//!
//! Users have latent interests over topics; items have a topic and a quality.
//! A session is a feed of slots. A user examines slot `p` with probability
//! `1 / (1 + p)^POSITION_DECAY` and, having looked, clicks with probability
//! `sigmoid(BASE + AFFINITY_WEIGHT * affinity(user, topic) + quality + user_bias)`.
//! Affinity is the log-ratio of the user's interest in the topic to a uniform
//! interest, so what a user clicked before tells a model what they will click
//! next: a model that reads the behaviour history can beat one that sees only
//! ids. The true click probability of every impression is recorded, which
//! gives the best AUC any model could reach.

use crate::{Cardinalities, DataError, Impressions, Result, Rng, PAD};

const POSITION_DECAY: f64 = 0.7;
const BASE_LOGIT: f64 = -1.2;
const AFFINITY_WEIGHT: f64 = 0.9;
/// Share of feed slots filled from the user's interests (the rest uniform):
/// exposure follows interest, as under a real recommender.
const PERSONALISED_SHARE: f64 = 0.5;
const HORIZON_S: u64 = 30 * 24 * 3600;
const SLOT_GAP_S: u64 = 5;

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
    fn check(&self) -> Result<()> {
        let positive = |field: &'static str, v: usize| {
            if v == 0 {
                Err(DataError::Config { field, message: "must be at least 1".into() })
            } else {
                Ok(())
            }
        };
        positive("users", self.users)?;
        positive("items", self.items)?;
        positive("topics", self.topics)?;
        positive("sessions_per_user", self.sessions_per_user)?;
        positive("slots", self.slots)?;
        positive("history_len", self.history_len)?;
        if self.items < self.topics {
            return Err(DataError::Config {
                field: "items",
                message: format!("{} items cannot cover {} topics", self.items, self.topics),
            });
        }
        if self.slots > self.items {
            return Err(DataError::Config {
                field: "slots",
                message: format!("{} slots need at least as many items, got {}", self.slots, self.items),
            });
        }
        if !(self.interest_sharpness.is_finite() && self.interest_sharpness > 0.0) {
            return Err(DataError::Config { field: "interest_sharpness", message: "must be > 0".into() });
        }
        Ok(())
    }

    pub fn cardinalities(&self) -> Cardinalities {
        Cardinalities { users: self.users, items: self.items + 1, categories: self.topics + 1, positions: self.slots }
    }

    fn build_world(&self, rng: &mut Rng) -> World {
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
            items_by_topic[topic].push(i);
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

/// Runs the simulator; the same config always gives the same table.
pub fn simulate(config: &SimulatorConfig) -> Result<Impressions> {
    config.check()?;
    let mut root = Rng::new(config.seed);
    let world = config.build_world(&mut root.fork(1));
    let mut schedule_rng = root.fork(2);
    let mut rng = root.fork(3);

    // Sessions at random times, replayed in time order so that each
    // impression's history holds only clicks that happened before it.
    let mut sessions: Vec<(u64, usize)> = (0..config.users)
        .flat_map(|u| (0..config.sessions_per_user).map(move |_| u))
        .map(|u| ((schedule_rng.uniform() * HORIZON_S as f64) as u64, u))
        .collect();
    sessions.sort_unstable();

    let k = config.history_len;
    let rows = sessions.len() * config.slots;
    let mut out = Impressions { history_len: k, ..Default::default() };
    out.history_items.reserve(rows * k);
    out.history_categories.reserve(rows * k);
    // (timestamp, item) of each user's clicks, in time order
    let mut clicked: Vec<Vec<(u64, u32)>> = vec![Vec::new(); config.users];
    let mut history = Vec::with_capacity(k);
    let mut feed = Vec::with_capacity(config.slots);
    for &(start, u) in &sessions {
        feed.clear();
        while feed.len() < config.slots {
            let topic = if rng.bernoulli(PERSONALISED_SHARE) {
                rng.weighted(&world.user_interest[u])
            } else {
                rng.weighted(&world.topic_popularity)
            };
            let pool = &world.items_by_topic[topic];
            let item = pool[rng.below(pool.len())];
            if !feed.contains(&item) {
                feed.push(item);
            }
        }
        // a session may start before an overlapping earlier one has ended
        history.clear();
        history.extend(clicked[u].iter().rev().filter(|(t, _)| *t < start).take(k).map(|&(_, i)| i));
        history.reverse();
        let mut session_clicks = Vec::new();
        for (slot, &item) in feed.iter().enumerate() {
            let topic = world.item_topic[item];
            let affinity = world.user_affinity[u][topic];
            let examine = 1.0 / (1.0 + slot as f64).powf(POSITION_DECAY);
            let attract =
                sigmoid(BASE_LOGIT + AFFINITY_WEIGHT * affinity + world.item_quality[item] + world.user_bias[u]);
            let p = examine * attract;
            let click = rng.bernoulli(p);
            let dwell = if click { (rng.normal() * 0.6 + 10.0 + 0.3 * affinity).exp() as u32 } else { 0 };
            out.user.push(u as u32);
            out.item.push(item as u32 + 1);
            out.category.push(topic as u32 + 1);
            out.position.push(slot as u32);
            out.timestamp.push(start + slot as u64 * SLOT_GAP_S);
            out.click.push(if click { 1.0 } else { 0.0 });
            out.dwell_ms.push(dwell);
            out.true_ctr.push(p as f32);
            let pad = k - history.len();
            out.history_items.extend(std::iter::repeat_n(PAD, pad).chain(history.iter().copied()));
            out.history_categories.extend(
                std::iter::repeat_n(PAD, pad).chain(history.iter().map(|&i| world.item_topic[i as usize - 1] as u32 + 1)),
            );
            if click {
                session_clicks.push((start + slot as u64 * SLOT_GAP_S, item as u32 + 1));
            }
        }
        clicked[u].extend(session_clicks);
        clicked[u].sort_unstable();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    #[test]
    fn deterministic_from_seed() {
        let a = simulate(&small()).unwrap();
        assert_eq!(a, simulate(&small()).unwrap());
        assert_ne!(a.click, simulate(&SimulatorConfig { seed: 12, ..small() }).unwrap().click);
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
    fn position_lowers_clicks() {
        let d = simulate(&SimulatorConfig { users: 600, ..small() }).unwrap();
        let rate = |pos: u32| {
            let rows: Vec<usize> = (0..d.len()).filter(|&i| d.position[i] == pos).collect();
            rows.iter().map(|&i| d.click[i] as f64).sum::<f64>() / rows.len() as f64
        };
        assert!(rate(0) > 1.5 * rate(5), "top {} vs bottom {}", rate(0), rate(5));
    }

    #[test]
    fn history_holds_only_earlier_clicks_of_the_same_user() {
        let d = simulate(&small()).unwrap();
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

    #[test]
    fn history_predicts_clicks() {
        // a user clicks more often on an item of a topic already in their history
        let d = simulate(&SimulatorConfig { users: 800, ..small() }).unwrap();
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

    #[test]
    fn rejects_impossible_configs() {
        let e = simulate(&SimulatorConfig { slots: 200, ..small() }).unwrap_err();
        assert!(e.to_string().contains("slots"), "{e}");
        assert!(simulate(&SimulatorConfig { users: 0, ..small() }).is_err());
    }
}
