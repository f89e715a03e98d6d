//! The `attnlab` command line: a thin layer that parses arguments, calls the
//! library crates and maps errors to exit codes (0 ok, 2 bad input, 1 other).

mod cli;
mod commands;
mod executor;
mod exit;
mod interrupt;
mod output_file;
mod replay;
mod table;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    if !matches!(args.command, cli::Command::Serve(_)) {
        interrupt::end_quietly_on_closed_stdout();
    }
    match commands::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", exit::describe(&err));
            ExitCode::from(exit::code_for(&err))
        }
    }
}

/// What preparing the data said (rows skipped, cache entries rebuilt).
fn print_notes(prepared: &attnlab_experiment::Prepared) {
    for note in &prepared.notes {
        eprintln!("{note}");
    }
}
