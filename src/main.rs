//! The `attnlab` command line: a thin layer that parses arguments, calls the
//! library crates and maps errors to exit codes (0 ok, 2 bad input, 1 other).

mod attention_sample;
mod cli;
mod commands;
mod ctr_log;
mod exit;
mod interrupt;
mod market_scoring;
mod market_sessions;
mod output_file;
mod prepare;
mod private_runs;
mod pseudonym;
mod slurm;
mod table;
mod targets;
mod task_runs;
mod train_config;
mod trial_board;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", exit::describe(&err));
            ExitCode::from(exit::code_for(&err))
        }
    }
}
