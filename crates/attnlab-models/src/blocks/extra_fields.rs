//! A log's extra fields ([`attnlab_data::ExtraFields`]) as a `[B, F + D, W]`
//! stack: the F categorical fields through one embedding table with a row
//! offset per field (one lookup for all of them), then each of the D
//! numeric fields as a learned vector scaled by its value (FuxiCTR's
//! numeric embedding). With width 1 and zero init it is the first-order
//! weights of LR and FM. Every model that reads extra fields reads them
//! through this block ([`super::FieldEmbedding`], DIN, LR).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use attnlab_data::ExtraFields;

use crate::CtrBatch;

#[derive(Debug)]
pub struct ExtraFieldEmbedding {
    /// Σ sizes rows; field f's id i is row `offsets[f] + i`. None without
    /// categorical fields.
    table: Option<nn::Embedding>,
    /// `[F]` int64, on the variables' device.
    offsets: Tensor,
    /// `[D, W]`, None without numeric fields.
    numeric: Option<Tensor>,
    names: Vec<String>,
}

impl ExtraFieldEmbedding {
    /// `None` when there is no extra field: no variable is created, so a
    /// model on the simulator's impressions computes exactly what it did
    /// before extra fields existed.
    pub fn new(p: &nn::Path, fields: &ExtraFields, width: usize, init: nn::Init) -> Option<ExtraFieldEmbedding> {
        if fields.is_empty() {
            return None;
        }
        let mut offsets = Vec::with_capacity(fields.categorical.len());
        let mut rows = 0i64;
        for f in &fields.categorical {
            offsets.push(rows);
            rows += f.size as i64;
        }
        let config = nn::EmbeddingConfig { ws_init: init, ..Default::default() };
        let table = (rows > 0).then(|| nn::embedding(p / "categorical", rows, width as i64, config));
        let numeric = (!fields.numeric.is_empty()).then(|| p.var("numeric", &[fields.numeric.len() as i64, width as i64], init));
        Some(ExtraFieldEmbedding { table, offsets: Tensor::from_slice(&offsets).to_device(p.device()), numeric, names: fields.names() })
    }

    /// Number of fields, F + D.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Categorical field names, then numeric ones: the order of the stack.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// `[B, F + D, W]`.
    pub fn forward(&self, b: &CtrBatch) -> Tensor {
        let mut parts = Vec::with_capacity(2);
        if let Some(table) = &self.table {
            parts.push(table.forward(&(&b.categorical + &self.offsets)));
        }
        if let Some(vectors) = &self.numeric {
            // [B, D, 1] * [D, W]
            parts.push(b.numeric.to_kind(Kind::Float).unsqueeze(-1) * vectors);
        }
        Tensor::cat(&parts, 1)
    }

    /// `[B, F + D]`: the sum of a width-1 stack is a linear model's logit part.
    pub fn forward_scalars(&self, b: &CtrBatch) -> Tensor {
        self.forward(b).squeeze_dim(-1)
    }
}
