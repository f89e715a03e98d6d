//! Metrics for attention models, in pure Rust (no libtorch).
//!
//! - Point-wise ([`pointwise`]): exact AUC (ties as average ranks), GAUC
//!   impression-weighted and unweighted, log loss, RMSE, MAE, calibration.
//! - Ranking ([`ranking`]): Hit / Recall / Precision / NDCG / MRR / MAP @K
//!   with RecBole's definitions, ItemCoverage / AveragePopularity /
//!   GiniIndex @K; **ties are broken pessimistically** (a relevant item tied
//!   with an irrelevant one ranks below it). [`RankingEvaluator`] takes user
//!   chunks and returns means and per-user values.
//! - Multi-task ([`multitask`]): CTR, CVR (clicked impressions only) and
//!   CTCVR AUC; [`TaskMetric`] names any of them (`auc`, `ndcg@10`,
//!   `cvr_auc`), for validation, early stopping and reports.
//! - [`PerUser`] values and their `user,metric,value` CSV, and
//!   [`evaluate_csv`] for a predictions file.
//! - Exposure and fairness ([`exposure`]): position-discounted item
//!   exposure, its Gini and entropy, the long-tail share, disparity of
//!   exposure among providers, and metric gaps between user groups.
//! - Comparisons ([`significance`]): paired t-test, Wilcoxon signed-rank,
//!   bootstrap CI and Holm's adjustment on two runs' per-user values;
//!   reproduction [`targets`] and their verdicts.
//! - Off-policy evaluation ([`ope`]): DM, IPW, SNIPW, DR, SNDR, Switch-DR
//!   and DRos from logged bandit feedback, each with a bootstrap 95% CI.
//!
//! Every [`Metric`] knows its name and whether higher is better, so early
//! stopping and reports never guess. The only file I/O is in `evaluate_csv`
//! and the per-user file helpers, on paths the caller gives.

mod csvfile;
pub mod dwell;
mod error;
pub mod exposure;
mod metric;
pub mod multitask;
mod peruser;
pub mod pointwise;
pub mod ranking;
pub mod significance;
mod task_metric;
pub mod targets;

pub use dwell::{dwell_at_k, dwell_ndcg_at_k, dwell_weighted_auc, log_dwell_errors, soft_label_auc, DwellPredictions};
pub use csvfile::{evaluate_csv, evaluate_csv_metrics, evaluate_csv_with, CsvOptions};
pub use error::{EvalError, Result};
pub use metric::{Metric, Predictions, RankingMetric, STANDARD_KS};
pub use multitask::{ctcvr_auc, ctr_auc, cvr_auc, multitask_auc, MultiTask, MultiTaskAuc};
pub use peruser::{gauc_per_user, read_per_user, read_per_user_file, write_per_user, write_per_user_file, PerUser, PER_USER_HEADER};
pub use pointwise::{auc, calibration, gauc, log_loss, mae, per_user_auc, rmse, Bin, Calibration, Gauc};
pub use ranking::{labeled_ranking, RankingEvaluator, RankingOptions, RankingReport};
pub use significance::{bootstrap_ci, compare, holm, pair_by_user, paired_t, stars, wilcoxon, Comparison, TTest, Wilcoxon, WilcoxonMethod};
pub use targets::{verdict, Status, Target, Verdict};
pub use task_metric::TaskMetric;
pub mod privacy;
pub use privacy::{epsilon, noise_for_epsilon, rdp};

// Off-policy evaluation of recommendation policies from logged feedback.
pub mod ope;

// Auctions, budget pacing, offline A/B replay and off-policy estimators of
// the ad market.
pub mod market;
pub use market::{
    ips, replay, run_auction, sessions_needed, snips, Ad, AdCandidate, Arm, ArmPredictions, AuctionConfig, BidKind, Estimate,
    FeedPolicy, LoggedBandit, MarketMetric, Mechanism, OrganicCandidate, Pacer, ReplayConfig, ReplayReport, Session, TargetPolicy,
};
