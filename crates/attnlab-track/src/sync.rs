//! Offline-first, idempotent mirroring of the local store to an MLflow
//! tracking server.
//!
//! The store is the source of truth; MLflow is a copy that [`sync_to_mlflow`]
//! brings up to date whenever it can reach the server. Progress is kept per
//! run and per target in [`SyncState`] (target = [`sync_target`]: the
//! normalised server URI, `#`, the remote experiment name), so a sync sends
//! only what is new and can stop at any point (crash, server down) without
//! ever creating a second remote run or sending a metric point twice:
//!
//! 1. **Run.** Without a sync state the run is first looked up on the server
//!    by its `attnlab.run_id` tag (a previous sync may have created it and
//!    died before recording it); only if there is none is it created, with
//!    its name, start time, `attnlab.*` identity tags, `mlflow.runName` and,
//!    when the parent has been synced, `mlflow.parentRunId` (parents are
//!    synced before their children). The remote id is recorded at once.
//! 2. **Params** once (keys via [`remote_key`]; values over MLflow's limit are
//!    cut by [`fit_param`], the full value kept as the store artifact
//!    `mlflow/params/<key>.txt` and its blake3 sent as the tag `<key>.blake3`).
//! 3. **Tags** whenever the hash of the remote tag set changes (setting a tag
//!    is idempotent on the server).
//! 4. **Metrics** in pages of [`METRICS_PAGE`] by store row id, advancing
//!    `metrics_upto_id` only over what the server confirmed (a
//!    [`MlflowError::PartialBatch`] says how much). Before each page is sent, a
//!    marker row (target [`pending_target`]) records its last id; if the
//!    outcome of a send is unknown (a timeout, a dropped connection, a crash of
//!    this process), the next sync compares the server's histories with the
//!    marked points and advances over those the server holds before sending
//!    anything else.
//! 5. **Status** and end time once the local status differs from what was pushed.
//!
//! A failure that concerns one run (the server refused its data) is recorded
//! in [`SyncReport::failures`] and the sync goes on with the next run. A
//! server that cannot be reached, keeps failing after the client's retries,
//! or refuses our credentials stops the sync: [`SyncError::Unreachable`] /
//! [`SyncError::Refused`], naming the URI (never the token) and carrying the
//! report of what was done until then.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::artifacts::ArtifactSource;
use crate::error::TrackError;
use crate::mlflow::{
    MAX_KEY_LEN, MAX_TAG_VALUE_LEN, MlflowClient, MlflowError, RemoteMetric, digest_tag, fit_param,
    sanitize_key,
};
use crate::model::{RunRecord, RunStatus};
use crate::query::RunFilter;
use crate::store::Store;
use crate::sync_state::SyncState;

/// Tag carrying the local run id; how a remote run is found again.
pub const RUN_ID_TAG: &str = "attnlab.run_id";
/// Tag carrying the run's content key.
pub const RUN_KEY_TAG: &str = "attnlab.run_key";
/// Metric points read from the store and sent per `runs/log-batch` call.
pub const METRICS_PAGE: usize = 1000;

/// What one [`sync_to_mlflow`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Remote runs created by this sync.
    pub runs_created: usize,
    /// Runs that already existed remotely (recorded, or found by their
    /// `attnlab.run_id` tag) and received something.
    pub runs_updated: usize,
    /// Metric points the server confirmed (or that were found on the
    /// server after a send whose outcome was unknown).
    pub metrics_sent: usize,
    pub params_sent: usize,
    /// Tags sent after creation (identity tags sent with `runs/create` are
    /// not counted), including `<key>.blake3` tags of truncated params.
    pub tags_sent: usize,
    /// Runs that needed nothing.
    pub runs_skipped_up_to_date: usize,
    /// (local run id, message) of runs that could not be synced completely;
    /// what was confirmed before the failure is kept.
    pub failures: Vec<(String, String)>,
}

/// Why a sync stopped before going through every run.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Reading or writing the local store failed.
    #[error(transparent)]
    Store(#[from] TrackError),

    /// The target experiment name is empty.
    #[error("invalid MLflow target experiment {0:?}: the name must not be empty")]
    InvalidTarget(String),

    /// The server could not be reached or kept failing (after the client's
    /// retries). Nothing unconfirmed was recorded as sent; run the sync again.
    #[error("cannot reach the MLflow tracking server at {uri}: {source}")]
    Unreachable {
        uri: String,
        #[source]
        source: MlflowError,
        /// What was done before stopping (the failing run is in `failures`).
        report: Box<SyncReport>,
    },

    /// The server refused us in a way no other run would escape
    /// (authentication, permissions, a client that cannot be built).
    #[error("the MLflow tracking server at {uri} refused the sync: {source}")]
    Refused {
        uri: String,
        #[source]
        source: MlflowError,
        report: Box<SyncReport>,
    },
}

impl SyncError {
    /// The partial report when the sync stopped at the server.
    pub fn report(&self) -> Option<&SyncReport> {
        match self {
            SyncError::Unreachable { report, .. } | SyncError::Refused { report, .. } => {
                Some(report)
            }
            _ => None,
        }
    }
}

/// The `target` of [`SyncState`] for runs mirrored to `experiment` on the
/// server of `client`: its normalised base URI, `#`, the experiment name.
pub fn sync_target(client: &MlflowClient, experiment: &str) -> String {
    format!("{}#{experiment}", client.base_uri())
}

/// The target of the marker row recording a metrics batch whose outcome is
/// not known yet (its `metrics_upto_id` is the batch's last id; 0 or at most
/// the real state's `metrics_upto_id`: nothing pending). Never a real target,
/// which starts with `http`.
pub fn pending_target(target: &str) -> String {
    format!("pending-batch {target}")
}

/// The key a local param, tag or metric key gets on the server. A key MLflow
/// accepts is kept as is; any other becomes [`sanitize_key`]'s version
/// followed by `_` and 8 hex digits of the original key's blake3, so two
/// local keys never merge into one remote key (`auc@10` and `auc#10` would
/// both sanitise to `auc_10`) and the mapping never depends on which other
/// keys a run has.
pub fn remote_key(key: &str) -> String {
    let clean = sanitize_key(key);
    if clean == key {
        return clean;
    }
    let hash = blake3::hash(key.as_bytes()).to_hex();
    let keep = MAX_KEY_LEN - 9;
    let base: String = clean.chars().take(keep).collect();
    sanitize_key(&format!("{base}_{}", &hash.as_str()[..8]))
}

/// Mirrors the runs selected by `select` to the MLflow server of `client`,
/// into `target_experiment`, or each into the experiment of its local name
/// when `None`. See the module documentation for what is sent when.
pub fn sync_to_mlflow(
    store: &Store,
    client: &MlflowClient,
    select: &RunFilter,
    target_experiment: Option<&str>,
) -> Result<SyncReport, SyncError> {
    if let Some(t) = target_experiment.filter(|t| t.trim().is_empty()) {
        return Err(SyncError::InvalidTarget(t.to_owned()));
    }
    let runs = parents_first(store.find_runs(select)?);
    let mut s = Syncer {
        store,
        client,
        target_experiment,
        report: SyncReport::default(),
        experiments: HashMap::new(),
        remote_ids: HashMap::new(),
    };
    for run in &runs {
        let mut touched = false;
        let mut created = false;
        let outcome = s.sync_run(run, &mut touched, &mut created);
        if touched && !created {
            s.report.runs_updated += 1;
        }
        match outcome {
            Ok(()) if !touched => s.report.runs_skipped_up_to_date += 1,
            Ok(()) => {}
            Err(RunError::Store(e)) => return Err(SyncError::Store(e)),
            Err(RunError::Conflict(message)) => s.report.failures.push((run.id.clone(), message)),
            Err(RunError::Remote(e)) => {
                s.report.failures.push((run.id.clone(), e.to_string()));
                if let Some(stop) = server_wide(&e) {
                    let uri = client.base_uri().to_owned();
                    let report = Box::new(std::mem::take(&mut s.report));
                    return Err(match stop {
                        Stop::Unreachable => SyncError::Unreachable {
                            uri,
                            source: e,
                            report,
                        },
                        Stop::Refused => SyncError::Refused {
                            uri,
                            source: e,
                            report,
                        },
                    });
                }
            }
        }
    }
    Ok(s.report)
}

enum Stop {
    Unreachable,
    Refused,
}

/// Whether an error ends the whole sync rather than one run.
fn server_wide(e: &MlflowError) -> Option<Stop> {
    match e {
        MlflowError::Unavailable { .. } => Some(Stop::Unreachable),
        MlflowError::Api {
            status: 401 | 403, ..
        } => Some(Stop::Refused),
        MlflowError::Client(_) | MlflowError::InvalidUri { .. } => Some(Stop::Refused),
        MlflowError::PartialBatch { source, .. } => server_wide(source),
        _ => None,
    }
}

/// Whether a failed request may nonetheless have been applied by the server.
fn may_have_applied(e: &MlflowError) -> bool {
    match e {
        MlflowError::Unavailable {
            may_have_applied, ..
        } => *may_have_applied,
        MlflowError::PartialBatch { source, .. } => may_have_applied(source),
        // A 2xx whose body could not be read was applied.
        MlflowError::Decode { .. } => true,
        _ => false,
    }
}

enum RunError {
    Store(TrackError),
    Remote(MlflowError),
    /// The remote side is in a state this sync will not guess about.
    Conflict(String),
}

impl From<TrackError> for RunError {
    fn from(e: TrackError) -> Self {
        RunError::Store(e)
    }
}

impl From<MlflowError> for RunError {
    fn from(e: MlflowError) -> Self {
        RunError::Remote(e)
    }
}

/// Runs ordered so that a parent in the selection comes before its
/// children; otherwise in the store's order (oldest first).
fn parents_first(runs: Vec<RunRecord>) -> Vec<RunRecord> {
    let index: HashMap<&str, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(&p) = runs[i].parent.as_deref().and_then(|p| index.get(p)) {
            d += 1;
            i = p;
            if d > runs.len() {
                break; // a cycle cannot be stored, but do not loop on one
            }
        }
        d
    };
    let mut order: Vec<(usize, usize)> = (0..runs.len()).map(|i| (depth(i), i)).collect();
    order.sort();
    let mut slots: Vec<Option<RunRecord>> = runs.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, i)| slots[i].take())
        .collect()
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s[..cut].to_owned(),
        None => s.to_owned(),
    }
}

fn tags_hash(tags: &[(String, String)]) -> String {
    let json = serde_json::to_string(tags).unwrap_or_default();
    blake3::hash(json.as_bytes()).to_hex().to_string()
}

/// Identity of a point as MLflow's SQL store keys it (a NaN never occurs:
/// the local store refuses non-finite values; -0 and +0 are one value).
fn identity(key: &str, step: i64, timestamp_ms: i64, value: f64) -> (String, i64, i64, u64) {
    let v = if value == 0.0 { 0.0f64 } else { value };
    (key.to_owned(), step, timestamp_ms, v.to_bits())
}

struct Syncer<'a> {
    store: &'a Store,
    client: &'a MlflowClient,
    target_experiment: Option<&'a str>,
    report: SyncReport,
    /// Remote experiment name -> id, looked up once per sync.
    experiments: HashMap<String, String>,
    /// Local run id -> remote run id, for runs handled in this sync.
    remote_ids: HashMap<String, String>,
}

impl Syncer<'_> {
    fn experiment_of<'r>(&'r self, run: &'r RunRecord) -> &'r str {
        self.target_experiment.unwrap_or(&run.experiment)
    }

    fn experiment_id(&mut self, name: &str) -> Result<String, MlflowError> {
        if let Some(id) = self.experiments.get(name) {
            return Ok(id.clone());
        }
        let id = self.client.get_or_create_experiment(name)?;
        self.experiments.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    fn sync_run(
        &mut self,
        run: &RunRecord,
        touched: &mut bool,
        created: &mut bool,
    ) -> Result<(), RunError> {
        let experiment = self.experiment_of(run).to_owned();
        let target = sync_target(self.client, &experiment);
        let parent_remote = self.parent_remote_id(run)?;
        let mut state = match self.store.sync_state(&run.id, &target)? {
            Some(state) => state,
            None => {
                let experiment_id = self.experiment_id(&experiment)?;
                let (state, new) =
                    self.create_or_adopt(run, &experiment_id, &target, parent_remote.as_deref())?;
                *touched = true;
                *created = new;
                state
            }
        };
        self.remote_ids
            .insert(run.id.clone(), state.remote_run_id.clone());

        if !state.params_done {
            self.push_params(run, &mut state)?;
            *touched = true;
        }

        let tags = self.remote_tags(run, parent_remote.as_deref());
        let hash = tags_hash(&tags);
        if state.tags_hash.as_deref() != Some(hash.as_str()) {
            *touched = true;
            match self.client.log_batch(&state.remote_run_id, &[], &[], &tags) {
                Ok(()) => self.report.tags_sent += tags.len(),
                Err(e) => {
                    if let MlflowError::PartialBatch { confirmed_tags, .. } = &e {
                        self.report.tags_sent += confirmed_tags;
                    }
                    return Err(e.into());
                }
            }
            state.tags_hash = Some(hash);
            self.store.set_sync_state(&state)?;
        }

        if self.push_metrics(run, &mut state)? {
            *touched = true;
        }

        if state.status_done != Some(run.status) {
            *touched = true;
            let end = (run.status != RunStatus::Running)
                .then_some(run.end_ms)
                .flatten();
            self.client
                .update_run(&state.remote_run_id, run.status.as_str(), end)?;
            state.status_done = Some(run.status);
            self.store.set_sync_state(&state)?;
        }
        Ok(())
    }

    /// The parent's remote id when the parent has been synced to the
    /// experiment it belongs in on this server.
    fn parent_remote_id(&self, run: &RunRecord) -> Result<Option<String>, RunError> {
        let Some(parent) = &run.parent else {
            return Ok(None);
        };
        if let Some(id) = self.remote_ids.get(parent) {
            return Ok(Some(id.clone()));
        }
        let parent_run = self.store.run(parent)?;
        let target = sync_target(self.client, self.experiment_of(&parent_run));
        Ok(self
            .store
            .sync_state(parent, &target)?
            .map(|s| s.remote_run_id))
    }

    fn identity_tags(&self, run: &RunRecord, parent_remote: Option<&str>) -> Vec<(String, String)> {
        let mut tags = vec![
            (RUN_ID_TAG.to_owned(), run.id.clone()),
            (RUN_KEY_TAG.to_owned(), run.run_key.clone()),
            ("mlflow.runName".to_owned(), run.name.clone()),
        ];
        if let Some(p) = parent_remote {
            tags.push(("mlflow.parentRunId".to_owned(), p.to_owned()));
        }
        tags
    }

    /// Every tag the remote run should carry: the local tags (keys through
    /// [`remote_key`], values cut to MLflow's limit), the run's model, seed
    /// and local experiment, and the identity tags; sorted by key.
    fn remote_tags(&self, run: &RunRecord, parent_remote: Option<&str>) -> Vec<(String, String)> {
        let mut tags: BTreeMap<String, String> = run
            .tags
            .iter()
            .map(|(k, v)| (remote_key(k), truncate_chars(v, MAX_TAG_VALUE_LEN)))
            .collect();
        tags.insert("attnlab.model".into(), run.model.clone());
        tags.insert("attnlab.seed".into(), run.seed.to_string());
        tags.insert("attnlab.experiment".into(), run.experiment.clone());
        for (k, v) in self.identity_tags(run, parent_remote) {
            tags.insert(k, truncate_chars(&v, MAX_TAG_VALUE_LEN));
        }
        tags.into_iter().collect()
    }

    /// Remote runs of the experiment tagged with this run's id, oldest first.
    fn find_remote(
        &self,
        experiment_id: &str,
        run: &RunRecord,
    ) -> Result<Vec<(String, bool)>, MlflowError> {
        let filter = format!("tags.`{RUN_ID_TAG}` = '{}'", run.id.replace('\'', "\\'"));
        let mut found: Vec<(i64, String, bool)> = self
            .client
            .search_runs(experiment_id, Some(&filter))?
            .iter()
            .filter_map(|r| {
                let id = r.pointer("/info/run_id")?.as_str()?.to_owned();
                let start = r.pointer("/info/start_time").and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                });
                let has_metrics = r
                    .pointer("/data/metrics")
                    .and_then(|m| m.as_array())
                    .is_some_and(|m| !m.is_empty());
                Some((start.unwrap_or(0), id, has_metrics))
            })
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, id, m)| (id, m)).collect())
    }

    /// Adopts the remote run a previous sync created, or creates one; the
    /// new sync state is written before anything else is sent.
    fn create_or_adopt(
        &mut self,
        run: &RunRecord,
        experiment_id: &str,
        target: &str,
        parent_remote: Option<&str>,
    ) -> Result<(SyncState, bool), RunError> {
        let adopt =
            |s: &mut Self, found: Vec<(String, bool)>| -> Result<Option<SyncState>, RunError> {
                let Some((remote, has_metrics)) = found.into_iter().next() else {
                    return Ok(None);
                };
                if has_metrics {
                    return Err(RunError::Conflict(format!(
                        "remote run {remote} (tag {RUN_ID_TAG}={}) already holds metrics, but this \
                     store has no record of syncing it to {target}; not sending anything to \
                     avoid duplicate points (delete that remote run to sync again from scratch)",
                        run.id
                    )));
                }
                let state = SyncState {
                    run_id: run.id.clone(),
                    target: target.to_owned(),
                    remote_run_id: remote,
                    metrics_upto_id: 0,
                    params_done: false,
                    tags_hash: None,
                    status_done: None,
                };
                s.store.set_sync_state(&state)?;
                Ok(Some(state))
            };
        let found = self.find_remote(experiment_id, run)?;
        if let Some(state) = adopt(self, found)? {
            return Ok((state, false));
        }
        let tags = self.identity_tags(run, parent_remote);
        match self
            .client
            .create_run(experiment_id, &run.name, run.start_ms, &tags)
        {
            Ok(remote) => {
                let state = SyncState {
                    run_id: run.id.clone(),
                    target: target.to_owned(),
                    remote_run_id: remote,
                    metrics_upto_id: 0,
                    params_done: false,
                    tags_hash: None,
                    status_done: Some(RunStatus::Running),
                };
                self.report.runs_created += 1;
                self.store.set_sync_state(&state)?;
                Ok((state, true))
            }
            Err(e) if may_have_applied(&e) => {
                // The server may have created it after all: look before anyone creates another.
                match self.find_remote(experiment_id, run) {
                    Ok(found) => match adopt(self, found)? {
                        Some(state) => Ok((state, false)),
                        None => Err(e.into()),
                    },
                    Err(_) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn push_params(&mut self, run: &RunRecord, state: &mut SyncState) -> Result<(), RunError> {
        let mut params = Vec::with_capacity(run.params.len());
        let mut digests = Vec::new();
        for (k, v) in &run.params {
            let (key, value, full) = fit_param(&remote_key(k), v);
            if let Some(full) = full {
                self.store.log_artifact(
                    &run.id,
                    &format!("mlflow/params/{key}.txt"),
                    ArtifactSource::Bytes(full.as_bytes()),
                )?;
                digests.push(digest_tag(&key, &full));
            }
            params.push((key, value));
        }
        // Resending a param with the same value is a no-op on the server,
        // so a partly confirmed batch is simply sent again next time.
        match self
            .client
            .log_batch(&state.remote_run_id, &[], &params, &digests)
        {
            Ok(()) => {
                self.report.params_sent += params.len();
                self.report.tags_sent += digests.len();
            }
            Err(e) => {
                if let MlflowError::PartialBatch {
                    confirmed_params,
                    confirmed_tags,
                    ..
                } = &e
                {
                    self.report.params_sent += confirmed_params;
                    self.report.tags_sent += confirmed_tags;
                }
                return Err(e.into());
            }
        }
        state.params_done = true;
        self.store.set_sync_state(state)?;
        Ok(())
    }

    fn set_pending(&self, state: &SyncState, upto: i64) -> Result<(), TrackError> {
        self.store.set_sync_state(&SyncState {
            run_id: state.run_id.clone(),
            target: pending_target(&state.target),
            remote_run_id: state.remote_run_id.clone(),
            metrics_upto_id: upto,
            params_done: false,
            tags_hash: None,
            status_done: None,
        })
    }

    /// Pushes the metrics logged after `metrics_upto_id`; true if anything was sent.
    fn push_metrics(&mut self, run: &RunRecord, state: &mut SyncState) -> Result<bool, RunError> {
        let mut sent = false;
        let pending = self
            .store
            .sync_state(&run.id, &pending_target(&state.target))?;
        if let Some(p) = pending.filter(|p| {
            p.metrics_upto_id > state.metrics_upto_id && p.remote_run_id == state.remote_run_id
        }) {
            let (upto, found) = self.verify_pending(run, state, p.metrics_upto_id)?;
            if upto != state.metrics_upto_id {
                state.metrics_upto_id = upto;
                self.report.metrics_sent += found;
                self.store.set_sync_state(state)?;
                sent = true;
            }
            self.set_pending(state, 0)?;
        }
        let mut marked = false;
        loop {
            let page = self
                .store
                .metrics_after(&run.id, state.metrics_upto_id, METRICS_PAGE)?;
            let Some(&(last, _)) = page.last() else {
                break;
            };
            let metrics: Vec<RemoteMetric> = page
                .iter()
                .map(|(_, p)| RemoteMetric {
                    key: remote_key(&p.key),
                    value: p.value,
                    step: p.step,
                    timestamp_ms: p.timestamp_ms,
                })
                .collect();
            // Marked before sending, so a crash during the call is resolved by the next sync.
            self.set_pending(state, last)?;
            marked = true;
            sent = true;
            match self
                .client
                .log_batch(&state.remote_run_id, &metrics, &[], &[])
            {
                Ok(()) => {
                    state.metrics_upto_id = last;
                    self.report.metrics_sent += page.len();
                    self.store.set_sync_state(state)?;
                }
                Err(e) => {
                    if let MlflowError::PartialBatch {
                        confirmed_metrics, ..
                    } = &e
                        && *confirmed_metrics > 0
                    {
                        state.metrics_upto_id = page[confirmed_metrics - 1].0;
                        self.report.metrics_sent += confirmed_metrics;
                        self.store.set_sync_state(state)?;
                    }
                    if !may_have_applied(&e) {
                        self.set_pending(state, 0)?;
                    }
                    return Err(e.into());
                }
            }
        }
        if marked {
            self.set_pending(state, 0)?;
        }
        Ok(sent)
    }

    /// Resolves a batch of unknown outcome: the points with ids in
    /// `(metrics_upto_id, upto]`. A `runs/log-batch` request is applied
    /// whole or not at all and its chunks are sent in order, so the server
    /// holds a prefix of them; returns the id ending that prefix and its length.
    fn verify_pending(
        &mut self,
        run: &RunRecord,
        state: &SyncState,
        upto: i64,
    ) -> Result<(i64, usize), RunError> {
        // Local points up to `upto`, split at the confirmed id.
        let mut before: HashMap<(String, i64, i64, u64), usize> = HashMap::new();
        let mut range: Vec<(i64, (String, i64, i64, u64))> = Vec::new();
        let mut after = 0;
        'read: loop {
            let page = self.store.metrics_after(&run.id, after, METRICS_PAGE)?;
            if page.is_empty() {
                break;
            }
            for (id, p) in page {
                if id > upto {
                    break 'read;
                }
                after = id;
                let ident = identity(&remote_key(&p.key), p.step, p.timestamp_ms, p.value);
                if id <= state.metrics_upto_id {
                    *before.entry(ident).or_default() += 1;
                } else {
                    range.push((id, ident));
                }
            }
        }
        let keys: BTreeSet<&str> = range.iter().map(|(_, i)| i.0.as_str()).collect();
        let mut remote: HashMap<(String, i64, i64, u64), usize> = HashMap::new();
        for key in keys {
            for m in self.client.metric_history(&state.remote_run_id, key)? {
                *remote
                    .entry(identity(&m.key, m.step, m.timestamp_ms, m.value))
                    .or_default() += 1;
            }
        }
        // The prefix ends after the last point the server holds more copies
        // of than the points before it explain. (A server that keeps exact
        // duplicates once, as MLflow's SQL store does, is handled too: a
        // point identical to an earlier one tells nothing and is skipped.)
        let mut seen = before.clone();
        let mut held = 0;
        for (i, (_, ident)) in range.iter().enumerate() {
            let expl = seen.entry(ident.clone()).or_default();
            let on_server = remote.get(ident).copied().unwrap_or(0);
            if on_server > *expl {
                held = i + 1;
            }
            *expl += 1;
        }
        // Everything in the prefix must be there.
        let missing = range[..held]
            .iter()
            .find(|(_, ident)| remote.get(ident).copied().unwrap_or(0) == 0);
        if let Some((id, ident)) = missing {
            return Err(RunError::Conflict(format!(
                "remote run {} holds some points of an unconfirmed batch but not metric {:?} \
                 step {} (store row {id}); not sending more to avoid duplicates",
                state.remote_run_id, ident.0, ident.1
            )));
        }
        let upto = if held == 0 {
            state.metrics_upto_id
        } else {
            range[held - 1].0
        };
        Ok((upto, held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_keys_are_stable_valid_and_distinct() {
        assert_eq!(remote_key("valid.auc"), "valid.auc");
        assert_eq!(remote_key("train/loss"), "train/loss");
        let a = remote_key("auc@10");
        let b = remote_key("auc#10");
        assert!(
            a.starts_with("auc_10_") && b.starts_with("auc_10_"),
            "{a} {b}"
        );
        assert_ne!(a, b);
        assert_eq!(remote_key("auc@10"), a);
        for k in [
            "",
            ".",
            "..x",
            "/a//b/",
            &"é".repeat(400),
            &"k/".repeat(200),
            "a/.x",
        ] {
            let r = remote_key(k);
            assert_eq!(sanitize_key(&r), r, "{k:?}");
            assert!(r.chars().count() <= MAX_KEY_LEN, "{k:?}");
        }
        assert_ne!(remote_key(&"k".repeat(300)), remote_key(&"k".repeat(301)));
    }

    #[test]
    fn truncation_counts_chars() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
