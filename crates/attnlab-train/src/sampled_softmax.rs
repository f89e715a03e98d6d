//! Sampled-softmax training for any next-item model that scores by a dot
//! product ([`DotProduct`]): the target against `negatives` items drawn
//! once per batch and shared by all its targets (TensorFlow's
//! `sampled_softmax_loss` shares them too: one `[N, d] x [d, K]` product
//! instead of `N x K` gathered vectors), logits divided by a temperature,
//! optionally between L2-normalised vectors (the HSTU reference's cosine
//! similarity). Negatives are drawn
//! - uniformly over the catalogue (every item equally likely, so no
//!   correction is needed), or
//! - from the batch's own targets (in-batch negatives: items appear in
//!   proportion to their popularity), with the log-Q correction: every
//!   logit minus the log of its item's training frequency, so the
//!   objective still estimates the full softmax (Yi et al., RecSys 2019).
//!
//! A negative that is the row's own target (an accidental hit) is left out
//! of that row's softmax. Draws come from libtorch's generator, which the
//! trainer seeds per epoch, so training stays reproducible and resumable.
//!
//! [`SampledSoftmax`] wraps a model for its whole run: training uses this
//! objective and scoring the same similarity (with `l2_normalize`, cosine),
//! so validation and test rank as training scored.

use attnlab_models::{DotProduct, NextItemModel, SeqBatch};
use tch::{Kind, Tensor};

use crate::loss::sampled_softmax;
use crate::{Result, TrainError};

/// Where a sampled softmax draws its negatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegativeSampler {
    Uniform,
    InBatch,
}

/// The settings of `train.loss: { name: sampled_softmax, ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledSoftmaxConfig {
    /// Negatives per batch, shared by its targets (at least 1).
    pub negatives: usize,
    /// Logits are divided by it (> 0).
    pub temperature: f64,
    /// Cosine instead of dot-product logits, in training and scoring.
    pub l2_normalize: bool,
    pub sampler: NegativeSampler,
}

/// A next-item model trained with a sampled softmax (see the module docs).
pub struct SampledSoftmax {
    model: Box<dyn NextItemModel>,
    config: SampledSoftmaxConfig,
    /// `ln` of each item's share of the training interactions (PAD and
    /// unseen items at the smallest share), for the log-Q correction.
    log_q: Tensor,
}

impl std::fmt::Debug for SampledSoftmax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampledSoftmax").field("config", &self.config).finish_non_exhaustive()
    }
}

impl SampledSoftmax {
    /// Wraps `model`; `item_popularity` holds the training interactions of
    /// every item id (PAD first). A trainable model that does not score by
    /// a dot product is refused ([`TrainError::Config`]); one with nothing
    /// to train (Pop) is left as it is.
    pub fn wrap(model: Box<dyn NextItemModel>, config: SampledSoftmaxConfig, item_popularity: &[u32]) -> Result<Box<dyn NextItemModel>> {
        if !model.trainable() {
            return Ok(model);
        }
        if model.dot_product().is_none() {
            return Err(TrainError::Config("a sampled softmax needs a model that scores by a dot product with an item table".into()));
        }
        if config.negatives == 0 || !(config.temperature > 0.0 && config.temperature.is_finite()) {
            return Err(TrainError::Config(format!("a sampled softmax needs negatives >= 1 and a temperature > 0, got {config:?}")));
        }
        let total: f64 = item_popularity.iter().map(|&c| f64::from(c)).sum::<f64>().max(1.0);
        let shares: Vec<f64> = item_popularity.iter().map(|&c| (f64::from(c).max(0.5) / total).ln()).collect();
        Ok(Box::new(SampledSoftmax { model, config, log_q: Tensor::from_slice(&shares).to_kind(Kind::Float) }))
    }

    fn dot(&self) -> &dyn DotProduct {
        self.model.dot_product().expect("checked by wrap")
    }

    fn normalized(&self, x: Tensor) -> Tensor {
        if self.config.l2_normalize {
            let norm = x.norm_scalaropt_dim(2.0, [-1i64].as_slice(), true).clamp_min(1e-12);
            x / norm
        } else {
            x
        }
    }

    /// The shared negatives `[K]` of a batch whose targets are `targets [N]`
    /// (`N >= 1`), and their log-Q corrections (`None` when uniform).
    fn draw(&self, targets: &Tensor, items: i64) -> (Tensor, Option<Tensor>) {
        let k = self.config.negatives as i64;
        match self.config.sampler {
            NegativeSampler::Uniform => (Tensor::randint_low(1, items.max(2), [k], (Kind::Int64, targets.device())), None),
            NegativeSampler::InBatch => {
                let n = targets.size()[0];
                let picks = Tensor::randint(n, [k], (Kind::Int64, targets.device()));
                let negatives = targets.index_select(0, &picks);
                let log_q = self.log_q.to_device(targets.device()).index_select(0, &negatives);
                (negatives, Some(log_q))
            }
        }
    }
}

impl NextItemModel for SampledSoftmax {
    fn training_loss(&self, batch: &SeqBatch, train: bool) -> Tensor {
        let dot = self.dot();
        let (queries, targets) = dot.training_queries(batch, train);
        let n = targets.size()[0];
        if n == 0 {
            return queries.sum(Kind::Float) * 0.0;
        }
        let table = dot.item_table();
        let queries = self.normalized(queries);
        let (negatives, neg_log_q) = self.draw(&targets, table.size()[0]);
        let t = self.config.temperature;
        let pos = (&queries * self.normalized(table.index_select(0, &targets))).sum_dim_intlist([-1i64].as_slice(), false, Kind::Float) / t;
        let neg = queries.matmul(&self.normalized(table.index_select(0, &negatives)).tr()) / t;
        // an accidental hit is not a negative of its row
        let hit = targets.unsqueeze(1).eq_tensor(&negatives.unsqueeze(0));
        let neg = neg.masked_fill(&hit, f64::NEG_INFINITY);
        match neg_log_q {
            None => sampled_softmax(&pos, &neg, None),
            Some(neg_q) => {
                let pos_q = self.log_q.to_device(targets.device()).index_select(0, &targets);
                let neg_q = neg_q.unsqueeze(0).expand([n, -1], false);
                sampled_softmax(&pos, &neg, Some((&pos_q, &neg_q)))
            }
        }
    }

    fn score(&self, users: &Tensor, inputs: &Tensor) -> Tensor {
        self.score_at(users, inputs, None)
    }

    /// The similarity training used (cosine with `l2_normalize`); the
    /// temperature does not change a ranking and is left out.
    fn score_at(&self, users: &Tensor, inputs: &Tensor, timestamps: Option<&Tensor>) -> Tensor {
        let dot = self.dot();
        self.normalized(dot.queries(users, inputs, timestamps)).matmul(&self.normalized(dot.item_table()).tr())
    }

    fn attention(&self, inputs: &Tensor) -> Option<Tensor> {
        self.model.attention(inputs)
    }

    fn attention_at(&self, inputs: &Tensor, timestamps: Option<&Tensor>) -> Option<Tensor> {
        self.model.attention_at(inputs, timestamps)
    }

    fn trainable(&self) -> bool {
        self.model.trainable()
    }

    fn sequential(&self) -> bool {
        self.model.sequential()
    }

    fn reads_time(&self) -> bool {
        self.model.reads_time()
    }

    fn trims_padding(&self) -> bool {
        self.model.trims_padding()
    }

    fn dot_product(&self) -> Option<&dyn DotProduct> {
        self.model.dot_product()
    }
}
