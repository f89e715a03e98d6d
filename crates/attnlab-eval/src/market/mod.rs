//! Ad-market economics for offline evaluation: what a ranking model is worth
//! once its predictions price and allocate feed slots.
//!
//! - [`auction`]: one feed request with K ad slots whose examination
//!   probability falls with position; generalized second price, VCG and
//!   first price over candidates ranked by eCPM (bid × pCTR, × pCVR for CPA
//!   bids), with a reserve price and a quality floor; and [`Pacer`], a
//!   per-advertiser daily budget with a bid-shading pacing multiplier.
//! - [`abtest`]: an offline A/B replay. Every arm ranks the *same* sessions
//!   with its own predictions; outcomes are drawn from the *true*
//!   probabilities with common random numbers; per-arm revenue, CTR, CVR,
//!   ROI, attention and organic engagement, paired differences against arm 0
//!   with 95% CIs and p-values, and [`sessions_needed`] for power analysis.
//! - [`ips`](mod@ips): inverse propensity scoring and self-normalised IPS of a new
//!   policy's value from logged bandit feedback.
//!
//! Inputs are plain slices and structs (nothing here knows the simulator of
//! `attnlab-data`); money is `f64` in currency units. Randomness comes only
//! from [`SplitMix64`] seeds, so a seed gives the same numbers everywhere.

pub mod abtest;
pub mod auction;
pub mod feed;
pub mod ips;

pub use abtest::{
    AdCandidate, AdvertiserOutcome, Arm, ArmPredictions, ArmReport, Budgets, Difference, FeedPolicy, MarketMetric, OrganicCandidate, ReplayConfig,
    ReplayReport, Session, SessionOutcome, replay, sessions_needed,
};
pub use auction::{
    Ad, AuctionConfig, AuctionOutcome, BidKind, Mechanism, Pacer, Winner, position_examination, run_auction,
};
pub use feed::{Placement, rank_feed};
pub use ips::{Estimate, LoggedBandit, TargetPolicy, ips, snips};

use crate::significance::SplitMix64;

/// `z` with `Φ(z) = 0.975`: the half-width, in standard errors, of a
/// two-sided 95% normal interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// Uniform on [0, 1) with 53 random bits.
pub fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An index drawn with the probabilities `probs` (one uniform, by the
/// inverse of their running sum; the last index takes any rounding gap).
pub fn draw_index(probs: &[f64], rng: &mut SplitMix64) -> usize {
    let u = uniform(rng);
    let mut acc = 0.0;
    probs
        .iter()
        .position(|p| {
            acc += p;
            u < acc
        })
        .unwrap_or(probs.len().saturating_sub(1))
}

/// A standard normal draw (Box–Muller, one of the pair).
pub fn standard_normal(rng: &mut SplitMix64) -> f64 {
    let u1 = 1.0 - uniform(rng); // in (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The standard normal CDF `Φ(x)`, to about 1e-14 absolute.
///
/// `erf` by its everywhere-convergent series of positive terms
/// `erf(x) = 2/√π · e^{-x²} · Σ (2x²)^n x / (1·3·…·(2n+1))` below |x| = 3 (in
/// units of x/√2), and `erfc` by its continued fraction (modified Lentz) above.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let t = x.abs() / std::f64::consts::SQRT_2;
    let upper_tail = 0.5 * erfc(t); // P(Z > |x|)
    if x >= 0.0 { 1.0 - upper_tail } else { upper_tail }
}

/// Two-sided p-value of a standard normal statistic: `P(|Z| ≥ |z|)`.
pub fn normal_two_sided(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// `erfc(t)` for `t ≥ 0`.
fn erfc(t: f64) -> f64 {
    const FRAC_2_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
    if t.is_infinite() {
        return 0.0;
    }
    if t < 3.0 {
        let (mut term, mut sum, mut n) = (t, t, 0.0);
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * t * t / (2.0 * n + 1.0);
            sum += term;
        }
        1.0 - FRAC_2_SQRT_PI * (-t * t).exp() * sum
    } else {
        // erfc(t) = e^{-t²}/√π · 1/(t + (1/2)/(t + 1/(t + (3/2)/(t + …))))
        let tiny = 1e-300;
        let (mut f, mut c, mut d) = (t, t, 0.0);
        for k in 1..200 {
            let a = k as f64 / 2.0;
            d = t + a * d;
            d = if d.abs() < tiny { 1.0 / tiny } else { 1.0 / d };
            c = t + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        FRAC_2_SQRT_PI / 2.0 * (-t * t).exp() / f
    }
}

/// The standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1) (NaN outside):
/// Acklam's rational approximation (relative error 1.2e-9) polished by one
/// Halley step on [`normal_cdf`].
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // one Halley step: e / φ(x) is the Newton correction
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Mean and sample variance (n - 1 denominator; 0 for fewer than 2 values).
pub(crate) fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() < 2 { 0.0 } else { xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) };
    (m, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_functions_match_reference_values() {
        // reference values from scipy.stats.norm
        for (x, p) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.959_963_984_540_054, 0.025),
            (3.5, 0.999_767_370_920_964_4),
            (-6.0, 9.865_876_450_376_946e-10),
        ] {
            assert!((normal_cdf(x) - p).abs() < 1e-13 * p.max(1e-3), "Φ({x}) = {} vs {p}", normal_cdf(x));
        }
        for (p, x) in [(0.975, Z_95), (0.8, 0.841_621_233_572_914_3), (0.5, 0.0), (1e-6, -4.753_424_308_822_899)] {
            assert!((normal_quantile(p) - x).abs() < 1e-11, "Φ⁻¹({p}) = {} vs {x}", normal_quantile(p));
        }
        assert!((normal_two_sided(Z_95) - 0.05).abs() < 1e-14);
        assert!(normal_quantile(1.0).is_nan() && normal_quantile(0.0).is_nan());
    }
}
