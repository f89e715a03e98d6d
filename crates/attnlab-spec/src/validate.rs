//! Cross-field checks that a typed parse cannot express.

use std::collections::HashSet;
use std::path::Path;

use crate::{LossName, LossSpec, SequenceExamples, Spec, SpecError, TrainSpec};

/// Parsed `train.device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(usize),
}

impl DeviceChoice {
    pub fn parse(text: &str) -> Option<DeviceChoice> {
        match text {
            "auto" => Some(DeviceChoice::Auto),
            "cpu" => Some(DeviceChoice::Cpu),
            "cuda" => Some(DeviceChoice::Cuda(0)),
            _ => text.strip_prefix("cuda:")?.parse().ok().map(DeviceChoice::Cuda),
        }
    }
}

/// Every cross-field problem, in a fixed order.
pub(crate) fn rules(spec: &Spec, path: &Path) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let invalid = |field: &str, message: String| SpecError::Invalid {
        path: path.to_path_buf(),
        field: field.to_string(),
        message,
    };
    let safe_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !safe_name(&spec.name) {
        errors.push(invalid("name", format!("`{}` must be non-empty letters, digits, `-`, `_` or `.`", spec.name)));
    }
    let mut names = HashSet::new();
    for (i, m) in spec.models.iter().enumerate() {
        if !safe_name(&m.name) {
            errors.push(invalid(&format!("models[{i}].name"), format!("`{}` must be letters, digits, `-`, `_` or `.`", m.name)));
        }
        if !names.insert(&m.name) {
            errors.push(invalid(&format!("models[{i}].name"), format!("`{}` is used twice", m.name)));
        }
    }
    for (i, t) in spec.targets.iter().enumerate() {
        // a target whose model an override left out is reported as unmeasured, not an error
        if !spec.protocol.metrics.contains(&t.metric) {
            errors.push(invalid(&format!("targets[{i}].metric"), format!("`{}` is not among protocol.metrics", t.metric)));
        }
    }
    if spec.seeds.is_empty() {
        errors.push(invalid("seeds", "at least one seed is required".into()));
    }
    if spec.seeds.iter().collect::<HashSet<_>>().len() != spec.seeds.len() {
        errors.push(invalid("seeds", "seeds must be distinct".into()));
    }
    use crate::{DataSource, SplitKind};
    match (spec.dataset.source, spec.protocol.split) {
        (DataSource::Simulator, SplitKind::Temporal) => {}
        (DataSource::Simulator, _) => {
            errors.push(invalid("protocol.split", "simulated impressions are split by time: use `temporal`".into()));
        }
        (DataSource::CtrLog, split) => {
            if split != SplitKind::Temporal {
                errors.push(invalid("protocol.split", "a click log is split in row (time) order: use `temporal`".into()));
            }
            if spec.dataset.path.is_none() {
                errors.push(invalid("dataset.path", "a file source needs the folder of its files".into()));
            }
            if spec.dataset.ctr_log.is_none() {
                errors.push(invalid("dataset.ctr_log", "source `ctr-log` needs `ctr_log: { file, format, fields }`".into()));
            }
        }
        (DataSource::AttentionLog, split) => {
            if spec.dataset.path.is_none() {
                errors.push(invalid("dataset.path", "a file source needs the folder of its files".into()));
            }
            match &spec.dataset.attention_log {
                None => errors.push(invalid("dataset.attention_log", "source `attention-log` needs `attention_log: { file }`".into())),
                Some(log) if log.kind == crate::AttentionLogKind::Impressions && split != SplitKind::Temporal => {
                    errors.push(invalid("protocol.split", "impressions of an attention log are split by time: use `temporal`".into()));
                }
                Some(log) if log.kind == crate::AttentionLogKind::Interactions && split == SplitKind::Temporal => {
                    errors.push(invalid("protocol.split", "interaction data is split by `ratio` or `leave-one-out`".into()));
                }
                Some(log) if log.events.is_empty() => {
                    errors.push(invalid("dataset.attention_log.events", "at least one event is required".into()));
                }
                Some(_) => {}
            }
        }
        (DataSource::Obd, split) => {
            if split != SplitKind::Temporal {
                errors.push(invalid("protocol.split", "an Open Bandit Dataset log is split in time order: use `temporal`".into()));
            }
            if spec.dataset.obd.is_none() {
                errors.push(invalid("dataset.obd", "source `obd` needs `obd: { policy: random|bts, campaign: all|men|women }`".into()));
            }
        }
        (_, SplitKind::Temporal) => {
            errors.push(invalid("protocol.split", "interaction data is split by `ratio` or `leave-one-out`".into()));
        }
        _ if spec.dataset.path.is_none() => {
            errors.push(invalid("dataset.path", "a file source needs the folder of its files".into()));
        }
        _ => {}
    }
    let c = spec.protocol.candidates.as_str();
    let sampled = c.strip_prefix("uniform:").or_else(|| c.strip_prefix("popularity:"));
    if c != "full" && !sampled.is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0)) {
        errors.push(invalid("protocol.candidates", format!("`{c}` is not `full`, `uniform:N` or `popularity:N`")));
    }
    let ratios = spec.protocol.ratios;
    if ratios.iter().any(|r| !(r.is_finite() && *r > 0.0)) || (ratios.iter().sum::<f64>() - 1.0).abs() > 1e-6 {
        errors.push(invalid("protocol.ratios", format!("{ratios:?} must be three positive fractions summing to 1")));
    }
    if spec.protocol.metrics.is_empty() {
        errors.push(invalid("protocol.metrics", "at least one metric is required".into()));
    }
    if !spec.protocol.metrics.contains(&spec.protocol.valid_metric) {
        errors.push(invalid(
            "protocol.valid_metric",
            format!("`{}` is not among protocol.metrics {:?}", spec.protocol.valid_metric, spec.protocol.metrics),
        ));
    }
    if DeviceChoice::parse(&spec.train.device).is_none() {
        errors.push(invalid("train.device", format!("`{}` is not auto, cpu or cuda:N", spec.train.device)));
    }
    for (i, device) in spec.devices.iter().enumerate() {
        if DeviceChoice::parse(device).is_none() {
            errors.push(invalid(&format!("devices[{i}]"), format!("`{device}` is not auto, cpu or cuda:N")));
        }
    }
    if let Some(ads) = &spec.dataset.simulator.ads
        && ads.slots.is_some()
        && ads.load.is_some()
    {
        errors.push(invalid("dataset.simulator.ads", "give either `slots` or `load`, not both".into()));
    }
    let spec_wide = recipe_problems(&spec.train, spec.protocol.max_len);
    for (field, message) in &spec_wide {
        errors.push(invalid(&format!("train.{field}"), message.clone()));
    }
    for (i, model) in spec.models.iter().enumerate().filter(|(_, m)| !m.train.is_empty()) {
        match spec.train_for(model) {
            Ok(train) => {
                // what the model's keys bring (alone or with the spec's), once
                for (field, message) in recipe_problems(&train, spec.protocol.max_len) {
                    if !spec_wide.contains(&(field.clone(), message.clone())) {
                        errors.push(invalid(&format!("models[{i}].train.{field}"), message));
                    }
                }
            }
            Err(SpecError::ModelTrain { message, .. }) => errors.push(invalid(&format!("models[{i}].train"), message)),
            Err(other) => errors.push(invalid(&format!("models[{i}].train"), other.to_string())),
        }
    }
    if spec.train.threads == Some(0) {
        errors.push(invalid("train.threads", "must be at least 1".into()));
    }
    for (field, message) in crate::privacy::rules(spec) {
        errors.push(invalid(&field, message));
    }
    for (field, message) in crate::ab_test::problems(spec) {
        errors.push(invalid(&field, message));
    }
    if let Some(sweep) = &spec.sweep {
        for (field, message) in crate::sweep::structure_problems(sweep) {
            errors.push(invalid(&field, message));
        }
    }
    errors
}

/// Problems of the training recipe (the keys a model may also set for
/// itself), as (field under `train.`, message).
fn recipe_problems(train: &TrainSpec, max_len: u64) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let o = &train.optimizer;
    if !((0.0..1.0).contains(&o.beta1) && (0.0..1.0).contains(&o.beta2)) {
        problems.push(("optimizer".into(), format!("beta1 {} and beta2 {} must be in [0, 1)", o.beta1, o.beta2)));
    }
    if o.l2_embedding > 0.0 && o.embedding_params.is_empty() {
        problems.push(("optimizer.embedding_params".into(), "l2_embedding needs the embedding tables it applies to".into()));
    }
    if train.schedule.every_steps == 0 {
        problems.push(("schedule.every_steps".into(), "must be at least 1".into()));
    }
    if let Some((key, w)) = train.task_weights.invalid() {
        problems.push((format!("task_weights.{key}"), format!("{w} must be a finite weight >= 0")));
    }
    if let Some(stride) = train.window_stride {
        if train.sequence_examples != SequenceExamples::Windows {
            problems.push(("window_stride".into(), "applies to `sequence_examples: windows` only".into()));
        } else if stride == 0 || stride > max_len {
            problems.push(("window_stride".into(), format!("must be in 1..={max_len} (protocol.max_len), got {stride}")));
        }
    }
    let loss = &train.loss;
    if loss.name == LossName::Model {
        let own = LossSpec { name: LossName::Model, ..LossSpec::default() };
        if *loss != own {
            problems.push(("loss".into(), "negatives, temperature, l2_normalize and sampler apply to `name: sampled_softmax` only".into()));
        }
    }
    problems
}
