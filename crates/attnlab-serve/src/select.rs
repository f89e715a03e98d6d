//! Which runs to serve: given ids, an experiment's best finished run by a
//! metric, or exported bundles (no store); and [`RunSource`], the same
//! selection loaded again on reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use attnlab_experiment::{load_run, LoadedRun, RunData};
use attnlab_track::{RunFilter, RunStatus, Store};
use attnlab_train::DeviceInfo;

use crate::catalog::Served;
use crate::market::FeedModel;
use crate::{Batching, Metrics, Result, ServeError, ServedModel};

/// The runs asked for on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Run ids or unique prefixes.
    Runs(Vec<String>),
    /// The finished run of `experiment` with the best `metric` (e.g. `valid.ndcg@10`).
    Best { experiment: String, metric: String },
    /// Folders written by `attnlab export`, served without the store.
    Bundles(Vec<PathBuf>),
}

/// Loads the selected runs; data files are prepared under `cache_root`.
pub fn load_selected(store: &Store, selection: &Selection, device: &DeviceInfo, cache_root: &Path) -> Result<Vec<LoadedRun>> {
    let ids = match selection {
        Selection::Runs(ids) if ids.is_empty() => return Err(ServeError::bad("no run to serve: pass --run ID or --experiment NAME --best METRIC")),
        Selection::Runs(ids) => ids.clone(),
        Selection::Best { experiment, metric } => vec![best_run(store, experiment, metric)?],
        Selection::Bundles(_) => return Err(ServeError::bad("bundles are not runs of the store; RunSource::load serves them")),
    };
    ids.iter().map(|id| load_run(store, id, device, cache_root).map_err(ServeError::from)).collect()
}

/// The id of `experiment`'s finished run with the best `metric`.
pub fn best_run(store: &Store, experiment: &str, metric: &str) -> Result<String> {
    let bare = metric.split_once('.').map_or(metric, |(_, m)| m);
    let higher = attnlab_eval::TaskMetric::parse(bare)
        .map_err(|e| ServeError::bad(format!("--best {metric}: {e}")))?
        .higher_is_better();
    let filter = RunFilter { experiment: Some(experiment.to_string()), status: Some(RunStatus::Finished), ..RunFilter::default() };
    let runs = store.find_runs(&filter)?;
    let scored = runs.iter().filter_map(|r| r.metrics.get(metric).filter(|v| v.is_finite()).map(|&v| (r, v)));
    let best = if higher {
        scored.max_by(|a, b| a.1.total_cmp(&b.1))
    } else {
        scored.min_by(|a, b| a.1.total_cmp(&b.1))
    };
    best.map(|(r, _)| r.id.clone()).ok_or_else(|| {
        ServeError::bad(format!("--best {metric}: no finished run of experiment `{experiment}` has the metric `{metric}`"))
    })
}

/// Where the served models come from, kept so that a reload
/// (`POST /admin/reload`, SIGHUP) loads them again: a `--best` selection
/// then picks the best run finished by now.
pub struct RunSource {
    pub store: PathBuf,
    pub selection: Selection,
    pub cache_root: PathBuf,
    pub device: DeviceInfo,
    pub batching: Batching,
}

impl RunSource {
    /// Loads the selected runs and starts their scoring threads.
    /// Next-item runs serve `/v1/recommend`, click runs of a simulated
    /// market `/v1/rank`.
    pub fn load(&self, metrics: &Arc<Metrics>) -> Result<Vec<Served>> {
        let (batching, device) = (self.batching, self.device.device);
        if let Selection::Bundles(dirs) = &self.selection {
            return dirs.iter().map(|dir| crate::load_bundle(dir, batching, metrics.clone(), device).map(Served::Recommend)).collect();
        }
        let store = Store::open_for_reading(&self.store)?;
        load_selected(&store, &self.selection, &self.device, &self.cache_root)?
            .into_iter()
            .map(|run| match run.data {
                RunData::Impressions(_) => FeedModel::new(run, batching, metrics.clone(), device).map(Served::Rank),
                RunData::Interactions(_) => ServedModel::new(run, batching, metrics.clone(), device).map(Served::Recommend),
            })
            .collect()
    }
}
