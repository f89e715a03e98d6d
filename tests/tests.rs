//! End-to-end tests of the `attnlab` binary: one test executable (each one
//! links libtorch), with shared helpers in `util`.

mod util;

/// The MLflow test server, shared with attnlab-track's tests.
#[allow(dead_code)]
#[path = "../crates/attnlab-track/tests/common/mod.rs"]
mod mlflow_server;

mod cli;
mod ctr_log;
mod data;
mod experiments;
mod market;
mod mlflow;
mod ope;
mod outputs;
mod privacy;
mod quickstart;
mod reports;
mod runs;
mod slurm;
mod stores;
