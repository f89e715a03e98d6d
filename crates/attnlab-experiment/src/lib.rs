//! Running experiments: the one crate that joins spec, data, models, train,
//! eval and track. A front end (the `attnlab` command line, a server, a
//! test) loads a spec and calls these steps; this crate prints nothing,
//! parses no arguments and starts no processes.
//!
//! - [`dataset`]: a spec's data prepared once for all its runs (simulated
//!   impressions, interactions under a protocol, a click log), with its
//!   checked metrics and fingerprint.
//! - [`identity`]: what makes two runs the same run (`run_key`), a sweep's
//!   parent run, the version constants.
//! - [`run_one`]: one model x seed x trial as a tracked run: params, tags,
//!   provenance, checkpoint policy, `init_from`, training and testing by
//!   task ([`task_runs`], [`train_config`], [`private_runs`]), per-user
//!   values and attention samples ([`attention_sample`]) with users named
//!   by a [`pseudonym::Pseudonymiser`] the caller passes.
//! - [`targets`]: reproduction targets judged on the runs.
//! - [`load_run`]: a finished run back as a model with its weights.
//! - [`ab_test`]: the offline A/B test of finished runs on fresh sessions.
//! - [`ope`]: off-policy evaluation on the Open Bandit Dataset, with trained
//!   click runs as target policy or reward model, stored as a run.
//! - [`sync`]: mirroring runs to MLflow.
//!
//! Interruption is the caller's: [`run_one::TrialContext::on_active_run`]
//! tells it which run is being trained.

pub mod ab_test;
pub mod attention_sample;
mod ctr_test;
mod impression_model;
pub mod dataset;
mod error;
mod evaluation_run;
pub mod identity;
pub mod load_run;
pub mod ope;
pub mod private_runs;
pub mod pseudonym;
pub mod public_ids;
pub mod report_input;
pub mod run_one;
pub mod size_check;
pub mod sync;
pub mod targets;
pub mod task_runs;
pub mod train_config;
pub mod trials;

pub use dataset::{check, interaction_vocabularies, prepare, require_models, simulator_config, Dataset, IdVocabularies, Prepared};
pub use error::{error_chain, ExperimentError, Result};
pub use identity::{run_key, sweep_parent_id, sweep_parent_run, LIBTORCH_VERSION, SWEEP_MODEL, VERSION};
pub use load_run::{load_run, InteractionData, LoadedRun, RunData};
pub use pseudonym::Pseudonymiser;
pub use public_ids::PublicIds;
pub use size_check::{check_sizes, MemoryBudget};
pub use run_one::{run_one, Attempt, RunResult, TrialContext};
