//! The trainer: prepared impression columns -> mini-batch tensors -> Adam on
//! binary cross-entropy, evaluated on the validation split after every
//! epoch, stopped early on the spec's validation metric with the best
//! weights restored. Metrics come from attnlab-eval (pure Rust); what to do
//! with each epoch's figures (logging to a store) is the caller's
//! [`EpochObserver`].

mod batches;
mod device;
mod error;
mod progress;
mod snapshot;
mod trainer;

pub use batches::{batch_of, BatchOrder};
pub use device::{resolve_device, DeviceInfo};
pub use error::{Result, TrainError};
pub use trainer::{predict, train, EpochObserver, EpochReport, TrainConfig, TrainOutcome};

#[cfg(test)]
mod tests;
