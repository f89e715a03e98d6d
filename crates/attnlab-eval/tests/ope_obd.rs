//! OPE on the real Open Bandit Dataset (`data/obd`, which `make test`
//! fetches): the identities that hold exactly, and estimates checked
//! against the other logging policy's on-policy click rate.

use std::path::PathBuf;

use attnlab_data::{load_obd, OBD_SLOTS};
use attnlab_eval::ope::{evaluate, Estimator, OpeConfig, OpeReport, SlotLogs, Target};

fn obd(policy: &str, campaign: &str) -> SlotLogs {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/obd")).join(policy).join(campaign);
    assert!(dir.is_dir(), "the Open Bandit Dataset is missing in {}; `make test` fetches it", dir.display());
    let log = load_obd(&dir, campaign).expect("load obd");
    SlotLogs::new(log.actions(), log.slots(), log.propensity.clone(), log.rewards(), log.items.len(), OBD_SLOTS).unwrap()
}

fn all_estimators() -> Vec<Estimator> {
    ["dm", "ipw", "snipw", "dr", "sndr", "switch-dr", "dros"].iter().map(|n| Estimator::parse(n, 10.0, 10.0).unwrap()).collect()
}

fn run(logs: &SlotLogs, target: Target, seed: u64) -> OpeReport {
    evaluate(logs, target, None, &OpeConfig { estimators: all_estimators(), resamples: 1000, seed, reward_prior: 10.0 }).unwrap()
}

fn width(r: &OpeReport, name: &str) -> f64 {
    let e = r.results.iter().find(|e| e.estimator.starts_with(name)).unwrap();
    e.ci_high - e.ci_low
}

#[test]
fn ipw_of_the_uniform_policy_on_its_own_logs_is_their_mean_click_exactly() {
    // the random logs' propensity is 1 / items exactly as parsed, so every weight is 1
    for campaign in ["all", "men", "women"] {
        let random = obd("random", campaign);
        let r = evaluate(&random, Target::Uniform, None, &OpeConfig { estimators: all_estimators(), resamples: 2, seed: 1, reward_prior: 10.0 })
            .unwrap();
        assert_eq!(r.results[1].estimate, random.on_policy_value(), "ipw, {campaign}");
        assert_eq!(r.results[2].estimate, random.on_policy_value(), "snipw, {campaign}");
    }
    assert_eq!(obd("random", "all").on_policy_value(), 0.0038);
}

#[test]
fn the_uniform_policys_ctr_estimated_from_bts_logs_covers_its_ctr_in_the_random_logs() {
    let (random, bts) = (obd("random", "all"), obd("bts", "all"));
    let truth = random.on_policy_value();
    // weights up to 0.0125 / 4.5e-5 = 278: the hard case
    for seed in 1..=3 {
        let r = run(&bts, Target::Uniform, seed);
        for e in &r.results[1..3] {
            assert!(e.ci_low <= truth && truth <= e.ci_high, "seed {seed}: {} [{}, {}] misses {truth}", e.estimator, e.ci_low, e.ci_high);
            // informative: away from 0 and narrower than the value itself
            assert!(e.ci_low > 0.0005 && e.ci_high - e.ci_low < truth, "seed {seed}: {e:?}");
        }
    }
}

#[test]
fn every_estimator_covers_bts_ctr_from_random_logs() {
    // the standard experiment of experiments/obd-ope.yaml
    let (random, bts) = (obd("random", "all"), obd("bts", "all"));
    let r = run(&random, Target::Logged(&bts), 7);
    assert_eq!(r.truth, Some(0.0042));
    for e in &r.results {
        assert!(e.ci_low <= 0.0042 && 0.0042 <= e.ci_high, "{} [{}, {}]", e.estimator, e.ci_low, e.ci_high);
    }
    assert_eq!(r.relative_errors.len(), 7);
}

/// DR's CI against IPW's, with the item x slot CTR reward model. Measured
/// over bootstrap seeds 1..=7 (1000 resamples): on the random logs (weights
/// at most 9.6) the DR / IPW width ratio was 0.955..1.012; on the BTS logs
/// (weights up to 278) 1.15..1.19: with 42 clicks the reward model explains
/// few of them, and its control variate `mean(w q̂)` adds the variance of
/// the large weights. Asserted: DR is within 5 % of IPW on the random logs,
/// and SNDR is no wider than SNIPW there; not asserted: DR no wider than IPW
/// on the BTS logs, which does not hold.
#[test]
fn dr_ci_width_against_ipw() {
    let (random, bts) = (obd("random", "all"), obd("bts", "all"));
    for seed in 1..=3 {
        let r = run(&random, Target::Logged(&bts), seed);
        let ratio = width(&r, "dr") / width(&r, "ipw");
        assert!((0.95..1.05).contains(&ratio), "seed {seed}: dr / ipw width {ratio}");
        assert!(width(&r, "sndr") <= width(&r, "snipw"), "seed {seed}");
        let u = run(&bts, Target::Uniform, seed);
        let ratio = width(&u, "dr") / width(&u, "ipw");
        assert!(ratio > 1.0, "seed {seed}: dr / ipw width {ratio}: the limitation documented above is gone, update it");
    }
}
