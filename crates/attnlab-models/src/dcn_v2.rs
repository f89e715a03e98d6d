//! DCN-V2 (Wang et al., WWW 2021): a cross network of full-rank cross layers
//! `x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l` over the concatenated field
//! embeddings, with a deep tower either after it (stacked) or beside it
//! (parallel, the outputs concatenated before the logit).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use attnlab_data::Cardinalities;

use crate::blocks::{CrossNetwork, FieldEmbedding, Mlp};
use crate::registry::{Checks, ModelParams};
use crate::{CtrBatch, CtrModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DcnV2Structure {
    /// cross network -> deep tower -> logit
    Stacked,
    /// [cross network, deep tower] -> logit
    Parallel,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DcnV2Params {
    /// Width of each field's embedding. Default 16.
    pub embed_dim: usize,
    /// Number of cross layers. Default 3.
    pub cross_layers: usize,
    /// Hidden sizes of the deep tower (may be empty: cross network only).
    /// Default `[64, 32]`.
    pub mlp_hidden: Vec<usize>,
    /// `stacked` or `parallel`. Default `parallel`.
    pub structure: DcnV2Structure,
    /// Dropout in the deep tower, in [0, 1). Default 0.
    pub dropout: f64,
    /// Add the mean-pooled history as two fields. Default true.
    pub history: bool,
}

impl Default for DcnV2Params {
    fn default() -> Self {
        DcnV2Params { embed_dim: 16, cross_layers: 3, mlp_hidden: vec![64, 32], structure: DcnV2Structure::Parallel, dropout: 0.0, history: true }
    }
}

impl ModelParams for DcnV2Params {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("cross_layers", self.cross_layers)
            .sizes("mlp_hidden", &self.mlp_hidden)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
enum Head {
    /// The tower reads the cross network's output; its last layer is the logit.
    Stacked(Mlp),
    /// The optional tower reads `x_0`; a linear layer reads both outputs.
    Parallel(Option<Mlp>, nn::Linear),
}

#[derive(Debug)]
pub struct DcnV2 {
    fields: FieldEmbedding,
    cross: CrossNetwork,
    head: Head,
}

impl DcnV2 {
    pub fn new(p: &nn::Path, sizes: &Cardinalities, params: &DcnV2Params) -> DcnV2 {
        let fields = FieldEmbedding::new(&(p / "fields"), sizes, params.embed_dim, params.history, false);
        let width = fields.num_fields() * params.embed_dim;
        let deep = p / "deep";
        let head = match (params.structure, params.mlp_hidden.split_last()) {
            (DcnV2Structure::Stacked, _) => Head::Stacked(Mlp::new(&deep, width, &params.mlp_hidden, 1, params.dropout)),
            (DcnV2Structure::Parallel, None) => Head::Parallel(None, nn::linear(p / "logit", width as i64, 1, Default::default())),
            (DcnV2Structure::Parallel, Some((&last, inner))) => Head::Parallel(
                Some(Mlp::new(&deep, width, inner, last, params.dropout)),
                nn::linear(p / "logit", (width + last) as i64, 1, Default::default()),
            ),
        };
        DcnV2 { cross: CrossNetwork::new(&(p / "cross"), width, params.cross_layers), fields, head }
    }
}

impl CtrModel for DcnV2 {
    fn forward_t(&self, b: &CtrBatch, train: bool) -> Tensor {
        let x0 = self.fields.forward(b).flat();
        let crossed = self.cross.forward(&x0);
        let logit = match &self.head {
            Head::Stacked(tower) => tower.forward_t(&crossed, train),
            Head::Parallel(None, logit) => logit.forward(&crossed),
            Head::Parallel(Some(tower), logit) => {
                let deep = tower.forward_t(&x0, train).relu();
                logit.forward(&Tensor::cat(&[crossed, deep], -1))
            }
        };
        logit.squeeze_dim(-1)
    }
}
