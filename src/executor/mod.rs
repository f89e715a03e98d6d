//! Where the trials of `attnlab run` execute: here, one process after
//! another (the caller's loop), in child processes ([`local`]), or as a
//! Slurm array job ([`slurm`]); [`trial_board`] shows trials running
//! elsewhere.

pub mod local;
pub mod slurm;
pub mod trial_board;

use std::path::Path;

use attnlab_experiment::{Prepared, Pseudonymiser};
use attnlab_spec::{LoadedSpec, Trial};

use crate::cli::ExecutorArgs;
use crate::exit::BadInput;
use slurm::SlurmOptions;

/// Where trials execute.
pub enum Executor {
    /// Here: in this process, or `--jobs N` child processes.
    Local,
    /// As a Slurm array job.
    Slurm(SlurmOptions),
}

impl Executor {
    pub fn from_args(args: ExecutorArgs) -> anyhow::Result<Executor> {
        if args.executor == "slurm" {
            return Ok(Executor::Slurm(SlurmOptions::from_args(&args)));
        }
        let slurm_only = [
            ("--dry-run", args.dry_run),
            ("--wait", args.wait),
            ("--partition", args.partition.is_some()),
            ("--time", args.time.is_some()),
            ("--gpus", args.gpus.is_some()),
            ("--mem", args.mem.is_some()),
            ("--cpus", args.cpus != 1),
        ];
        match slurm_only.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(BadInput(format!("{flag} applies to --executor slurm only")).into()),
            None => Ok(Executor::Local),
        }
    }
}

/// A sweep's trials, checked and with their data prepared, and how `run` was asked to run them.
pub struct Sweep<'a> {
    pub spec_path: &'a Path,
    pub overrides: &'a [String],
    pub base: &'a LoadedSpec,
    pub trials: &'a [(&'a Trial, LoadedSpec, Prepared)],
    /// Trials at once.
    pub jobs: usize,
    pub force: bool,
    pub store_path: &'a Path,
    pub sweep_parent: Option<&'a str>,
    pub pseudonyms: Option<&'a Pseudonymiser>,
}

impl Sweep<'_> {
    fn runs_per_trial(&self) -> usize {
        self.base.spec.models.len() * self.base.spec.seeds.len()
    }

    /// The board's rows: the trials among `only`, with their swept values.
    fn board_rows(&self, only: &[usize]) -> Vec<(usize, String)> {
        self.trials.iter().filter(|(t, ..)| only.contains(&t.index)).map(|(t, ..)| (t.index, t.label.clone())).collect()
    }
}
