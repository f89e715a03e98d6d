//! Pop: every user gets the items ranked by how often they were interacted
//! with in training. The baseline every next-item model must beat; nothing
//! to train.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Kind, Tensor};

use crate::next_item::NextItemSizes;
use crate::registry::ModelParams;
use crate::{ModelError, NextItemModel, Result, SeqBatch};

/// Pop has no parameters (`params: {}`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PopParams {}

impl ModelParams for PopParams {}

#[derive(Debug)]
pub struct Pop {
    /// `[1, items]` training counts as floats, on the model's device.
    counts: Tensor,
}

impl Pop {
    /// `item_popularity[i]`: training interactions of item `i`
    /// (`sizes.items` entries, PAD first).
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, item_popularity: Option<&[u32]>, _params: &PopParams) -> Result<Pop> {
        let input = |message: String| ModelError::Input { model: "Pop".into(), message };
        let counts = item_popularity.ok_or_else(|| input("needs the training item popularity".into()))?;
        if counts.len() != sizes.items {
            return Err(input(format!("item popularity has {} entries, expected {} (items incl. PAD)", counts.len(), sizes.items)));
        }
        let counts: Vec<f32> = counts.iter().map(|&c| c as f32).collect();
        Ok(Pop { counts: Tensor::from_slice(&counts).view([1, -1]).to_device(p.device()) })
    }
}

impl NextItemModel for Pop {
    /// Always 0: there is nothing to fit.
    fn training_loss(&self, batch: &SeqBatch, _train: bool) -> Tensor {
        Tensor::zeros([], (Kind::Float, batch.inputs.device()))
    }

    fn score(&self, users: &Tensor, _inputs: &Tensor) -> Tensor {
        self.counts.expand([users.size()[0], -1], false).contiguous()
    }

    fn trainable(&self) -> bool {
        false
    }

    fn sequential(&self) -> bool {
        false
    }
}
