//! `attnlab run --jobs N`: each trial of a sweep as `attnlab run SPEC
//! --trial I` in a child process of its own, at most N at a time, shown
//! live on the trial board.

use anyhow::Context;
use attnlab_track::{RunFilter, Store};

use super::trial_board::TrialBoard;
use super::Sweep;

/// Torch threads of a trial process started by `--jobs` (when the spec sets none).
pub const THREADS_ENV: &str = "ATTNLAB_THREADS";

/// The device of a trial process started by `--jobs` with `devices:`
/// (outside the spec, so not part of the run's identity).
pub const DEVICE_ENV: &str = "ATTNLAB_DEVICE";

/// Runs each trial as `attnlab run SPEC --trial I` in its own process, at
/// most `jobs` at a time, each with an equal share of the cores (one
/// VarStore and one torch thread pool per process: tch's global seed and
/// thread pool are never shared). The caller then reads the results back
/// from the store, where every finished trial is found by its identity.
pub fn run_in_processes(sweep: &Sweep<'_>) -> anyhow::Result<()> {
    let Sweep { spec_path, overrides, trials, jobs, force, store_path, sweep_parent, .. } = *sweep;
    let devices = &sweep.base.spec.devices;
    let store = Store::open(store_path)?;
    let runs_per_trial = trials.first().map_or(1, |(_, l, _)| l.spec.models.len() * l.spec.seeds.len());
    let all: Vec<usize> = trials.iter().map(|(t, ..)| t.index).collect();
    let mut board = TrialBoard::new(sweep.board_rows(&all), runs_per_trial);
    let children = RunFilter { parent: sweep_parent.map(str::to_string), ..Default::default() };
    let exe = std::env::current_exe().context("locating the attnlab executable")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / jobs).max(1);
    let mut pending: Vec<usize> = trials.iter().map(|(t, _, _)| t.index).rev().collect();
    // (trial, slot, process): a slot is a place on one of `devices`
    let mut running: Vec<(usize, usize, std::process::Child)> = Vec::new();
    let mut failed = Vec::new();
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < jobs {
            let Some(index) = pending.pop() else { break };
            let slot = (0..jobs).find(|s| running.iter().all(|(_, taken, _)| taken != s)).unwrap_or(0);
            let mut cmd = std::process::Command::new(&exe);
            // threads and device through the environment: they are not part of a run's identity
            cmd.arg("run").arg(spec_path).args(overrides).env(THREADS_ENV, threads.to_string());
            if !devices.is_empty() {
                cmd.env(DEVICE_ENV, &devices[slot % devices.len()]);
            }
            cmd.arg("--trial").arg(index.to_string()).arg("--db").arg(store_path);
            if force {
                cmd.arg("--force");
            }
            // the children's tables would repeat ours; their progress goes to stderr
            cmd.stdout(std::process::Stdio::null());
            // their progress bars would interleave; the board shows where they are
            cmd.stderr(std::process::Stdio::null());
            running.push((index, slot, cmd.spawn().context("starting a trial process")?));
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        let mut still = Vec::new();
        for (index, slot, mut child) in running {
            match child.try_wait()? {
                Some(status) if !status.success() => failed.push(index),
                Some(_) => {}
                None => still.push((index, slot, child)),
            }
        }
        running = still;
        if sweep_parent.is_some() {
            board.update(&store.find_runs(&children)?);
        }
    }
    if !failed.is_empty() {
        eprintln!("trial process(es) {failed:?} failed; their runs are marked in the store");
    }
    Ok(())
}

