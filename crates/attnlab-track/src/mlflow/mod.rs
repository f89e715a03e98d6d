//! Client for an MLflow tracking server (REST API 2.0), to mirror runs of
//! the local store. Blocking, with retries for transient failures.
//!
//! - [`MlflowClient`]: experiments, runs, batched logging, reads for checks.
//! - [`sanitize_key`], [`fit_param`], [`digest_tag`]: keys and values MLflow accepts.
//! - [`MlflowError`]: 4xx carry MLflow's `error_code`; exhausted retries name
//!   the endpoint, the attempts and the last cause; a batch that failed
//!   midway says how much of it the server confirmed.
//!
//! `runs/log-batch` is not idempotent on the server (metric points are
//! appended), so the client never resends a batch request whose outcome is
//! unknown, and [`MlflowError::PartialBatch`] tells the caller what to skip
//! when it resends.

mod client;
mod error;
mod keys;
mod retry;
mod wire;

pub use client::{MlflowClient, RUN_STATUSES, RemoteMetric, TOKEN_ENV};
pub use error::{MlflowError, Result};
pub use keys::{
    DIGEST_TAG_SUFFIX, MAX_KEY_LEN, MAX_PARAM_VALUE_LEN, MAX_TAG_VALUE_LEN, digest_tag, fit_param,
    sanitize_key,
};
pub use retry::RetryPolicy;
pub use wire::{
    MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_PER_BATCH, MAX_TAGS_PER_BATCH,
};
