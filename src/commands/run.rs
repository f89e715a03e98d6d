//! `attnlab run`: every model x seed of a spec, each a tracked run.

use std::path::Path;

use attnlab_experiment::targets::target_rows;
use attnlab_experiment::train_config::{set_threads, trial_device};
use attnlab_experiment::trials::{best_trials, prepare_trials, run_trial, short};
use attnlab_experiment::{require_models, sweep_parent_id, sweep_parent_run, Dataset, MemoryBudget, Prepared, RunResult, TrialContext};
use attnlab_spec::{expand_sweep, load_spec, Trial};
use attnlab_track::Store;

use crate::executor::local::{self, DEVICE_ENV, THREADS_ENV};
use crate::executor::{slurm, Executor, Sweep};
use crate::exit::BadInput;
use crate::table::{fmt_value, Table};

/// How `attnlab run` was asked to work.
pub struct RunOptions {
    /// Only this sweep trial.
    pub trial: Option<usize>,
    /// Run even when an identical run already finished.
    pub force: bool,
    /// Trials run at once, each in its own process.
    pub jobs: usize,
    pub executor: Executor,
    /// What the spec's data and models may use; `None`: not checked.
    pub memory: Option<MemoryBudget>,
}

pub fn run(spec_path: &Path, overrides: &[String], options: &RunOptions, store_path: &Path) -> anyhow::Result<()> {
    let RunOptions { trial, force, jobs, ref executor, memory } = *options;
    let base = load_spec(spec_path, overrides)?;
    require_models(&base)?;
    let trials = expand_sweep(&base.spec)?;
    let selected: Vec<&Trial> = match trial {
        None => trials.iter().collect(),
        Some(i) => vec![trials
            .get(i)
            .ok_or_else(|| BadInput(format!("--trial {i}: the spec has {} trial(s), numbered from 0", trials.len())))?],
    };
    let cache_root = store_path.parent().unwrap_or(Path::new(".")).join("cache");
    let (prepared_trials, pseudonyms) = prepare_trials(spec_path, overrides, &selected, memory, &cache_root)?;
    for (_, _, prepared) in &prepared_trials {
        crate::print_notes(prepared);
    }
    let pseudonyms = pseudonyms.as_ref();
    let sweep_parent = sweep_parent_id(&base, trials.len());
    let sweep = Sweep {
        spec_path,
        overrides,
        base: &base,
        trials: &prepared_trials,
        jobs,
        force,
        store_path,
        sweep_parent: sweep_parent.as_deref(),
        pseudonyms,
    };
    if let Executor::Slurm(options) = executor
        && options.dry_run
    {
        print!("{}", slurm::script(&sweep, options)?);
        return Ok(());
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
        Executor::Slurm(options) => {
            if !slurm::run(&sweep, &store, options)? {
                return Ok(());
            }
            force = false;
            read_back_only = true;
        }
        Executor::Local if jobs > 1 && prepared_trials.len() > 1 => {
            local::run_in_processes(&sweep)?;
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
            set_threads(threads);
        }
        // sequential trials take the spec's devices in turn too
        let device = trial_device(spec, t.index, std::env::var(DEVICE_ENV).ok())?;
        let trial_text = if t.label.is_empty() { String::new() } else { format!(" trial {} ({})", t.index, t.label) };
        eprintln!("{}{trial_text}: {}; device {}; store {}", spec.name, prepared.describe(), device.label, store_path.display());
        let on_active_run = |run: Option<&str>| crate::interrupt::set_current(run.map(|id| (store_path.to_path_buf(), id.to_string())));
        let cx = TrialContext {
            store: &store,
            store_path,
            loaded,
            prepared,
            device: &device,
            trial: t,
            sweep_parent: sweep_parent.as_deref(),
            pseudonyms,
            on_active_run: &on_active_run,
        };
        results.extend(run_trial(&cx, force, read_back_only, &|message| eprintln!("{message}"))?);
    }
    if let (Some(id), None) = (&sweep_parent, trial) {
        store.settle_parent(id)?;
    }
    let Some((_, last_spec, last_prepared)) = prepared_trials.last() else { return Ok(()) };
    print!("{}", summary(&results, last_prepared));
    if prepared_trials.len() > 1 {
        print!("{}", best_trials_table(&store, &results)?);
    }
    if !last_spec.spec.targets.is_empty() && trials.len() == 1 {
        print!("{}", targets_table(&last_spec.spec.targets, &results));
    }
    // the spec's A/B test replays the runs it names (validation keeps it out of sweeps)
    if last_spec.spec.ab_test.is_some() {
        if results.iter().any(|r| r.error.is_some()) {
            eprintln!("ab_test skipped: a run failed");
        } else {
            crate::replay::replay_spec(&store, last_spec, last_prepared, pseudonyms)?;
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

/// Per model, the sweep trial with the best validation value, and its test metrics.
fn best_trials_table(store: &Store, results: &[RunResult]) -> anyhow::Result<String> {
    let mut table = Table::new(&["model", "best trial", "valid", "test", "run"]);
    for b in best_trials(store, results)? {
        let test: Vec<String> = b.run.test.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        table.row(vec![b.model, b.run.name.clone(), format!("{} {:.4}", b.metric, b.value), test.join("  "), short(&b.run.run_id).to_string()]);
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
    let Some(uri) = attnlab_experiment::sync::mirror_uri(spec, std::env::var("ATTNLAB_MLFLOW_URI").ok()) else { return };
    match attnlab_experiment::sync::push(store, &uri, Some(&spec.name), None, attnlab_experiment::sync::MIRROR_BUDGET) {
        Ok(r) if r.failures.is_empty() => eprintln!("mlflow {uri}: {} metric points sent", r.metrics_sent),
        Ok(r) => eprintln!("warning: mlflow {uri}: {} run(s) not synced: {:?}", r.failures.len(), r.failures),
        Err(e) => eprintln!("warning: mlflow {uri}: {e:#} (the runs are safe in the local store; `attnlab sync mlflow` retries)"),
    }
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
