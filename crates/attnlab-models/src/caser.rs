//! Caser (Tang & Wang, WSDM 2018): the last `L` items form an `L x d`
//! "image"; horizontal convolutions (heights 1..=L, max-pooled over time)
//! catch union-level patterns, a vertical convolution weighs the `L` rows,
//! and a user embedding (plus the user's side features, [`UserTable`])
//! joins the result before scoring against the item embedding table. Trained with cross entropy on the next item; with
//! `targets [B, T]` every position's window of its last `L` items is one
//! sample (RecBole's one sample per prefix, in one pass).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::Tensor;

use crate::blocks::{ItemFeatures, ItemTable, UserTable, EMBEDDING_INIT};
use crate::next_item::{full_softmax_next_item, hidden_at_targets, DotProduct, NextItemSizes};
use crate::registry::{Checks, ModelParams};
use crate::SeqBatch;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaserParams {
    /// Width of the user and item embeddings. Default 64.
    pub embed_dim: usize,
    /// `L`: how many of the latest items are convolved. Default 5.
    pub window: usize,
    /// `n_h`: filters per horizontal height (1..=L). Default 16.
    pub horizontal: usize,
    /// `n_v`: vertical filters. Default 4.
    pub vertical: usize,
    /// Dropout before the first fully connected layer, in [0, 1).
    /// Default 0.4 (RecBole).
    pub dropout: f64,
}

impl Default for CaserParams {
    fn default() -> Self {
        CaserParams { embed_dim: 64, window: 5, horizontal: 16, vertical: 4, dropout: 0.4 }
    }
}

impl ModelParams for CaserParams {
    fn validate(&self) -> Result<(), crate::registry::ParamsOutOfRange> {
        Checks::default()
            .size("embed_dim", self.embed_dim)
            .size("window", self.window)
            .size("horizontal", self.horizontal)
            .size("vertical", self.vertical)
            .dropout(self.dropout)
            .finish()
    }
}

#[derive(Debug)]
pub struct Caser {
    user: UserTable,
    item: ItemTable,
    vertical: nn::Conv2D,
    horizontal: Vec<nn::Conv2D>,
    fc1: nn::Linear,
    fc2: nn::Linear,
    window: i64,
    dropout: f64,
}

impl Caser {
    pub fn new(p: &nn::Path, sizes: &NextItemSizes, features: Option<&ItemFeatures>, params: &CaserParams) -> Caser {
        let (d, l) = (params.embed_dim as i64, params.window as i64);
        let (nh, nv) = (params.horizontal as i64, params.vertical as i64);
        let conv = |name: String, out: i64, kernel: [i64; 2]| nn::conv(p / name, 1, out, kernel, Default::default());
        Caser {
            user: UserTable::new(&(p / "user"), sizes.users, params.embed_dim, EMBEDDING_INIT, features),
            item: ItemTable::new(&(p / "item"), sizes.items, params.embed_dim, EMBEDDING_INIT, features),
            vertical: conv("vertical".into(), nv, [l, 1]),
            horizontal: (1..=l).map(|h| conv(format!("horizontal_{h}"), nh, [h, d])).collect(),
            fc1: nn::linear(p / "fc1", nv * d + nh * l, d, Default::default()),
            fc2: nn::linear(p / "fc2", 2 * d, d, Default::default()),
            window: l,
            dropout: params.dropout,
        }
    }

    /// `windows [N, L]` of item ids and their `users [N]` -> `[N, d]`.
    fn encode(&self, windows: &Tensor, users: &Tensor, train: bool) -> Tensor {
        let n = windows.size()[0];
        let image = self.item.forward(windows).unsqueeze(1); // [N, 1, L, d]
        let vertical = self.vertical.forward(&image).view([n, -1]);
        let mut features = vec![vertical];
        for conv in &self.horizontal {
            let maps = conv.forward(&image).squeeze_dim(3).relu(); // [N, n_h, L - h + 1]
            features.push(maps.amax([2i64].as_slice(), false));
        }
        let z = self.fc1.forward(&Tensor::cat(&features, 1).dropout(self.dropout, train)).relu();
        self.fc2.forward(&Tensor::cat(&[z, self.user.forward(users)], 1)).relu()
    }

    /// For every position of `inputs [B, T]`, the window of the last `L`
    /// items up to it: `[B, T, L]` (left-padded with PAD).
    fn windows(&self, inputs: &Tensor) -> Tensor {
        inputs.constant_pad_nd([self.window - 1, 0]).unfold(1, self.window, 1)
    }
}

impl DotProduct for Caser {
    fn training_queries(&self, batch: &SeqBatch, train: bool) -> (Tensor, Tensor) {
        let windows = self.windows(&batch.inputs); // [B, T, L]
        let t = windows.size()[1];
        // the user of every window as its last "feature", so that one
        // selection picks windows, users and targets together
        let users = batch.users.view([-1, 1, 1]).expand([-1, t, 1], false);
        let (rows, targets) = hidden_at_targets(&Tensor::cat(&[windows, users], 2), &batch.targets);
        let (windows, users) = (rows.narrow(1, 0, self.window), rows.select(1, self.window));
        (self.encode(&windows, &users, train), targets)
    }

    fn queries(&self, users: &Tensor, inputs: &Tensor, _timestamps: Option<&Tensor>) -> Tensor {
        let windows = self.windows(inputs);
        let t = windows.size()[1];
        self.encode(&windows.select(1, t - 1), users, false)
    }

    fn item_table(&self) -> Tensor {
        self.item.table()
    }
}

full_softmax_next_item!(Caser);
