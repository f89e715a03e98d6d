mod doctor;
mod report;
mod run;
mod runs;
mod validate;

use crate::cli::{Cli, Command, RunsCommand};

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Run { spec, overrides, force, store } => run::run(&spec, &overrides, force, &store.path()),
        Command::Report { experiment, output, store } => report::report(&experiment, output, &store.path()),
        Command::Validate { spec, overrides } => validate::validate(&spec, &overrides),
        Command::Runs { command: RunsCommand::List { experiment, json, store } } => {
            runs::list(experiment.as_deref(), json, &store.path())
        }
        Command::Doctor { store } => doctor::doctor(&store.path()),
    }
}

/// The attnlab version that produced a run (part of its identity).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The libtorch version this binary links (read at build time).
pub const LIBTORCH_VERSION: &str = match option_env!("ATTNLAB_LIBTORCH_VERSION") {
    Some(v) => v,
    None => "unknown",
};
