//! What a spec may ask of a click model's objective: a dwell target
//! (`train.target`) or a metric of time needs data with dwell times (the
//! simulator, or an attention log's click rows), a dwell target and
//! `train.position_debias: pal` are for click models, a multi-task model's
//! `dwell_head` needs dwell times too, and `relevance_auc` needs the
//! simulator's true relevance.

use attnlab_eval::TaskMetric;
use attnlab_models::Task;
use attnlab_spec::{DataSource, LoadedSpec, Spec, SpecError};

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
        if !train.position_debias.is_none() && !is_ctr {
            let key =
                if m.train.contains_key("position_debias") { format!("models[{i}].train.position_debias") } else { "train.position_debias".into() };
            return Err(invalid(key, format!("`pal` wraps click models; `{}` is not one", m.model)));
        }
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
        if !train.position_debias.is_none() {
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
