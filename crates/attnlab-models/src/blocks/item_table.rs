//! The item representation every next-item model reads and scores against:
//! an id embedding, plus, when the data has item side features, the sum of
//! one embedding per feature column (sum fusion). A token column adds its
//! token's vector, a token sequence (genres, title words) the mean of its
//! tokens' vectors, a float column its standardised value times a learned
//! vector, pretrained vectors (text or image embeddings) a small trainable
//! adapter of them. An item whose id was rarely or never trained still gets the
//! vectors of its features, which is what lets content help cold items.
//!
//! An id that never trained (a cold item's) is left out, so such an item
//! is its features alone. With `Fusion::Concat` the id and feature vectors
//! are concatenated and projected back to the model's width instead.
//!
//! Without features the table is exactly the id embedding: the same
//! variables, initialisation and arithmetic as before features existed.
//!
//! [`UserTable`] is the same for users: the id vector plus the vectors of
//! the user's side features (age, gender, occupation) and pretrained user
//! vectors, built from the same fused columns, for the models with a
//! user vector. A user with few training rows is then mostly what users
//! like them are.

use attnlab_data::{Column, ColumnData};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::padded_embedding;
use crate::{ModelError, Result};

/// One feature column as a model reads it, row `i` describing item id `i`
/// (row 0, the padding id, has no value).
#[derive(Debug, Clone, PartialEq)]
enum FeatureValues {
    /// Each item's token ids (a token column is a sequence of at most one),
    /// `ids[offsets[i]..offsets[i + 1]]`, in a vocabulary of `vocab` ids
    /// including the padding id 0.
    Tokens { vocab: usize, offsets: Vec<usize>, ids: Vec<u32> },
    /// Standardised values (mean 0, variance 1 over the items that have
    /// one); a missing value is 0, the mean.
    Float(Vec<f32>),
    /// Pretrained vectors of width `dim`, row-major, frozen; `present[i]`
    /// is false for an item without one (its row is zero and adds nothing).
    Pretrained { dim: usize, vectors: Vec<f32>, present: Vec<bool>, adapter: Adapter },
}

/// The small trainable map from pretrained vectors into a model's item
/// space (the pretrained vectors themselves never train).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// One linear layer.
    Linear,
    /// Linear, ReLU, linear.
    Mlp,
}

/// How the id vector and the feature vectors become one item vector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fusion {
    /// Their sum.
    #[default]
    Sum,
    /// Their concatenation times one trainable `[(1 + columns) d, d]` map
    /// without bias (so padding stays zero): features can weigh against
    /// the id and each other instead of adding on equal terms.
    Concat,
}

/// The item side features a model fuses into its item table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemFeatures {
    columns: Vec<(String, FeatureValues)>,
    fusion: Fusion,
    /// Per item id, true where the id vector never trained (no training
    /// row: a cold item). Such an item is its features alone: its id
    /// vector, still at its random initialisation, is left out rather
    /// than added as noise of the scale of the learned vectors.
    untrained: Vec<bool>,
    /// Pretrained user vectors (a `Pretrained` value, row `u` for user
    /// `u`) for the models with a user vector ([`UserTable`]).
    user_vectors: Option<FeatureValues>,
    /// User side-feature columns, row `u` for user `u`, for the same models.
    user_columns: Vec<(String, FeatureValues)>,
}

impl ItemFeatures {
    /// Features from loaded side-feature columns whose row `i` describes
    /// item id `i`. Float sequences are refused: no model reads them.
    pub fn from_columns(columns: &[&Column]) -> Result<ItemFeatures> {
        let mut features = ItemFeatures::default();
        for column in columns {
            features.push_column(column)?;
        }
        Ok(features)
    }

    /// Adds a loaded side-feature column.
    pub fn push_column(&mut self, column: &Column) -> Result<()> {
        self.columns.push((column.name.clone(), values_of(column, "item")?));
        Ok(())
    }

    /// Adds a loaded user side-feature column (row `u` describing user id
    /// `u`) that the models with a user vector add to it ([`UserTable`]).
    pub fn push_user_column(&mut self, column: &Column) -> Result<()> {
        self.user_columns.push((column.name.clone(), values_of(column, "user")?));
        Ok(())
    }

    /// Adds pretrained vectors named `name`: `vectors` holds `dim` values
    /// per item id (row `i` for id `i`), `present` says which ids have one.
    pub fn push_pretrained(&mut self, name: &str, dim: usize, vectors: Vec<f32>, present: Vec<bool>, adapter: Adapter) -> Result<()> {
        if dim == 0 || vectors.len() != present.len() * dim {
            return Err(ModelError::Input {
                model: "item features".into(),
                message: format!("`{name}`: {} values are not {} items x {dim}", vectors.len(), present.len()),
            });
        }
        self.columns.push((name.to_string(), FeatureValues::Pretrained { dim, vectors, present, adapter }));
        Ok(())
    }

    /// Fuses by `fusion` instead of summing.
    pub fn with_fusion(mut self, fusion: Fusion) -> ItemFeatures {
        self.fusion = fusion;
        self
    }

    /// Marks the items whose id vectors never train (`untrained[i]` for
    /// id `i`, e.g. no training interaction): their vector is their
    /// features alone.
    pub fn with_untrained(mut self, untrained: Vec<bool>) -> ItemFeatures {
        self.untrained = untrained;
        self
    }

    /// Adds pretrained user vectors (`dim` values per user id, `present`
    /// saying which users have one) that the models with a user vector
    /// (BPR) add, through `adapter`, to it.
    pub fn with_user_vectors(mut self, dim: usize, vectors: Vec<f32>, present: Vec<bool>, adapter: Adapter) -> Result<ItemFeatures> {
        if dim == 0 || vectors.len() != present.len() * dim {
            return Err(ModelError::Input {
                model: "user features".into(),
                message: format!("{} values are not {} users x {dim}", vectors.len(), present.len()),
            });
        }
        self.user_vectors = Some(FeatureValues::Pretrained { dim, vectors, present, adapter });
        Ok(self)
    }

    /// The feature columns' names, in fusion order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(n, _)| n.as_str())
    }

    /// No item feature column (user columns and vectors aside).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// A user table: one vector per user id, plus the sum of its side
/// features' vectors and, with pretrained user vectors, their adapter's
/// output (a user without one gets none).
#[derive(Debug)]
pub struct UserTable {
    ids: nn::Embedding,
    features: Vec<FusedColumn>,
}

impl UserTable {
    /// `rows` user vectors of width `dim` drawn from `init` (the variable
    /// is `p`'s `weight`, as a plain embedding's).
    pub fn new(p: &nn::Path, rows: usize, dim: usize, init: nn::Init, features: Option<&ItemFeatures>) -> UserTable {
        let ids = nn::embedding(p, rows as i64, dim as i64, nn::EmbeddingConfig { ws_init: init, ..Default::default() });
        let Some(f) = features else { return UserTable { ids, features: Vec::new() } };
        let pretrained = f.user_vectors.as_ref().map(|v| FusedColumn::new(&(p / "pretrained"), rows, dim, init, v));
        let columns = fused_columns(&(p / "features"), rows, dim, init, &f.user_columns);
        UserTable { ids, features: pretrained.into_iter().chain(columns).collect() }
    }

    /// As `forward`, with a sparse gradient for the id table when the
    /// vectors are its rows alone (no side feature, no pretrained column):
    /// an optimiser step then costs the rows looked up, not the table.
    pub fn lookup_sparse(&self, users: &Tensor) -> Tensor {
        if self.features.is_empty() {
            return Tensor::embedding(&self.ids.ws, users, -1, false, true);
        }
        self.forward(users)
    }
}

impl Module for UserTable {
    /// The vectors of `users [..]`: `[.., d]`.
    fn forward(&self, users: &Tensor) -> Tensor {
        if self.features.is_empty() {
            return self.ids.forward(users);
        }
        let table = self.features.iter().fold(self.ids.ws.shallow_clone(), |sum, f| sum + f.table());
        Tensor::embedding(&table, users, -1, false, false)
    }
}

/// The fused form of each `(name, values)` column, its variables under
/// `p / name` (a variable name may not hold a dot).
fn fused_columns(p: &nn::Path, rows: usize, dim: usize, init: nn::Init, columns: &[(String, FeatureValues)]) -> Vec<FusedColumn> {
    columns.iter().map(|(name, values)| FusedColumn::new(&(p / name.replace('.', "_").as_str()), rows, dim, init, values)).collect()
}

/// A column's values as a model reads them; `side` (`item`, `user`) names
/// it in the refusal of a float sequence.
fn values_of(column: &Column, side: &str) -> Result<FeatureValues> {
    let vocab = column.vocab.as_ref().map_or(0, |v| v.id_space());
    Ok(match &column.data {
        ColumnData::Token(tokens) => {
            // a token column is a sequence of one; a missing token (0), of none
            let mut offsets = vec![0];
            let ids: Vec<u32> = tokens.iter().copied().filter(|&t| t != 0).collect();
            let mut n = 0;
            for &t in tokens {
                n += usize::from(t != 0);
                offsets.push(n);
            }
            FeatureValues::Tokens { vocab, offsets, ids }
        }
        ColumnData::TokenSeq { offsets, values } => {
            FeatureValues::Tokens { vocab, offsets: offsets.iter().map(|&o| o as usize).collect(), ids: values.clone() }
        }
        ColumnData::Float(values) => FeatureValues::Float(standardised(values)),
        ColumnData::FloatSeq { .. } => {
            return Err(ModelError::Input {
                model: format!("{side} features"),
                message: format!("column `{}` is a float_seq; {side} features are token, token_seq or float columns", column.name),
            })
        }
    })
}

/// `values` standardised over the finite ones; NaN (missing) becomes 0.
fn standardised(values: &[f32]) -> Vec<f32> {
    let finite: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64).collect();
    let n = finite.len().max(1) as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let scale = if std > 0.0 { 1.0 / std } else { 0.0 };
    values.iter().map(|&v| if v.is_finite() { ((v as f64 - mean) * scale) as f32 } else { 0.0 }).collect()
}

/// One fused feature column: constant inputs and the trainable part.
#[derive(Debug)]
enum FusedColumn {
    /// `ids [rows, L]` (0-padded), `weights [rows, L]` (1/count on real
    /// tokens, so the sum is the mean), and the token table.
    Tokens { ids: Tensor, weights: Tensor, table: nn::Embedding },
    /// `values [rows, 1]` times `vector [1, d]`.
    Float { values: Tensor, vector: Tensor },
    /// `adapter(vectors [rows, D]) * present [rows, 1]`: the mask keeps
    /// PAD and the items without a vector at zero despite the biases.
    Pretrained { vectors: Tensor, present: Tensor, adapter: nn::Sequential },
}

impl FusedColumn {
    fn new(p: &nn::Path, rows: usize, dim: usize, init: nn::Init, values: &FeatureValues) -> FusedColumn {
        let device = p.device();
        match values {
            FeatureValues::Tokens { vocab, offsets, ids } => {
                let width = offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0).max(1);
                let (mut padded, mut weights) = (vec![0i64; rows * width], vec![0f32; rows * width]);
                // rows past the feature table (BERT4Rec's [MASK]) stay empty
                for (row, w) in offsets.windows(2).enumerate().take(rows) {
                    let tokens = &ids[w[0]..w[1]];
                    for (k, &t) in tokens.iter().enumerate() {
                        padded[row * width + k] = t as i64;
                        weights[row * width + k] = 1.0 / tokens.len() as f32;
                    }
                }
                let shape = [rows as i64, width as i64];
                FusedColumn::Tokens {
                    ids: Tensor::from_slice(&padded).view(shape).to_device(device),
                    weights: Tensor::from_slice(&weights).view(shape).to_device(device),
                    table: padded_embedding(p, (*vocab).max(1), dim, init),
                }
            }
            FeatureValues::Pretrained { dim: width, vectors, present, adapter } => {
                let mut padded = vec![0f32; rows * width];
                let mut mask = vec![0f32; rows];
                let n = rows.min(present.len());
                padded[..n * width].copy_from_slice(&vectors[..n * width]);
                mask.iter_mut().zip(present).for_each(|(m, &has)| *m = f32::from(u8::from(has)));
                let (w, d) = (*width as i64, dim as i64);
                let adapter = match adapter {
                    Adapter::Linear => nn::seq().add(nn::linear(p / "adapter", w, d, Default::default())),
                    Adapter::Mlp => nn::seq()
                        .add(nn::linear(p / "adapter_in", w, d, Default::default()))
                        .add_fn(|x| x.relu())
                        .add(nn::linear(p / "adapter_out", d, d, Default::default())),
                };
                FusedColumn::Pretrained {
                    vectors: Tensor::from_slice(&padded).view([rows as i64, w]).to_device(device),
                    present: Tensor::from_slice(&mask).view([rows as i64, 1]).to_device(device),
                    adapter,
                }
            }
            FeatureValues::Float(v) => {
                let mut values = vec![0f32; rows];
                values.iter_mut().zip(v).for_each(|(out, &x)| *out = x);
                FusedColumn::Float {
                    values: Tensor::from_slice(&values).view([rows as i64, 1]).to_device(device),
                    vector: p.var("vector", &[1, dim as i64], init),
                }
            }
        }
    }

    /// This column's contribution `[rows, d]` to every item's vector.
    fn table(&self) -> Tensor {
        match self {
            FusedColumn::Tokens { ids, weights, table } => {
                (table.forward(ids) * weights.unsqueeze(-1)).sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            }
            FusedColumn::Float { values, vector } => values * vector,
            FusedColumn::Pretrained { vectors, present, adapter } => adapter.forward(vectors) * present,
        }
    }
}

/// An item table of `rows` vectors: id embeddings plus fused features.
#[derive(Debug)]
pub struct ItemTable {
    ids: nn::Embedding,
    features: Vec<FusedColumn>,
    /// `[rows, 1]`: 0 for the untrained ids left out, 1 otherwise (only
    /// with features and some untrained id).
    id_mask: Option<Tensor>,
    /// The concat fusion's projection.
    project: Option<nn::Linear>,
}

impl ItemTable {
    /// `rows` item vectors of width `dim` (row 0 is padding and stays zero),
    /// every table drawn from `init`. Feature rows beyond `rows` are
    /// ignored; rows beyond the features' get none.
    pub fn new(p: &nn::Path, rows: usize, dim: usize, init: nn::Init, features: Option<&ItemFeatures>) -> ItemTable {
        let ids = padded_embedding(p, rows, dim, init);
        let Some(f) = features.filter(|f| !f.is_empty()) else {
            return ItemTable { ids, features: Vec::new(), id_mask: None, project: None };
        };
        let columns = fused_columns(&(p / "features"), rows, dim, init, &f.columns);
        let id_mask = f.untrained.iter().take(rows).any(|&u| u).then(|| {
            let mut mask = vec![1f32; rows];
            mask.iter_mut().zip(&f.untrained).for_each(|(m, &u)| *m = f32::from(u8::from(!u)));
            Tensor::from_slice(&mask).view([rows as i64, 1]).to_device(p.device())
        });
        let project = (f.fusion == Fusion::Concat).then(|| {
            let width = (dim * (1 + columns.len())) as i64;
            nn::linear(p / "fusion", width, dim as i64, nn::LinearConfig { bias: false, ..Default::default() })
        });
        ItemTable { ids, features: columns, id_mask, project }
    }

    /// Every item's vector, `[rows, d]`: the output layer of tied models.
    pub fn table(&self) -> Tensor {
        let ids = match &self.id_mask {
            Some(mask) => &self.ids.ws * mask,
            None => self.ids.ws.shallow_clone(),
        };
        match &self.project {
            Some(project) => {
                let parts: Vec<Tensor> = std::iter::once(ids).chain(self.features.iter().map(FusedColumn::table)).collect();
                project.forward(&Tensor::cat(&parts, 1))
            }
            None => self.features.iter().fold(ids, |sum, f| sum + f.table()),
        }
    }
}

impl ItemTable {
    /// As `forward`, with a sparse gradient for the id table when the
    /// vectors are its rows alone (no features); see
    /// [`UserTable::lookup_sparse`].
    pub fn lookup_sparse(&self, ids: &Tensor) -> Tensor {
        if self.features.is_empty() {
            return Tensor::embedding(&self.ids.ws, ids, 0, false, true);
        }
        self.forward(ids)
    }
}

impl Module for ItemTable {
    /// The vectors of `ids [..]`: `[.., d]`.
    fn forward(&self, ids: &Tensor) -> Tensor {
        if self.features.is_empty() {
            return self.ids.forward(ids);
        }
        Tensor::embedding(&self.table(), ids, 0, false, false)
    }
}
