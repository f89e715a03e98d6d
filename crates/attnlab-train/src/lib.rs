//! The trainer: prepared impression columns -> mini-batch tensors (gathered
//! ahead on a worker thread) -> an optimiser of our own ([`optim`]: Adam,
//! AdamW, SGD, whose state is saved) on binary cross-entropy, with an LR
//! [`schedule`], gradient clipping and optional mixed precision on CUDA
//! ([`amp`]). After every epoch the model is evaluated on the validation
//! split; training stops early on the spec's validation metric with the best
//! weights restored. Metrics come from attnlab-eval (pure Rust); what to do
//! with each epoch's figures (logging to a store) is the caller's
//! [`EpochObserver`].
//!
//! Checkpoints ([`checkpoint`]): with `TrainConfig::checkpoint_dir`, every
//! epoch writes `last.safetensors` + `last.json` (and `best.*` when it
//! improved), atomically; a run started on a directory holding `last.*`
//! resumes from it and replays exactly, because each epoch's shuffling and
//! libtorch seed derive from (seed, epoch) alone ([`epoch_seed`]).
//! Fine-tuning ([`finetune`]): `init_from` a checkpoint, `freeze` prefixes.
//! Losses for other model families (sequence CE, BPR, sampled softmax,
//! multi-task sums) are in [`loss`].
//!
//! Three tasks share one epoch loop ([`fit`], in `engine.rs`): each only
//! says how its examples become batches ([`BatchSource`]), the loss of a
//! batch and its validation figures ([`TrainTask`]):
//! - CTR ([`train`], [`predict`]): a `CtrModel` on impressions, BCE (on
//!   IPS-weighted clicks under [`ips`]);
//! - click + conversion ([`train_multitask`], [`predict_multitask`]): a
//!   `MultiTaskModel` with the loss of its objective, validated by CTR, CVR
//!   and CTCVR AUC (`attnlab_eval::TaskMetric`);
//! - next item ([`train_next_item`], [`evaluate_next_item`]): a
//!   `NextItemModel` on a protocol's prepared data, ranking metrics; its
//!   own objective, or a sampled softmax ([`SampledSoftmax`] wraps it).

pub mod amp;
mod batches;
pub mod checkpoint;
mod device;
pub mod dp_sgd;
pub mod dwell;
mod engine;
mod error;
pub mod federated;
pub mod finetune;
pub mod ips;
pub mod loss;
mod multitask;
mod next_item;
mod padding;
pub mod optim;
mod prefetch;
mod progress;
pub mod sampled_softmax;
pub mod schedule;
mod snapshot;
mod trainer;

pub use amp::Amp;
pub use batches::{batch_of, BatchOrder, RawBatch};
pub use device::{resolve_device, DeviceChoice, DeviceInfo};
pub use dp_sgd::DpConfig;
pub use federated::{partition_users, train_federated, train_federated_multitask, FederatedConfig, FederatedDp, Partition};
pub use engine::{batch_seed, fit, BatchSource, TrainTask};
pub use error::{Result, TrainError};
pub use optim::{Optimizer, OptimizerConfig, OptimizerKind};
pub use multitask::{multitask_metrics, predict_multitask, predict_tasks, train_multitask, MultiTaskOptions, TaskPredictions};
pub use next_item::{evaluate_next_item, evaluate_next_item_on, train_next_item, NextItemExamples, SeqRaw, SequenceExamples, EVAL_CHUNK};
pub use prefetch::{for_each_batch, prefetch};
pub use sampled_softmax::{NegativeSampler, SampledSoftmax, SampledSoftmaxConfig};
pub use schedule::{Decay, Schedule};
pub use dwell::{dwell_metrics, Target};
pub use trainer::{epoch_seed, predict, predict_target, train, EpochObserver, EpochReport, ObserverError, TrainConfig, TrainOutcome};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod dwell_tests;
#[cfg(test)]
mod pal_tests;
#[cfg(test)]
mod multitask_tests;
#[cfg(test)]
mod dp_tests;
#[cfg(test)]
mod next_item_tests;
#[cfg(test)]
mod cold_items_tests;
#[cfg(test)]
mod trim_tests;
#[cfg(test)]
mod ml100k_tests;
#[cfg(test)]
mod ml100k_sequential_tests;
#[cfg(all(test, feature = "cuda-tests"))]
mod cuda_tests;
