//! The OPE estimators on hand-computed logs and against the textbook
//! identities; the slot reward model and target policies; the bootstrap.

use attnlab_eval::market::{draw_index, uniform, LoggedBandit, TargetPolicy};
use attnlab_eval::ope::slots::slot_terms;
use attnlab_eval::ope::{bootstrap, evaluate, Estimator, OpeConfig, SlotLogs, SlotPolicy, SlotRewardModel, Target, Terms};
use attnlab_eval::significance::SplitMix64;
use attnlab_eval::EvalError;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Four records; the values below are worked out by hand in the comments.
fn hand_terms() -> Terms {
    Terms {
        weight: vec![2.0, 0.5, 4.0, 0.0],
        reward: vec![1.0, 0.0, 1.0, 0.0],
        q_logged: vec![0.5, 0.2, 0.4, 0.1],
        q_target: vec![0.6, 0.3, 0.5, 0.2],
    }
}

#[test]
fn every_estimator_on_hand_computed_terms() {
    let t = hand_terms();
    let v = |e: Estimator| e.value(&t).unwrap();
    // DM: (0.6 + 0.3 + 0.5 + 0.2) / 4
    assert!(close(v(Estimator::Dm), 0.4));
    // IPW: (2·1 + 0 + 4·1 + 0) / 4
    assert!(close(v(Estimator::Ipw), 1.5));
    // SNIPW: 6 / (2 + 0.5 + 4 + 0)
    assert!(close(v(Estimator::Snipw), 6.0 / 6.5));
    // residuals r − q̂ = [0.5, −0.2, 0.6, −0.1]; w·res = [1, −0.1, 2.4, 0]
    // DR: (0.6 + 1 + 0.3 − 0.1 + 0.5 + 2.4 + 0.2 + 0) / 4
    assert!(close(v(Estimator::Dr), 4.9 / 4.0));
    // SNDR: DM + 3.3 / 6.5
    assert!(close(v(Estimator::Sndr), 0.4 + 3.3 / 6.5));
}

#[test]
fn switch_dr_drops_the_correction_above_tau() {
    let t = hand_terms();
    let v = |tau: f64| Estimator::SwitchDr { tau }.value(&t).unwrap();
    // tau = 3 clips the record of weight 4: (1.6 + 0.2 + 0.5 + 0.2) / 4
    assert!(close(v(3.0), 2.5 / 4.0));
    // exactly at the threshold the correction stays (w ≤ tau)
    assert!(close(v(4.0), Estimator::Dr.value(&t).unwrap()));
    // tau = 0 keeps only the weight-0 record's correction, which is 0: DM
    assert!(close(v(0.0), 0.4));
    assert!(close(v(f64::INFINITY), Estimator::Dr.value(&t).unwrap()));
    // tau = 1 keeps the corrections of w = 0.5 (−0.1) and w = 0 only
    assert!(close(v(1.0), (0.6 + 0.3 - 0.1 + 0.5 + 0.2) / 4.0));
}

#[test]
fn dros_shrinks_the_weights() {
    let t = hand_terms();
    let v = |lambda: f64| Estimator::DrOs { lambda }.value(&t).unwrap();
    // lambda = 4: shrunk weights 4·2/(4+4) = 1, 4·0.5/(0.25+4) = 8/17, 4·4/(16+4) = 0.8, 0
    let expected = (0.6 + 1.0 * 0.5 + 0.3 + (8.0 / 17.0) * -0.2 + 0.5 + 0.8 * 0.6 + 0.2) / 4.0;
    assert!(close(v(4.0), expected), "{} vs {expected}", v(4.0));
    assert!(close(v(0.0), 0.4), "lambda 0 is DM");
    assert!(close(v(f64::INFINITY), Estimator::Dr.value(&t).unwrap()), "lambda inf is DR");
    // shrinkage pulls DRos between DM and DR here (all corrections of one sign but one)
    assert!(v(4.0) > 0.4 && v(4.0) < Estimator::Dr.value(&t).unwrap());
    // a huge lambda approaches DR
    assert!((v(1e12) - Estimator::Dr.value(&t).unwrap()).abs() < 1e-9);
}

#[test]
fn parsing_names_and_bad_hyper_parameters() {
    assert_eq!(Estimator::parse("switch-dr", 5.0, 1.0).unwrap(), Estimator::SwitchDr { tau: 5.0 });
    assert_eq!(Estimator::parse("dros", 5.0, 1.0).unwrap().label(), "dros(lambda=1)");
    assert!(matches!(Estimator::parse("ips", 1.0, 1.0), Err(EvalError::UnknownMetric { .. })));
    assert!(Estimator::parse("dr", -1.0, 1.0).unwrap_err().to_string().contains("tau"));
    assert!(Estimator::parse("dr", 1.0, f64::NAN).unwrap_err().to_string().contains("lambda"));
    let zero = Terms { weight: vec![0.0, 0.0], reward: vec![1.0, 0.0], q_logged: vec![0.0; 2], q_target: vec![0.5; 2] };
    assert!(matches!(Estimator::Snipw.value(&zero), Err(EvalError::Undefined { .. })));
    assert!(matches!(Estimator::Sndr.value(&zero), Err(EvalError::Undefined { .. })));
    assert_eq!(Estimator::Ipw.value(&zero).unwrap(), 0.0);
}

/// Logs of `n` records over `k` actions: context i has true click rates
/// `ctr[i*k..]`, the logging policy `mu` and the target `pi` per record.
struct World {
    actions: Vec<usize>,
    propensities: Vec<f64>,
    rewards: Vec<f64>,
    mu: Vec<f64>,
    pi: Vec<f64>,
    ctr: Vec<f64>,
    truth: f64,
}

fn world(n: usize, k: usize, seed: u64, bernoulli: bool) -> World {
    let mut rng = SplitMix64::new(seed);
    let (mut w, mut truth) = (
        World { actions: vec![], propensities: vec![], rewards: vec![], mu: vec![], pi: vec![], ctr: vec![], truth: 0.0 },
        0.0,
    );
    for _ in 0..n {
        let ctr: Vec<f64> = (0..k).map(|_| 0.05 + 0.5 * uniform(&mut rng)).collect();
        // μ: blind, skewed; π: favours high click rates
        let mu: Vec<f64> = (0..k).map(|a| (a + 1) as f64).collect();
        let mu: Vec<f64> = mu.iter().map(|x| x / mu.iter().sum::<f64>()).collect();
        let pi: Vec<f64> = ctr.iter().map(|c| c * c).collect();
        let pi: Vec<f64> = pi.iter().map(|x| x / pi.iter().sum::<f64>()).collect();
        let a = draw_index(&mu, &mut rng);
        w.actions.push(a);
        w.propensities.push(mu[a]);
        w.rewards.push(if bernoulli { (uniform(&mut rng) < ctr[a]) as u8 as f64 } else { ctr[a] });
        truth += pi.iter().zip(&ctr).map(|(p, c)| p * c).sum::<f64>();
        w.mu.extend(mu);
        w.pi.extend(pi);
        w.ctr.extend(ctr);
    }
    w.truth = truth / n as f64;
    w
}

impl World {
    fn terms(&self, target: &[f64], q: &[f64]) -> Terms {
        let logs = LoggedBandit { actions: &self.actions, propensities: &self.propensities, rewards: &self.rewards };
        let k = target.len() / self.actions.len();
        Terms::from_matrices(&logs, &TargetPolicy { n_actions: k, probs: target }, q).unwrap()
    }
}

#[test]
fn ipw_with_the_logging_policy_as_target_is_the_on_policy_mean_exactly() {
    let w = world(500, 4, 3, true);
    let t = w.terms(&w.mu, &w.ctr);
    let on_policy = w.rewards.iter().sum::<f64>() / 500.0;
    assert_eq!(Estimator::Ipw.value(&t).unwrap(), on_policy);
    assert_eq!(Estimator::Snipw.value(&t).unwrap(), on_policy);
    assert!(t.weight.iter().all(|&x| x == 1.0));
}

#[test]
fn with_noise_free_rewards_and_the_true_model_dm_and_dr_are_the_truth() {
    // r = q exactly: every residual is 0, so DR = DM = Σ π q / n, the truth
    let w = world(300, 5, 8, false);
    let t = w.terms(&w.pi, &w.ctr);
    for e in [Estimator::Dm, Estimator::Dr, Estimator::Sndr, Estimator::SwitchDr { tau: 1.0 }, Estimator::DrOs { lambda: 1.0 }] {
        assert!((e.value(&t).unwrap() - w.truth).abs() < 1e-12, "{e:?}");
    }
}

/// Mean and standard error of the mean.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    (m, (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt())
}

#[test]
fn dr_is_unbiased_with_a_perfect_reward_model_and_with_a_wrong_one_dm_is_not() {
    // 400 independent logs of 200 Bernoulli rewards; the truth of each log
    // is its own Σ π·ctr / n, so the bias is the mean of estimate − truth.
    let (mut dr_true, mut dr_wrong, mut dm_wrong, mut ipw) = (vec![], vec![], vec![], vec![]);
    for seed in 0..400 {
        let w = world(200, 4, 1000 + seed, true);
        let wrong: Vec<f64> = w.ctr.iter().map(|c| 0.7 * c + 0.1).collect();
        let (good, bad) = (w.terms(&w.pi, &w.ctr), w.terms(&w.pi, &wrong));
        dr_true.push(Estimator::Dr.value(&good).unwrap() - w.truth);
        dr_wrong.push(Estimator::Dr.value(&bad).unwrap() - w.truth);
        dm_wrong.push(Estimator::Dm.value(&bad).unwrap() - w.truth);
        ipw.push(Estimator::Ipw.value(&good).unwrap() - w.truth);
    }
    for (name, errors) in [("dr, true model", &dr_true), ("dr, wrong model", &dr_wrong), ("ipw", &ipw)] {
        let (bias, se) = mean_se(errors);
        assert!(bias.abs() < 4.0 * se, "{name}: bias {bias} (se {se})");
    }
    let (bias, se) = mean_se(&dm_wrong);
    assert!(bias.abs() > 10.0 * se, "dm with a wrong model is biased: {bias} (se {se})");
    // the true model leaves only the reward noise in the correction: DR
    // varies less than IPW (variance ratio 0.68 on these seeds; IPW itself is 1)
    let (se_dr, se_ipw) = (mean_se(&dr_true).1, mean_se(&ipw).1);
    assert!(se_dr.powi(2) < 0.85 * se_ipw.powi(2), "dr {se_dr} vs ipw {se_ipw}");
}

fn small_slot_logs() -> SlotLogs {
    SlotLogs::new(vec![0, 1, 0, 1, 0], vec![0, 0, 1, 1, 1], vec![0.5; 5], vec![1.0, 0.0, 0.0, 1.0, 1.0], 2, 2).unwrap()
}

#[test]
fn slot_reward_model_policies_and_terms_by_hand() {
    let logs = small_slot_logs();
    let all = [0, 1, 2, 3, 4];
    // prior 2: slot 0 mean 1/2, slot 1 mean 2/3
    let m = SlotRewardModel::fit(&logs, &all, 2.0);
    assert!(close(m.predict(0, 0), (1.0 + 2.0 * 0.5) / 3.0));
    assert!(close(m.predict(0, 1), (0.0 + 2.0 * 0.5) / 3.0));
    assert!(close(m.predict(1, 0), (1.0 + 2.0 * 2.0 / 3.0) / 4.0));
    assert!(close(m.predict(1, 1), (1.0 + 2.0 * 2.0 / 3.0) / 3.0));
    // prior 0: the raw cell means
    let raw = SlotRewardModel::fit(&logs, &all, 0.0);
    assert_eq!(raw.q, vec![1.0, 0.0, 0.5, 1.0]);
    let p = SlotPolicy::empirical(&logs).unwrap();
    assert_eq!(p.probs, vec![0.5, 0.5, 2.0 / 3.0, 1.0 / 3.0]);
    let t = slot_terms(&logs, &[4, 1], &p, &raw).unwrap();
    assert_eq!(t.weight, vec![(2.0 / 3.0) / 0.5, 1.0]);
    assert_eq!(t.reward, vec![1.0, 0.0]);
    assert_eq!(t.q_logged, vec![0.5, 0.0]);
    assert!(close(t.q_target[0], 2.0 / 3.0 * 0.5 + 1.0 / 3.0 * 1.0) && close(t.q_target[1], 0.5));
    // bad inputs
    assert!(SlotLogs::new(vec![2], vec![0], vec![0.5], vec![1.0], 2, 2).unwrap_err().to_string().contains("action 2"));
    assert!(SlotLogs::new(vec![0], vec![0], vec![0.0], vec![1.0], 2, 2).unwrap_err().to_string().contains("propensity 0"));
    assert!(SlotLogs::new(vec![0], vec![3], vec![0.5], vec![1.0], 2, 2).unwrap_err().to_string().contains("slot 3"));
    let one_slot = SlotLogs::new(vec![0], vec![0], vec![0.5], vec![1.0], 2, 2).unwrap();
    assert!(SlotPolicy::empirical(&one_slot).unwrap_err().to_string().contains("slot 1 has no records"));
    assert!(slot_terms(&logs, &all, &SlotPolicy::uniform(3, 2), &raw).is_err());
}

#[test]
fn the_bootstrap_is_seeded_and_brackets_the_estimate() {
    let logs = small_slot_logs();
    let config = |seed| OpeConfig { estimators: vec![Estimator::Ipw, Estimator::Dm], resamples: 200, seed, reward_prior: 1.0 };
    let a = evaluate(&logs, Target::Uniform, None, &config(1)).unwrap();
    assert_eq!(a, evaluate(&logs, Target::Uniform, None, &config(1)).unwrap());
    assert_ne!(a.results[0].samples, evaluate(&logs, Target::Uniform, None, &config(2)).unwrap().results[0].samples);
    // uniform target, propensity 0.5 everywhere: weights 1, IPW is the mean click 3/5
    assert!(close(a.results[0].estimate, 0.6));
    for r in &a.results {
        assert_eq!(r.samples.len(), 200);
        assert!(r.ci_low <= r.estimate && r.estimate <= r.ci_high, "{r:?}");
        assert!(r.ci_low < r.ci_high);
    }
    assert!(a.truth.is_none() && a.relative_errors.is_empty());
    // a logged target brings its truth and the relative errors
    let b = evaluate(&logs, Target::Logged(&logs), None, &config(1)).unwrap();
    assert_eq!(b.truth, Some(0.6));
    let samples = &b.results[0].samples;
    let errors: Vec<f64> = samples.iter().map(|s| (s - 0.6).abs() / 0.6).collect();
    let (mean, _) = mean_se(&errors);
    assert!(close(b.relative_errors[0].0, mean));
    let json = b.json();
    assert_eq!(json["estimators"]["ipw"]["estimate"], b.results[0].estimate);
    assert_eq!(json["truth"], 0.6);
    assert!(b.table().contains("rel. error") && b.table().lines().count() == 5, "{}", b.table());
    // inputs the bootstrap refuses
    let err = bootstrap(5, &[Estimator::Ipw], 1, 0.95, 0, |_| Ok(Terms::default())).unwrap_err();
    assert!(err.to_string().contains("at least 2 resamples"), "{err}");
}

#[test]
fn per_record_targets_and_reward_models_by_hand() {
    use attnlab_eval::ope::{evaluate_with, record_terms, PolicyRows, RecordMatrix, RewardModel, RewardRows};
    let logs = small_slot_logs();
    let all = [0, 1, 2, 3, 4];
    // records: (action, slot, reward) = (0,0,1) (1,0,0) (0,1,0) (1,1,1) (0,1,1), propensity 0.5
    let target = RecordMatrix::policy(5, 2, vec![1.0, 0.0, 0.25, 0.75, 0.5, 0.5, 0.0, 1.0, 1.0, 0.0]).unwrap();
    let q = RecordMatrix::predictions(5, 2, vec![0.8, 0.2, 0.4, 0.6, 0.1, 0.9, 0.3, 0.7, 0.5, 0.5]).unwrap();
    let t = record_terms(&logs, &all, PolicyRows::Records(&target), RewardRows::Records(&q)).unwrap();
    assert_eq!(t.weight, vec![2.0, 1.5, 1.0, 2.0, 2.0]);
    assert_eq!(t.reward, vec![1.0, 0.0, 0.0, 1.0, 1.0]);
    assert_eq!(t.q_logged, vec![0.8, 0.6, 0.1, 0.7, 0.5]);
    let expected_target = [0.8, 0.25 * 0.4 + 0.75 * 0.6, 0.5 * 0.1 + 0.5 * 0.9, 0.7, 0.5];
    assert!(t.q_target.iter().zip(expected_target).all(|(a, b)| close(*a, b)), "{:?}", t.q_target);
    // a slot policy given per record, with the slot CTR model, is the slot path exactly
    let uniform = SlotPolicy::uniform(2, 2);
    let per_record = RecordMatrix::policy(5, 2, vec![0.5; 10]).unwrap();
    let m = SlotRewardModel::fit(&logs, &all, 1.0);
    let a = slot_terms(&logs, &all, &uniform, &m).unwrap();
    let b = record_terms(&logs, &all, PolicyRows::Records(&per_record), RewardRows::Slots(&m)).unwrap();
    assert_eq!(a, b);
    let config = OpeConfig { estimators: vec![Estimator::Ipw, Estimator::Dm, Estimator::Dr], resamples: 50, seed: 3, reward_prior: 1.0 };
    let slot = evaluate(&logs, Target::Uniform, None, &config).unwrap();
    let records = evaluate_with(&logs, Target::Records(&per_record), RewardModel::SlotCtr, None, &config).unwrap();
    for (x, y) in slot.results.iter().zip(&records.results) {
        assert!(close(x.estimate, y.estimate) && x.samples.len() == y.samples.len(), "{x:?} {y:?}");
        assert!(x.samples.iter().zip(&y.samples).all(|(a, b)| close(*a, *b)));
    }
    // a fixed reward model that equals the true mean reward of every (record, action):
    // DR's correction averages to zero, and DM is that model's value of the target
    let fixed = evaluate_with(&logs, Target::Records(&target), RewardModel::Records(&q), None, &config).unwrap();
    assert!(close(fixed.results[1].estimate, expected_target.iter().sum::<f64>() / 5.0));
    // IPW: mean(w r) = (2 + 0 + 0 + 2 + 2) / 5
    assert!(close(fixed.results[0].estimate, 6.0 / 5.0));
    assert!(fixed.truth.is_none() && fixed.relative_errors.is_empty());
    // bad inputs
    assert!(RecordMatrix::policy(1, 2, vec![0.5, 0.6]).unwrap_err().to_string().contains("sum to"));
    assert!(RecordMatrix::predictions(2, 2, vec![0.5; 3]).unwrap_err().to_string().contains("3 values for 2 records"));
    assert!(RecordMatrix::predictions(1, 2, vec![0.5, f64::NAN]).unwrap_err().to_string().contains("not finite"));
    let short = RecordMatrix::policy(1, 2, vec![0.5, 0.5]).unwrap();
    let err = record_terms(&logs, &all, PolicyRows::Records(&short), RewardRows::Records(&q)).unwrap_err();
    assert!(err.to_string().contains("the target policy covers 2 actions and 1 records"), "{err}");
}

#[test]
fn dr_with_a_perfect_per_record_model_is_unbiased() {
    use attnlab_eval::ope::{evaluate_with, RecordMatrix, RewardModel};
    // rewards drawn from known per-(record, action) means; the logging policy is uniform over
    // 4 actions; the target puts all mass on the best action of each record. With the true
    // means as its model DM is the truth, and DR keeps only the noise of r − q at the logged
    // action.
    let (n, k) = (4000, 4);
    let mut rng = SplitMix64::new(11);
    let mut uniform01 = move || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let (mut actions, mut rewards, mut means, mut target) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut truth = 0.0;
    for _ in 0..n {
        let row: Vec<f64> = (0..k).map(|_| 0.05 + 0.5 * uniform01()).collect();
        let best = (0..k).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        truth += row[best];
        let a = ((uniform01() * k as f64) as usize).min(k - 1);
        actions.push(a);
        rewards.push(if uniform01() < row[a] { 1.0 } else { 0.0 });
        target.extend((0..k).map(|j| if j == best { 1.0 } else { 0.0 }));
        means.extend(row);
    }
    let truth = truth / n as f64;
    let logs = SlotLogs::new(actions, vec![0; n], vec![1.0 / k as f64; n], rewards, k, 1).unwrap();
    let target = RecordMatrix::policy(n, k, target).unwrap();
    let q = RecordMatrix::predictions(n, k, means).unwrap();
    let config = OpeConfig { estimators: vec![Estimator::Dm, Estimator::Dr, Estimator::Ipw], resamples: 200, seed: 5, reward_prior: 1.0 };
    let r = evaluate_with(&logs, Target::Records(&target), RewardModel::Records(&q), Some(truth), &config).unwrap();
    // DM with the true means is the truth exactly
    assert!(close(r.results[0].estimate, truth));
    // DR and IPW cover the truth; DR's interval is narrower than IPW's (the model removes the
    // variance of the reward means)
    for e in &r.results[1..] {
        assert!(e.ci_low <= truth && truth <= e.ci_high, "{e:?} truth {truth}");
    }
    let width = |e: &attnlab_eval::ope::EstimatorResult| e.ci_high - e.ci_low;
    assert!(width(&r.results[1]) < width(&r.results[2]), "{:?}", r.results);
}
