//! `attnlab run`: every model x seed of a spec, each a tracked run.

use std::path::{Path, PathBuf};

use anyhow::Context;
use attnlab_eval::write_per_user;
use attnlab_spec::{expand_sweep, load_spec, DeviceChoice, LoadedSpec, ModelSpec, Trial};
use attnlab_track::{peak_memory_bytes, ArtifactSource, NewRun, Provenance, RunFilter, RunRecord, RunStatus, Store};
use attnlab_eval::TaskMetric;
use attnlab_train::{resolve_device, DeviceInfo};

use super::{LIBTORCH_VERSION, VERSION};
use crate::cli::ExecutorArgs;
use crate::exit::BadInput;
use crate::slurm::{self, ArrayJob, SlurmOptions};
use crate::trial_board::TrialBoard;
use crate::prepare::{prepare, Dataset, Prepared};
use crate::task_runs::{train_and_test, RunInputs, Tested};
use crate::table::{fmt_value, Table};
use crate::targets::target_rows;

/// How `attnlab run` was asked to work.
pub struct RunOptions {
    /// Only this sweep trial.
    pub trial: Option<usize>,
    /// Run even when an identical run already finished.
    pub force: bool,
    /// Trials run at once, each in its own process.
    pub jobs: usize,
    pub executor: Executor,
}

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

pub fn run(spec_path: &Path, overrides: &[String], options: &RunOptions, store_path: &Path) -> anyhow::Result<()> {
    let RunOptions { trial, force, jobs, ref executor } = *options;
    let base = load_spec(spec_path, overrides)?;
    let trials = expand_sweep(&base.spec)?;
    let selected: Vec<&Trial> = match trial {
        None => trials.iter().collect(),
        Some(i) => vec![trials
            .get(i)
            .ok_or_else(|| BadInput(format!("--trial {i}: the spec has {} trial(s), numbered from 0", trials.len())))?],
    };
    let cache_root = store_path.parent().unwrap_or(Path::new(".")).join("cache");
    // every trial is checked (and its data prepared) before the first run starts
    let mut prepared_trials = Vec::new();
    for t in &selected {
        // sweep values first: the command line wins over them
        let all: Vec<String> = t.overrides.iter().chain(overrides).cloned().collect();
        let loaded = load_spec(spec_path, &all)?;
        if loaded.spec.dataset.pseudonymise {
            crate::pseudonym::Pseudonymiser::from_env()?; // no key: exit 2 before anything is written
        }
        let prepared = prepare(&loaded, &cache_root)?;
        prepared_trials.push((*t, loaded, prepared));
    }
    let sweep_parent = sweep_parent_id(&base, trials.len());
    if let Executor::Slurm(slurm) = executor {
        if slurm.dry_run {
            let job = array_job(spec_path, overrides, &base, &prepared_trials, jobs, force, store_path, None)?;
            print!("{}", job.script(slurm));
            return Ok(());
        }
    }
    let store = Store::open(store_path)?;
    crate::interrupt::install();
    let reaped = store.reap_dead_runs(None)?;
    if !reaped.is_empty() {
        let ids: Vec<&str> = reaped.iter().map(|id| short(id)).collect();
        eprintln!("marked {} run(s) whose process had died as KILLED: {}", reaped.len(), ids.join(", "));
    }
    store.ensure_experiment(&base.spec.name)?;
    if let Some(id) = &sweep_parent {
        store.ensure_run_with_id(id, &sweep_parent_run(&base, trials.len(), id))?;
    }
    let mut force = force;
    // runs the trial processes did not finish are reported, not run here
    let mut read_back_only = false;
    match executor {
        Executor::Slurm(slurm) => {
            let job = array_job(spec_path, overrides, &base, &prepared_trials, jobs, force, store_path, Some(&store))?;
            if job.trials.is_empty() {
                eprintln!("every trial already finished in the store (--force re-runs)");
            } else {
                let job_id = job.submit(slurm)?;
                eprintln!(
                    "submitted Slurm array job {job_id}: trial(s) {:?}; task stores under {}",
                    job.trials,
                    job.task_root.display()
                );
                if !slurm.wait {
                    eprintln!("when it is done: attnlab runs import {} --db {}", job.task_root.display(), store_path.display());
                    return Ok(());
                }
                let mut board = TrialBoard::new(board_rows(&prepared_trials, &job.trials), runs_per_trial(&base));
                slurm::wait_for(&job_id, || {
                    let runs = task_runs(&job, sweep_parent.as_deref());
                    board.update(&runs);
                    Ok(())
                })?;
                for trial in &job.trials {
                    let path = job.task_store(*trial);
                    if path.is_file() {
                        store.import(&path)?;
                    }
                }
            }
            force = false;
            read_back_only = true;
        }
        Executor::Local if jobs > 1 && prepared_trials.len() > 1 => {
            let devices = &base.spec.devices;
            run_trials_in_processes(spec_path, overrides, &prepared_trials, jobs, force, store_path, devices, sweep_parent.as_deref())?;
            force = false;
            read_back_only = true;
        }
        Executor::Local => {}
    }

    let mut results = Vec::new();
    for (t, loaded, prepared) in &prepared_trials {
        let spec = &loaded.spec;
        let inherited = std::env::var(THREADS_ENV).ok().and_then(|t| t.parse::<u64>().ok());
        if let Some(threads) = spec.train.threads.or(inherited) {
            tch::set_num_threads(threads as i32);
        }
        let device_text = std::env::var(DEVICE_ENV).ok().or_else(|| {
            // sequential trials take the spec's devices in turn too
            (!spec.devices.is_empty()).then(|| spec.devices[t.index % spec.devices.len()].clone())
        });
        let device_text = device_text.unwrap_or_else(|| spec.train.device.clone());
        let choice = DeviceChoice::parse(&device_text)
            .ok_or_else(|| BadInput(format!("device `{device_text}` is not auto, cpu or cuda:N")))?;
        let device = resolve_device(crate::train_config::device_choice(choice))?;
        let trial_text = if t.label.is_empty() { String::new() } else { format!(" trial {} ({})", t.index, t.label) };
        eprintln!("{}{trial_text}: {}; device {}; store {}", spec.name, prepared.describe(), device.label, store_path.display());
        for model in &spec.models {
            for &seed in &spec.seeds {
                let key = run_key(loaded, prepared, model, seed);
                let done = if force { None } else { store.finished_run_by_key(&key)? };
                let mut result = match done {
                    Some(record) => {
                        eprintln!(
                            "{} seed {seed}: unchanged and already finished as run {} (skipped; --force re-runs)",
                            model.name,
                            short(&record.id)
                        );
                        RunResult::from_record(&record)
                    }
                    None if read_back_only => RunResult::missing(model, seed),
                    None => run_one(&store, store_path, loaded, prepared, model, seed, key, &device, t, sweep_parent.as_deref())?,
                };
                if !t.label.is_empty() {
                    result.name = format!("{} [{}]", result.name, t.label);
                }
                results.push(result);
            }
        }
    }
    if let (Some(id), None) = (&sweep_parent, trial) {
        store.settle_parent(id)?;
    }
    let Some((_, last_spec, last_prepared)) = prepared_trials.last() else { return Ok(()) };
    print!("{}", summary(&results, last_prepared));
    if prepared_trials.len() > 1 {
        print!("{}", best_trials(&store, &results)?);
    }
    if !last_spec.spec.targets.is_empty() && trials.len() == 1 {
        print!("{}", targets_table(&last_spec.spec.targets, &results));
    }
    // the spec's A/B test replays the runs it names (validation keeps it out of sweeps)
    if last_spec.spec.ab_test.is_some() {
        if results.iter().any(|r| r.error.is_some()) {
            eprintln!("ab_test skipped: a run failed");
        } else {
            super::ab_test::replay_spec(&store, last_spec, last_prepared)?;
        }
    }
    mirror(&store, &base.spec);
    let failed: Vec<&RunResult> = results.iter().filter(|r| r.error.is_some()).collect();
    if !failed.is_empty() {
        for r in &failed {
            eprintln!("run {} ({} seed {}) FAILED: {}", short(&r.run_id), r.name, r.seed, r.error.as_deref().unwrap_or(""));
        }
        anyhow::bail!("{} of {} runs failed", failed.len(), results.len());
    }
    Ok(())
}

/// Per model, the sweep trial with the best validation value (what a
/// researcher would pick without looking at test), and its test metrics.
fn best_trials(store: &Store, results: &[RunResult]) -> anyhow::Result<String> {
    let mut best: Vec<(String, String, f64, &RunResult)> = Vec::new(); // model, valid metric, value, run
    for r in results.iter().filter(|r| r.error.is_none()) {
        let model = r.name.split(" [").next().unwrap_or(&r.name).to_string();
        let record = store.run(&r.run_id)?;
        let Some((key, value)) = record.metrics.iter().find(|(k, _)| k.starts_with("best.valid.")) else { continue };
        let metric = key.trim_start_matches("best.valid.").to_string();
        let higher = TaskMetric::parse(&metric).map_or(true, |m| m.higher_is_better());
        match best.iter_mut().find(|(m, ..)| *m == model) {
            Some(entry) => {
                if (higher && *value > entry.2) || (!higher && *value < entry.2) {
                    *entry = (model, metric, *value, r);
                }
            }
            None => best.push((model, metric, *value, r)),
        }
    }
    let mut table = Table::new(&["model", "best trial", "valid", "test", "run"]);
    for (model, metric, value, r) in best {
        let test: Vec<String> = r.test.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        table.row(vec![model, r.name.clone(), format!("{metric} {value:.4}"), test.join("  "), short(&r.run_id).to_string()]);
    }
    Ok(format!("\nbest trial per model (chosen on validation)\n{}", table.render()))
}

fn targets_table(targets: &[attnlab_spec::TargetSpec], results: &[RunResult]) -> String {
    let runs: Vec<(String, std::collections::BTreeMap<String, f64>)> = results
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| (r.name.clone(), r.test.iter().map(|(k, v)| (format!("test.{k}"), *v)).collect()))
        .collect();
    let mut table = Table::new(&["target", "metric", "published", "measured", "diff", "verdict", "source"]);
    for row in target_rows(targets, &runs) {
        table.row(vec![row.model, row.metric, row.published, row.measured, row.diff, row.verdict, row.source]);
    }
    format!("\nreproduction targets\n{}", table.render())
}

/// Pushes the experiment to MLflow when the spec or the environment names a
/// server. The local store stays the source of truth: a failure warns, and
/// the next run or `attnlab sync mlflow` sends what is missing.
fn mirror(store: &Store, spec: &attnlab_spec::Spec) {
    let uri = spec.tracking.mlflow.clone().or_else(|| std::env::var("ATTNLAB_MLFLOW_URI").ok().filter(|u| !u.is_empty()));
    let Some(uri) = uri else { return };
    match super::sync::push(store, &uri, Some(&spec.name), None) {
        Ok(r) if r.failures.is_empty() => eprintln!("mlflow {uri}: {} metric points sent", r.metrics_sent),
        Ok(r) => eprintln!("warning: mlflow {uri}: {} run(s) not synced: {:?}", r.failures.len(), r.failures),
        Err(e) => eprintln!("warning: mlflow {uri}: {e:#} (the runs are safe in the local store; `attnlab sync mlflow` retries)"),
    }
}

/// Torch threads of a trial process started by `--jobs` (when the spec sets none).
const THREADS_ENV: &str = "ATTNLAB_THREADS";

/// The device of a trial process started by `--jobs` with `devices:`
/// (outside the spec, so not part of the run's identity).
const DEVICE_ENV: &str = "ATTNLAB_DEVICE";

/// The id of a sweep's parent run, derived from the spec (minus its trial
/// values), so every process of the sweep (`--jobs` children, array tasks
/// with stores of their own) names the same parent without being told.
fn sweep_parent_id(base: &LoadedSpec, trials: usize) -> Option<String> {
    let sweep = base.spec.sweep.as_ref().filter(|_| trials > 1)?;
    let sweep_json = serde_json::to_string(sweep).unwrap_or_default();
    let identity = format!("sweep|{}|{sweep_json}|{VERSION}", base.fingerprint);
    Some(blake3::hash(identity.as_bytes()).to_hex()[..32].to_string())
}

fn sweep_parent_run(base: &LoadedSpec, trials: usize, id: &str) -> NewRun {
    let sweep = base.spec.sweep.as_ref();
    NewRun {
        experiment: base.spec.name.clone(),
        name: "sweep".into(),
        model: SWEEP_MODEL.into(),
        seed: 0,
        run_key: id.to_string(),
        parent: None,
        params: vec![],
        tags: vec![
            ("sweep.trials".into(), trials.to_string()),
            ("sweep.method".into(), sweep.map_or(String::new(), |s| format!("{:?}", s.method).to_lowercase())),
            ("spec.path".into(), base.path.display().to_string()),
            ("spec.fingerprint".into(), base.fingerprint.clone()),
        ],
    }
}

/// The `model` of a sweep's parent run (reports leave these out).
pub const SWEEP_MODEL: &str = "sweep";

fn runs_per_trial(base: &LoadedSpec) -> usize {
    base.spec.models.len() * base.spec.seeds.len()
}

fn board_rows(trials: &[(&Trial, LoadedSpec, Prepared)], only: &[usize]) -> Vec<(usize, String)> {
    trials.iter().filter(|(t, ..)| only.contains(&t.index)).map(|(t, ..)| (t.index, t.label.clone())).collect()
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
#[allow(clippy::too_many_arguments)]
fn array_job<'a>(
    spec_path: &Path,
    overrides: &'a [String],
    base: &LoadedSpec,
    trials: &[(&Trial, LoadedSpec, Prepared)],
    jobs: usize,
    force: bool,
    store_path: &Path,
    store: Option<&Store>,
) -> anyhow::Result<ArrayJob<'a>> {
    let mut pending = Vec::new();
    for (t, loaded, prepared) in trials {
        let done = |model: &ModelSpec, seed: u64| -> anyhow::Result<bool> {
            let Some(store) = store.filter(|_| !force) else { return Ok(false) };
            Ok(store.finished_run_by_key(&run_key(loaded, prepared, model, seed))?.is_some())
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
        task_root: absolute(&slurm::task_root(store_path, &base.spec.name)),
        workdir: cwd,
        force,
    })
}

/// Runs each trial as `attnlab run SPEC --trial I` in its own process, at
/// most `jobs` at a time, each with an equal share of the cores (one
/// VarStore and one torch thread pool per process: tch's global seed and
/// thread pool are never shared). The caller then reads the results back
/// from the store, where every finished trial is found by its identity.
#[allow(clippy::too_many_arguments)]
fn run_trials_in_processes(
    spec_path: &Path,
    overrides: &[String],
    trials: &[(&Trial, LoadedSpec, Prepared)],
    jobs: usize,
    force: bool,
    store_path: &Path,
    devices: &[String],
    sweep_parent: Option<&str>,
) -> anyhow::Result<()> {
    let store = Store::open(store_path)?;
    let runs_per_trial = trials.first().map_or(1, |(_, l, _)| l.spec.models.len() * l.spec.seeds.len());
    let all: Vec<usize> = trials.iter().map(|(t, ..)| t.index).collect();
    let mut board = TrialBoard::new(board_rows(trials, &all), runs_per_trial);
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

/// A run's identity: resolved spec, model, seed, data and code version.
pub(crate) fn run_key(loaded: &LoadedSpec, prepared: &Prepared, model: &ModelSpec, seed: u64) -> String {
    let mut identity = format!("{}|{}|{seed}|{}|{VERSION}", loaded.fingerprint, model.name, prepared.data_fingerprint);
    if let Some(p) = pseudonymiser(loaded) {
        identity.push_str(&format!("|pseudonym key {}", p.key_id())); // another key, other artifacts
    }
    blake3::hash(identity.as_bytes()).to_hex()[..16].to_string()
}

/// The run's pseudonymiser when its spec pseudonymises users (the key was
/// checked before any run started).
fn pseudonymiser(loaded: &LoadedSpec) -> Option<crate::pseudonym::Pseudonymiser> {
    loaded.spec.dataset.pseudonymise.then(|| crate::pseudonym::Pseudonymiser::from_env().ok()).flatten()
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

struct RunResult {
    run_id: String,
    name: String,
    seed: u64,
    best_epoch: usize,
    seconds: f64,
    /// Test metrics by name, in the order the run produced them.
    test: Vec<(String, f64)>,
    error: Option<String>,
}

impl RunResult {
    /// A run that trial processes were to finish and did not.
    fn missing(model: &ModelSpec, seed: u64) -> RunResult {
        RunResult {
            run_id: String::new(),
            name: model.name.clone(),
            seed,
            best_epoch: 0,
            seconds: 0.0,
            test: vec![],
            error: Some("its trial process did not finish it (see its log; `attnlab run` again resumes)".into()),
        }
    }

    /// The result of an earlier identical run, read back from the store.
    fn from_record(r: &RunRecord) -> RunResult {
        let test = r.metrics.iter().filter_map(|(k, v)| k.strip_prefix("test.").map(|m| (m.to_string(), *v))).collect();
        RunResult {
            run_id: r.id.clone(),
            name: r.name.clone(),
            seed: r.seed,
            best_epoch: r.metrics.get("best.epoch").map_or(0, |e| *e as usize),
            seconds: r.metrics.get("train.seconds").copied().unwrap_or(0.0),
            test,
            error: None,
        }
    }
}

/// The Cargo.lock this binary was built from, for provenance.
const CARGO_LOCK: &[u8] = include_bytes!("../../Cargo.lock");

#[allow(clippy::too_many_arguments)]
fn run_one(
    store: &Store,
    store_path: &Path,
    loaded: &LoadedSpec,
    prepared: &Prepared,
    model: &ModelSpec,
    seed: u64,
    run_key: String,
    device: &DeviceInfo,
    trial: &Trial,
    sweep_parent: Option<&str>,
) -> anyhow::Result<RunResult> {
    let spec = &loaded.spec;
    let (init_from, init_parent) = resolve_init_from(store, spec.train.init_from.as_deref())?;
    let mut train_spec = spec.train_for(model).map_err(|e| BadInput(format!("models `{}` train: {e}", model.name)))?;
    train_spec.init_from = init_from.as_ref().map(|p| p.display().to_string());
    let t = &train_spec;
    let mut params: Vec<(String, String)> = model.params.iter().map(|(k, v)| (format!("model.{k}"), v.to_string())).collect();
    params.extend([
        ("train.epochs".into(), t.epochs.to_string()),
        ("train.batch_size".into(), t.batch_size.to_string()),
        ("train.optimizer".into(), format!("{:?}", t.optimizer.name).to_lowercase()),
        ("train.lr".into(), t.optimizer.lr.to_string()),
        ("train.weight_decay".into(), t.optimizer.weight_decay.to_string()),
        ("train.patience".into(), t.early_stopping.patience.to_string()),
        ("protocol.valid_metric".into(), prepared.valid_metric.name()),
    ]);
    if let Dataset::Interactions { prepared: p, .. } = &prepared.data
        && p.sequences.is_some()
    {
        params.push(("train.sequence_examples".into(), format!("{:?}", t.sequence_examples).to_lowercase()));
        if let Some(stride) = t.window_stride {
            params.push(("train.window_stride".into(), stride.to_string()));
        }
    }
    params.extend(crate::private_runs::run_params(t));
    if let Some(path) = &t.init_from {
        params.push(("train.init_from".into(), path.clone()));
        params.push(("train.freeze".into(), t.freeze.join(",")));
    }
    // a trial belongs to its sweep; the run it was initialised from is then a tag
    let parent = match (sweep_parent, init_parent) {
        (Some(sweep), init) => {
            if let Some(init) = init {
                params.push(("train.init_from.run".into(), init));
            }
            Some(sweep.to_string())
        }
        (None, init) => init,
    };
    let mut tags = vec![
        ("spec.path".to_string(), loaded.path.display().to_string()),
        ("spec.fingerprint".into(), loaded.fingerprint.clone()),
        ("spec.resolved".into(), loaded.resolved_yaml()),
        ("spec.overrides".into(), loaded.overrides.iter().map(|o| o.text.as_str()).collect::<Vec<_>>().join(" ")),
        ("data.fingerprint".into(), prepared.data_fingerprint.clone()),
        ("attnlab.version".into(), VERSION.into()),
        ("libtorch.version".into(), LIBTORCH_VERSION.into()),
        ("device".into(), device.label.clone()),
    ];
    if !trial.label.is_empty() {
        tags.push(("sweep.trial".into(), trial.index.to_string()));
        tags.push(("sweep.values".into(), trial.label.clone()));
    }
    if let tch::Device::Cuda(_) = device.device {
        tags.push(("prov.cuda.devices".into(), tch::Cuda::device_count().to_string()));
        tags.push(("prov.cudnn.version".into(), tch::utils::version_cudnn().to_string()));
        tags.push(("prov.cudart.version".into(), tch::utils::version_cudart().to_string()));
    }
    if let Dataset::Impressions { oracle_test_auc: Some(oracle), .. } = &prepared.data {
        tags.push(("data.oracle_test_auc".into(), format!("{oracle:.6}")));
    }
    let spec_dir = loaded.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    tags.extend(Provenance::collect(spec_dir, None).to_tags());
    tags.push(("prov.cargo_lock.blake3".into(), blake3::hash(CARGO_LOCK).to_hex()[..16].to_string()));
    // One checkpoint folder per run identity: a killed run resumes from it.
    let checkpoint_dir = spec.train.checkpoints.then(|| {
        store_path.parent().unwrap_or(Path::new(".")).join("checkpoints").join(&run_key)
    });
    if let Some(dir) = &checkpoint_dir {
        discard_stale_checkpoint(store, &run_key, dir)?;
        tags.push(("checkpoint.dir".into(), dir.display().to_string()));
        if dir.join("last.safetensors").exists() {
            tags.push(("resumed".into(), "from the last checkpoint of an interrupted run".into()));
        }
    }
    let run_id = store.create_run(&NewRun {
        experiment: spec.name.clone(),
        name: model.name.clone(),
        model: model.model.clone(),
        seed,
        run_key,
        parent,
        params,
        tags,
    })?;

    let pseudonyms = pseudonymiser(loaded);
    if let Some(p) = &pseudonyms {
        store.set_tags(&run_id, &[("privacy.pseudonym_key_id".into(), p.key_id())])?;
    }
    crate::pseudonym::set_current(pseudonyms);
    crate::interrupt::set_current(Some((store_path.to_path_buf(), run_id.clone())));
    let outcome = train_and_test(RunInputs {
        store,
        run_id: &run_id,
        prepared,
        model,
        seed,
        device,
        train: t,
        checkpoint_dir,
    });
    crate::interrupt::set_current(None);
    if let Some(peak) = peak_memory_bytes() {
        store.set_tags(&run_id, &[("prov.mem.peak_bytes".into(), peak.to_string())])?;
    }
    match outcome.and_then(|tested| save_per_user(store, &run_id, &tested).map(|()| tested)) {
        Ok(tested) => {
            store.finish_run(&run_id, RunStatus::Finished)?;
            Ok(RunResult {
                run_id,
                name: model.name.clone(),
                seed,
                best_epoch: tested.best_epoch,
                seconds: tested.seconds,
                test: tested.test,
                error: None,
            })
        }
        Err(err) => {
            let message = format!("{err:#}");
            store.set_tags(&run_id, &[("error".into(), message.clone())])?;
            store.finish_run(&run_id, RunStatus::Failed)?;
            Ok(RunResult { run_id, name: model.name.clone(), seed, best_epoch: 0, seconds: 0.0, test: vec![], error: Some(message) })
        }
    }
}

/// A run resumes from `last.*` only when its latest attempt in the store
/// was KILLED (interrupted). After a FINISHED or FAILED attempt (a
/// `--force` re-run, a retry), or with no record of it at all (a deleted
/// store), training starts afresh; `best.*` stays for `init_from`.
fn discard_stale_checkpoint(store: &Store, run_key: &str, dir: &Path) -> anyhow::Result<()> {
    let latest = store.latest_run_by_key(run_key, None)?;
    if latest.is_some_and(|r| r.status == RunStatus::Killed) {
        return Ok(());
    }
    for file in ["last.safetensors", "last.json"] {
        let path = dir.join(file);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing the stale checkpoint {}", path.display()))?;
        }
    }
    Ok(())
}

/// `train.init_from`: a checkpoint file, or a run (id or prefix) whose best
/// checkpoint starts this one; that run becomes the parent.
fn resolve_init_from(store: &Store, init_from: Option<&str>) -> anyhow::Result<(Option<PathBuf>, Option<String>)> {
    let Some(given) = init_from else { return Ok((None, None)) };
    let path = PathBuf::from(given);
    if path.is_file() {
        return Ok((Some(path), None));
    }
    let id = store.resolve_run_id(given).map_err(|e| {
        BadInput(format!("train.init_from `{given}` is neither a checkpoint file nor a run in the store ({e})"))
    })?;
    let run = store.run(&id)?;
    let best = run.tags.get("checkpoint.dir").map(|d| PathBuf::from(d).join("best.safetensors"));
    match best {
        Some(best) if best.is_file() => Ok((Some(best), Some(id))),
        _ => Err(BadInput(format!("train.init_from: run {given} has no best checkpoint (was it run with train.checkpoints: false?)")).into()),
    }
}

/// Per-user test values as an artifact, for paired significance tests later.
fn save_per_user(store: &Store, run_id: &str, tested: &Tested) -> anyhow::Result<()> {
    let mut per_user = tested.per_user.clone();
    crate::pseudonym::pseudonymise_per_user(&mut per_user);
    let mut csv = Vec::new();
    write_per_user(&mut csv, &per_user)?;
    store.log_artifact(run_id, "per_user/test.csv", ArtifactSource::Bytes(&csv))?;
    Ok(())
}

fn summary(results: &[RunResult], prepared: &Prepared) -> String {
    let mut columns: Vec<&str> = Vec::new();
    for (name, _) in results.iter().flat_map(|r| &r.test) {
        if !columns.contains(&name.as_str()) {
            columns.push(name);
        }
    }
    let mut header: Vec<String> = vec!["model".into(), "seed".into(), "best epoch".into()];
    header.extend(columns.iter().map(|m| format!("test.{m}")));
    header.extend(["seconds".into(), "run".into()]);
    let mut table = Table::new(&header.iter().map(String::as_str).collect::<Vec<_>>());
    for r in results {
        let mut row = vec![r.name.clone(), r.seed.to_string()];
        row.push(if r.error.is_some() { "FAILED".into() } else { r.best_epoch.to_string() });
        row.extend(columns.iter().map(|c| fmt_value(r.test.iter().find(|(k, _)| k == c).map(|(_, v)| *v))));
        row.extend([format!("{:.1}", r.seconds), short(&r.run_id).to_string()]);
        table.row(row);
    }
    let oracle = match &prepared.data {
        Dataset::Impressions { oracle_test_auc, .. } => {
            format!("best possible test AUC (true click probabilities): {}\n", fmt_value(*oracle_test_auc))
        }
        Dataset::Interactions { .. } => String::new(),
    };
    format!("\n{}{oracle}", table.render())
}
