//! One session's feed as a policy ranks it: the auction sells the ad
//! slots, organic candidates fill the other positions by score. The offline
//! A/B replay ([`super::replay`]) simulates clicks on this feed; a front end
//! that answers feed requests ranks with it too, so both share one ranking.

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
/// replay shades it when budgets are paced).
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

    let mut organic: Vec<usize> = (0..session.organic.len()).collect();
    organic.sort_by(|&a, &b| pred.organic[b].total_cmp(&pred.organic[a]).then(a.cmp(&b)));
    let mut organic = organic.into_iter();
    Ok((0..examination.len())
        .map(|p| match ad_positions.iter().position(|&q| q == p).and_then(|k| winners.get(k)) {
            Some(w) => Some(Placement::Ad(*w)),
            None => organic.next().map(Placement::Organic),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{BidKind, Mechanism, OrganicCandidate};

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
        let pred = ArmPredictions { organic: vec![0.2, 0.9, 0.5], ad_pctr: vec![0.1, 0.1], ad_pcvr: vec![1.0, 1.0] };
        let policy = FeedPolicy { ad_slots: vec![1], reserve_cpc: 0.0, quality_floor: f64::NEG_INFINITY, mechanism: Mechanism::Gsp };
        let feed = rank_feed(&session, &pred, &policy, &[1.0, 0.5, 0.25, 0.125, 0.0625], |a| a.bid).unwrap();
        let Some(Placement::Ad(w)) = feed[1] else { panic!("{feed:?}") };
        assert_eq!((w.slot, w.candidate, w.advertiser), (0, 0, 1));
        assert!((w.price - 1.0).abs() < 1e-12 && (w.ecpm - 0.2).abs() < 1e-12, "{w:?}");
        assert_eq!([feed[0], feed[2], feed[3], feed[4]], [Some(Placement::Organic(1)), Some(Placement::Organic(2)), Some(Placement::Organic(0)), None]);
        // a bid function that zeroes advertiser 1 hands the slot to advertiser 2
        let feed = rank_feed(&session, &pred, &policy, &[1.0, 0.5], |a| if a.advertiser == 1 { 0.0 } else { a.bid }).unwrap();
        assert!(matches!(feed[1], Some(Placement::Ad(Winner { candidate: 1, .. }))), "{feed:?}");
    }
}
