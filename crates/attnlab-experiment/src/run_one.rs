//! One model x seed x trial as a tracked run: its params, tags and
//! provenance, its checkpoint folder (and whether it resumes), `init_from`,
//! training and testing ([`crate::task_runs`]), per-user test values, and
//! its end as FINISHED or FAILED (a failed run is a result, not an error).

use std::path::{Path, PathBuf};

use attnlab_eval::write_per_user;
use attnlab_spec::{LoadedSpec, ModelSpec, Trial};
use attnlab_track::{peak_memory_bytes, ArtifactSource, Claim, NewRun, Provenance, RunRecord, RunStatus, Store};
use attnlab_train::DeviceInfo;

use crate::dataset::{Dataset, Prepared};
use crate::error::error_chain;
use crate::identity::{LIBTORCH_VERSION, VERSION};
use crate::pseudonym::Pseudonymiser;
use crate::public_ids::PublicIds;
use crate::task_runs::{train_and_test, RunInputs, Tested};
use crate::{ExperimentError, Result};

/// The Cargo.lock attnlab was built from, for provenance.
const CARGO_LOCK: &[u8] = include_bytes!("../../../Cargo.lock");

/// What one run gave, for the caller's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub run_id: String,
    pub name: String,
    pub seed: u64,
    pub best_epoch: usize,
    pub seconds: f64,
    /// Test metrics by name, in the order the run produced them.
    pub test: Vec<(String, f64)>,
    /// Why the run FAILED.
    pub error: Option<String>,
}

impl RunResult {
    /// A run that trial processes were to finish and did not.
    pub fn missing(model: &ModelSpec, seed: u64) -> RunResult {
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
    pub fn from_record(r: &RunRecord) -> RunResult {
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

/// What every run of one trial shares.
pub struct TrialContext<'a> {
    pub store: &'a Store,
    /// The store's file: checkpoints live beside it.
    pub store_path: &'a Path,
    pub loaded: &'a LoadedSpec,
    pub prepared: &'a Prepared,
    pub device: &'a DeviceInfo,
    pub trial: &'a Trial,
    /// The sweep's parent run, the parent of every run of the trial.
    pub sweep_parent: Option<&'a str>,
    /// Renames users in what the runs write (when the spec pseudonymises).
    pub pseudonyms: Option<&'a Pseudonymiser>,
    /// Told the id of the run being trained (`Some`) and when it ended
    /// (`None`), so an interruption can mark it KILLED.
    pub on_active_run: &'a dyn Fn(Option<&str>),
}

/// What became of one model x seed of a trial.
#[derive(Debug)]
pub enum Attempt {
    /// Trained and tested here (or failed here: see `error`).
    Ran(RunResult),
    /// The identity had already finished, as this run.
    AlreadyFinished(RunResult),
    /// Another process is training this identity right now (`owner`: who).
    InUse { run_id: String, owner: String },
}

/// Trains and tests `model` with `seed` as a new run with identity
/// `run_key`, once the identity is claimed in the store: never while another
/// live process trains it, and not again once it finished unless
/// `rerun_finished`.
pub fn run_one(cx: &TrialContext<'_>, model: &ModelSpec, seed: u64, run_key: String, rerun_finished: bool) -> Result<Attempt> {
    let TrialContext { store, store_path, loaded, prepared, device, trial, sweep_parent, pseudonyms, on_active_run } = *cx;
    let spec = &loaded.spec;
    let (init_from, init_parent) = resolve_init_from(store, spec.train.init_from.as_deref())?;
    let mut train_spec = spec.train_for(model)?;
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
    if matches!(prepared.data, Dataset::Interactions { .. }) && attnlab_models::reads_sequence(&model.model).unwrap_or(false) {
        params.push(("train.sequence_examples".into(), format!("{:?}", t.sequence_examples).to_lowercase()));
        if let Some(stride) = t.window_stride {
            params.push(("train.window_stride".into(), stride.to_string()));
        }
        if t.length_buckets {
            params.push(("train.length_buckets".into(), "true".into()));
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
    let checkpoint_dir = spec.train.checkpoints.then(|| checkpoint_dir(store_path, &run_key));
    let new_run = NewRun { experiment: spec.name.clone(), name: model.name.clone(), model: model.model.clone(), seed, run_key, parent, params, tags };
    let (run_id, previous) = match store.claim_run(&new_run, rerun_finished)? {
        Claim::Created { id, previous } => (id, previous),
        Claim::Finished { id } => return Ok(Attempt::AlreadyFinished(RunResult::from_record(&store.run(&id)?))),
        Claim::InUse { id, owner } => return Ok(Attempt::InUse { run_id: id, owner }),
    };
    // the checkpoint folder is this process's alone from here on
    if let Some(dir) = &checkpoint_dir {
        discard_stale_checkpoint(previous, dir)?;
        let mut tags = vec![("checkpoint.dir".to_string(), dir.display().to_string())];
        if dir.join("last.safetensors").exists() {
            tags.push(("resumed".into(), "from the last checkpoint of an interrupted run".into()));
        }
        store.set_tags(&run_id, &tags)?;
    }

    let pseudonyms = pseudonyms.filter(|_| spec.dataset.pseudonymise);
    if let Some(p) = pseudonyms {
        store.set_tags(&run_id, &[("privacy.pseudonym_key_id".into(), p.key_id())])?;
    }
    on_active_run(Some(&run_id));
    let outcome = PublicIds::of(loaded, prepared, pseudonyms).and_then(|ids| {
        // a panic inside tch (an allocation libtorch refused) fails this run, not the process
        let tested = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| train_and_test(RunInputs {
            store,
            run_id: &run_id,
            prepared,
            model,
            seed,
            device,
            train: t,
            checkpoint_dir,
            ids: &ids,
        })))
        .unwrap_or_else(|panic| Err(ExperimentError::Panicked(panic_message(panic.as_ref()))))?;
        save_per_user(store, &run_id, &tested, &ids)?;
        Ok(tested)
    });
    on_active_run(None);
    if let Some(peak) = peak_memory_bytes() {
        store.set_tags(&run_id, &[("prov.mem.peak_bytes".into(), peak.to_string())])?;
    }
    match outcome {
        Ok(tested) => {
            store.finish_run(&run_id, RunStatus::Finished)?;
            Ok(Attempt::Ran(RunResult {
                run_id,
                name: model.name.clone(),
                seed,
                best_epoch: tested.best_epoch,
                seconds: tested.seconds,
                test: tested.test,
                error: None,
            }))
        }
        Err(err) => {
            let message = error_chain(&err);
            store.set_tags(&run_id, &[("error".into(), message.clone())])?;
            store.finish_run(&run_id, RunStatus::Failed)?;
            Ok(Attempt::Ran(RunResult { run_id, name: model.name.clone(), seed, best_epoch: 0, seconds: 0.0, test: vec![], error: Some(message) }))
        }
    }
}

/// The first line of what a panic carried (libtorch appends its C++ stack,
/// escaped or not, after the message).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let end = [text.find('\n'), text.find("\\n")].into_iter().flatten().min().unwrap_or(text.len());
    text[..end].to_string()
}

/// One checkpoint folder per run identity, beside the store: a killed run
/// resumes from it.
pub fn checkpoint_dir(store_path: &Path, run_key: &str) -> PathBuf {
    store_path.parent().unwrap_or(Path::new(".")).join("checkpoints").join(run_key)
}

/// A run resumes from `last.*` only when its identity's previous attempt in
/// the store was KILLED (interrupted). After a FINISHED or FAILED attempt (a
/// `--force` re-run, a retry), or with no record of it at all (a deleted
/// store), training starts afresh; `best.*` stays for `init_from`.
pub fn discard_stale_checkpoint(previous: Option<RunStatus>, dir: &Path) -> Result<()> {
    if previous == Some(RunStatus::Killed) {
        return Ok(());
    }
    for file in ["last.safetensors", "last.json"] {
        let path = dir.join(file);
        if path.exists() {
            std::fs::remove_file(&path)
                .map_err(|source| ExperimentError::Io { what: format!("removing the stale checkpoint {}", path.display()), source })?;
        }
    }
    Ok(())
}

/// `train.init_from`: a checkpoint file, or a run (id or prefix) whose best
/// checkpoint starts this one; that run becomes the parent.
pub fn resolve_init_from(store: &Store, init_from: Option<&str>) -> Result<(Option<PathBuf>, Option<String>)> {
    let Some(given) = init_from else { return Ok((None, None)) };
    let path = PathBuf::from(given);
    if path.is_file() {
        return Ok((Some(path), None));
    }
    let id = store.resolve_run_id(given).map_err(|e| {
        ExperimentError::bad(format!("train.init_from `{given}` is neither a checkpoint file nor a run in the store ({e})"))
    })?;
    let run = store.run(&id)?;
    let best = run.tags.get("checkpoint.dir").map(|d| PathBuf::from(d).join("best.safetensors"));
    match best {
        Some(best) if best.is_file() => Ok((Some(best), Some(id))),
        _ => Err(ExperimentError::bad(format!(
            "train.init_from: run {given} has no best checkpoint (was it run with train.checkpoints: false?)"
        ))),
    }
}

/// Per-user test values as an artifact, for paired significance tests later.
fn save_per_user(store: &Store, run_id: &str, tested: &Tested, ids: &PublicIds<'_>) -> Result<()> {
    let dense = |u: u64| u32::try_from(u).expect("dense user ids are u32");
    let per_user: Vec<_> = tested.per_user.iter().map(|p| p.named(|u| ids.user(dense(u)))).collect();
    let mut csv = Vec::new();
    write_per_user(&mut csv, &per_user).map_err(|source| ExperimentError::Io { what: "writing per-user values".into(), source })?;
    store.log_artifact(run_id, "per_user/test.csv", ArtifactSource::Bytes(&csv))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> Store {
        let store = Store::open(&dir.join("attnlab.db")).unwrap();
        store.ensure_experiment("e").unwrap();
        store
    }

    fn new_run(key: &str, tags: Vec<(String, String)>) -> NewRun {
        NewRun {
            experiment: "e".into(),
            name: "din".into(),
            model: "DIN".into(),
            seed: 1,
            run_key: key.into(),
            parent: None,
            params: vec![],
            tags,
        }
    }

    /// A checkpoint folder holding `last.*` and `best.*`.
    fn checkpoint(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in ["last.safetensors", "last.json", "best.safetensors", "best.json"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
    }

    fn has_last(dir: &Path) -> bool {
        dir.join("last.safetensors").exists() || dir.join("last.json").exists()
    }

    #[test]
    fn checkpoints_live_beside_the_store_by_run_key() {
        assert_eq!(checkpoint_dir(Path::new("/s/attnlab.db"), "k1"), PathBuf::from("/s/checkpoints/k1"));
        assert_eq!(checkpoint_dir(Path::new("attnlab.db"), "k1"), PathBuf::from("checkpoints/k1"));
    }

    #[test]
    fn only_a_killed_attempt_keeps_its_last_checkpoint_and_best_always_stays() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        let dir = tmp.path().join("ck");

        // the previous attempt as the claim reports it
        let previous = |store: &Store| match store.claim_run(&new_run("k", vec![]), true).unwrap() {
            Claim::Created { id, previous } => (id, previous),
            other => panic!("expected a new run, got {other:?}"),
        };

        // no record of the run (a deleted store): start afresh
        checkpoint(&dir);
        let (first, before) = previous(&store);
        assert_eq!(before, None);
        discard_stale_checkpoint(before, &dir).unwrap();
        assert!(!has_last(&dir));
        assert!(dir.join("best.safetensors").exists(), "best stays for init_from");

        // the latest attempt was KILLED: resume
        store.finish_run(&first, RunStatus::Killed).unwrap();
        checkpoint(&dir);
        let (mut latest, before) = previous(&store);
        assert_eq!(before, Some(RunStatus::Killed));
        discard_stale_checkpoint(before, &dir).unwrap();
        assert!(has_last(&dir), "an interrupted run resumes");

        // a later attempt FINISHED (or FAILED): a re-run starts afresh
        for status in [RunStatus::Finished, RunStatus::Failed] {
            store.finish_run(&latest, status).unwrap();
            checkpoint(&dir);
            let (again, before) = previous(&store);
            assert_eq!(before, Some(status));
            discard_stale_checkpoint(before, &dir).unwrap();
            assert!(!has_last(&dir), "after a {status:?} attempt");
            latest = again;
        }
    }

    #[test]
    fn init_from_is_a_file_or_a_run_with_a_best_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(tmp.path());
        assert_eq!(resolve_init_from(&store, None).unwrap(), (None, None));

        let file = tmp.path().join("weights.safetensors");
        std::fs::write(&file, b"x").unwrap();
        let given = file.display().to_string();
        assert_eq!(resolve_init_from(&store, Some(&given)).unwrap(), (Some(file.clone()), None), "a file has no parent run");

        let dir = tmp.path().join("checkpoints").join("k");
        checkpoint(&dir);
        let tag = vec![("checkpoint.dir".to_string(), dir.display().to_string())];
        let id = store.create_run(&new_run("k", tag)).unwrap();
        let (path, parent) = resolve_init_from(&store, Some(&id[..8])).unwrap();
        assert_eq!(path, Some(dir.join("best.safetensors")));
        assert_eq!(parent.as_deref(), Some(id.as_str()), "a run found by prefix becomes the parent");

        let bare = store.create_run(&new_run("k2", vec![])).unwrap();
        let err = resolve_init_from(&store, Some(&bare)).unwrap_err();
        assert!(matches!(&err, ExperimentError::BadInput(m) if m.contains("has no best checkpoint")), "{err}");
        let err = resolve_init_from(&store, Some("no-such-file-or-run")).unwrap_err();
        assert!(matches!(&err, ExperimentError::BadInput(m) if m.contains("neither a checkpoint file nor a run")), "{err}");
    }
}
