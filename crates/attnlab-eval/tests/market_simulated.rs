//! The market tools against the simulator's ground truth: budgets in the
//! replay, and IPS/SNIPS estimates of a policy's CTR from logged bandit
//! feedback checked against the policy's true simulated CTR, and the OPE
//! estimators (DM, IPW, SNIPW, DR, SNDR) with their bootstrap CIs.

use attnlab_data::{AdsConfig, SessionDraw, SessionSampler, SimulatorConfig};
use attnlab_eval::market::{
    AdCandidate, Arm, ArmPredictions, BidKind, Budgets, FeedPolicy, LoggedBandit, OrganicCandidate, ReplayConfig, Session,
    TargetPolicy, draw_index, ips, replay, snips, uniform,
};
use attnlab_eval::ope::{self, Estimator, Terms};
use attnlab_eval::significance::SplitMix64;

// ---------------------------------------------------------------- budgets

/// Two advertisers for one always-clicked ad slot; advertiser 1 outbids 2.
fn budget_sessions(n: usize) -> (Vec<Session>, Vec<ArmPredictions>) {
    let ad = |advertiser, bid| AdCandidate {
        advertiser,
        bid,
        bid_kind: BidKind::Cpc,
        quality: 1.0,
        true_ctr: 1.0,
        true_cvr: 0.0,
        conversion_value: 0.0,
        expected_dwell: 1.0,
    };
    let session = Session {
        organic: vec![OrganicCandidate { true_ctr: 0.0, expected_dwell: 1.0 }],
        ads: vec![ad(1, 1.0), ad(2, 0.5)],
    };
    let pred = ArmPredictions { organic: vec![0.0], ad_pctr: vec![1.0, 1.0], ad_pcvr: vec![0.0, 0.0], ..Default::default() };
    (vec![session; n], vec![pred; n])
}

fn budget_replay(budgets: Option<Budgets>) -> Vec<f64> {
    let (sessions, predictions) = budget_sessions(4000);
    let policy = FeedPolicy { ad_slots: vec![0], ..FeedPolicy::default() };
    let arms = [Arm { name: "a".into(), policy, predictions }];
    let config = ReplayConfig { budgets, ..ReplayConfig::new(vec![1.0], 3) };
    replay(&sessions, &arms, &config).unwrap().arms[0].sessions.iter().map(|o| o.revenue).collect()
}

#[test]
fn budgets_cap_daily_spend_and_pacing_spreads_it_over_the_day() {
    // no budgets: advertiser 1 wins every slot at advertiser 2's bid
    assert!(budget_replay(None).iter().all(|&r| (r - 0.5).abs() < 1e-12));
    // two days of 2000 requests; unpaced, advertiser 1 spends its budget in a fifth of a day
    let budgets = |pacing| Budgets { daily: vec![200.0, 200.0], sessions_per_day: 2000.0, pacing };
    for pacing in [false, true] {
        let revenue = budget_replay(Some(budgets(pacing)));
        for (day, sessions) in revenue.chunks(2000).enumerate() {
            let spent: f64 = sessions.iter().sum();
            // both budgets, plus at most one price each past the cap
            assert!(spent <= 400.0 + 1.0 + 1e-9, "pacing {pacing}, day {day}: {spent}");
            // advertiser 1 spends its budget (alone, advertiser 2 pays the reserve, 0)
            assert!(spent >= 200.0 - 1e-9, "pacing {pacing}, day {day}: budgets are spent ({spent})");
            let last_quarter = sessions[1500..].iter().filter(|&&r| r > 0.0).count();
            if pacing {
                assert!(last_quarter > 50, "day {day}: pacing leaves ads for the end of the day ({last_quarter})");
            } else {
                assert_eq!(last_quarter, 0, "day {day}: with the hard cap alone, budgets run out early");
            }
        }
    }
    let bad = Budgets { daily: vec![10.0], sessions_per_day: 100.0, pacing: true };
    let (sessions, predictions) = budget_sessions(3);
    let arms = [Arm { name: "a".into(), policy: FeedPolicy { ad_slots: vec![0], ..FeedPolicy::default() }, predictions }];
    let err = replay(&sessions, &arms, &ReplayConfig { budgets: Some(bad), ..ReplayConfig::new(vec![1.0], 3) }).unwrap_err();
    assert!(err.to_string().contains("no budget"), "{err}");
}

// ---------------------------------------------------------------- IPS / SNIPS

/// π(· | x) ∝ score^power over one request's ads.
fn proportional(scores: &[f64], power: f64) -> Vec<f64> {
    let w: Vec<f64> = scores.iter().map(|s| s.powf(power)).collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

/// Logged bandit feedback of the simulated ad market, with its truth.
struct BanditLogs {
    actions: Vec<usize>,
    propensities: Vec<f64>,
    rewards: Vec<f64>,
    /// Row-major `records x k`: the target policy π and the true CTRs.
    target: Vec<f64>,
    ctr: Vec<f64>,
    k: usize,
    true_value: f64,
    logging_value: f64,
}

impl BanditLogs {
    fn logged(&self) -> LoggedBandit<'_> {
        LoggedBandit { actions: &self.actions, propensities: &self.propensities, rewards: &self.rewards }
    }
    fn policy(&self) -> TargetPolicy<'_> {
        TargetPolicy { n_actions: self.k, probs: &self.target }
    }
}

fn simulated_bandit_logs() -> BanditLogs {
    let config = SimulatorConfig {
        seed: 21,
        users: 400,
        items: 300,
        topics: 8,
        sessions_per_user: 6,
        slots: 6,
        interest_sharpness: 2.5,
        history_len: 5,
        ads: AdsConfig { advertisers: 10, ad_share: 0.2, ..AdsConfig::default() },
    };
    let draw = SessionDraw { sessions: 6000, seed: 77, organic_candidates: 6, ad_candidates: 5 };
    let fresh = SessionSampler::new(&config).unwrap().draw(&draw).unwrap();
    let d = &fresh.candidates;
    let k = draw.ad_candidates;
    // Logging policy μ: one ad at the top slot (examination 1), chosen with
    // probability ∝ bid (blind to relevance). Target π: ∝ true CTR³.
    let mut rng = SplitMix64::new(5);
    let mut l = BanditLogs {
        actions: vec![],
        propensities: vec![],
        rewards: vec![],
        target: vec![],
        ctr: vec![],
        k,
        true_value: 0.0,
        logging_value: 0.0,
    };
    for s in &fresh.sessions {
        let rows: Vec<usize> = s.ads.clone().collect();
        assert_eq!(rows.len(), k);
        let ctr: Vec<f64> = rows.iter().map(|&r| d.true_ctr[r] as f64).collect();
        let mu = proportional(&rows.iter().map(|&r| d.bid[r] as f64).collect::<Vec<_>>(), 1.0);
        let pi = proportional(&ctr, 3.0);
        let a = draw_index(&mu, &mut rng);
        l.actions.push(a);
        l.propensities.push(mu[a]);
        l.rewards.push(if uniform(&mut rng) < ctr[a] { 1.0 } else { 0.0 });
        l.true_value += pi.iter().zip(&ctr).map(|(p, c)| p * c).sum::<f64>();
        l.logging_value += mu.iter().zip(&ctr).map(|(p, c)| p * c).sum::<f64>();
        l.target.extend_from_slice(&pi);
        l.ctr.extend_from_slice(&ctr);
    }
    let n = fresh.sessions.len() as f64;
    l.true_value /= n;
    l.logging_value /= n;
    l
}

#[test]
fn ips_and_snips_recover_a_target_policys_true_ctr_from_simulated_logs() {
    let l = simulated_bandit_logs();
    let (true_value, logging_value) = (l.true_value, l.logging_value);
    let (i, sn) = (ips(&l.logged(), &l.policy()).unwrap(), snips(&l.logged(), &l.policy()).unwrap());
    for (name, e) in [("ips", i), ("snips", sn)] {
        assert!(
            e.ci_low <= true_value && true_value <= e.ci_high,
            "{name}: true CTR {true_value:.4} outside [{:.4}, {:.4}]",
            e.ci_low,
            e.ci_high
        );
        // not vacuous: the interval is informative and excludes the logging policy's CTR
        assert!(e.ci_high - e.ci_low < 0.3 * true_value, "{name}: interval too wide {:?}", e);
        assert!(!(e.ci_low..=e.ci_high).contains(&logging_value), "{name}: logging CTR {logging_value:.4} inside {e:?}");
    }
    let n = l.rewards.len() as f64;
    let naive = l.rewards.iter().sum::<f64>() / n;
    assert!((naive - logging_value).abs() < 4.0 * (logging_value / n).sqrt(), "the logs follow μ");
}

/// The OPE module's estimators with bootstrap CIs on the same logs: IPW
/// and SNIPW agree with `ips`/`snips`; with the simulator's true CTRs as
/// the reward model, DM is the truth itself and DR's interval covers it
/// and is narrower than IPW's; with a miscalibrated model (CTR × 1.3 +
/// 0.01) DM's interval misses the truth while DR's still covers it, since
/// the logged propensities are right.
#[test]
fn ope_estimators_against_the_simulators_truth() {
    let l = simulated_bandit_logs();
    let truth = l.true_value;
    let estimators = [Estimator::Dm, Estimator::Ipw, Estimator::Snipw, Estimator::Dr, Estimator::Sndr];
    let evaluate = |q: &[f64]| {
        let full = Terms::from_matrices(&l.logged(), &l.policy(), q).unwrap();
        ope::bootstrap(full.len(), &estimators, 1000, 0.95, 11, |rows| Ok(full.select(rows))).unwrap()
    };
    let perfect = evaluate(&l.ctr);
    let covers = |r: &ope::EstimatorResult| r.ci_low <= truth && truth <= r.ci_high;
    let width = |r: &ope::EstimatorResult| r.ci_high - r.ci_low;
    assert!((perfect[0].estimate - truth).abs() < 1e-12, "dm with the true model is the truth");
    assert!((perfect[1].estimate - ips(&l.logged(), &l.policy()).unwrap().value).abs() < 1e-12);
    assert!((perfect[2].estimate - snips(&l.logged(), &l.policy()).unwrap().value).abs() < 1e-12);
    for r in &perfect[1..] {
        assert!(covers(r), "{}: [{}, {}] misses {truth}", r.estimator, r.ci_low, r.ci_high);
        assert!(!(r.ci_low..=r.ci_high).contains(&l.logging_value), "{} is informative", r.estimator);
    }
    // the true model leaves only the click noise in DR's correction (measured: 0.76 of IPW's width)
    assert!(width(&perfect[3]) < 0.85 * width(&perfect[1]), "dr {} vs ipw {}", width(&perfect[3]), width(&perfect[1]));

    let wrong: Vec<f64> = l.ctr.iter().map(|c| 1.3 * c + 0.01).collect();
    let biased = evaluate(&wrong);
    assert!(biased[0].ci_low > truth, "dm with a miscalibrated model: [{}, {}] vs {truth}", biased[0].ci_low, biased[0].ci_high);
    for r in &biased[3..] {
        assert!(covers(r), "{} with a miscalibrated model: [{}, {}] misses {truth}", r.estimator, r.ci_low, r.ci_high);
    }
}
