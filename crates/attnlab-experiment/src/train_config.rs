//! From the spec's `train:` section to the trainer's configuration.

use std::path::PathBuf;

use attnlab_spec::{AmpSpec, DecayName, LossName, OptimizerName, SamplerName, TrainSpec};
use attnlab_train::{Amp, Decay, NegativeSampler, OptimizerConfig, OptimizerKind, SampledSoftmaxConfig, TrainConfig};

use attnlab_eval::Metric;

/// The trainer settings of one run (seed, device, metrics and checkpoint
/// folder are the run's own).
pub fn train_config(
    t: &TrainSpec,
    (metrics, valid_metric): (Vec<Metric>, Metric),
    seed: u64,
    device: tch::Device,
    checkpoint_dir: Option<PathBuf>,
    label: String,
) -> TrainConfig {
    let o = &t.optimizer;
    let s = &t.schedule;
    TrainConfig {
        epochs: t.epochs as usize,
        batch_size: t.batch_size as usize,
        lr: o.lr,
        warmup_steps: s.warmup_steps as usize,
        decay: match s.decay {
            DecayName::Constant => Decay::Constant,
            DecayName::Linear => Decay::Linear { final_lr: s.final_lr },
            DecayName::Cosine => Decay::Cosine { final_lr: s.final_lr },
            DecayName::Step => Decay::Step { every_steps: s.every_steps as usize, gamma: s.gamma },
        },
        optimizer: OptimizerConfig {
            kind: match o.name {
                OptimizerName::Adam => OptimizerKind::Adam,
                OptimizerName::AdamW => OptimizerKind::AdamW,
                OptimizerName::Sgd => OptimizerKind::Sgd,
            },
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            momentum: o.momentum,
            nesterov: o.nesterov,
            weight_decay: o.weight_decay,
            l2_embedding: o.l2_embedding,
            embedding_params: o.embedding_params.clone(),
        },
        clip_grad_norm: t.clip_grad_norm,
        pos_weight: t.pos_weight,
        target: match t.target {
            attnlab_spec::Target::Click => attnlab_train::Target::Click,
            attnlab_spec::Target::DwellLog => attnlab_train::Target::DwellLog,
            attnlab_spec::Target::DwellWeighted => attnlab_train::Target::DwellWeighted,
        },
        // set by the run from its data's slots (`propensities` below)
        propensities: None,
        patience: t.early_stopping.patience as usize,
        seed,
        metrics,
        valid_metric,
        device,
        amp: match t.amp {
            AmpSpec::None => Amp::None,
            AmpSpec::Bf16 => Amp::Bf16,
            AmpSpec::Fp16 => Amp::Fp16,
        },
        prefetch: t.prefetch as usize,
        checkpoint_dir,
        init_from: t.init_from.as_ref().map(PathBuf::from),
        freeze: t.freeze.clone(),
        label,
        privacy: crate::private_runs::dp_config(t),
        sequence_examples: match t.sequence_examples {
            attnlab_spec::SequenceExamples::Windows => {
                attnlab_train::SequenceExamples::Windows { stride: t.window_stride.map(|s| s as usize) }
            }
            attnlab_spec::SequenceExamples::Prefixes => attnlab_train::SequenceExamples::Prefixes,
        },
        length_buckets: t.length_buckets,
    }
}

/// The sampled softmax of `train.loss`, or `None` for the model's own
/// objective.
pub fn sampled_softmax(t: &TrainSpec) -> Option<SampledSoftmaxConfig> {
    let loss = &t.loss;
    (loss.name == LossName::SampledSoftmax).then(|| SampledSoftmaxConfig {
        negatives: loss.negatives as usize,
        temperature: loss.temperature,
        l2_normalize: loss.l2_normalize,
        sampler: match loss.sampler {
            SamplerName::Uniform => NegativeSampler::Uniform,
            SamplerName::InBatch => NegativeSampler::InBatch,
        },
    })
}

/// The device of sweep trial `trial`: `given` (a trial process's own, set
/// by its executor), else the spec's `devices` in turn, else `train.device`.
pub fn trial_device(spec: &attnlab_spec::Spec, trial: usize, given: Option<String>) -> crate::Result<attnlab_train::DeviceInfo> {
    let text = given.or_else(|| (!spec.devices.is_empty()).then(|| spec.devices[trial % spec.devices.len()].clone()));
    let text = text.unwrap_or_else(|| spec.train.device.clone());
    let choice = attnlab_spec::DeviceChoice::parse(&text)
        .ok_or_else(|| crate::ExperimentError::bad(format!("device `{text}` is not auto, cpu or cuda:N")))?;
    Ok(attnlab_train::resolve_device(device_choice(choice))?)
}

/// Torch's intra-op threads for the runs of this process (`train.threads`,
/// else what the executor gave the process).
pub fn set_threads(threads: u64) {
    tch::set_num_threads(threads as i32);
}

/// The spec's parsed `train.device` as the trainer's request.
pub fn device_choice(choice: attnlab_spec::DeviceChoice) -> attnlab_train::DeviceChoice {
    match choice {
        attnlab_spec::DeviceChoice::Auto => attnlab_train::DeviceChoice::Auto,
        attnlab_spec::DeviceChoice::Cpu => attnlab_train::DeviceChoice::Cpu,
        attnlab_spec::DeviceChoice::Cuda(i) => attnlab_train::DeviceChoice::Cuda(i),
    }
}

/// With `position_debias: ips`, the examination propensity of each of the
/// data's `slots`: the spec's `propensities`, or the simulator's curve when
/// it gives none (the spec check lets only simulated data go without).
/// Fewer than `slots` is bad input naming the key.
pub fn propensities(t: &TrainSpec, slots: usize) -> crate::Result<Option<Vec<f32>>> {
    if t.position_debias != attnlab_spec::PositionDebias::Ips {
        return Ok(None);
    }
    if t.propensities.is_empty() {
        return Ok(Some((0..slots).map(|p| attnlab_data::examination(p) as f32).collect()));
    }
    if t.propensities.len() < slots {
        return Err(crate::ExperimentError::BadInput(format!(
            "train.propensities: {} values, and the data has {slots} slots (one propensity per slot, position 0 first)",
            t.propensities.len()
        )));
    }
    Ok(Some(t.propensities.iter().map(|&p| p as f32).collect()))
}
