//! Layers shared by the models.

mod cross;
mod embedding;
mod experts;
mod extra_fields;
mod fields;
mod item_table;
mod mlp;
mod self_attention;
mod target_attention;
mod transformer;

pub use cross::CrossNetwork;
pub use embedding::{embedding_table, embedding_with_padding, padded_embedding, scalar_table, EMBEDDING_INIT};
pub use experts::{Experts, Gate, TaskTowers};
pub use extra_fields::ExtraFieldEmbedding;
pub use fields::{FieldEmbedding, Fields};
pub use item_table::{Adapter, Fusion, ItemFeatures, ItemTable, UserTable};
pub use mlp::Mlp;
pub use self_attention::{linear_config, MultiHeadSelfAttention, SelfAttentionConfig};
pub use target_attention::TargetAttention;
pub use transformer::{last_position_attention, positions_from_first, TransformerConfig, TransformerEncoder, TransformerLayer};
