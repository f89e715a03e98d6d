use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "attnlab", version, about = "Run, track and compare experiments on models of user attention")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// The run store (SQLite). Default: .attnlab/attnlab.db under the current directory.
    #[arg(long, env = "ATTNLAB_DB", global = true)]
    pub db: Option<PathBuf>,
}

impl StoreArgs {
    pub fn path(&self) -> PathBuf {
        self.db.clone().unwrap_or_else(|| PathBuf::from(".attnlab").join("attnlab.db"))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every model x seed of a spec, log to the store, print a summary.
    Run {
        spec: PathBuf,
        /// Overrides as dotted key=value, e.g. train.epochs=2 models.1.params.embed_dim=8
        overrides: Vec<String>,
        /// Run again even where an identical run (same resolved spec, seed,
        /// data and attnlab version) already FINISHED in the store.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Render the HTML comparison report of an experiment (by name or spec file).
    Report {
        experiment: String,
        /// Output file. Default: reports/<experiment>.html
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a spec (keys, types, models and their params) without running it.
    Validate { spec: PathBuf, overrides: Vec<String> },
    /// Inspect runs in the store.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Versions, libtorch, CUDA, threads and the store path.
    Doctor {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List experiments, or the runs of one experiment.
    List {
        experiment: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}
