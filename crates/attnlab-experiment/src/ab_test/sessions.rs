//! Fresh simulated requests ([`attnlab_data::MarketSessions`]) as the A/B
//! replay's input ([`attnlab_eval::market`]): sessions with the truth, and
//! an arm's per-session predictions from its per-candidate scores.
//!
//! Uses only attnlab-data and attnlab-eval; `benches/market.rs` measures
//! it with the replay.

use std::ops::Range;

use attnlab_data::{Bidding, MarketSessions};
use attnlab_eval::market::{AdCandidate, ArmPredictions, BidKind, Budgets, OrganicCandidate, Session};

/// One replay session per request.
pub fn replay_sessions(m: &MarketSessions) -> Vec<Session> {
    let d = &m.candidates;
    m.sessions
        .iter()
        .map(|s| Session {
            organic: s
                .organic
                .clone()
                .map(|r| OrganicCandidate { true_ctr: d.true_ctr[r] as f64, expected_dwell: m.expected_dwell_s[r] })
                .collect(),
            ads: s
                .ads
                .clone()
                .map(|r| {
                    let a = &m.advertisers[d.advertiser[r] as usize - 1];
                    AdCandidate {
                        advertiser: a.id,
                        bid: a.bid as f64,
                        bid_kind: match a.bidding {
                            Bidding::Cpc => BidKind::Cpc,
                            Bidding::Cpa => BidKind::Cpa,
                        },
                        quality: m.quality[r],
                        true_ctr: d.true_ctr[r] as f64,
                        true_cvr: d.true_cvr[r] as f64,
                        conversion_value: d.price[r] as f64,
                        expected_dwell: m.expected_dwell_s[r],
                    }
                })
                .collect(),
        })
        .collect()
}

/// Per-candidate scores of one arm, aligned with `m.candidates`' rows.
pub struct RowScores {
    /// Engagement score (organic rows are read).
    pub engagement: Vec<f64>,
    /// pCTR given examination, in [0, 1] (ad rows are read).
    pub pctr: Vec<f64>,
    /// pCVR given a click, in [0, 1] (ad rows are read).
    pub pcvr: Vec<f64>,
    /// Predicted `E[dwell | click]` in seconds, ≥ 0: with `pctr`, the
    /// expected attention an attention weight values.
    pub dwell: Vec<f64>,
}

/// The arm's predictions, session by session.
pub fn arm_predictions(m: &MarketSessions, scores: &RowScores) -> Vec<ArmPredictions> {
    m.sessions
        .iter()
        .map(|s| {
            let attention = |rows: Range<usize>| rows.map(|r| scores.pctr[r] * scores.dwell[r]).collect();
            ArmPredictions {
                organic: scores.engagement[s.organic.clone()].to_vec(),
                ad_pctr: scores.pctr[s.ads.clone()].to_vec(),
                ad_pcvr: scores.pcvr[s.ads.clone()].to_vec(),
                organic_attention: attention(s.organic.clone()),
                ad_attention: attention(s.ads.clone()),
            }
        })
        .collect()
}

/// The simulator's truth as scores (expected dwell included): the best any
/// model can do.
pub fn true_scores(m: &MarketSessions) -> RowScores {
    let d = &m.candidates;
    let ctr: Vec<f64> = d.true_ctr.iter().map(|&p| p as f64).collect();
    RowScores {
        engagement: ctr.clone(),
        pctr: ctr,
        pcvr: d.true_cvr.iter().map(|&p| p as f64).collect(),
        dwell: m.expected_dwell_s.clone(),
    }
}

/// Ads by bid alone: the same pCTR and pCVR (the period's market averages)
/// for every ad, so eCPM order is bid order (CPA bids valued at the average
/// CVR); organic items keep the order they were drawn in. It predicts no
/// attention (dwell 0), so an attention weight leaves its feed unchanged.
pub fn bid_only_scores(m: &MarketSessions) -> RowScores {
    let rows = m.candidates.len();
    let mut engagement = vec![0.0; rows];
    for s in &m.sessions {
        for (k, r) in s.organic.clone().enumerate() {
            engagement[r] = -(k as f64);
        }
    }
    RowScores {
        engagement,
        pctr: vec![m.period_ad_ctr.clamp(1e-6, 1.0); rows],
        pcvr: vec![m.period_ad_cvr.clamp(1e-6, 1.0); rows],
        dwell: vec![0.0; rows],
    }
}

/// The advertisers' daily budgets over the world's traffic per day.
pub fn budgets(m: &MarketSessions, pacing: bool) -> Budgets {
    Budgets { daily: m.advertisers.iter().map(|a| a.daily_budget as f64).collect(), sessions_per_day: m.sessions_per_day, pacing }
}
