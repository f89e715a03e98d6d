//! Serving finished runs over HTTP/JSON (`attnlab serve`): next-item runs
//! answer `POST /v1/recommend` with a top-K in the data's original ids,
//! click runs of a simulated market `POST /v1/rank` with a ranked feed,
//! feedback arrives through `POST /v1/events` into a durable log, and
//! `/healthz`, `/v1/models` and `/metrics` (Prometheus) describe the server.
//!
//! - [`select`]: which runs, loaded with `attnlab_experiment::load_run`,
//!   and loaded again on `POST /admin/reload` or SIGHUP.
//! - [`catalog`]: a model made ready to serve (vocabularies, scorer).
//! - [`state`]: what it knew of each user (histories, seen items, popularity).
//! - [`bundle`]: a bundle of `attnlab export` served without the store.
//! - [`scorer`]: the thread that owns a model, with dynamic batching.
//! - [`recommend`]: the top-K of a request and the cold-start fallback.
//! - [`market`]: a click run of a simulated market made ready to rank feeds.
//! - [`rank`]: `POST /v1/rank`, ranked by the offline A/B test's `rank_feed`.
//! - [`budget`]: advertisers' live budgets, paced as the A/B replay paces them.
//! - [`feedback`]: the fsync'd event log and the live histories.
//! - [`attention_export`]: the event log as an attention log for training.
//! - [`request`]: request bodies checked field by field.
//! - [`server`]: routes, token, limits, hot reload, graceful stop.
//! - [`offline`]: the same answers in-process, no HTTP: the benchmark's baseline.
//! - [`export`]: a run as a bundle, optionally with int8 id tables.
//!
//! This crate prints nothing: the caller reports the bound address and the
//! summary.

pub mod api;
pub mod attention_export;
pub mod budget;
pub mod bundle;
pub mod catalog;
mod error;
pub mod export;
pub mod feedback;
pub mod market;
pub mod metrics;
pub mod offline;
pub mod rank;
pub mod recommend;
pub mod request;
pub mod scorer;
pub mod select;
pub mod server;
pub mod state;

pub use attention_export::{export_events, ExportedEvents};
pub use bundle::load_bundle;
pub use catalog::{Identity, Served, ServedModel};
pub use export::{export, ExportReport, Quantize};
pub use error::{Result, ServeError};
pub use metrics::Metrics;
pub use offline::{score_offline, OfflineReport};
pub use scorer::Batching;
pub use select::{load_selected, RunSource, Selection};
pub use server::{serve, wait_us, ServeConfig, ServeSummary};
