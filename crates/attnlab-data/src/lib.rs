//! Data for attention models, with no libtorch: the attention-market
//! simulator, the columnar impression table the trainers read, and splits.
//!
//! Item and category ids are 1-based; 0 is the padding id of behaviour
//! histories, so embedding tables reserve row 0.

mod error;
mod impressions;
mod rng;
mod simulator;
mod split;

pub use error::{DataError, Result};
pub use impressions::{Cardinalities, Impressions, PAD};
pub use rng::Rng;
pub use simulator::{simulate, SimulatorConfig};
pub use split::{split_temporal, Splits};
