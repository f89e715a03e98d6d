//! What a spec may ask of a click model's objective: a dwell target
//! (`train.target`) or a metric of time needs data with dwell times (the
//! simulator, or an attention log's click rows), a dwell target is for click
//! models, `train.position_debias: pal` for click and multi-task models
//! (not with a dwell target), `ips` for click models on clicks (with the
//! simulator's propensities or the spec's), a multi-task model's
//! `dwell_head` needs dwell times too, and `relevance_auc` needs the
//! simulator's true relevance.

use attnlab_eval::TaskMetric;
use attnlab_models::Task;
use attnlab_spec::{DataSource, LoadedSpec, PositionDebias, Spec, SpecError, TrainSpec};

/// Whether the spec's impressions carry dwell times: the simulator's and an
/// attention log's do, a CTR log's when `dataset.ctr_log.dwell` names a column.
fn has_dwell(spec: &Spec) -> bool {
    match spec.dataset.source {
        DataSource::Simulator | DataSource::AttentionLog => true,
        DataSource::CtrLog => spec.dataset.ctr_log.as_ref().is_some_and(|l| l.dwell.is_some()),
        _ => false,
    }
}

fn source_name(source: DataSource) -> String {
    serde_json::to_value(source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{source:?}"))
}

/// `position_debias: ips` weights clicks of click models, with the
/// simulator's examination curve or the spec's `propensities` (each in
/// (0, 1]); `propensities` without IPS is a mistake. Errors as (key, why).
fn check_ips(
    train: &TrainSpec,
    is_ctr: bool,
    model: &str,
    source_name: &str,
    source: DataSource,
    key_of: impl Fn(&str) -> String,
) -> Result<(), (String, String)> {
    if train.position_debias != PositionDebias::Ips {
        if !train.propensities.is_empty() {
            return Err((key_of("propensities"), "examination propensities are for `position_debias: ips`".into()));
        }
        return Ok(());
    }
    if !is_ctr || !train.target.is_click() {
        let why = format!("`ips` weights the clicks of click models with the `click` target; `{model}` with `{}` is not one", train.target.name());
        return Err((key_of("position_debias"), why));
    }
    if train.propensities.is_empty() && source != DataSource::Simulator {
        let why = format!("`ips` needs each slot's examination propensity, which source `{source_name}` does not know: list them (position 0 first)");
        return Err((key_of("propensities"), why));
    }
    if let Some(j) = train.propensities.iter().position(|p| !(p.is_finite() && *p > 0.0 && *p <= 1.0)) {
        return Err((format!("{}[{j}]", key_of("propensities")), format!("a propensity is in (0, 1], got {}", train.propensities[j])));
    }
    Ok(())
}

/// The rules, each error naming the key (and the source where it is at fault).
pub fn check_objectives(loaded: &LoadedSpec, metrics: &[TaskMetric]) -> Result<(), SpecError> {
    let invalid = |field: String, message: String| SpecError::Invalid { path: loaded.path.clone(), field, message };
    let source = loaded.spec.dataset.source;
    let name = source_name(source);
    for (i, m) in loaded.spec.models.iter().enumerate() {
        let Ok(train) = loaded.spec.train_for(m) else { continue }; // reported by the spec's own checks
        let is_ctr = attnlab_models::task_of(&m.model).ok() == Some(Task::Ctr);
        if m.params.get("dwell_head") == Some(&serde_json::Value::Bool(true)) && !has_dwell(&loaded.spec) {
            let why = format!("a dwell head learns dwell times, and source `{name}` has none (the simulator, attention logs and CTR logs with `dataset.ctr_log.dwell` have)");
            return Err(invalid(format!("models[{i}].params.dwell_head"), why));
        }
        let is_multitask = attnlab_models::task_of(&m.model).ok() == Some(Task::MultiTask);
        let key_of = |k: &str| if m.train.contains_key(k) { format!("models[{i}].train.{k}") } else { format!("train.{k}") };
        if train.position_debias == PositionDebias::Pal && !is_ctr && !is_multitask {
            return Err(invalid(key_of("position_debias"), format!("`pal` wraps click and multi-task models; `{}` is neither", m.model)));
        }
        check_ips(&train, is_ctr, &m.model, &name, source, key_of).map_err(|(key, why)| invalid(key, why))?;
        if !train.target.needs_dwell() {
            continue;
        }
        let key = if m.train.contains_key("target") { format!("models[{i}].train.target") } else { "train.target".into() };
        let target = train.target.name();
        if !has_dwell(&loaded.spec) {
            let why = format!("`{target}` learns dwell times, and source `{name}` has none (the simulator, attention logs and CTR logs with `dataset.ctr_log.dwell` have)");
            return Err(invalid(key, why));
        }
        if !is_ctr {
            return Err(invalid(key, format!("`{target}` is a target of click models; `{}` is not one", m.model)));
        }
        if train.position_debias == PositionDebias::Pal {
            // PAL multiplies click probabilities; a dwell target's output is
            // no probability (measured: DeepFM with WLR and PAL learns nothing)
            return Err(invalid(key, format!("`{target}` with `position_debias: pal` is not supported: PAL multiplies click probabilities")));
        }
    }
    for (i, m) in metrics.iter().enumerate() {
        if m.is_dwell() && !has_dwell(&loaded.spec) {
            return Err(invalid(format!("protocol.metrics[{i}]"), format!("`{m}` needs dwell times, and source `{name}` has none")));
        }
        if *m == TaskMetric::RelevanceAuc && source != DataSource::Simulator {
            let why = format!("`{m}` needs the simulator's true relevance; source `{name}` has none");
            return Err(invalid(format!("protocol.metrics[{i}]"), why));
        }
    }
    Ok(())
}
