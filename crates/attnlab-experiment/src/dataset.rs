//! From a loaded spec to what every run of it shares: checked metric and
//! model names, the data (simulated impressions split by time, interactions
//! prepared under a RecBole-style protocol and cached, a click log:
//! [`ctr_log`], MovieLens raw files: [`movielens`], an attention log:
//! [`attention_log`], a log of the Open Bandit Dataset: [`obd`]), and its
//! fingerprint.

pub mod attention_log;
pub mod ctr_log;
mod item_embeddings;
mod item_features;
mod objectives;
mod providers;
mod user_groups;

pub use item_features::ModelItemFeatures;
pub use providers::{provider_exposure, Providers};
pub use user_groups::{group_gaps, UserGroups};
pub mod movielens;
pub mod obd;

use std::path::Path;

use attnlab_data::{simulate, split_temporal, AdPlacement, AdsConfig, Cardinalities, SimulatorConfig, Splits, SIMULATOR_VERSION};
use attnlab_eval::auc;
use attnlab_models::Task;
use attnlab_spec::{DataKind, DataSource, LoadedSpec, SpecError};
use attnlab_eval::TaskMetric;

use crate::{ExperimentError, Result};

/// A file's user and item tokens, by dense id.
pub struct IdVocabularies {
    pub users: attnlab_data::Vocab,
    pub items: attnlab_data::Vocab,
}

/// The data of an experiment, by kind.
pub enum Dataset {
    /// Simulated impressions, for click and click + conversion models.
    Impressions {
        splits: Splits,
        sizes: Cardinalities,
        /// AUC of the simulator's true click probabilities on the test
        /// split: the best any model can reach.
        oracle_test_auc: Option<f64>,
        /// The original ids of a log's users and items (`None`: the ids
        /// are a simulated world's or a bandit log's own numbers).
        vocabularies: Option<IdVocabularies>,
    },
    /// Interactions under a ranking protocol, for next-item models.
    Interactions {
        prepared: attnlab_data::Prepared,
        cache_hit: bool,
        /// Each model's item side features, by model name, row `i` for
        /// item id `i` (`dataset/item_features.rs`).
        item_features: ModelItemFeatures,
        /// `protocol.user_groups`, read from the user file.
        user_groups: Vec<UserGroups>,
        /// `protocol.providers`, read from the item file.
        providers: Option<Providers>,
    },
}

pub struct Prepared {
    pub data: Dataset,
    /// blake3 over the data's source and every setting that shapes it:
    /// equal fingerprints mean the same rows, split and candidates.
    pub data_fingerprint: String,
    /// `protocol.metrics`, in order.
    pub metrics: Vec<TaskMetric>,
    pub valid_metric: TaskMetric,
    /// What preparing said on the way (rows skipped, cache entries
    /// rebuilt), for the caller to show.
    pub notes: Vec<String>,
}

impl Prepared {
    /// One line for the terminal.
    pub fn describe(&self) -> String {
        match &self.data {
            Dataset::Impressions { splits, oracle_test_auc, .. } => format!(
                "{} train / {} valid / {} test impressions, click rate {:.3}, best possible test AUC {}",
                splits.train.len(),
                splits.valid.len(),
                splits.test.len(),
                splits.train.click_rate(),
                oracle_test_auc.map_or("-".into(), |a| format!("{a:.4}"))
            ),
            Dataset::Interactions { prepared, cache_hit, .. } => format!(
                "{} users, {} items; {} train / {} valid / {} test rows; {} ({})",
                prepared.num_users,
                prepared.num_items.saturating_sub(1),
                prepared.train.len(),
                prepared.valid.len(),
                prepared.test.len(),
                prepared.protocol.describe(),
                if *cache_hit { "from cache" } else { "prepared and cached" }
            ),
        }
    }

    /// The metrics a model of `task` is evaluated on, and the one it stops on.
    pub fn metrics_for(&self, task: Task) -> (Vec<TaskMetric>, TaskMetric) {
        match task {
            Task::MultiTask => {
                let mut all = vec![TaskMetric::CtrAuc, TaskMetric::CvrAuc, TaskMetric::CtcvrAuc];
                let valid = multitask_valid_metric(self.valid_metric);
                // and the metrics of time (a dwell head's) and relevance
                all.extend(self.metrics.iter().copied().filter(|m| *m == TaskMetric::RelevanceAuc || m.is_dwell()));
                (all, valid)
            }
            _ => {
                // click models: plain metrics, and the metrics of time and relevance
                let plain: Vec<TaskMetric> = self
                    .metrics
                    .iter()
                    .copied()
                    .filter(|m| matches!(m, TaskMetric::Metric(_) | TaskMetric::RelevanceAuc) || m.is_dwell())
                    .collect();
                let valid = if matches!(self.valid_metric, TaskMetric::Metric(_)) {
                    self.valid_metric
                } else {
                    TaskMetric::Metric(attnlab_eval::Metric::Auc)
                };
                (plain, valid)
            }
        }
    }
}

/// The metric a multi-task model stops on for a spec's `valid_metric`: its
/// own when the spec names one of theirs, the click task's `ctr_auc` when it
/// names the click AUC (`auc`: a spec that stops its click models on clicks
/// stops its multi-task models on clicks too), `cvr_auc` otherwise.
pub fn multitask_valid_metric(spec_valid: TaskMetric) -> TaskMetric {
    match spec_valid {
        m if TaskMetric::MULTITASK.contains(&m) => m,
        TaskMetric::Metric(attnlab_eval::Metric::Auc) => TaskMetric::CtrAuc,
        _ => TaskMetric::CvrAuc,
    }
}

/// Checks what the spec crate cannot: metric names, each model's params, and
/// that each model's task fits the data.
pub fn check(loaded: &LoadedSpec) -> Result<(Vec<TaskMetric>, TaskMetric), SpecError> {
    let invalid = |field: String, message: String| SpecError::Invalid { path: loaded.path.clone(), field, message };
    let protocol = &loaded.spec.protocol;
    let metrics = protocol
        .metrics
        .iter()
        .enumerate()
        .map(|(i, name)| TaskMetric::parse(name).map_err(|e| invalid(format!("protocol.metrics[{i}]"), e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let valid_metric =
        TaskMetric::parse(&protocol.valid_metric).map_err(|e| invalid("protocol.valid_metric".into(), e.to_string()))?;
    // a run ranks for its metrics, then logs the disparity at each of their
    // K where the spec names the providers: it is no metric to ask for
    let disparity = metrics.iter().position(|m| matches!(m, TaskMetric::ExposureDisparity(_)));
    if let Some((key, m)) = disparity.map(|i| (format!("protocol.metrics[{i}]"), metrics[i])).or_else(|| {
        matches!(valid_metric, TaskMetric::ExposureDisparity(_)).then(|| ("protocol.valid_metric".to_string(), valid_metric))
    }) {
        let message = format!("`{m}` is logged at every K of the metrics when `protocol.providers` names the item file's provider column; leave it out here");
        return Err(invalid(key, message));
    }
    let source = loaded.spec.dataset.source;
    let kind = loaded.spec.dataset.kind();
    for (i, m) in loaded.spec.models.iter().enumerate() {
        attnlab_models::check_params(&m.model, &m.params).map_err(|e| invalid(format!("models[{i}]"), e.to_string()))?;
        let task = attnlab_models::task_of(&m.model).map_err(|e| invalid(format!("models[{i}]"), e.to_string()))?;
        let fits = match (source, kind) {
            (DataSource::CtrLog | DataSource::Obd, _) => task == Task::Ctr,
            (_, DataKind::Impressions) => matches!(task, Task::Ctr | Task::MultiTask),
            (_, DataKind::Interactions) => task == Task::NextItem,
        };
        if !fits {
            let data = match (source, kind) {
                (DataSource::CtrLog, _) => "a click log trains CTR models",
                (DataSource::Obd, _) => "an Open Bandit Dataset log trains CTR models",
                (DataSource::Simulator, _) => "simulated impressions train CTR and multi-task models",
                (_, DataKind::Impressions) => "impressions train CTR and multi-task models",
                (_, DataKind::Interactions) => "interaction data trains next-item models",
            };
            return Err(invalid(format!("models[{i}].model"), format!("`{}` is a {task} model; {data}", m.model)));
        }
        let sampled = loaded.spec.train_for(m).is_ok_and(|t| t.loss.name != attnlab_spec::LossName::Model);
        if sampled && task != Task::NextItem {
            let key = if m.train.contains_key("loss") { format!("models[{i}].train.loss") } else { "train.loss".into() };
            return Err(invalid(key, format!("a sampled softmax trains next-item models; `{}` is a {task} model", m.model)));
        }
    }
    let from_files = matches!(source, DataSource::RecboleAtomic | DataSource::Movielens);
    let own = loaded.spec.models.iter().position(|m| m.item_features.as_ref().is_some_and(|f| !f.is_empty()));
    let key = match own {
        _ if !loaded.spec.dataset.item_features.is_empty() => Some("dataset.item_features".to_string()),
        Some(i) => Some(format!("models[{i}].item_features")),
        None => None,
    };
    if let Some(key) = key.filter(|_| !from_files) {
        let message = "item features come from the item file of a `recbole-atomic` or `movielens` source".to_string();
        return Err(invalid(key, message));
    }
    let own_users = loaded.spec.models.iter().position(|m| m.user_features.as_ref().is_some_and(|f| !f.is_empty()));
    let key = match own_users {
        _ if !loaded.spec.dataset.user_features.is_empty() => Some("dataset.user_features".to_string()),
        Some(i) => Some(format!("models[{i}].user_features")),
        None => None,
    };
    if let Some(key) = key.filter(|_| !from_files) {
        return Err(invalid(key, "user features come from the user file of a `recbole-atomic` or `movielens` source".into()));
    }
    if loaded.spec.dataset.user_embeddings.is_some() && !from_files {
        let message = "pretrained user vectors key the users of a `recbole-atomic` or `movielens` source".to_string();
        return Err(invalid("dataset.user_embeddings".into(), message));
    }
    if let Some(i) = loaded.spec.models.iter().position(|m| m.item_fusion != attnlab_spec::ItemFusion::Sum && m.item_features.as_ref().map_or(loaded.spec.dataset.item_features.is_empty(), Vec::is_empty)) {
        return Err(invalid(format!("models[{i}].item_fusion"), "fuses item features, and the model has none".into()));
    }
    if !protocol.user_groups.is_empty() && !from_files {
        let message = "user groups come from the user file of a `recbole-atomic` or `movielens` source".to_string();
        return Err(invalid("protocol.user_groups".into(), message));
    }
    if protocol.providers.is_some() && !from_files {
        let message = "providers come from the item file of a `recbole-atomic` or `movielens` source".to_string();
        return Err(invalid("protocol.providers".into(), message));
    }
    if kind == DataKind::Interactions {
        if let Some((i, m)) = metrics.iter().enumerate().find(|(_, m)| !matches!(m, TaskMetric::Metric(x) if x.ranking().is_some())) {
            return Err(invalid(format!("protocol.metrics[{i}]"), format!("`{}` is not a ranking metric (e.g. ndcg@10)", m.name())));
        }
    }
    objectives::check_objectives(loaded, &metrics)?;
    Ok((metrics, valid_metric))
}

/// `run`'s first check: a spec without models can be validated and its
/// data explored, but there is nothing to train.
pub fn require_models(loaded: &LoadedSpec) -> Result<(), SpecError> {
    if !loaded.spec.models.is_empty() {
        return Ok(());
    }
    let example = match loaded.spec.dataset.kind() {
        DataKind::Interactions => "models: [{ name: pop, model: Pop }, { name: sasrec, model: SASRec }]",
        DataKind::Impressions => "models: [{ name: lr, model: LR }, { name: din, model: DIN }]",
    };
    Err(SpecError::Invalid {
        path: loaded.path.clone(),
        field: "models".into(),
        message: format!("no models to train: add a `models:` list, e.g. `{example}`"),
    })
}

/// Prepares the spec's data; interaction data is cached under `cache_root`.
pub fn prepare(loaded: &LoadedSpec, cache_root: &Path) -> Result<Prepared> {
    match loaded.spec.dataset.source {
        DataSource::Simulator => prepare_impressions(loaded),
        DataSource::RecboleAtomic => prepare_interaction_rows(loaded, cache_root, atomic_rows(loaded)?),
        DataSource::CtrLog => ctr_log::prepare_ctr_log(loaded),
        DataSource::Movielens => prepare_interaction_rows(loaded, cache_root, movielens::movielens_rows(loaded)?),
        DataSource::AttentionLog => attention_log::prepare_attention_log(loaded, cache_root),
        DataSource::Obd => obd::prepare_obd(loaded),
    }
}

/// The simulator settings a spec asks for; unset ad settings take the
/// simulator's defaults.
pub fn simulator_config(spec: &attnlab_spec::Spec) -> SimulatorConfig {
    let sim = &spec.dataset.simulator;
    let ads = match &sim.ads {
        None => AdsConfig::off(),
        Some(a) => {
            let d = AdsConfig::default();
            let placement = match (&a.slots, a.load) {
                (Some(slots), _) => AdPlacement::Slots(slots.iter().map(|&s| s as usize).collect()),
                (None, Some(load)) => AdPlacement::Load(load),
                (None, None) => d.placement,
            };
            AdsConfig {
                advertisers: a.advertisers.map_or(d.advertisers, |n| n as usize),
                ad_share: a.ad_share.unwrap_or(d.ad_share),
                placement,
                cpa_share: a.cpa_share.unwrap_or(d.cpa_share),
                mean_cpc_bid: a.mean_cpc_bid.unwrap_or(d.mean_cpc_bid),
                mean_daily_budget: a.mean_daily_budget.unwrap_or(d.mean_daily_budget),
                cvr_affinity_weight: a.cvr_affinity_weight.unwrap_or(d.cvr_affinity_weight),
                dwell_length_weight: a.dwell_length_weight.unwrap_or(d.dwell_length_weight),
            }
        }
    };
    SimulatorConfig {
        seed: spec.dataset.seed,
        users: sim.users as usize,
        items: sim.items as usize,
        topics: sim.topics as usize,
        sessions_per_user: sim.sessions_per_user as usize,
        slots: sim.slots as usize,
        interest_sharpness: sim.interest_sharpness,
        history_len: spec.protocol.history_len as usize,
        ads,
    }
}

fn prepare_impressions(loaded: &LoadedSpec) -> Result<Prepared> {
    let (metrics, valid_metric) = check(loaded)?;
    let spec = &loaded.spec;
    let config = simulator_config(spec);
    let in_file = |e: &dyn std::fmt::Display| ExperimentError::bad(format!("{}: dataset: {e}", loaded.path.display()));
    let data = simulate(&config).map_err(|e| in_file(&e))?;
    let splits = split_temporal(&data, spec.protocol.ratios).map_err(|e| in_file(&e))?;
    let data_fingerprint = {
        let sections = serde_json::json!({
            "simulator_version": SIMULATOR_VERSION,
            "dataset": spec.dataset,
            "protocol": { "ratios": spec.protocol.ratios, "history_len": spec.protocol.history_len },
        });
        blake3::hash(sections.to_string().as_bytes()).to_hex()[..16].to_string()
    };
    let oracle_test_auc = auc(&splits.test.click, &splits.test.true_ctr);
    let data = Dataset::Impressions { splits, sizes: config.cardinalities(), oracle_test_auc, vocabularies: None };
    Ok(Prepared { data, data_fingerprint, metrics, valid_metric, notes: Vec::new() })
}

/// Where a spec's interaction rows come from: the file that decides them
/// (its sha256 is in the fingerprint), what else of the source shapes them
/// (`None` for atomic files, whose fingerprints stay as they were), the
/// user and item files read beside it, and how to read them (the
/// interactions and the report of each file read).
pub(crate) struct InteractionRows<'a> {
    pub file: std::path::PathBuf,
    pub settings: Option<serde_json::Value>,
    /// The user and item files of the source that exist (side features).
    pub side_files: Vec<std::path::PathBuf>,
    #[allow(clippy::type_complexity)]
    pub load: Box<dyn Fn(attnlab_data::OnBadRow) -> Result<(attnlab_data::Interactions, Vec<attnlab_data::LoadReport>)> + 'a>,
}

/// The RecBole atomic files a spec names.
fn atomic_rows(loaded: &LoadedSpec) -> Result<InteractionRows<'static>> {
    let spec = &loaded.spec;
    let path = std::path::PathBuf::from(spec.dataset.path.as_deref().unwrap_or("."));
    let name = match &spec.dataset.name {
        Some(n) => n.clone(),
        None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let inter = path.join(format!("{name}.inter"));
    if !inter.exists() {
        return Err(ExperimentError::bad(format!(
            "{}: dataset.path: {} does not exist; the spec's header comment says where to get the data (ml-100k: `attnlab data fetch ml-100k`)",
            loaded.path.display(),
            inter.display()
        )));
    }
    let side_files = existing(["user", "item"].map(|kind| path.join(format!("{name}.{kind}"))));
    // the .inter file decides the rows; feature files do not change them
    let load = move |on_bad_row| {
        let options = attnlab_data::AtomicOptions { on_bad_row, ..attnlab_data::AtomicOptions::default() };
        let data = attnlab_data::load_atomic(&path, &name, &options)?;
        Ok((data.interactions, data.reports))
    };
    Ok(InteractionRows { file: inter, settings: None, side_files, load: Box::new(load) })
}

/// The files of `paths` that exist.
pub(crate) fn existing(paths: impl IntoIterator<Item = std::path::PathBuf>) -> Vec<std::path::PathBuf> {
    paths.into_iter().filter(|p| p.is_file()).collect()
}

/// The interaction rows of a spec whose data are interactions from files.
fn interaction_rows(loaded: &LoadedSpec) -> Result<InteractionRows<'static>> {
    match loaded.spec.dataset.source {
        DataSource::RecboleAtomic => atomic_rows(loaded),
        DataSource::Movielens => movielens::movielens_rows(loaded),
        DataSource::AttentionLog => attention_log::interaction_rows(loaded),
        _ => Err(ExperimentError::bad(format!("{}: dataset.source: its data are not interactions read from files", loaded.path.display()))),
    }
}

fn on_bad_row_of(spec: &attnlab_spec::Spec) -> attnlab_data::OnBadRow {
    match spec.dataset.on_bad_row {
        attnlab_spec::BadRowPolicy::Error => attnlab_data::OnBadRow::Error,
        attnlab_spec::BadRowPolicy::Skip => attnlab_data::OnBadRow::Skip,
    }
}

fn preprocess_of(spec: &attnlab_spec::Spec) -> attnlab_data::Preprocess {
    let pre = &spec.dataset.preprocess;
    attnlab_data::Preprocess {
        dedup: pre.dedup,
        label_threshold: pre.label_threshold,
        positives_only: pre.positives_only,
        min_user_inter: pre.min_user_inter as usize,
        min_item_inter: pre.min_item_inter as usize,
    }
}

/// The user and item vocabularies (original token <-> dense id) of a spec's
/// interaction files, as its runs were trained with: the files read and
/// preprocessed again (the prepared-data cache holds ids only).
pub fn interaction_vocabularies(loaded: &LoadedSpec) -> Result<(attnlab_data::Vocab, attnlab_data::Vocab)> {
    let clean = read_again(loaded, &interaction_rows(loaded)?)?;
    Ok((clean.users, clean.items))
}

/// The source's rows read and preprocessed again, with their side-feature
/// tables (the prepared-data cache holds ids only): the same ids as the
/// prepared data.
pub(crate) fn read_again(loaded: &LoadedSpec, rows: &InteractionRows<'_>) -> Result<attnlab_data::Interactions> {
    let (interactions, _) = (rows.load)(on_bad_row_of(&loaded.spec))?;
    Ok(attnlab_data::preprocess(&interactions, &preprocess_of(&loaded.spec))?.0)
}

/// Interaction data of any file source prepared under the spec's protocol,
/// from the cache when the same file and settings were prepared before.
pub(crate) fn prepare_interaction_rows(loaded: &LoadedSpec, cache_root: &Path, rows: InteractionRows<'_>) -> Result<Prepared> {
    use attnlab_data::{Candidates, GroupBy, OnBadRow, Order, Protocol, Split};
    use attnlab_spec::{GroupKind, OrderKind, SplitKind};

    let spec = &loaded.spec;
    let (metrics, valid_metric) = check(loaded)?;
    let p = &spec.protocol;
    let candidates = match p.candidates.split_once(':') {
        Some(("uniform", n)) => Candidates::Uniform(n.parse()?),
        Some(("popularity", n)) => Candidates::Popularity(n.parse()?),
        _ => Candidates::Full { exclude_history: p.exclude_history },
    };
    let protocol = Protocol {
        split: match p.split {
            SplitKind::LeaveOneOut => Split::LeaveOneOut,
            _ => Split::Ratio(p.ratios),
        },
        order: match p.order {
            OrderKind::Random => Order::Random,
            OrderKind::Time => Order::Time,
        },
        group_by: match p.group_by {
            GroupKind::User => GroupBy::User,
            GroupKind::None => GroupBy::None,
        },
        candidates,
        seed: spec.dataset.seed,
        max_len: Some(p.max_len as usize),
        cold_items: p.cold_items,
    };
    let preprocess = preprocess_of(spec);
    let on_bad_row = on_bad_row_of(spec);
    let (file, settings, load) = (rows.file.as_path(), &rows.settings, &rows.load);
    let source = attnlab_data::DataSource::files(&[file])?;
    let skip = on_bad_row == OnBadRow::Skip;
    let fingerprint = match settings {
        None => attnlab_data::fingerprint(&source, &(&preprocess, &protocol, skip))?,
        Some(settings) => attnlab_data::fingerprint(&source, &(&preprocess, &protocol, skip, settings))?,
    };
    // Sequences are derived from the split: a spec without a model that reads
    // them skips building them (at 20M interactions the valid and test input
    // windows are most of the prepared data). That form has a cache entry of
    // its own, while the data fingerprint, and so every run's identity, stays.
    let reads_sequences = spec.models.iter().any(|m| attnlab_models::reads_sequence(&m.model).unwrap_or(true));
    let cache_key = if reads_sequences { fingerprint.clone() } else { fingerprint.variant("without sequences") };
    let built = Protocol { max_len: protocol.max_len.filter(|_| reads_sequences), ..protocol.clone() };
    let mut notes = Vec::new();
    let (prepared, outcome) = attnlab_data::load_or_prepare(cache_root, &cache_key, || -> Result<_> {
        let (interactions, reports) = load(on_bad_row)?;
        for report in reports.iter().filter(|r| r.skipped > 0) {
            notes.push(format!("{}: skipped {} bad rows (first: {})", report.path.display(), report.skipped, report.first_skipped.join("; ")));
        }
        let (clean, _) = attnlab_data::preprocess(&interactions, &preprocess)?;
        Ok(attnlab_data::prepare(&clean, &built)?)
    })?;
    check_timestamps(loaded, &prepared, file)?;
    let (item_features, read) = item_features::item_features(loaded, &rows, &prepared.item_popularity)?;
    notes.extend(read);
    let user_groups = user_groups::user_groups(loaded, &rows, prepared.num_users)?;
    let providers = providers::providers(loaded, &rows, prepared.num_items)?;
    let cache_hit = matches!(outcome, attnlab_data::CacheOutcome::Hit);
    if let attnlab_data::CacheOutcome::Miss { warnings } = &outcome {
        notes.extend(warnings.iter().map(|w| format!("cache: {w}")));
    }
    // Side files change no row, so the cache key leaves them out; a run that
    // reads them (features, groups) must not be taken for one made before
    // they were edited, so its data fingerprint hashes them too.
    let read_beside = item_features::files_read(loaded, &rows, &item_features, !user_groups.is_empty() || providers.is_some());
    let data_fingerprint = if read_beside.is_empty() {
        fingerprint.as_str()[..16].to_string()
    } else {
        let files: Vec<&Path> = std::iter::once(file).chain(read_beside.iter().map(|p| p.as_path())).collect();
        attnlab_data::fingerprint(&attnlab_data::DataSource::files(&files)?, &(&preprocess, &protocol, skip, settings))?.as_str()[..16].to_string()
    };
    let data = Dataset::Interactions { prepared, cache_hit, item_features, user_groups, providers };
    Ok(Prepared { data, data_fingerprint, metrics, valid_metric, notes })
}

/// A model that reads time (HSTU's relative-time bias) needs data with
/// timestamps: refused before any run starts, naming the key that asks.
fn check_timestamps(loaded: &LoadedSpec, prepared: &attnlab_data::Prepared, inter: &Path) -> Result<()> {
    if prepared.sequences.as_ref().is_some_and(|s| s.train_times.is_some()) {
        return Ok(());
    }
    for (i, m) in loaded.spec.models.iter().enumerate() {
        if let Some(key) = attnlab_models::time_key(&m.model, &m.params)? {
            return Err(ExperimentError::bad(format!(
                "{}: models[{i}].params.{key}: {} reads timestamps, and {} has none (no timestamp column); set `{key}: false` or use data with timestamps",
                loaded.path.display(),
                m.model,
                inter.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod valid_metric_tests {
    use super::*;

    #[test]
    fn multitask_models_stop_on_click_auc_when_the_spec_stops_on_auc() {
        let parse = |name: &str| TaskMetric::parse(name).unwrap();
        assert_eq!(multitask_valid_metric(parse("auc")), TaskMetric::CtrAuc);
        for own in TaskMetric::MULTITASK {
            assert_eq!(multitask_valid_metric(own), own);
        }
        // a metric the multi-task models do not compute: conversions, as before
        assert_eq!(multitask_valid_metric(parse("logloss")), TaskMetric::CvrAuc);
        assert_eq!(multitask_valid_metric(parse("gauc")), TaskMetric::CvrAuc);
    }
}
