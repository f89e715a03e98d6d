//! Off-policy evaluation (OPE): the value of a target policy `π` estimated
//! from logs of another policy `μ`, with the estimators of the Open Bandit
//! Pipeline (Saito et al., 2021) and a bootstrap 95% CI for each.
//!
//! Every estimator is a function of four per-record numbers ([`Terms`]):
//! the importance weight `w_i = π(a_i|x_i) / μ(a_i|x_i)`, the reward `r_i`,
//! a reward model's prediction for the logged action `q̂_i = q̂(x_i, a_i)`
//! and its value under the target `v̂_i = Σ_a π(a|x_i) q̂(x_i, a)`:
//!
//! | estimator | value |
//! |---|---|
//! | DM | `mean(v̂)` |
//! | IPW | `mean(w r)` |
//! | SNIPW | `Σ w r / Σ w` |
//! | DR | `mean(v̂ + w (r − q̂))` |
//! | SNDR | `mean(v̂) + Σ w (r − q̂) / Σ w` |
//! | Switch-DR(τ) | `mean(v̂ + 1[w ≤ τ] w (r − q̂))` (OBP's form: τ = 0 is DM, τ = ∞ is DR) |
//! | DRos(λ) | `mean(v̂ + λw/(w² + λ) (r − q̂))` (λ = 0 is DM, λ = ∞ is DR) |
//!
//! - [`terms`]: [`Terms`] from per-record matrices (any contexts).
//! - [`slots`]: logs whose context is the slot a recommendation was shown
//!   in (the Open Bandit Dataset), context-free target policies per slot
//!   (uniform, or another log's empirical action distribution), and the
//!   reward model fitted from the logs themselves: a smoothed CTR per
//!   item x slot.
//! - [`records`]: target policies and reward models at each record's own
//!   context (a trained click model's policy and predictions).
//! - [`bootstrap`]: the percentile bootstrap over records, recomputing
//!   every estimator (and refitting the reward model) on each resample.
//! - [`evaluate`]: one evaluation of slot logs, its table and the relative
//!   error against a known truth.

pub mod bootstrap;
pub mod estimators;
pub mod evaluate;
pub mod records;
pub mod slots;
pub mod terms;

pub use bootstrap::{bootstrap, EstimatorResult};
pub use estimators::{Estimator, ESTIMATORS};
pub use evaluate::{evaluate, evaluate_with, OpeConfig, OpeReport, RewardModel, Target};
pub use records::{record_terms, PolicyRows, RecordMatrix, RewardRows};
pub use slots::{SlotLogs, SlotPolicy, SlotRewardModel};
pub use terms::Terms;
