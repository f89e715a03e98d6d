//! One session's feed as a policy ranks it: the auction sells the ad
//! slots, organic candidates fill the other positions by score. The offline
//! A/B replay ([`super::replay`]) simulates clicks on this feed; a front end
//! that answers feed requests ranks with it too, so both share one ranking.
//!
//! # Money against attention
//!
//! A slot is worth `eCPM + λ · attention` to the platform: the money it
//! expects per examination plus the users' expected time (`pCTR · E[dwell |
//! click]`, seconds) at `λ` ([`FeedPolicy::attention_weight`], money per
//! second). An organic item earns no money, so organic items are ordered by
//! predicted attention (ties: by engagement score, then index); an ad slot
//! shows its auction winner while the winner's `eCPM + λ · attention` is at
//! least `λ · attention` of the best organic item left, else that organic
//! item takes the slot and the winner is not shown (nor charged). Both
//! sides are per examination, so the slot's examination cancels. The
//! auction itself (ranking and prices) stays on eCPM: λ decides which slots
//! are sold, not what a sold slot costs. λ = 0 is the revenue-only feed.

use super::abtest::{AdCandidate, ArmPredictions, FeedPolicy, Session};
use super::auction::{Ad, AuctionConfig, Winner, run_auction};
use crate::Result;

/// What one feed position shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// The auction's winner of this ad slot (its candidate, eCPM and price).
    Ad(Winner),
    /// Organic candidate `i` of the session.
    Organic(usize),
}

/// The feed of `session` over the positions of `examination`: a position
/// among `policy.ad_slots` shows that slot's auction winner (ad slots are
/// sold top first), any other the best organic candidate left by
/// `pred.organic` (ties: the earlier candidate). A position with nothing
/// left to show is `None`. `bid` gives an ad's bid for this request (the
/// replay shades it when budgets are paced). With an attention weight the
/// module doc's trade-off decides each ad slot.
pub fn rank_feed(
    session: &Session,
    pred: &ArmPredictions,
    policy: &FeedPolicy,
    examination: &[f64],
    bid: impl Fn(&AdCandidate) -> f64,
) -> Result<Vec<Option<Placement>>> {
    let mut ad_positions = policy.ad_slots.clone();
    ad_positions.sort_unstable();
    let ads: Vec<Ad> = session
        .ads
        .iter()
        .enumerate()
        .map(|(j, a)| Ad {
            advertiser: a.advertiser,
            bid: bid(a),
            pctr: pred.ad_pctr[j],
            pcvr: pred.ad_pcvr[j],
            bid_kind: a.bid_kind,
            quality: a.quality,
        })
        .collect();
    let auction = AuctionConfig {
        examination: ad_positions.iter().map(|&p| examination[p]).collect(),
        reserve_cpc: policy.reserve_cpc,
        quality_floor: policy.quality_floor,
        mechanism: policy.mechanism,
    };
    let winners = run_auction(&ads, &auction)?.winners;

    let lambda = policy.attention_weight;
    let attention = |a: &[f64], i: usize| a.get(i).copied().unwrap_or(0.0);
    let organic_value = |i: usize| lambda * attention(&pred.organic_attention, i);
    let mut organic: Vec<usize> = (0..session.organic.len()).collect();
    organic.sort_by(|&a, &b| {
        organic_value(b).total_cmp(&organic_value(a)).then(pred.organic[b].total_cmp(&pred.organic[a])).then(a.cmp(&b))
    });
    let mut organic = organic.into_iter().peekable();
    Ok((0..examination.len())
        .map(|p| match ad_positions.iter().position(|&q| q == p).and_then(|k| winners.get(k)) {
            Some(w) => {
                let ad_value = w.ecpm + lambda * attention(&pred.ad_attention, w.candidate);
                match organic.peek() {
                    Some(&i) if lambda > 0.0 && organic_value(i) > ad_value => organic.next().map(Placement::Organic),
                    _ => Some(Placement::Ad(*w)),
                }
            }
            None => organic.next().map(Placement::Organic),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{BidKind, OrganicCandidate};

    fn ad(advertiser: u32, bid: f64) -> AdCandidate {
        AdCandidate {
            advertiser,
            bid,
            bid_kind: BidKind::Cpc,
            quality: 1.0,
            true_ctr: 0.5,
            true_cvr: 0.5,
            conversion_value: 1.0,
            expected_dwell: 1.0,
        }
    }

    /// One ad slot at position 1 sold by GSP to the higher eCPM at the
    /// runner-up's eCPM over its pCTR; organic items by score around it;
    /// the fifth position has nothing left.
    #[test]
    fn ad_slots_go_to_the_auction_and_organic_items_fill_the_rest_by_score() {
        let organic = OrganicCandidate { true_ctr: 0.5, expected_dwell: 1.0 };
        let session = Session { organic: vec![organic; 3], ads: vec![ad(1, 2.0), ad(2, 1.0)] };
        let pred = ArmPredictions { organic: vec![0.2, 0.9, 0.5], ad_pctr: vec![0.1, 0.1], ad_pcvr: vec![1.0, 1.0], ..Default::default() };
        let policy = FeedPolicy { ad_slots: vec![1], ..FeedPolicy::default() };
        let feed = rank_feed(&session, &pred, &policy, &[1.0, 0.5, 0.25, 0.125, 0.0625], |a| a.bid).unwrap();
        let Some(Placement::Ad(w)) = feed[1] else { panic!("{feed:?}") };
        assert_eq!((w.slot, w.candidate, w.advertiser), (0, 0, 1));
        assert!((w.price - 1.0).abs() < 1e-12 && (w.ecpm - 0.2).abs() < 1e-12, "{w:?}");
        assert_eq!([feed[0], feed[2], feed[3], feed[4]], [Some(Placement::Organic(1)), Some(Placement::Organic(2)), Some(Placement::Organic(0)), None]);
        // a bid function that zeroes advertiser 1 hands the slot to advertiser 2
        let feed = rank_feed(&session, &pred, &policy, &[1.0, 0.5], |a| if a.advertiser == 1 { 0.0 } else { a.bid }).unwrap();
        assert!(matches!(feed[1], Some(Placement::Ad(Winner { candidate: 1, .. }))), "{feed:?}");
    }

    /// The winner's eCPM is 0.2 (bid 2 × pCTR 0.1), its attention 1 s; the
    /// best organic item by attention (candidate 2, 4 s) outranks the one
    /// with the best score and takes position 0. The ad slot (position 1)
    /// then faces candidate 1 (2 s) and changes hands where `λ · 2 > 0.2 +
    /// λ`, i.e. above λ = 0.2.
    #[test]
    fn an_attention_weight_orders_organic_items_by_attention_and_gives_up_an_ad_slot_past_its_price() {
        let organic = OrganicCandidate { true_ctr: 0.5, expected_dwell: 1.0 };
        let session = Session { organic: vec![organic; 3], ads: vec![ad(1, 2.0), ad(2, 1.0)] };
        let pred = ArmPredictions {
            organic: vec![0.2, 0.9, 0.5],
            ad_pctr: vec![0.1, 0.1],
            ad_pcvr: vec![1.0, 1.0],
            organic_attention: vec![1.0, 2.0, 4.0],
            ad_attention: vec![1.0, 1.0],
        };
        let e = [1.0, 0.5, 0.25, 0.125];
        let at = |lambda: f64| {
            let policy = FeedPolicy { ad_slots: vec![1], attention_weight: lambda, ..FeedPolicy::default() };
            rank_feed(&session, &pred, &policy, &e, |a| a.bid).unwrap()
        };
        // λ = 0: today's feed, organic items by score
        assert_eq!(at(0.0)[0], Some(Placement::Organic(1)));
        let below = at(0.19);
        assert!(matches!(below[1], Some(Placement::Ad(Winner { candidate: 0, .. }))), "{below:?}");
        assert_eq!([below[0], below[2], below[3]], [Some(Placement::Organic(2)), Some(Placement::Organic(1)), Some(Placement::Organic(0))]);
        let above = at(0.21);
        assert_eq!(above, vec![Some(Placement::Organic(2)), Some(Placement::Organic(1)), Some(Placement::Organic(0)), None]);
    }
}
