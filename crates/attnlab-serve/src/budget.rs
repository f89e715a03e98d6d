//! Live advertiser budgets of a served market run. When its spec's
//! `ab_test:` has `pacing: true` (the A/B replay then applies the world's
//! daily budgets), every advertiser gets the replay's [`Pacer`] on its
//! daily budget (`ab_test::sessions::budgets`, `Budgets::pacers`), and
//! `/v1/rank` requests are the traffic, `sessions_per_day` of them to a day,
//! as the replay's sessions are (`Budgets::clock`): an ad enters the
//! auction with its pacer's shaded bid, or with 0 (which no auction
//! accepts: it is left out) once its advertiser's budget for the day is
//! spent; after each request every pacer steps at the elapsed fraction of
//! the day; a new day resets them.
//!
//! Spend comes from served events, as the replay bills: a click on
//! `/v1/events` for a CPC ad that a `/v1/rank` answer placed for that user
//! charges its advertiser that placement's price, once. A CPA ad pays per
//! conversion, which no event reports, so it is not charged live. Spend
//! lives in memory: a restart starts the day afresh.

use std::collections::HashMap;

use attnlab_eval::market::{BidKind, Budgets, Pacer, Placement};
use serde_json::{json, Value};

/// The pacers of one served run and the ads they may be charged for.
pub struct LiveBudgets {
    budgets: Budgets,
    /// Index `a - 1`: advertiser `a`'s pacer.
    pacers: Vec<Pacer>,
    /// Requests ranked so far: the traffic clock.
    requests: u64,
    day: u64,
    /// CPC ads placed and not yet clicked: (user, item) -> (advertiser, price per click).
    placed: HashMap<(usize, u32), (u32, f64)>,
}

impl LiveBudgets {
    pub fn new(budgets: Budgets) -> Result<LiveBudgets, String> {
        let pacers = budgets.pacers().map_err(|e| e.to_string())?;
        Ok(LiveBudgets { budgets, pacers, requests: 0, day: 0, placed: HashMap::new() })
    }

    /// Opens the next request's auction: on a new day every pacer starts
    /// afresh. The elapsed fraction of the day after this request.
    pub fn open(&mut self) -> f64 {
        let (day, elapsed) = self.budgets.clock(self.requests as usize);
        if day != self.day {
            self.pacers.iter_mut().for_each(Pacer::new_day);
            self.day = day;
        }
        elapsed
    }

    /// The bid `advertiser`'s ad enters the auction with: shaded, or 0 once
    /// the day's budget is spent (the replay's rule).
    pub fn shade(&self, advertiser: u32, bid: f64) -> f64 {
        match self.pacers.get((advertiser as usize).wrapping_sub(1)) {
            Some(p) => p.shade(bid).unwrap_or(0.0),
            None => bid,
        }
    }

    /// Closes the request of `user` whose feed is `feed` (`ad_items`: the
    /// ids of its ad candidates): its CPC ads may now be clicked, and every
    /// pacer steps at `elapsed`.
    pub fn close(&mut self, user: usize, ad_items: &[u32], feed: &[Option<Placement>], elapsed: f64) {
        for placement in feed.iter().flatten() {
            if let Placement::Ad(w) = placement
                && w.bid_kind == BidKind::Cpc
                && let Some(&item) = ad_items.get(w.candidate)
            {
                self.placed.insert((user, item), (w.advertiser, w.price));
            }
        }
        self.pacers.iter_mut().for_each(|p| p.update(elapsed));
        self.requests += 1;
    }

    /// A click of `user` on `item`: charges the advertiser of a CPC ad
    /// placed for them the placement's price, once. The amount charged.
    pub fn click(&mut self, user: usize, item: u32) -> Option<f64> {
        let (advertiser, price) = self.placed.remove(&(user, item))?;
        self.pacers.get_mut((advertiser as usize).wrapping_sub(1))?.charge(price);
        Some(price)
    }

    /// Each advertiser's budget, spend today and bid multiplier, for `GET /v1/models`.
    pub fn describe(&self) -> Value {
        let advertisers: Vec<Value> = self
            .pacers
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "advertiser": i + 1, "daily_budget": p.budget(), "spend": p.spend(), "multiplier": p.multiplier() }))
            .collect();
        json!({ "day": self.day, "requests": self.requests, "sessions_per_day": self.budgets.sessions_per_day, "advertisers": advertisers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use attnlab_eval::market::Winner;

    fn won(candidate: usize, advertiser: u32, bid_kind: BidKind, price: f64) -> Option<Placement> {
        Some(Placement::Ad(Winner { slot: 0, candidate, advertiser, bid_kind, ecpm: 1.0, click_prob: 0.1, price_per_click: price, price }))
    }

    #[test]
    fn a_click_charges_a_placed_cpc_ad_once_and_a_spent_budget_bids_zero() {
        let mut b = LiveBudgets::new(Budgets { daily: vec![1.0, 5.0], sessions_per_day: 10.0, pacing: false }).unwrap();
        let elapsed = b.open();
        assert_eq!((elapsed, b.shade(1, 2.0), b.shade(3, 2.0)), (0.1, 2.0, 2.0));
        // item 40 (advertiser 1, CPC) and item 41 (advertiser 2, CPA) placed for user 7
        b.close(7, &[40, 41], &[won(0, 1, BidKind::Cpc, 0.6), None, won(1, 2, BidKind::Cpa, 3.0)], elapsed);
        assert_eq!((b.click(7, 40), b.click(7, 40), b.click(7, 41), b.click(8, 40)), (Some(0.6), None, None, None));
        assert_eq!(b.shade(1, 2.0), 2.0);
        b.open();
        b.close(7, &[40], &[won(0, 1, BidKind::Cpc, 0.5)], 0.2);
        assert_eq!(b.click(7, 40), Some(0.5));
        // 1.1 of 1.0 spent: out of the auction until the next day
        assert_eq!((b.shade(1, 2.0), b.shade(2, 2.0)), (0.0, 2.0));
        for _ in 0..8 {
            let e = b.open();
            b.close(1, &[], &[], e);
        }
        b.open();
        assert_eq!(b.shade(1, 2.0), 2.0, "a new day resets the spend");
    }
}
