//! The fields of an impression as a `[B, F, D]` stack, the input of every
//! field-interaction model (FM, DeepFM, DCN-V2, AutoInt and the multi-task
//! models): the four role fields, optionally the pooled history, then a
//! log's extra categorical and numeric fields ([`ExtraFieldEmbedding`]).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use attnlab_data::Cardinalities;

use super::{embedding_table, embedding_with_padding, scalar_table, ExtraFieldEmbedding, EMBEDDING_INIT};
use crate::CtrBatch;

/// The fields, in order, without and with the pooled history.
const BASE_FIELDS: [&str; 4] = ["user", "item", "category", "position"];
const HISTORY_FIELDS: [&str; 2] = ["history_item", "history_category"];

/// One embedding row and one first-order weight per field.
#[derive(Debug)]
pub struct Fields {
    /// `[B, F, D]`
    pub embeddings: Tensor,
    /// `[B, F]`: the per-id weights of the linear part (FM's first order),
    /// when the embedding was built with them.
    pub first_order: Option<Tensor>,
}

impl Fields {
    /// `[B, F * D]`: the fields side by side, the input of MLP towers.
    pub fn flat(&self) -> Tensor {
        self.embeddings.flatten(1, -1)
    }

    /// The factorisation machine's score `[B]` (Rendle, ICDM 2010) without
    /// its global bias: the first-order weights plus every pairwise
    /// interaction `<e_i, e_j>`, i < j, computed as
    /// `((Σ e)² - Σ e²) / 2` in O(F D).
    pub fn fm_logit(&self) -> Tensor {
        let e = &self.embeddings;
        let sum = e.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let squares = (e * e).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let pairwise = ((&sum * &sum) - squares).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float) * 0.5;
        let first_order = self.first_order.as_ref().expect("FM needs a FieldEmbedding built with first-order weights");
        first_order.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float) + pairwise
    }
}

/// The per-id weights of the linear part, one table per id field, and
/// one weight per id or value of each extra field.
#[derive(Debug)]
struct FirstOrder {
    user: nn::Embedding,
    item: nn::Embedding,
    category: nn::Embedding,
    position: nn::Embedding,
    extra: Option<ExtraFieldEmbedding>,
}

/// Embeds user, item, category and slot ids, and optionally the behaviour
/// history as two more fields: the mean of the embeddings of the clicked
/// items and the mean of their categories (the same tables as the candidate,
/// so a dot product between candidate and history fields is a similarity).
/// Padded history slots are left out of the mean; an empty history gives a
/// zero row. Item and category tables keep row 0 as padding (zero forever).
/// A log's extra fields follow, named by their columns.
#[derive(Debug)]
pub struct FieldEmbedding {
    user: nn::Embedding,
    item: nn::Embedding,
    category: nn::Embedding,
    position: nn::Embedding,
    first_order: Option<FirstOrder>,
    /// Created after every other variable, and only when the data has
    /// extra fields.
    extra: Option<ExtraFieldEmbedding>,
    history: bool,
    dim: usize,
}

impl FieldEmbedding {
    /// `first_order`: also learn a scalar weight per id (FM's linear part);
    /// models that do not read [`Fields::first_order`] leave it off, so that
    /// every variable they own is trained.
    pub fn new(p: &nn::Path, sizes: &Cardinalities, dim: usize, history: bool, first_order: bool) -> FieldEmbedding {
        let first = p / "first_order";
        FieldEmbedding {
            user: embedding_table(&(p / "user"), sizes.users, dim),
            item: embedding_with_padding(&(p / "item"), sizes.items, dim),
            category: embedding_with_padding(&(p / "category"), sizes.categories, dim),
            position: embedding_table(&(p / "position"), sizes.positions, dim),
            first_order: first_order.then(|| FirstOrder {
                user: scalar_table(&(&first / "user"), sizes.users),
                item: scalar_table(&(&first / "item"), sizes.items),
                category: scalar_table(&(&first / "category"), sizes.categories),
                position: scalar_table(&(&first / "position"), sizes.positions),
                extra: ExtraFieldEmbedding::new(&(&first / "extra"), &sizes.extra, 1, nn::Init::Const(0.0)),
            }),
            extra: ExtraFieldEmbedding::new(&(p / "extra"), &sizes.extra, dim, EMBEDDING_INIT),
            history,
            dim,
        }
    }

    /// Number of fields `F`: 4, or 6 with the history, plus the extra fields.
    pub fn num_fields(&self) -> usize {
        self.names().len()
    }

    /// Embedding width `D`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `F * D`, the width of [`Fields::flat`].
    pub fn flat_dim(&self) -> usize {
        self.num_fields() * self.dim
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = BASE_FIELDS.iter().map(|s| s.to_string()).collect();
        if self.history {
            names.extend(HISTORY_FIELDS.iter().map(|s| s.to_string()));
        }
        if let Some(extra) = &self.extra {
            names.extend(extra.names().iter().cloned());
        }
        names
    }

    pub fn forward(&self, b: &CtrBatch) -> Fields {
        // [B, K, 1]: 1 at real items; the mean divides by their number (at least 1)
        let mask = self.history.then(|| b.history_items.ne(0).to_kind(Kind::Float).unsqueeze(-1));
        let count = mask.as_ref().map(|m| m.sum_dim_intlist([1i64].as_slice(), false, Kind::Float).clamp_min(1.0));
        let pool = |table: &nn::Embedding, ids: &Tensor| {
            let (mask, count) = (mask.as_ref().unwrap(), count.as_ref().unwrap());
            (table.forward(ids) * mask).sum_dim_intlist([1i64].as_slice(), false, Kind::Float) / count
        };
        let gather = |user: &nn::Embedding, item: &nn::Embedding, category: &nn::Embedding, position: &nn::Embedding| {
            let mut out = vec![user.forward(&b.user), item.forward(&b.item), category.forward(&b.category), position.forward(&b.position)];
            if self.history {
                out.push(pool(item, &b.history_items));
                out.push(pool(category, &b.history_categories));
            }
            out
        };
        let mut embeddings = Tensor::stack(&gather(&self.user, &self.item, &self.category, &self.position), 1);
        if let Some(extra) = &self.extra {
            embeddings = Tensor::cat(&[embeddings, extra.forward(b)], 1);
        }
        let first_order = self.first_order.as_ref().map(|w| {
            let mut weights = gather(&w.user, &w.item, &w.category, &w.position);
            if let Some(extra) = &w.extra {
                weights.push(extra.forward_scalars(b));
            }
            Tensor::cat(&weights, 1)
        });
        Fields { embeddings, first_order }
    }
}
