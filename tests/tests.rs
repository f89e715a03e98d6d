//! End-to-end tests of the `attnlab` binary: one test executable (each one
//! links libtorch), with shared helpers in `util`.

mod util;


mod cli;
mod ctr_log;
mod data;
mod dwell;
mod experiments;
mod item_features;
mod market;
mod mlflow;
mod obd;
mod ope;
mod outputs;
mod own_data;
mod privacy;
mod providers;
mod quickstart;
mod reports;
mod runs;
mod serve;
mod serve_market;
mod sizes;
mod slurm;
mod stores;
