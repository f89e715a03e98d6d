//! From a loaded spec to what every run of it shares: checked metric and
//! model names, the simulated data split by time, and its fingerprint.

use attnlab_data::{simulate, split_temporal, AdPlacement, AdsConfig, Cardinalities, SimulatorConfig, Splits, SIMULATOR_VERSION};
use attnlab_eval::{auc, Metric};
use attnlab_spec::{DataSource, LoadedSpec, SpecError};

use crate::exit::BadInput;

pub struct Prepared {
    pub splits: Splits,
    pub sizes: Cardinalities,
    /// blake3 over the dataset and protocol sections: equal fingerprints mean
    /// the same rows, split and metrics, so results are comparable.
    pub data_fingerprint: String,
    pub metrics: Vec<Metric>,
    pub valid_metric: Metric,
    /// AUC of the simulator's true click probabilities on the test split:
    /// the best any model can reach.
    pub oracle_test_auc: Option<f64>,
}

/// Checks what the spec crate cannot: metric names and each model's params.
pub fn check(loaded: &LoadedSpec) -> Result<(Vec<Metric>, Metric), SpecError> {
    let invalid = |field: String, message: String| SpecError::Invalid { path: loaded.path.clone(), field, message };
    let protocol = &loaded.spec.protocol;
    let metrics = protocol
        .metrics
        .iter()
        .enumerate()
        .map(|(i, name)| Metric::parse(name).map_err(|e| invalid(format!("protocol.metrics[{i}]"), e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let valid_metric =
        Metric::parse(&protocol.valid_metric).map_err(|e| invalid("protocol.valid_metric".into(), e.to_string()))?;
    for (i, m) in loaded.spec.models.iter().enumerate() {
        attnlab_models::check_params(&m.model, &m.params).map_err(|e| invalid(format!("models[{i}]"), e.to_string()))?;
        // The simulator's impressions feed click models; other tasks need
        // their own data path (`attnlab run` says so up front, before any run).
        let task = attnlab_models::task_of(&m.model).map_err(|e| invalid(format!("models[{i}]"), e.to_string()))?;
        if task != attnlab_models::Task::Ctr {
            return Err(invalid(
                format!("models[{i}].model"),
                format!("`{}` is a {task} model; this dataset trains click (CTR) models only", m.model),
            ));
        }
    }
    Ok((metrics, valid_metric))
}

/// The simulator settings a spec asks for; unset ad settings take the
/// simulator's defaults.
pub fn simulator_config(spec: &attnlab_spec::Spec) -> SimulatorConfig {
    let DataSource::Simulator = spec.dataset.source;
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

pub fn prepare(loaded: &LoadedSpec) -> anyhow::Result<Prepared> {
    let (metrics, valid_metric) = check(loaded)?;
    let spec = &loaded.spec;
    let config = simulator_config(&loaded.spec);
    let in_file = |e: &dyn std::fmt::Display| BadInput(format!("{}: dataset: {e}", loaded.path.display()));
    let data = simulate(&config).map_err(|e| in_file(&e))?;
    let splits = split_temporal(&data, spec.protocol.ratios).map_err(|e| in_file(&e))?;
    let data_fingerprint = {
        let sections = serde_json::json!({
            "simulator_version": SIMULATOR_VERSION,
            "dataset": spec.dataset,
            "protocol": spec.protocol,
        });
        blake3::hash(sections.to_string().as_bytes()).to_hex()[..16].to_string()
    };
    let oracle_test_auc = auc(&splits.test.click, &splits.test.true_ctr);
    Ok(Prepared { splits, sizes: config.cardinalities(), data_fingerprint, metrics, valid_metric, oracle_test_auc })
}
