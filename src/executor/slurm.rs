//! `attnlab run --executor slurm`: a sweep as an sbatch array job, one task
//! per trial, each running `attnlab run SPEC --trial I` into a store of its
//! own (SQLite on a network file system is not safe for concurrent
//! writers); `attnlab runs import` merges them, and `--wait` does it at once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;
use attnlab_experiment::run_key;
use attnlab_spec::ModelSpec;
use attnlab_track::{RunFilter, RunRecord, Store};

use super::trial_board::TrialBoard;
use super::Sweep;
use crate::cli::ExecutorArgs;
use crate::exit::BadInput;

/// The resources of each array task.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus: usize,
    pub gpus: Option<u32>,
    pub mem: Option<String>,
    pub dry_run: bool,
    pub wait: bool,
}

impl SlurmOptions {
    pub fn from_args(a: &ExecutorArgs) -> SlurmOptions {
        SlurmOptions {
            partition: a.partition.clone(),
            time: a.time.clone(),
            cpus: a.cpus.max(1),
            gpus: a.gpus,
            mem: a.mem.clone(),
            dry_run: a.dry_run,
            wait: a.wait,
        }
    }
}

/// One array job: which trials, run how, writing where.
pub struct ArrayJob<'a> {
    pub name: String,
    pub exe: PathBuf,
    /// Absolute, so tasks find it from any folder.
    pub spec: PathBuf,
    pub overrides: &'a [String],
    pub trials: Vec<usize>,
    /// At most this many tasks at once (`%N`); 0 = no limit.
    pub throttle: usize,
    /// Task i writes `task_root/task-i/attnlab.db`; logs and the script live here too.
    pub task_root: PathBuf,
    pub workdir: PathBuf,
    pub force: bool,
}

impl ArrayJob<'_> {
    pub fn task_store(&self, trial: usize) -> PathBuf {
        self.task_root.join(format!("task-{trial}")).join("attnlab.db")
    }

    /// The sbatch script.
    pub fn script(&self, o: &SlurmOptions) -> String {
        let mut array = self.trials.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        if self.throttle > 0 {
            array.push_str(&format!("%{}", self.throttle));
        }
        let root = self.task_root.display();
        let mut s = String::from("#!/bin/bash\n");
        s.push_str(&format!("#SBATCH --job-name={}\n", self.name));
        s.push_str(&format!("#SBATCH --array={array}\n"));
        s.push_str(&format!("#SBATCH --output={root}/slurm-%A_%a.out\n"));
        s.push_str(&format!("#SBATCH --chdir={}\n", self.workdir.display()));
        s.push_str(&format!("#SBATCH --cpus-per-task={}\n", o.cpus));
        let optional = [("partition", &o.partition), ("time", &o.time), ("mem", &o.mem)];
        for (flag, value) in optional {
            if let Some(v) = value {
                s.push_str(&format!("#SBATCH --{flag}={v}\n"));
            }
        }
        if let Some(g) = o.gpus {
            s.push_str(&format!("#SBATCH --gpus={g}\n"));
        }
        s.push_str("set -euo pipefail\n");
        s.push_str("# torch threads = the CPUs Slurm gave this task\n");
        s.push_str("export ATTNLAB_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
        let mut cmd = vec![quote(&self.exe.display().to_string()), "run".into(), quote(&self.spec.display().to_string())];
        cmd.extend(self.overrides.iter().map(|o| quote(o)));
        cmd.push("--trial \"$SLURM_ARRAY_TASK_ID\"".into());
        cmd.push(format!("--db {}/task-\"$SLURM_ARRAY_TASK_ID\"/attnlab.db", quote(&root.to_string())));
        if self.force {
            cmd.push("--force".into());
        }
        s.push_str(&format!("exec {}\n", cmd.join(" ")));
        s
    }

    /// Writes the script beside the task stores and submits it; the job id.
    pub fn submit(&self, o: &SlurmOptions) -> anyhow::Result<String> {
        std::fs::create_dir_all(&self.task_root).with_context(|| format!("creating {}", self.task_root.display()))?;
        let path = self.task_root.join("job.sbatch");
        std::fs::write(&path, self.script(o)).with_context(|| format!("writing {}", path.display()))?;
        let out = Command::new("sbatch").arg("--parsable").arg(&path).output().map_err(|e| {
            BadInput(format!("cannot run sbatch ({e}): is this a Slurm login node? (`--dry-run` prints the script)"))
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(BadInput(format!("sbatch refused {}: {}", path.display(), stderr.trim())).into());
        }
        // --parsable prints "jobid" or "jobid;cluster"
        let text = String::from_utf8_lossy(&out.stdout);
        let id = text.trim().split(';').next().unwrap_or("").to_string();
        if id.is_empty() {
            anyhow::bail!("sbatch printed no job id");
        }
        Ok(id)
    }
}

/// `--dry-run`: the sbatch script of every trial, printed instead of submitted.
pub fn script(sweep: &Sweep<'_>, options: &SlurmOptions) -> anyhow::Result<String> {
    Ok(array_job(sweep, None)?.script(options))
}

/// Submits the trials that have not finished in `store` as an array job.
/// With `--wait`, shows them live until the job is done and imports the
/// task stores; returns whether the results are in `store` to report.
pub fn run(sweep: &Sweep<'_>, store: &Store, options: &SlurmOptions) -> anyhow::Result<bool> {
    let job = array_job(sweep, Some(store))?;
    if job.trials.is_empty() {
        eprintln!("every trial already finished in the store (--force re-runs)");
        return Ok(true);
    }
    let job_id = job.submit(options)?;
    eprintln!("submitted Slurm array job {job_id}: trial(s) {:?}; task stores under {}", job.trials, job.task_root.display());
    if !options.wait {
        eprintln!("when it is done: attnlab runs import {} --db {}", job.task_root.display(), sweep.store_path.display());
        return Ok(false);
    }
    let mut board = TrialBoard::new(sweep.board_rows(&job.trials), sweep.runs_per_trial());
    wait_for(&job_id, || {
        board.update(&task_runs(&job, sweep.sweep_parent));
        Ok(())
    })?;
    for trial in &job.trials {
        let path = job.task_store(*trial);
        if path.is_file() {
            store.import(&path)?;
        }
    }
    Ok(true)
}

/// The children of the sweep in the array tasks' stores so far (a store
/// not yet created or busy is skipped until the next look).
fn task_runs(job: &ArrayJob, parent: Option<&str>) -> Vec<RunRecord> {
    let filter = RunFilter { parent: parent.map(str::to_string), ..Default::default() };
    job.trials
        .iter()
        .map(|t| job.task_store(*t))
        .filter(|p| p.is_file())
        .filter_map(|p| Store::open(&p).and_then(|s| s.find_runs(&filter)).ok())
        .flatten()
        .collect()
}

/// The array job of the trials that have not all finished (every trial
/// with `--force`); with no store, all of them.
fn array_job<'a>(sweep: &Sweep<'a>, store: Option<&Store>) -> anyhow::Result<ArrayJob<'a>> {
    let Sweep { spec_path, overrides, base, trials, jobs, force, store_path, pseudonyms, .. } = *sweep;
    let mut pending = Vec::new();
    for (t, loaded, prepared) in trials {
        let done = |model: &ModelSpec, seed: u64| -> anyhow::Result<bool> {
            let Some(store) = store.filter(|_| !force) else { return Ok(false) };
            Ok(store.finished_run_by_key(&run_key(loaded, &prepared.data_fingerprint, model, seed, pseudonyms))?.is_some())
        };
        let mut all_done = true;
        for model in &loaded.spec.models {
            for &seed in &loaded.spec.seeds {
                all_done &= done(model, seed)?;
            }
        }
        if !all_done {
            pending.push(t.index);
        }
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let absolute = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    Ok(ArrayJob {
        name: format!("attnlab-{}", base.spec.name),
        exe: std::env::current_exe().context("locating the attnlab executable")?,
        spec: absolute(spec_path),
        overrides,
        trials: pending,
        throttle: if jobs > 1 { jobs } else { 0 },
        task_root: absolute(&task_root(store_path, &base.spec.name)),
        workdir: cwd,
        force,
    })
}

/// Whether any task of the job is still queued or running (`squeue`).
pub fn job_active(job_id: &str) -> anyhow::Result<bool> {
    let out = Command::new("squeue").args(["-h", "-j", job_id, "-o", "%i"]).output().context("running squeue")?;
    if !out.status.success() {
        // squeue forgets finished jobs after MinJobAge and then reports an invalid id
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("Invalid job id") {
            return Ok(false);
        }
        anyhow::bail!("squeue -j {job_id}: {}", stderr.trim());
    }
    Ok(!String::from_utf8_lossy(&out.stdout).trim().is_empty())
}

/// Polls until the job has left the queue, calling `tick` about once a second.
fn wait_for(job_id: &str, mut tick: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<()> {
    while job_active(job_id)? {
        tick()?;
        std::thread::sleep(Duration::from_secs(1));
    }
    tick()
}

/// Single quotes for the shell.
fn quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c)) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Where a job's task stores go: beside the main store, per experiment.
pub fn task_root(store_path: &Path, experiment: &str) -> PathBuf {
    store_path.parent().unwrap_or(Path::new(".")).join("slurm").join(experiment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_plain_words_and_escapes_quotes() {
        assert_eq!(quote("train.lr=0.01"), "train.lr=0.01");
        assert_eq!(quote("seeds=[1, 2]"), "'seeds=[1, 2]'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
