//! Metrics for attention models, in pure Rust (no libtorch).
//!
//! Point-wise metrics take parallel slices of labels (0/1) and predicted
//! probabilities. Every metric knows whether higher is better, so early
//! stopping and reports never guess.

mod error;
mod metric;
mod pointwise;

pub use error::{EvalError, Result};
pub use metric::{Metric, Predictions};
pub use pointwise::{auc, gauc, log_loss, Gauc};
