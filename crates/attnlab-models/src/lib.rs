//! The model zoo on libtorch (tch). One model per file; the layers they share
//! (embedding tables with a zeroed padding row, MLP towers, target
//! attention) live once in `blocks`.
//!
//! Every model implements [`CtrModel`]: it reads a [`CtrBatch`] of id tensors
//! and returns click logits. The [`registry`] maps a spec's `model:` name to
//! a constructor with typed, documented parameters.

pub mod blocks;
mod batch;
mod din;
mod error;
mod lr;
pub mod registry;

pub use batch::CtrBatch;
pub use error::{ModelError, Result};
pub use registry::{build, check_params, ModelInfo, REGISTRY};

use tch::Tensor;

/// A click-through-rate model: predicts whether an impression is clicked.
pub trait CtrModel: Send {
    /// Click logits, shape `[batch]`.
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> Tensor;

    /// Attention weights over the behaviour history, shape `[batch, history]`,
    /// for models that have them (explainability in reports).
    fn attention(&self, _batch: &CtrBatch) -> Option<Tensor> {
        None
    }
}
#[cfg(test)] mod tests;
