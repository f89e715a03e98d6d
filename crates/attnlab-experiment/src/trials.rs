//! A spec's trials, from checked and prepared data to one result per model
//! x seed: what `attnlab run` does in-process, whatever executor ran the
//! trial processes. Progress and waits are told to the caller's `say`.

use std::path::Path;
use std::time::Duration;

use attnlab_eval::TaskMetric;
use attnlab_spec::{load_spec, LoadedSpec, ModelSpec, Trial};
use attnlab_track::Store;

use crate::{check_sizes, prepare, run_key, run_one, Attempt, MemoryBudget, Prepared, Pseudonymiser, Result, RunResult, TrialContext};

/// A trial with its spec (sweep values and overrides applied) and data.
pub type PreparedTrial<'a> = (&'a Trial, LoadedSpec, Prepared);

/// Loads, checks and prepares every trial before the first run starts, so
/// bad input of any trial exits before anything is trained. Sweep values
/// come first: the command line's `overrides` win over them. The
/// pseudonymiser is read once, when a trial's spec asks for one.
pub fn prepare_trials<'a>(
    spec_path: &Path,
    overrides: &[String],
    trials: &[&'a Trial],
    memory: Option<MemoryBudget>,
    cache_root: &Path,
) -> Result<(Vec<PreparedTrial<'a>>, Option<Pseudonymiser>)> {
    let (mut prepared, mut pseudonyms) = (Vec::new(), None);
    for &t in trials {
        let all: Vec<String> = t.overrides.iter().chain(overrides).cloned().collect();
        let loaded = load_spec(spec_path, &all)?;
        if loaded.spec.dataset.pseudonymise && pseudonyms.is_none() {
            pseudonyms = Some(Pseudonymiser::from_env()?); // no key: bad input before anything is written
        }
        if let Some(m) = memory {
            check_sizes(&loaded, m)?; // before anything is allocated
        }
        let data = prepare(&loaded, cache_root)?;
        prepared.push((t, loaded, data));
    }
    Ok((prepared, pseudonyms))
}

/// How often a run waits to see whether another process finished the identity it trains.
const IN_USE_POLL: Duration = Duration::from_secs(1);

/// Every model x seed of one trial. A finished identical run is taken as it
/// is (unless `force`); with `read_back_only` (trial processes ran them) a
/// missing run is reported, not trained here. Results of a sweep trial are
/// named `model [values]`.
pub fn run_trial(cx: &TrialContext<'_>, force: bool, read_back_only: bool, say: &dyn Fn(&str)) -> Result<Vec<RunResult>> {
    let (loaded, trial) = (cx.loaded, cx.trial);
    let mut results = Vec::new();
    for model in &loaded.spec.models {
        for &seed in &loaded.spec.seeds {
            let key = run_key(loaded, &cx.prepared.data_fingerprint, model, seed, cx.pseudonyms);
            let done = if force { None } else { cx.store.finished_run_by_key(&key)? };
            let mut result = match done {
                Some(record) => skipped(model, seed, RunResult::from_record(&record), say),
                None if read_back_only => RunResult::missing(model, seed),
                None => claim_and_run(cx, model, seed, key, force, say)?,
            };
            if !trial.label.is_empty() {
                result.name = format!("{} [{}]", result.name, trial.label);
            }
            results.push(result);
        }
    }
    Ok(results)
}

/// Runs one model x seed unless another process of the same spec got to it
/// first: while that process trains it, this one waits, then takes its
/// result (or, when it was killed or failed, claims and trains it itself).
/// The wait polls the store only; the next claim comes once the run ended.
fn claim_and_run(cx: &TrialContext<'_>, model: &ModelSpec, seed: u64, key: String, force: bool, say: &dyn Fn(&str)) -> Result<RunResult> {
    loop {
        match run_one(cx, model, seed, key.clone(), force)? {
            Attempt::Ran(result) => return Ok(result),
            Attempt::AlreadyFinished(result) => return Ok(skipped(model, seed, result, say)),
            Attempt::InUse { run_id, owner } => {
                say(&format!("{} seed {seed}: run {} is being trained by {owner}; waiting for it", model.name, short(&run_id)));
                while cx.store.in_use(&run_id)? {
                    std::thread::sleep(IN_USE_POLL);
                }
            }
        }
    }
}

fn skipped(model: &ModelSpec, seed: u64, result: RunResult, say: &dyn Fn(&str)) -> RunResult {
    say(&format!("{} seed {seed}: unchanged and already finished as run {} (skipped; --force re-runs)", model.name, short(&result.run_id)));
    result
}

/// A run id's first 8 characters, as the terminal shows it.
pub fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// One model's best sweep trial, chosen on validation.
pub struct BestTrial<'a> {
    pub model: String,
    /// The validation metric it stopped on, and its best value.
    pub metric: String,
    pub value: f64,
    pub run: &'a RunResult,
}

/// Per model, the sweep trial with the best validation value (what a
/// researcher would pick without looking at test), in order of first
/// appearance. Failed runs and runs without a validation value are left out.
pub fn best_trials<'a>(store: &Store, results: &'a [RunResult]) -> Result<Vec<BestTrial<'a>>> {
    let mut best: Vec<BestTrial<'a>> = Vec::new();
    for r in results.iter().filter(|r| r.error.is_none()) {
        let model = r.name.split(" [").next().unwrap_or(&r.name).to_string();
        let record = store.run(&r.run_id)?;
        let Some((key, &value)) = record.metrics.iter().find(|(k, _)| k.starts_with("best.valid.")) else { continue };
        let metric = key.trim_start_matches("best.valid.").to_string();
        let higher = TaskMetric::parse(&metric).map_or(true, |m| m.higher_is_better());
        let candidate = BestTrial { model, metric, value, run: r };
        match best.iter_mut().find(|b| b.model == candidate.model) {
            Some(b) if (higher && value > b.value) || (!higher && value < b.value) => *b = candidate,
            Some(_) => {}
            None => best.push(candidate),
        }
    }
    Ok(best)
}
