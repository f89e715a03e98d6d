//! Logistic regression on (user, item, position) and a log's extra fields:
//! the baseline every attention model must beat. It learns a bias per
//! user, per item and per slot (and per id or value of each extra field),
//! but no interaction between a user's interests and an item.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::{scalar_table, ExtraFieldEmbedding};
use crate::registry::ModelParams;
use crate::{CtrBatch, CtrModel};

/// LR has no params.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LrParams {}

impl ModelParams for LrParams {}

#[derive(Debug)]
pub struct Lr {
    user: nn::Embedding,
    item: nn::Embedding,
    position: nn::Embedding,
    bias: Tensor,
    /// The first-order weights of the extra fields, if the data has any.
    extra: Option<ExtraFieldEmbedding>,
}

impl Lr {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, _params: &LrParams) -> Lr {
        Lr {
            user: scalar_table(&(p / "user"), sizes.users),
            item: scalar_table(&(p / "item"), sizes.items),
            position: scalar_table(&(p / "position"), sizes.positions),
            bias: p.zeros("bias", &[1]),
            extra: ExtraFieldEmbedding::new(&(p / "extra"), &sizes.extra, 1, nn::Init::Const(0.0)),
        }
    }
}

impl CtrModel for Lr {
    fn forward_t(&self, b: &CtrBatch, _train: bool) -> Tensor {
        let w = self.user.forward(&b.user) + self.item.forward(&b.item) + self.position.forward(&b.position);
        let logit = w.squeeze_dim(-1) + &self.bias;
        match &self.extra {
            Some(extra) => logit + extra.forward_scalars(b).sum_dim_intlist([-1i64].as_slice(), false, tch::Kind::Float),
            None => logit,
        }
    }
}
