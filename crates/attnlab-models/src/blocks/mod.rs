//! Layers shared by the models.

mod embedding;
mod mlp;
mod target_attention;

pub use embedding::{embedding_with_padding, scalar_table};
pub use mlp::Mlp;
pub use target_attention::TargetAttention;
