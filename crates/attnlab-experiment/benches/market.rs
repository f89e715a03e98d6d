//! Offline A/B throughput: fresh simulated sessions drawn (candidates with
//! features and truth) and auctioned + replayed, in sessions per second.
//!
//! cargo bench --workspace --bench market [-- SESSIONS]
//!
//! The world is the simulator's default (experiments/quickstart.yaml with
//! 20 advertisers): 16 organic and 8 ad candidates per session, a feed of 8
//! with ads at 1 and 4. Each replay row runs 2 arms (true probabilities,
//! bid only) on every session: one auction and one feed per arm and session.

use std::time::Instant;

use attnlab_data::{SessionDraw, SessionSampler, SimulatorConfig};
use attnlab_eval::market::{replay, Arm, FeedPolicy, Mechanism, ReplayConfig};

use attnlab_experiment::ab_test::sessions::{arm_predictions, bid_only_scores, budgets, replay_sessions, true_scores};

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let config = SimulatorConfig::default();
    let t = Instant::now();
    let sampler = SessionSampler::new(&config).expect("the default world");
    let setup = t.elapsed().as_secs_f64();
    let draw = SessionDraw { sessions: n, seed: 1_000_003, organic_candidates: 16, ad_candidates: 8 };
    let t = Instant::now();
    let fresh = sampler.draw(&draw).expect("valid draw");
    let sessions = replay_sessions(&fresh);
    let simulate = t.elapsed().as_secs_f64();
    let arms = |mechanism| {
        let policy = FeedPolicy { mechanism, ..FeedPolicy::default() };
        [("true-probabilities", true_scores(&fresh)), ("bid-only", bid_only_scores(&fresh))]
            .map(|(name, scores)| Arm { name: name.into(), policy: policy.clone(), predictions: arm_predictions(&fresh, &scores) })
    };
    println!("world: {} users, {} items, {} advertisers; built in {setup:.2} s (simulates the period once)", config.users, config.items, config.ads.advertisers);
    println!("| stage | sessions | seconds | sessions/s |");
    println!("|---|---:|---:|---:|");
    println!("| simulate fresh sessions (24 candidates each) | {n} | {simulate:.3} | {:.0} |", n as f64 / simulate);
    for (label, mechanism, pacing) in [
        ("auction + replay, GSP, 2 arms", Mechanism::Gsp, false),
        ("auction + replay, VCG, 2 arms", Mechanism::Vcg, false),
        ("auction + replay, first price, 2 arms", Mechanism::FirstPrice, false),
        ("auction + replay, GSP, budgets + pacing, 2 arms", Mechanism::Gsp, true),
    ] {
        let arms = arms(mechanism);
        let mut config = ReplayConfig::new(fresh.examination.clone(), 7);
        config.budgets = pacing.then(|| budgets(&fresh, true));
        let t = Instant::now();
        let report = replay(&sessions, &arms, &config).expect("valid replay");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.arms.len(), 2);
        println!("| {label} | {n} | {secs:.3} | {:.0} |", n as f64 / secs);
    }
}
