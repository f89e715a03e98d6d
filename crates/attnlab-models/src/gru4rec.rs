//! GRU4Rec (Hidasi et al., ICLR 2016; RecBole's cross-entropy version): a
//! GRU over the embedded item sequence, a linear map back to the embedding
//! width, and scores against the item embedding table. Trained with cross
//! entropy at every position that has a target (the trainer's windows give
//! many positions one; a RecBole-style prefix only its last). Initialised
//! as RecBole's.
//!
//! Inputs are left-padded; each row is rotated so its items come first
//! before the GRU and rotated back after it, so padding never enters the
//! recurrence before a real item and extra left padding changes nothing;
//! padding slots output the zero state.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::blocks::{ItemFeatures, ItemTable};
use crate::next_item::{full_softmax_next_item, hidden_at_targets, DotProduct, NextItemSizes};
use crate::registry::{Checks, ModelParams};
use crate::SeqBatch;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gru4RecParams {
    /// Width of the item embeddings. Default 64.
    pub embed_dim: usize,
    /// Width of the GRU state. Default 128.
    pub hidden: usize,
    /// Stacked GRU layers. Default 1.
    pub layers: usize,
    /// Dropout on the item embeddings (and between GRU layers), in [0, 1).
    /// Default 0.3.
    pub dropout: f64,
}

impl Default for Gru4RecParams {
    fn default() -> Self {
        Gru4RecParams { embed_dim: 64, hidden: 128, layers: 1, dropout: 0.3 }
    }
}

impl ModelParams for Gru4RecParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("hidden", self.hidden)
            .size("layers", self.layers)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
pub struct Gru4Rec {
    item: ItemTable,
    /// PyTorch's flat GRU weights, per layer `w_ih, w_hh, b_ih, b_hh`
    /// (tch's `nn::GRU` fixes train/eval mode at construction).
    gru: Vec<Tensor>,
    layers: i64,
    dense: nn::Linear,
    dropout: f64,
}

/// Per row, `(i + shift) mod T` for every column `i`: the gather index that
/// rotates a row left by `shift`.
fn rotation(shift: &Tensor, t: i64) -> Tensor {
    let columns = Tensor::arange(t, (Kind::Int64, shift.device())).unsqueeze(0);
    (columns + shift.unsqueeze(1)).remainder(t)
}

impl Gru4Rec {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &Gru4RecParams) -> Gru4Rec {
        let (e, h) = (params.embed_dim as i64, params.hidden as i64);
        // RecBole's initialisation: Xavier-uniform GRU weights, PyTorch's
        // U(-1/sqrt(hidden), 1/sqrt(hidden)) biases, Xavier-normal items
        let xavier = |rows: i64, cols: i64| {
            let bound = (6.0 / (rows + cols) as f64).sqrt();
            nn::Init::Uniform { lo: -bound, up: bound }
        };
        let bias = nn::Init::Uniform { lo: -1.0 / (h as f64).sqrt(), up: 1.0 / (h as f64).sqrt() };
        let g = p / "gru";
        let gru = (0..params.layers)
            .flat_map(|l| {
                let input = if l == 0 { e } else { h };
                [
                    g.var(&format!("weight_ih_l{l}"), &[3 * h, input], xavier(3 * h, input)),
                    g.var(&format!("weight_hh_l{l}"), &[3 * h, h], xavier(3 * h, h)),
                    g.var(&format!("bias_ih_l{l}"), &[3 * h], bias),
                    g.var(&format!("bias_hh_l{l}"), &[3 * h], bias),
                ]
            })
            .collect();
        let items = nn::Init::Randn { mean: 0.0, stdev: (2.0 / (sizes.items as f64 + e as f64)).sqrt() };
        Gru4Rec {
            item: ItemTable::new(&(p / "item"), sizes.items, params.embed_dim, items, features),
            gru,
            layers: params.layers as i64,
            dense: nn::linear(p / "dense", h, e, Default::default()),
            dropout: params.dropout,
        }
    }

    /// `[B, T, embed_dim]`: the output after each input position.
    fn encode(&self, inputs: &Tensor, train: bool) -> Tensor {
        let (b, t) = (inputs.size()[0], inputs.size()[1]);
        let padding = inputs.eq(0).sum_dim_intlist([1i64].as_slice(), false, Kind::Int64);
        let items_first = inputs.gather(1, &rotation(&padding, t), false);
        let x = self.item.forward(&items_first).dropout(self.dropout, train);
        let state = Tensor::zeros([self.layers, b, self.gru[1].size()[1]], (Kind::Float, inputs.device()));
        let (out, _) = x.gru(&state, &self.gru, true, self.layers, self.dropout, train, false, true);
        let back = rotation(&(-padding), t).unsqueeze(-1).expand([b, t, out.size()[2]], false);
        // padding slots read the initial (zero) state, so a row without
        // items scores the same at any width
        let real = inputs.ne(0).unsqueeze(-1).to_kind(out.kind());
        self.dense.forward(&(out.gather(1, &back, false) * real))
    }
}

impl DotProduct for Gru4Rec {
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        hidden_at_targets(&self.encode(&batch.inputs, train), &batch.targets)
    }

    fn queries(&self, _users: &Tensor, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        let out = self.encode(inputs, false);
        let t = out.size()[1];
        out.select(1, t - 1)
    }

    fn item_table(&self) -> Tensor {
        self.item.table()
    }
}

full_softmax_next_item!(Gru4Rec);
