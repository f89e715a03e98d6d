//! Differential-privacy accounting for DP-SGD: the Rényi-DP (RDP) accountant
//! of the sampled Gaussian mechanism, computed as Opacus computes it
//! (`opacus/accountants/analysis/rdp.py`, itself after TF Privacy).
//!
//! One DP-SGD step samples each example with probability `q` (Poisson
//! sampling), clips per-example gradients to norm 1 and adds Gaussian noise
//! of standard deviation `noise_multiplier`. Its RDP at order `α` is
//! `log(A_α) / (α - 1)` (Mironov, Talwar & Zhang 2019, "Rényi Differential
//! Privacy of the Sampled Gaussian Mechanism", section 3.3), summed over
//! `steps`: a finite binomial sum for integer `α`, two alternating series of
//! erfc terms for fractional `α` (stopped, as in Opacus, once both new terms
//! fall below `e^-30`). Everything is in log space.
//!
//! RDP becomes (ε, δ)-DP with the conversion Opacus uses (Balle et al. 2020,
//! "Hypothesis testing interpretations and Rényi differential privacy",
//! theorem 21):
//! `ε = rdp_α - (ln δ + ln α) / (α - 1) + ln((α - 1) / α)`, minimised over
//! the orders. [`epsilon`] uses [`default_orders`], Opacus's
//! `RDPAccountant.DEFAULT_ALPHAS`, so both report the same ε and order.
//!
//! tests/privacy.rs checks [`epsilon`] and [`rdp`] against Opacus on a grid
//! (fixture made by tests/fixtures/make_privacy_fixtures.py).

use crate::error::{EvalError, Result};

/// Relative tolerance of [`noise_for_epsilon`]: the returned noise
/// multiplier `σ` meets the target and `σ * (1 - NOISE_REL_TOL)` does not.
pub const NOISE_REL_TOL: f64 = 1e-6;

/// Largest noise multiplier [`noise_for_epsilon`] tries before giving up.
pub const MAX_NOISE: f64 = 1e6;

/// Smallest noise multiplier [`noise_for_epsilon`] tries.
pub const MIN_NOISE: f64 = 1e-4;

/// Safety cap on the terms of the fractional-order series (Opacus has none;
/// the series stops long before this for any sane `q` and `σ`).
const MAX_SERIES_TERMS: usize = 50_000_000;

/// Opacus's `DEFAULT_ALPHAS`: `1.1, 1.2, …, 10.9` then `12, 13, …, 63`.
pub fn default_orders() -> Vec<f64> {
    let fractional = (1..100).map(|x| 1.0 + x as f64 / 10.0);
    let integer = (12..64).map(|x| x as f64);
    fractional.chain(integer).collect()
}

/// RDP of `steps` iterations of the sampled Gaussian mechanism, one value
/// per order (orders must be > 1; an infinite order gives `inf`, an order
/// <= 1 or NaN gives NaN). This is the raw curve and does not validate its
/// inputs, like Opacus's `compute_rdp`: `q == 0` gives 0 and
/// `noise_multiplier == 0` gives `inf`. A value the series cannot represent
/// (where Opacus would raise) comes out as NaN, which [`privacy_spent`]
/// skips.
pub fn rdp(q: f64, noise_multiplier: f64, steps: u64, orders: &[f64]) -> Vec<f64> {
    orders.iter().map(|&a| rdp_one(q, noise_multiplier, a) * steps as f64).collect()
}

/// Best (ε, order) for a given δ from an RDP curve: Opacus's
/// `get_privacy_spent`. NaN entries are ignored (ties go to the first
/// order); if every entry is NaN the answer is `(inf, NaN)`.
pub fn privacy_spent(orders: &[f64], rdp: &[f64], delta: f64) -> Result<(f64, f64)> {
    if orders.len() != rdp.len() || orders.is_empty() {
        return Err(EvalError::InvalidArgument(format!(
            "privacy_spent needs one RDP value per order, got {} orders and {} values",
            orders.len(),
            rdp.len()
        )));
    }
    check_delta(delta)?;
    let mut best = (f64::INFINITY, f64::NAN);
    let mut found = false;
    for (&a, &r) in orders.iter().zip(rdp) {
        let eps = r - (delta.ln() + a.ln()) / (a - 1.0) + ((a - 1.0) / a).ln();
        if !eps.is_nan() && (!found || eps < best.0) {
            best = (eps, a);
            found = true;
        }
    }
    Ok(best)
}

/// (ε, best order) after `steps` DP-SGD steps with sampling rate `q` and
/// noise multiplier `noise_multiplier`, for the given δ, over
/// [`default_orders`] — what Opacus's `RDPAccountant.get_epsilon` reports.
pub fn epsilon(q: f64, noise_multiplier: f64, steps: u64, delta: f64) -> Result<(f64, f64)> {
    check_q(q)?;
    check_noise(noise_multiplier)?;
    check_steps(steps)?;
    check_delta(delta)?;
    let orders = default_orders();
    privacy_spent(&orders, &rdp(q, noise_multiplier, steps, &orders), delta)
}

/// The smallest noise multiplier for which [`epsilon`] is at most
/// `target_eps`, to within [`NOISE_REL_TOL`] relative: the returned `σ`
/// meets the target and `σ * (1 - NOISE_REL_TOL)` does not.
///
/// ε falls monotonically as σ grows, so this brackets the answer by doubling
/// (or halving) from σ = 1 and then bisects. Errors on invalid inputs, when
/// even `MAX_NOISE` does not reach the target, or when `MIN_NOISE` already
/// does (no useful lower bound).
pub fn noise_for_epsilon(q: f64, steps: u64, delta: f64, target_eps: f64) -> Result<f64> {
    check_q(q)?;
    check_steps(steps)?;
    check_delta(delta)?;
    if !(target_eps > 0.0 && target_eps.is_finite()) {
        return Err(EvalError::InvalidArgument(format!("target epsilon must be positive and finite, got {target_eps}")));
    }
    let meets = |sigma: f64| -> Result<bool> { Ok(epsilon(q, sigma, steps, delta)?.0 <= target_eps) };

    // Bracket: eps(lo) > target >= eps(hi).
    let (mut lo, mut hi) = (1.0, 1.0);
    if meets(1.0)? {
        loop {
            lo /= 2.0;
            if lo < MIN_NOISE {
                return Err(EvalError::InvalidArgument(format!(
                    "target epsilon {target_eps} is met by every noise multiplier down to {MIN_NOISE}"
                )));
            }
            if !meets(lo)? {
                break;
            }
            hi = lo;
        }
    } else {
        loop {
            hi *= 2.0;
            if hi > MAX_NOISE {
                return Err(EvalError::InvalidArgument(format!(
                    "target epsilon {target_eps} is not reached even with noise multiplier {MAX_NOISE}"
                )));
            }
            if meets(hi)? {
                break;
            }
            lo = hi;
        }
    }
    while hi - lo > NOISE_REL_TOL * hi {
        let mid = 0.5 * (lo + hi);
        if meets(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

fn check_q(q: f64) -> Result<()> {
    if q > 0.0 && q <= 1.0 {
        Ok(())
    } else {
        Err(EvalError::InvalidArgument(format!("sampling rate q must be in (0, 1], got {q}")))
    }
}

fn check_noise(sigma: f64) -> Result<()> {
    if sigma > 0.0 && sigma.is_finite() {
        Ok(())
    } else {
        Err(EvalError::InvalidArgument(format!("noise multiplier must be positive and finite, got {sigma}")))
    }
}

fn check_steps(steps: u64) -> Result<()> {
    if steps > 0 {
        Ok(())
    } else {
        Err(EvalError::InvalidArgument("steps must be positive".into()))
    }
}

fn check_delta(delta: f64) -> Result<()> {
    if delta > 0.0 && delta < 1.0 {
        Ok(())
    } else {
        Err(EvalError::InvalidArgument(format!("delta must be in (0, 1), got {delta}")))
    }
}

/// RDP of one step at order `alpha` (Opacus's `_compute_rdp`).
fn rdp_one(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 0.0 {
        return 0.0;
    }
    if sigma == 0.0 {
        return f64::INFINITY;
    }
    if alpha.is_nan() || alpha <= 1.0 {
        return f64::NAN;
    }
    if q == 1.0 {
        return alpha / (2.0 * sigma * sigma);
    }
    if alpha.is_infinite() {
        return f64::INFINITY;
    }
    let log_a = if alpha.fract() == 0.0 { log_a_int(q, sigma, alpha) } else { log_a_frac(q, sigma, alpha) };
    log_a / (alpha - 1.0)
}

/// `log(exp(x) + exp(y))`.
fn log_add(x: f64, y: f64) -> f64 {
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    if a == f64::NEG_INFINITY {
        return b;
    }
    (a - b).exp().ln_1p() + b
}

/// `log(exp(x) - exp(y))`; NaN if the difference would be negative.
fn log_sub(x: f64, y: f64) -> f64 {
    if x < y {
        return f64::NAN;
    }
    if y == f64::NEG_INFINITY {
        return x;
    }
    if x == y {
        return f64::NEG_INFINITY;
    }
    // exp(x) - exp(y) = exp(x) * (1 - exp(y - x)); exact for any gap.
    x + (-(y - x).exp_m1()).ln()
}

/// `log(A_α)` for integer `α`: a finite binomial sum.
fn log_a_int(q: f64, sigma: f64, alpha: f64) -> f64 {
    let n = alpha as u64;
    let (ln_q, ln_1q) = (q.ln(), (-q).ln_1p());
    let mut log_a = f64::NEG_INFINITY;
    let mut log_binom = 0.0; // ln C(n, i), accumulated
    for i in 0..=n {
        if i > 0 {
            log_binom += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        let fi = i as f64;
        let s = log_binom + fi * ln_q + (alpha - fi) * ln_1q + (fi * fi - fi) / (2.0 * sigma * sigma);
        log_a = log_add(log_a, s);
    }
    log_a
}

/// `log(A_α)` for fractional `α`: the integrals over `(-inf, z0]` and
/// `[z0, inf)` as two series of erfc terms with generalized binomial
/// coefficients, whose signs alternate once `i > α`.
fn log_a_frac(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (ln_q, ln_1q) = (q.ln(), (-q).ln_1p());
    let two_s2 = 2.0 * sigma * sigma;
    let sqrt2_sigma = std::f64::consts::SQRT_2 * sigma;
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let (mut log_coef, mut positive) = (0.0f64, true); // ln |C(α, i)| and its sign
    for i in 0..MAX_SERIES_TERMS {
        let fi = i as f64;
        if i > 0 {
            let factor = alpha - fi + 1.0;
            log_coef += factor.abs().ln() - fi.ln();
            if factor < 0.0 {
                positive = !positive;
            }
        }
        let j = alpha - fi;
        let log_t0 = log_coef + fi * ln_q + j * ln_1q;
        let log_t1 = log_coef + j * ln_q + fi * ln_1q;
        let log_e0 = 0.5f64.ln() + log_erfc((fi - z0) / sqrt2_sigma);
        let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / sqrt2_sigma);
        let log_s0 = log_t0 + (fi * fi - fi) / two_s2 + log_e0;
        let log_s1 = log_t1 + (j * j - j) / two_s2 + log_e1;
        if positive {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if log_s0.max(log_s1) < -30.0 || log_a0.is_nan() || log_a1.is_nan() {
            break;
        }
    }
    log_add(log_a0, log_a1)
}

/// `ln(erfc(x))`, accurate also where erfc underflows, through
/// `erfc(x) = Q(1/2, x²)` for `x >= 0` and `1 + P(1/2, x²)` for `x < 0`,
/// with the regularized incomplete gamma functions P = 1 - Q computed by
/// their series (x² < 1.5) or continued fraction (x² >= 1.5), the latter
/// kept in log space.
fn log_erfc(x: f64) -> f64 {
    const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1; // ln Γ(1/2)
    if x.is_nan() {
        return f64::NAN;
    }
    let x2 = x * x;
    if x2 < 1.5 {
        let p = gamma_p_half_series(x2);
        return if x >= 0.0 { (-p).ln_1p() } else { p.ln_1p() };
    }
    if x2.is_infinite() {
        return if x > 0.0 { f64::NEG_INFINITY } else { 2f64.ln() };
    }
    let log_q = -x2 + 0.5 * x2.ln() - LN_SQRT_PI + gamma_q_half_cf(x2).ln();
    if x > 0.0 {
        log_q
    } else {
        (2.0 - log_q.exp()).ln()
    }
}

/// Regularized lower incomplete gamma `P(1/2, x)` by its series (x small).
fn gamma_p_half_series(x: f64) -> f64 {
    const LN_SQRT_PI: f64 = 0.572_364_942_924_700_1;
    if x == 0.0 {
        return 0.0;
    }
    let a = 0.5;
    let (mut ap, mut term) = (a, 1.0 / a);
    let mut sum = term;
    for _ in 0..500 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * f64::EPSILON * 0.25 {
            break;
        }
    }
    sum * (-x + a * x.ln() - LN_SQRT_PI).exp()
}

/// Continued fraction `h` of the regularized upper incomplete gamma,
/// `Q(1/2, x) = exp(-x) x^(1/2) / Γ(1/2) * h` (modified Lentz; x >= 1.5).
fn gamma_q_half_cf(x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let a = 0.5;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..1000 {
        let fi = i as f64;
        let an = -fi * (fi - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < f64::EPSILON * 0.5 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_erfc_on_known_values() {
        // erfc values from the closed forms / standard tables.
        let cases = [
            (0.0, 1.0f64.ln()),
            (0.5, 0.479_500_122_186_953_5f64.ln()),
            (1.0, 0.157_299_207_050_285_13f64.ln()),
            (-1.0, 1.842_700_792_949_715f64.ln()),
            (2.0, 0.004_677_734_981_047_266f64.ln()),
            (-3.0, 1.999_977_909_503_001_4f64.ln()),
            (5.0, 1.537_459_794_428_034_8e-12f64.ln()),
        ];
        for (x, want) in cases {
            let got = log_erfc(x);
            assert!((got - want).abs() <= 1e-14 * want.abs().max(1.0), "log_erfc({x}) = {got}, want {want}");
        }
        // Far tail: ln erfc(x) ~ -x² - ln(x √π) + ln(1 - 1/(2x²)).
        let x: f64 = 40.0;
        let approx = -x * x - (x * std::f64::consts::PI.sqrt()).ln() + (1.0 - 0.5 / (x * x)).ln();
        assert!((log_erfc(x) - approx).abs() < 1e-6);
    }

    #[test]
    fn log_add_and_sub() {
        let (x, y) = (3f64.ln(), 2f64.ln());
        assert!((log_add(x, y) - 5f64.ln()).abs() < 1e-15);
        assert!((log_sub(x, y) - 0.0).abs() < 1e-15);
        assert_eq!(log_add(f64::NEG_INFINITY, y), y);
        assert_eq!(log_sub(x, x), f64::NEG_INFINITY);
        assert!(log_sub(y, x).is_nan());
        assert!((log_sub(1000.0, 0.0) - 1000.0).abs() < 1e-12);
    }

    #[test]
    fn default_orders_match_opacus() {
        let o = default_orders();
        assert_eq!(o.len(), 99 + 52);
        assert_eq!((o[0], o[9], o[98], o[99], o[150]), (1.1, 2.0, 10.9, 12.0, 63.0));
    }
}
