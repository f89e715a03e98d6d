//! The ad-market economics: auctions, pacing, the offline A/B replay and
//! off-policy estimators, through the public API.

use attnlab_eval::market::{
    Ad, AdCandidate, Arm, ArmPredictions, AuctionConfig, BidKind, FeedPolicy, LoggedBandit, MarketMetric, Mechanism,
    OrganicCandidate, Pacer, ReplayConfig, Session, TargetPolicy, Z_95, ips, position_examination, replay, run_auction,
    draw_index, sessions_needed, snips, standard_normal, uniform,
};
use attnlab_eval::significance::SplitMix64;

const MECHANISMS: [Mechanism; 3] = [Mechanism::Gsp, Mechanism::Vcg, Mechanism::FirstPrice];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn random_ads(rng: &mut SplitMix64, n: usize, advertisers: u32) -> Vec<Ad> {
    (0..n)
        .map(|_| {
            let cpa = uniform(rng) < 0.3;
            let pcvr = 0.02 + 0.2 * uniform(rng);
            let bid = (0.5 * (0.4 * standard_normal(rng)).exp()) / if cpa { 0.08 } else { 1.0 };
            Ad {
                advertiser: 1 + (rng.next_u64() % advertisers as u64) as u32,
                bid,
                pctr: 0.01 + 0.3 * uniform(rng),
                pcvr,
                bid_kind: if cpa { BidKind::Cpa } else { BidKind::Cpc },
                quality: uniform(rng),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- auctions

#[test]
fn hand_computed_prices() {
    // eCPMs 3, 2, 1 over two slots examined 1 and 0.5; B is a CPA bidder
    // with click bid 40 · 0.1 = 4
    let ad = |advertiser, bid, pctr, pcvr, bid_kind| Ad { advertiser, bid, pctr, pcvr, bid_kind, quality: 1.0 };
    let ads = [
        ad(3, 5.0, 0.2, 0.0, BidKind::Cpc),  // C: s = 1
        ad(1, 10.0, 0.3, 0.0, BidKind::Cpc), // A: s = 3
        ad(2, 40.0, 0.5, 0.1, BidKind::Cpa), // B: s = 2
    ];
    let config = AuctionConfig::new(vec![1.0, 0.5]);
    let prices = |m: Mechanism| {
        let out = run_auction(&ads, &config.clone().with_mechanism(m)).unwrap();
        assert_eq!(out.winners.iter().map(|w| w.candidate).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(out.ranking, [1, 2, 0]);
        out.winners.iter().map(|w| (w.price_per_click, w.price)).collect::<Vec<_>>()
    };
    // GSP: A pays s_B / c_A = 2 / 0.3 per click, B pays s_C / c_B = 2 per
    // click, i.e. 2 / 0.1 = 20 per conversion
    let gsp = prices(Mechanism::Gsp);
    assert!(close(gsp[0].0, 2.0 / 0.3) && close(gsp[0].1, 2.0 / 0.3));
    assert!(close(gsp[1].0, 2.0) && close(gsp[1].1, 20.0));
    // VCG: A's externality (1 - 0.5)·2 + 0.5·1 = 1.5 per impression over 0.3
    // expected clicks = 5 per click; B's 0.5·1 over 0.25 clicks = 2 per click
    let vcg = prices(Mechanism::Vcg);
    assert!(close(vcg[0].0, 5.0) && close(vcg[1].0, 2.0) && close(vcg[1].1, 20.0));
    // first price: the bids
    let first = prices(Mechanism::FirstPrice);
    assert!(close(first[0].1, 10.0) && close(first[1].0, 4.0) && close(first[1].1, 40.0));
    let w = run_auction(&ads, &config).unwrap().winners[1];
    assert!(close(w.click_prob, 0.25) && close(w.expected_payment(), 0.5) && close(w.ecpm, 2.0));
}

#[test]
fn prices_respect_bids_reserve_and_floor() {
    let mut rng = SplitMix64::new(1);
    let mut priced = 0;
    for case in 0..400 {
        let ads = random_ads(&mut rng, 1 + case % 9, 6);
        let reserve = if case % 3 == 0 { 0.0 } else { 0.4 * uniform(&mut rng) };
        let floor = if case % 4 == 0 { f64::NEG_INFINITY } else { 0.3 * uniform(&mut rng) };
        for m in MECHANISMS {
            let config = AuctionConfig::new(position_examination(3, 0.7))
                .with_reserve(reserve)
                .with_quality_floor(floor)
                .with_mechanism(m);
            let out = run_auction(&ads, &config).unwrap();
            assert!(out.winners.len() <= 3);
            for (k, w) in out.winners.iter().enumerate() {
                let ad = &ads[w.candidate];
                assert_eq!(w.slot, k);
                assert!(ad.quality >= floor && ad.click_bid() >= reserve, "case {case}: ineligible winner");
                assert!(
                    w.price_per_click <= ad.click_bid() + 1e-12 && w.price <= ad.bid + 1e-12,
                    "case {case} {m:?}: price above bid"
                );
                assert!(w.price_per_click >= reserve - 1e-12, "case {case} {m:?}: price below reserve");
                if k > 0 {
                    assert!(out.winners[k - 1].ecpm >= w.ecpm, "case {case}: not ranked by eCPM");
                }
                assert!(
                    out.winners[..k].iter().all(|v| v.advertiser != w.advertiser),
                    "case {case}: one ad per advertiser"
                );
                priced += 1;
            }
            // every eligible advertiser is ranked and nobody better is left out
            let best_loser = out.ranking.get(out.winners.len()).map_or(0.0, |&c| ads[c].ecpm());
            assert!(out.winners.iter().all(|w| w.ecpm >= best_loser));
        }
    }
    assert!(priced > 1000, "only {priced} winners checked");
}

#[test]
fn vcg_never_charges_more_than_gsp() {
    let mut rng = SplitMix64::new(2);
    let mut strictly_less = 0;
    for case in 0..400 {
        let ads = random_ads(&mut rng, 2 + case % 8, 8);
        let slots = 1 + case % 4;
        let reserve = if case % 2 == 0 { 0.0 } else { 0.3 * uniform(&mut rng) };
        let config = AuctionConfig::new(position_examination(slots, 0.7)).with_reserve(reserve);
        let gsp = run_auction(&ads, &config).unwrap();
        let vcg = run_auction(&ads, &config.with_mechanism(Mechanism::Vcg)).unwrap();
        assert_eq!(gsp.ranking, vcg.ranking, "same allocation");
        for (g, v) in gsp.winners.iter().zip(&vcg.winners) {
            assert_eq!(g.candidate, v.candidate);
            assert!(
                v.price_per_click <= g.price_per_click + 1e-12,
                "case {case}: VCG {} > GSP {}",
                v.price_per_click,
                g.price_per_click
            );
            strictly_less += (v.price_per_click < g.price_per_click - 1e-9) as usize;
        }
        // the last slot's winner pays the same under both
        if let (Some(g), Some(v)) = (gsp.winners.get(slots - 1), vcg.winners.get(slots - 1)) {
            assert!(close(g.price_per_click, v.price_per_click), "case {case}");
        }
    }
    assert!(strictly_less > 100, "VCG was cheaper only {strictly_less} times");
}

/// An advertiser's expected utility per request when its true value is
/// `value` (per click for CPC, per conversion for CPA) and it bids `bid`.
fn utility(ads: &[Ad], who: usize, bid: f64, value: f64, config: &AuctionConfig) -> f64 {
    let mut ads = ads.to_vec();
    ads[who].bid = bid;
    let out = run_auction(&ads, config).unwrap();
    let truth = &ads[who];
    out.winners.iter().find(|w| w.candidate == who).map_or(0.0, |w| match truth.bid_kind {
        BidKind::Cpc => w.click_prob * (value - w.price),
        BidKind::Cpa => w.click_prob * truth.pcvr * (value - w.price),
    })
}

#[test]
fn vcg_is_truthful_on_a_grid_and_gsp_is_not() {
    let mut rng = SplitMix64::new(3);
    let mut gsp_gains = 0;
    for case in 0..60 {
        // four advertisers (one each), three slots; bids are the true values
        let mut ads = random_ads(&mut rng, 4, 1);
        for (i, ad) in ads.iter_mut().enumerate() {
            ad.advertiser = i as u32 + 1;
        }
        let reserve = if case % 2 == 0 { 0.0 } else { 0.2 };
        let config = AuctionConfig::new(vec![1.0, 0.6, 0.3]).with_reserve(reserve);
        for who in 0..4 {
            let value = ads[who].bid;
            let grid = (0..=80).map(|g| value * g as f64 / 40.0);
            let vcg = config.clone().with_mechanism(Mechanism::Vcg);
            let honest = utility(&ads, who, value, value, &vcg);
            assert!(honest >= -1e-12, "case {case}: truthful VCG utility {honest} < 0");
            for bid in grid.clone() {
                let u = utility(&ads, who, bid, value, &vcg);
                assert!(u <= honest + 1e-12, "case {case}, advertiser {who}: bid {bid} gives {u} > truthful {honest}");
            }
            let honest = utility(&ads, who, value, value, &config);
            gsp_gains += grid.clone().any(|bid| utility(&ads, who, bid, value, &config) > honest + 1e-9) as usize;
        }
    }
    // the grid is fine enough to find GSP's profitable deviations
    assert!(gsp_gains > 10, "GSP deviations found only {gsp_gains} times");
}

#[test]
fn reserve_and_quality_floor_filter_candidates() {
    let ad = |advertiser, bid, quality| Ad { advertiser, bid, pctr: 0.1, pcvr: 0.0, bid_kind: BidKind::Cpc, quality };
    let ads = [ad(1, 2.0, 0.9), ad(2, 1.0, 0.2), ad(3, 0.5, 0.9), ad(4, 0.2, 0.9)];
    let config = AuctionConfig::new(vec![1.0, 0.7, 0.5]).with_reserve(0.3).with_quality_floor(0.5);
    let out = run_auction(&ads, &config).unwrap();
    // 2 is below the floor, 4 below the reserve
    assert_eq!(out.ranking, [0, 2]);
    assert_eq!(out.winners.iter().map(|w| w.advertiser).collect::<Vec<_>>(), [1, 3]);
    // the last winner pays the reserve, the first the next click bid
    assert!(close(out.winners[0].price, 0.5) && close(out.winners[1].price, 0.3));
    // VCG: winner 0 pays (1 - 0.7)·0.05 + (0.7 - 0.5)·0.03 + 0.5·0.03 per impression
    let vcg = run_auction(&ads, &config.clone().with_mechanism(Mechanism::Vcg)).unwrap();
    assert!(close(vcg.winners[0].price, (0.3 * 0.05 + 0.2 * 0.03 + 0.5 * 0.03) / 0.1));
    assert!(close(vcg.winners[1].price, 0.3));
    // a CPA ad is held to the reserve per click: 4 · 0.05 = 0.2 < 0.3
    let cpa = Ad { pcvr: 0.05, bid: 4.0, bid_kind: BidKind::Cpa, ..ad(5, 0.0, 1.0) };
    assert!(run_auction(&[cpa], &config).unwrap().winners.is_empty());
    let out = run_auction(&[cpa], &config.with_reserve(0.1)).unwrap();
    assert!(close(out.winners[0].price_per_click, 0.1) && close(out.winners[0].price, 2.0));
    // nothing eligible, no slots: empty
    assert!(run_auction(&[], &AuctionConfig::new(vec![1.0])).unwrap().winners.is_empty());
    assert!(run_auction(&ads, &AuctionConfig::new(vec![])).unwrap().winners.is_empty());
}

#[test]
fn ties_are_broken_deterministically() {
    let ad = |advertiser, bid, pctr| Ad { advertiser, bid, pctr, pcvr: 0.0, bid_kind: BidKind::Cpc, quality: 0.0 };
    // equal eCPMs (0.1) from different bids and pCTRs
    let ads = vec![ad(7, 1.0, 0.1), ad(3, 0.5, 0.2), ad(5, 0.25, 0.4), ad(3, 0.1, 0.1)];
    let mut orders = Vec::new();
    for rotation in 0..ads.len() {
        let mut shuffled = ads.clone();
        shuffled.rotate_left(rotation);
        for m in MECHANISMS {
            let out = run_auction(&shuffled, &AuctionConfig::new(vec![1.0, 0.5]).with_mechanism(m)).unwrap();
            let won: Vec<(u32, u64)> = out.winners.iter().map(|w| (w.advertiser, w.price.to_bits())).collect();
            orders.push((m, won));
        }
    }
    for m in MECHANISMS {
        let mine: Vec<_> = orders.iter().filter(|o| o.0 == m).collect();
        assert!(mine.iter().all(|o| o.1 == mine[0].1), "{m:?}: {mine:?}");
        // the lower advertiser id wins the tie; advertiser 3's weaker ad is dropped
        assert_eq!(mine[0].1.iter().map(|w| w.0).collect::<Vec<_>>(), [3, 5]);
    }
    // a tie under GSP costs the full bid
    let out = run_auction(&ads, &AuctionConfig::new(vec![1.0, 0.5])).unwrap();
    assert!(close(out.winners[0].price, 0.5) && close(out.winners[1].price, 0.25));
}

#[test]
fn bad_auction_inputs_are_errors() {
    let ok = Ad { advertiser: 1, bid: 1.0, pctr: 0.1, pcvr: 0.1, bid_kind: BidKind::Cpc, quality: 0.0 };
    let run = |ads: &[Ad], e: Vec<f64>| run_auction(ads, &AuctionConfig::new(e)).map_err(|e| e.to_string());
    assert!(run(&[ok], vec![0.5, 0.9]).unwrap_err().contains("must not increase"));
    assert!(run(&[ok], vec![1.5]).unwrap_err().contains("examination[0]"));
    assert!(run(&[Ad { bid: f64::NAN, ..ok }], vec![1.0]).unwrap_err().contains("ad 0: bid"));
    assert!(run(&[ok, Ad { pctr: 1.2, ..ok }], vec![1.0]).unwrap_err().contains("ad 1"));
    assert!(run_auction(&[ok], &AuctionConfig::new(vec![1.0]).with_reserve(-1.0)).is_err());
    assert!(Pacer::new(0.0).is_err() && Pacer::new(f64::INFINITY).is_err());
}

// ------------------------------------------------------------------ pacing

/// What one advertiser did in a simulated day.
#[derive(Debug)]
struct Day {
    spend: f64,
    budget: f64,
    max_bid: f64,
    /// Day fraction at which spend first reached the budget.
    exhausted_at: Option<f64>,
    /// Day fraction of the last auction won.
    last_win: f64,
}

/// One simulated day of `AUCTIONS` two-slot GSP auctions among six paced
/// advertisers (two of them CPA) whose budgets bind: together they could
/// spend about four times their budgets.
fn simulated_day(gain: f64, seed: u64) -> Vec<Day> {
    const AUCTIONS: usize = 40_000;
    let mut rng = SplitMix64::new(seed);
    // (bid, bid kind, pctr, pcvr)
    let advertisers: Vec<(f64, BidKind, f64, f64)> = (0..6)
        .map(|a| {
            if a % 3 == 2 {
                (0.32 * (6.0 + a as f64), BidKind::Cpa, 0.05, 0.25)
            } else {
                (0.4 + 0.1 * a as f64, BidKind::Cpc, 0.05, 0.0)
            }
        })
        .collect();
    let mut pacers: Vec<Pacer> = (0..6).map(|a| Pacer::new(60.0 + 10.0 * a as f64).unwrap().with_gain(gain)).collect();
    let mut days: Vec<Day> = (0..6)
        .map(|a| Day {
            spend: 0.0,
            budget: pacers[a].budget(),
            max_bid: advertisers[a].0,
            exhausted_at: None,
            last_win: 0.0,
        })
        .collect();
    let config = AuctionConfig::new(vec![1.0, 0.6]);
    for t in 0..AUCTIONS {
        let now = (t + 1) as f64 / AUCTIONS as f64;
        let ads: Vec<Ad> = advertisers
            .iter()
            .enumerate()
            .filter_map(|(a, &(bid, bid_kind, ctr, cvr))| {
                let shaded = pacers[a].shade(bid)?;
                // per-request pCTR variation
                let pctr = (ctr * (0.5 * standard_normal(&mut rng)).exp()).min(1.0);
                Some(Ad { advertiser: a as u32, bid: shaded, pctr, pcvr: cvr, bid_kind, quality: 0.0 })
            })
            .collect();
        for w in run_auction(&ads, &config).unwrap().winners {
            let ad = &ads[w.candidate];
            let a = ad.advertiser as usize;
            days[a].last_win = now;
            let click = uniform(&mut rng) < w.click_prob;
            if click && (ad.bid_kind == BidKind::Cpc || uniform(&mut rng) < ad.pcvr) {
                pacers[a].charge(w.price);
                if pacers[a].spend() >= pacers[a].budget() && days[a].exhausted_at.is_none() {
                    days[a].exhausted_at = Some(now);
                }
            }
        }
        for p in pacers.iter_mut() {
            p.update(now);
        }
    }
    for (day, pacer) in days.iter_mut().zip(&pacers) {
        day.spend = pacer.spend();
    }
    days
}

#[test]
fn pacing_keeps_spend_within_budget_and_spreads_it_over_the_day() {
    for seed in [1, 2, 3] {
        let paced = simulated_day(Pacer::DEFAULT_GAIN, seed);
        let unpaced = simulated_day(0.0, seed);
        for (a, (p, u)) in paced.iter().zip(&unpaced).enumerate() {
            // the hard cap: at most one price (≤ the bid) over the budget
            for d in [p, u] {
                assert!(d.spend <= d.budget + d.max_bid, "seed {seed}, advertiser {a}: {d:?}");
            }
            // pacing still spends most of the budget, and keeps the
            // advertiser in the market until late in the day
            assert!(p.spend >= 0.9 * p.budget, "seed {seed}, advertiser {a}: {p:?}");
            assert!(p.last_win >= 0.9, "seed {seed}, advertiser {a}: {p:?}");
        }
        // without pacing the strong bidders burn their budgets early
        let early = unpaced.iter().filter(|d| d.exhausted_at.is_some_and(|t| t < 0.3)).count();
        assert!(early >= 4, "seed {seed}: {unpaced:?}");
        let paced_early = paced.iter().filter(|d| d.exhausted_at.is_some_and(|t| t < 0.9)).count();
        assert_eq!(paced_early, 0, "seed {seed}: {paced:?}");
    }
}

// --------------------------------------------------------------- A/B replay

/// Sessions of a small market: 20 organic items and 6 ads (one per
/// advertiser, 2 of them CPA) per request.
fn sessions(n: usize, seed: u64) -> Vec<Session> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| Session {
            organic: (0..20)
                .map(|_| OrganicCandidate {
                    true_ctr: 0.02 + 0.4 * uniform(&mut rng),
                    expected_dwell: 5.0 + 55.0 * uniform(&mut rng),
                })
                .collect(),
            ads: (0..6)
                .map(|a| {
                    let cpa = a % 3 == 2;
                    AdCandidate {
                        advertiser: a + 1,
                        bid: (0.5 + 0.1 * a as f64) / if cpa { 0.08 } else { 1.0 },
                        bid_kind: if cpa { BidKind::Cpa } else { BidKind::Cpc },
                        quality: uniform(&mut rng),
                        true_ctr: 0.01 + 0.25 * uniform(&mut rng),
                        true_cvr: 0.02 + 0.2 * uniform(&mut rng),
                        conversion_value: 10.0 + 40.0 * uniform(&mut rng),
                        expected_dwell: 10.0 + 20.0 * uniform(&mut rng),
                    }
                })
                .collect(),
        })
        .collect()
}

/// Predictions: the truth times `exp(noise · N(0, 1))` (`noise = 0` is the oracle).
fn predictions(sessions: &[Session], noise: f64, seed: u64) -> Vec<ArmPredictions> {
    let mut rng = SplitMix64::new(seed);
    let mut blur = |p: f64| (p * (noise * standard_normal(&mut rng)).exp()).min(1.0);
    sessions
        .iter()
        .map(|s| ArmPredictions {
            organic: s.organic.iter().map(|o| blur(o.true_ctr)).collect(),
            ad_pctr: s.ads.iter().map(|a| blur(a.true_ctr)).collect(),
            ad_pcvr: s.ads.iter().map(|a| blur(a.true_cvr)).collect(),
            ..Default::default()
        })
        .collect()
}

fn arm(name: &str, predictions: Vec<ArmPredictions>) -> Arm {
    Arm { name: name.into(), policy: FeedPolicy::default(), predictions }
}

fn feed() -> Vec<f64> {
    position_examination(8, 0.7)
}

#[test]
fn identical_arms_under_common_random_numbers_do_not_differ() {
    let s = sessions(300, 1);
    let p = predictions(&s, 0.5, 2);
    let report = replay(&s, &[arm("a", p.clone()), arm("b", p)], &ReplayConfig::new(feed(), 9)).unwrap();
    assert_eq!(report.arms[0].sessions, report.arms[1].sessions);
    assert_eq!(report.differences.len(), MarketMetric::ALL.len());
    for d in &report.differences {
        assert_eq!((d.diff, d.se, d.p_value), (0.0, 0.0, 1.0), "{:?}", d.metric);
    }
    // the totals add up and are plausible
    let t = report.arms[0].totals;
    assert_eq!(t.ad_impressions + t.organic_impressions, 300.0 * 8.0);
    assert!(t.ad_impressions > 500.0 && t.conversions > 0.0 && t.revenue > 0.0);
    assert!(
        t.conversions <= t.ad_clicks && t.ad_clicks <= t.ad_impressions && t.organic_clicks <= t.organic_impressions
    );
    let ctr = report.arms[0].value(MarketMetric::AdCtr);
    assert!(close(ctr, t.ad_clicks / t.ad_impressions));
    assert!(close(report.arms[0].value(MarketMetric::Roi), t.advertiser_value / t.revenue));
    assert!(close(report.arms[0].value(MarketMetric::Revenue), t.revenue / 300.0));
}

#[test]
fn the_oracle_beats_noisy_predictions_significantly() {
    let s = sessions(3000, 3);
    let arms = [arm("noisy", predictions(&s, 1.5, 4)), arm("oracle", predictions(&s, 0.0, 0))];
    let report = replay(&s, &arms, &ReplayConfig::new(feed(), 5)).unwrap();
    for metric in [MarketMetric::OrganicClicks, MarketMetric::Attention, MarketMetric::AdCtr] {
        let d = report.difference(1, metric).unwrap();
        assert!(d.diff > 0.0 && d.ci_low > 0.0 && d.p_value < 0.01, "{metric:?}: {d:?}");
        assert!(close(d.diff, d.value - d.baseline) && close(d.ci_high - d.diff, Z_95 * d.se));
    }
}

#[test]
fn common_random_numbers_narrow_the_intervals() {
    let s = sessions(2000, 6);
    let arms = [arm("a", predictions(&s, 0.3, 7)), arm("b", predictions(&s, 0.3, 8))];
    let crn = replay(&s, &arms, &ReplayConfig::new(feed(), 1)).unwrap();
    let independent =
        replay(&s, &arms, &ReplayConfig { common_random_numbers: false, ..ReplayConfig::new(feed(), 1) }).unwrap();
    for metric in MarketMetric::ALL {
        let (a, b) = (crn.difference(1, metric).unwrap().se, independent.difference(1, metric).unwrap().se);
        assert!(a < 0.8 * b, "{metric:?}: se {a} with common random numbers, {b} without");
    }
}

#[test]
fn a_a_tests_reject_at_the_nominal_rate() {
    // independent draws for two arms with the same predictions: p < 0.05
    // should happen about 5% of the time, for means and ratios alike
    let runs = 300;
    let mut rejections = [0usize; 7];
    let mut covered = [0usize; 7];
    for seed in 0..runs {
        let s = sessions(200, 1000 + seed);
        let p = predictions(&s, 0.3, 2000 + seed);
        let config = ReplayConfig { common_random_numbers: false, ..ReplayConfig::new(feed(), seed) };
        let report = replay(&s, &[arm("a", p.clone()), arm("a'", p)], &config).unwrap();
        for (m, metric) in MarketMetric::ALL.iter().enumerate() {
            let d = report.difference(1, *metric).unwrap();
            rejections[m] += (d.p_value < 0.05) as usize;
            covered[m] += (d.ci_low <= 0.0 && 0.0 <= d.ci_high) as usize;
        }
    }
    for (m, metric) in MarketMetric::ALL.iter().enumerate() {
        let rate = rejections[m] as f64 / runs as f64;
        assert!((0.015..=0.095).contains(&rate), "{metric:?}: rejected {rate} of A/A tests");
        assert_eq!(rejections[m] + covered[m], runs as usize, "{metric:?}: CI and p-value disagree");
    }
}

#[test]
fn a_reserve_sells_fewer_ads_and_gives_the_slots_to_organic_items() {
    let s = sessions(1000, 10);
    let p = predictions(&s, 0.3, 11);
    let reserved =
        Arm { policy: FeedPolicy { reserve_cpc: 1.0, ..FeedPolicy::default() }, ..arm("reserve", p.clone()) };
    let report = replay(&s, &[arm("base", p), reserved], &ReplayConfig::new(feed(), 12)).unwrap();
    let (base, high) = (report.arms[0].totals, report.arms[1].totals);
    assert!(high.ad_impressions < 0.9 * base.ad_impressions, "{} vs {}", high.ad_impressions, base.ad_impressions);
    assert_eq!(high.ad_impressions + high.organic_impressions, base.ad_impressions + base.organic_impressions);
    assert!(report.difference(1, MarketMetric::OrganicClicks).unwrap().diff > 0.0);
    // no ad slots at all: an all-organic feed with no revenue
    let organic_only = Arm {
        policy: FeedPolicy { ad_slots: vec![], ..FeedPolicy::default() },
        ..arm("none", predictions(&s, 0.0, 0))
    };
    let r = replay(&s, &[organic_only], &ReplayConfig::new(feed(), 12)).unwrap();
    assert_eq!((r.arms[0].totals.revenue, r.arms[0].totals.ad_impressions), (0.0, 0.0));
    assert!(r.arms[0].value(MarketMetric::AdCtr).is_nan() && r.differences.is_empty());
}

#[test]
fn advertisers_exposure_and_revenue_add_up_to_the_totals() {
    let s = sessions(500, 13);
    let p = predictions(&s, 0.3, 14);
    let reserved =
        Arm { policy: FeedPolicy { reserve_cpc: 1.0, ..FeedPolicy::default() }, ..arm("reserve", p.clone()) };
    let report = replay(&s, &[arm("base", p), reserved], &ReplayConfig::new(feed(), 15)).unwrap();
    for a in &report.arms {
        let ids: Vec<u32> = a.advertisers.iter().map(|x| x.advertiser).collect();
        assert_eq!(ids, vec![1, 2, 3, 4, 5, 6], "every advertiser of the sessions, by id");
        let sum = |f: fn(&attnlab_eval::market::AdvertiserOutcome) -> f64| a.advertisers.iter().map(f).sum::<f64>();
        assert!(close(sum(|x| x.impressions), a.totals.ad_impressions));
        assert!(close(sum(|x| x.clicks), a.totals.ad_clicks));
        assert!(close(sum(|x| x.spend), a.totals.revenue));
        assert!(a.advertisers.iter().all(|x| x.exposure <= x.impressions && x.exposure >= 0.0));
        let shares = a.advertiser_exposure_shares();
        assert!(close(shares.iter().map(|s| s.1).sum::<f64>(), 1.0));
        let gini = a.advertiser_revenue_gini().unwrap();
        assert!((0.0..1.0).contains(&gini), "{gini}");
    }
    // a reserve of 1.0 per click prices the cheapest bidders out: revenue concentrates
    let (base, reserve) = (&report.arms[0], &report.arms[1]);
    assert!(reserve.advertisers[0].impressions < base.advertisers[0].impressions);
    assert!(reserve.advertiser_revenue_gini().unwrap() > base.advertiser_revenue_gini().unwrap());
}

#[test]
fn bad_replay_inputs_are_errors() {
    let s = sessions(3, 1);
    let p = predictions(&s, 0.0, 0);
    let config = ReplayConfig::new(feed(), 0);
    let err = |arms: &[Arm], config: &ReplayConfig| replay(&s, arms, config).unwrap_err().to_string();
    assert!(err(&[arm("short", p[..2].to_vec())], &config).contains("2 predictions for 3 sessions"));
    let mut wrong = p.clone();
    wrong[1].ad_pctr.pop();
    assert!(err(&[arm("wrong", wrong)], &config).contains("session 1"));
    let outside = Arm { policy: FeedPolicy { ad_slots: vec![1, 8], ..FeedPolicy::default() }, ..arm("x", p.clone()) };
    assert!(err(&[outside], &config).contains("ad slot 8"));
    assert!(err(&[arm("a", p.clone())], &ReplayConfig::new(vec![1.0, 0.0], 0)).contains("examination[1]"));
    assert!(replay(&s, &[], &config).is_err());
}

#[test]
fn sessions_needed_matches_the_formula_and_delivers_the_power() {
    // ((1.959964 + 0.841621) · 1 / 0.1)² = 784.9
    assert_eq!(sessions_needed(0.1, 1.0, 0.05, 0.8).unwrap(), 785);
    assert_eq!(sessions_needed(-0.1, 1.0, 0.05, 0.8).unwrap(), 785);
    assert_eq!(sessions_needed(0.5, 2.0, 0.01, 0.9).unwrap(), 239); // (2.575829 + 1.281552)² · 16 = 238.0
    assert!(sessions_needed(0.0, 1.0, 0.05, 0.8).is_err() && sessions_needed(0.1, 0.0, 0.05, 0.8).is_err());
    assert!(sessions_needed(0.1, 1.0, 1.0, 0.8).is_err());
    // simulated paired experiments of that size reject about 80% of the time
    let n = 785;
    let mut rng = SplitMix64::new(4);
    let trials = 500;
    let mut rejected = 0;
    for _ in 0..trials {
        let d: Vec<f64> = (0..n).map(|_| 0.1 + standard_normal(&mut rng)).collect();
        let mean = d.iter().sum::<f64>() / n as f64;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        rejected += (mean.abs() / (sd / (n as f64).sqrt()) > Z_95) as usize;
    }
    let power = rejected as f64 / trials as f64;
    assert!((power - 0.8).abs() < 0.06, "power {power}");
}

// ---------------------------------------------------------------------- IPS

/// A contextual bandit with `K` actions: mean rewards per (context, action),
/// a logging and a target policy (softmaxes of different scores), and the
/// target's true value.
struct Bandit {
    means: Vec<Vec<f64>>,
    logging: Vec<Vec<f64>>,
    target: Vec<Vec<f64>>,
    value: f64,
}

const K: usize = 5;
const CONTEXTS: usize = 10;

fn softmax(xs: &[f64]) -> Vec<f64> {
    let z: f64 = xs.iter().map(|x| x.exp()).sum();
    xs.iter().map(|x| x.exp() / z).collect()
}

fn bandit() -> Bandit {
    let mut rng = SplitMix64::new(77);
    let means: Vec<Vec<f64>> = (0..CONTEXTS).map(|_| (0..K).map(|_| 0.1 + 0.8 * uniform(&mut rng)).collect()).collect();
    let logging =
        (0..CONTEXTS).map(|_| softmax(&(0..K).map(|_| standard_normal(&mut rng)).collect::<Vec<_>>())).collect();
    // the target leans towards the good actions
    let target: Vec<Vec<f64>> = means.iter().map(|m| softmax(&m.iter().map(|x| 4.0 * x).collect::<Vec<_>>())).collect();
    let value =
        (0..CONTEXTS).map(|x| (0..K).map(|a| target[x][a] * means[x][a]).sum::<f64>()).sum::<f64>() / CONTEXTS as f64;
    Bandit { means, logging, target, value }
}

/// `n` logged records.
struct Log {
    contexts: Vec<usize>,
    actions: Vec<usize>,
    propensities: Vec<f64>,
    rewards: Vec<f64>,
    /// The target policy's rows, row-major.
    target: Vec<f64>,
}

fn log(b: &Bandit, n: usize, seed: u64) -> Log {
    let mut rng = SplitMix64::new(seed);
    let (mut contexts, mut actions, mut props, mut rewards, mut target) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let x = rng.below(CONTEXTS);
        contexts.push(x);
        let a = draw_index(&b.logging[x], &mut rng);
        actions.push(a);
        props.push(b.logging[x][a]);
        rewards.push(if uniform(&mut rng) < b.means[x][a] { 1.0 } else { 0.0 });
        target.extend_from_slice(&b.target[x]);
    }
    Log { contexts, actions, propensities: props, rewards, target }
}

#[test]
fn ips_and_snips_recover_the_true_value_and_snips_varies_less() {
    let b = bandit();
    let seeds = 200;
    let (mut est_ips, mut est_snips) = (vec![], vec![]);
    let (mut covered_ips, mut covered_snips) = (0, 0);
    for seed in 0..seeds {
        let l = log(&b, 2000, seed);
        let logs = LoggedBandit { actions: &l.actions, propensities: &l.propensities, rewards: &l.rewards };
        let target = TargetPolicy { n_actions: K, probs: &l.target };
        let (i, s) = (ips(&logs, &target).unwrap(), snips(&logs, &target).unwrap());
        covered_ips += (i.ci_low <= b.value && b.value <= i.ci_high) as usize;
        covered_snips += (s.ci_low <= b.value && b.value <= s.ci_high) as usize;
        assert!(i.effective_sample_size < 2000.0 && i.effective_sample_size > 100.0 && i.max_weight > 1.0);
        est_ips.push(i.value);
        est_snips.push(s.value);
    }
    let stats = |xs: &[f64]| {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        (m, xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64)
    };
    let ((m_ips, v_ips), (m_snips, v_snips)) = (stats(&est_ips), stats(&est_snips));
    // unbiased-ish: the mean over seeds is within 3 standard errors of the truth
    for (name, m, v) in [("ips", m_ips, v_ips), ("snips", m_snips, v_snips)] {
        let se = (v / seeds as f64).sqrt();
        assert!((m - b.value).abs() < 3.0 * se, "{name}: mean {m} vs true {} (se {se})", b.value);
    }
    // the 95% intervals cover the truth about 95% of the time
    for (name, c) in [("ips", covered_ips), ("snips", covered_snips)] {
        let rate = c as f64 / seeds as f64;
        assert!((0.89..=0.99).contains(&rate), "{name}: coverage {rate}");
    }
    assert!(v_snips < 0.8 * v_ips, "variance: snips {v_snips} vs ips {v_ips}");
}

#[test]
fn on_policy_weights_are_one() {
    let b = bandit();
    let l = log(&b, 500, 1);
    // the target is the logging policy itself
    let probs: Vec<f64> = l.contexts.iter().flat_map(|&x| b.logging[x].clone()).collect();
    let logs = LoggedBandit { actions: &l.actions, propensities: &l.propensities, rewards: &l.rewards };
    let target = TargetPolicy { n_actions: K, probs: &probs };
    let mean = l.rewards.iter().sum::<f64>() / 500.0;
    let (i, s) = (ips(&logs, &target).unwrap(), snips(&logs, &target).unwrap());
    assert!(close(i.value, mean) && close(s.value, mean));
    assert!(close(i.effective_sample_size, 500.0) && close(i.max_weight, 1.0));
}

#[test]
fn bad_logs_are_errors() {
    let target = TargetPolicy { n_actions: 2, probs: &[0.5, 0.5, 1.0, 0.0] };
    let run = |actions: &[usize], props: &[f64], rewards: &[f64], target: &TargetPolicy| {
        ips(&LoggedBandit { actions, propensities: props, rewards }, target).map_err(|e| e.to_string())
    };
    assert!(run(&[0, 1], &[0.5, 0.5], &[1.0, 0.0], &target).is_ok());
    assert!(run(&[0, 2], &[0.5, 0.5], &[1.0, 0.0], &target).unwrap_err().contains("action 2"));
    assert!(run(&[0, 1], &[0.5, 0.0], &[1.0, 0.0], &target).unwrap_err().contains("propensity 0"));
    assert!(run(&[0], &[0.5], &[1.0], &target).unwrap_err().contains("do not match"));
    assert!(run(&[0, 1], &[0.5, 0.5], &[1.0, f64::NAN], &target).unwrap_err().contains("reward"));
    let not_a_distribution = TargetPolicy { n_actions: 2, probs: &[0.5, 0.6, 1.0, 0.0] };
    assert!(run(&[0, 1], &[0.5, 0.5], &[1.0, 0.0], &not_a_distribution).unwrap_err().contains("distribution"));
    // SNIPS is undefined when the target never takes a logged action
    let never = TargetPolicy { n_actions: 2, probs: &[0.0, 1.0, 0.0, 1.0] };
    let logs = LoggedBandit { actions: &[0, 0], propensities: &[0.5, 0.5], rewards: &[1.0, 0.0] };
    assert!(snips(&logs, &never).is_err());
    assert_eq!(ips(&logs, &never).unwrap().value, 0.0);
}
