//! The model zoo on libtorch (tch). One model per file; the layers they share
//! (embedding tables with a zeroed padding row, feature fields, MLP towers,
//! target attention, multi-head self-attention, cross layers, experts and
//! gates) live once in `blocks`.
//!
//! Two kinds of model, by [`Task`]:
//! - [`CtrModel`] reads a [`CtrBatch`] of id tensors and returns click logits;
//! - [`MultiTaskModel`] returns click and conversion logits ([`TaskLogits`])
//!   for the joint click + conversion objective (see [`multitask_loss`]);
//! - [`NextItemModel`] reads a user's item sequence ([`SeqBatch`]) and scores
//!   the whole catalogue for the next item (Pop, GRU4Rec, Caser, SASRec,
//!   HSTU, BERT4Rec, BPR).
//!
//! The [`registry`] maps a spec's `model:` name to its task and a constructor
//! with typed, documented parameters.

pub mod blocks;
mod batch;
mod error;
mod next_item;
pub mod multitask_loss;
pub mod pal;
pub mod registry;

mod autoint;
mod bert4rec;
mod bpr;
mod caser;
mod gru4rec;
mod hstu;
mod pop;
mod sasrec;
mod dcn_v2;
mod deepfm;
mod din;
mod esmm;
mod fm;
mod lr;
mod mmoe;
mod ple;
mod shared_bottom;

pub use autoint::AutoIntParams;
pub use batch::CtrBatch;
pub use dcn_v2::{DcnV2Params, DcnV2Structure};
pub use deepfm::DeepFmParams;
pub use din::DinParams;
pub use error::{ModelError, Result};
pub use blocks::{Adapter, Fusion, ItemFeatures};
pub use next_item::{DotProduct, NextItemModel, NextItemSizes, SeqBatch};
pub use bert4rec::Bert4RecParams;
pub use bpr::BprParams;
pub use caser::CaserParams;
pub use gru4rec::Gru4RecParams;
pub use hstu::HstuParams;
pub use pop::PopParams;
pub use sasrec::SasRecParams;
pub use esmm::EsmmParams;
pub use fm::FmParams;
pub use lr::LrParams;
pub use mmoe::MmoeParams;
pub use multitask_loss::{clicked_conversion_loss, esmm_loss, multitask_loss, LossWeights, Objective};
pub use pal::Pal;
pub use ple::PleParams;
pub use registry::{
    build, build_any, build_multitask, build_next_item, check_params, reads_sequence, task_of, time_key, BuiltModel, ModelInfo, Sizes, Task, REGISTRY,
};
pub use shared_bottom::SharedBottomParams;

use tch::Tensor;

/// A click-through-rate model: predicts whether an impression is clicked.
pub trait CtrModel: Send {
    /// Click logits, shape `[batch]`.
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> Tensor;

    /// Attention weights over the behaviour history, shape `[batch, history]`,
    /// for models that have them (explainability in reports). Padded history
    /// slots weigh exactly 0.
    fn attention(&self, _batch: &CtrBatch) -> Option<Tensor> {
        None
    }

    /// Attention between feature fields, for models that attend over them
    /// (AutoInt). Evaluation mode (no dropout).
    fn field_attention(&self, _batch: &CtrBatch) -> Option<FieldAttention> {
        None
    }
}

/// Self-attention weights between the feature fields of each impression.
#[derive(Debug)]
pub struct FieldAttention {
    /// The field names, in the order of the last two axes of `weights`
    /// (a log's extra fields by their column names).
    pub fields: Vec<String>,
    /// `[layers, batch, heads, fields, fields]`; row `i` of a head is how
    /// field `i` attends to every field, and sums to 1.
    pub weights: Tensor,
}

/// The two heads of a click + conversion model, as logits.
#[derive(Debug)]
pub struct TaskLogits {
    /// pCTR logits, `[batch]`.
    pub click: Tensor,
    /// pCVR logits, `[batch]`: P(conversion | click, impression). The
    /// probability of a click *and* a conversion (pCTCVR) is
    /// `sigmoid(click) * sigmoid(conversion)`.
    pub conversion: Tensor,
    /// With a dwell head: the predicted `log1p(dwell seconds)` of a click,
    /// `[batch]` (regressed over clicked impressions).
    pub dwell: Option<Tensor>,
}

/// A click + conversion model (the L_rec + L_ad objective).
pub trait MultiTaskModel: Send {
    fn forward_t(&self, batch: &CtrBatch, train: bool) -> TaskLogits;

    /// The objective the model is designed for; the trainer picks the loss
    /// with it ([`multitask_loss`]).
    fn objective(&self) -> Objective {
        Objective::ClickedConversion
    }
}

#[cfg(test)]
mod tests;
