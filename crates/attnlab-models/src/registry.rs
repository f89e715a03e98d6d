//! Maps a spec's `model:` name to its task, constructor and typed
//! parameters.
//!
//! Every model's params are a struct with `deny_unknown_fields` and a
//! `Default` that documents the defaults (see each `*Params` type);
//! [`ModelInfo::defaults`] gives them as JSON. A spec may omit any key.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use tch::nn;

use attnlab_data::Cardinalities;

use crate::autoint::{AutoInt, AutoIntParams};
use crate::dcn_v2::{DcnV2, DcnV2Params};
use crate::deepfm::{DeepFm, DeepFmParams};
use crate::din::{Din, DinParams};
use crate::esmm::{Esmm, EsmmParams};
use crate::fm::{Fm, FmParams};
use crate::lr::{Lr, LrParams};
use crate::mmoe::{Mmoe, MmoeParams};
use crate::ple::{Ple, PleParams};
use crate::shared_bottom::{SharedBottom, SharedBottomParams};
use crate::bert4rec::{Bert4Rec, Bert4RecParams};
use crate::bpr::{Bpr, BprParams};
use crate::caser::{Caser, CaserParams};
use crate::gru4rec::{Gru4Rec, Gru4RecParams};
use crate::hstu::{Hstu, HstuParams};
use crate::blocks::ItemFeatures;
use crate::next_item::NextItemSizes;

/// What a next-item model is built from besides its params.
type NextItemInputs<'a> = (&'a NextItemSizes, Option<&'a [u32]>, Option<&'a ItemFeatures>);
use crate::pop::{Pop, PopParams};
use crate::sasrec::{SasRec, SasRecParams};
use crate::{CtrModel, ModelError, MultiTaskModel, NextItemModel, Result};

/// What a model predicts, and so which trait it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum Task {
    /// Click logits: [`CtrModel`].
    Ctr,
    /// Click and conversion logits: [`MultiTaskModel`].
    MultiTask,
    /// Scores over the catalogue for a user's next item: [`NextItemModel`].
    NextItem,
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Task::Ctr => "CTR",
            Task::MultiTask => "multi-task (click + conversion)",
            Task::NextItem => "next-item",
        })
    }
}

/// A built model of either task.
pub enum BuiltModel {
    Ctr(Box<dyn CtrModel>),
    MultiTask(Box<dyn MultiTaskModel>),
    NextItem(Box<dyn NextItemModel>),
}

impl BuiltModel {
    pub fn task(&self) -> Task {
        match self {
            BuiltModel::Ctr(_) => Task::Ctr,
            BuiltModel::MultiTask(_) => Task::MultiTask,
            BuiltModel::NextItem(_) => Task::NextItem,
        }
    }
}

impl fmt::Debug for BuiltModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuiltModel::{:?}", self.task())
    }
}

/// What a model is built for: the id spaces of a CTR table, or those of
/// next-item sequences (with the training item popularity, which Pop needs).
/// `&Cardinalities` and `&NextItemSizes` convert into it.
#[derive(Debug, Clone, Copy)]
pub enum Sizes<'a> {
    Ctr(&'a Cardinalities),
    NextItem { sizes: &'a NextItemSizes, item_popularity: Option<&'a [u32]>, item_features: Option<&'a ItemFeatures> },
}

impl<'a> From<&'a Cardinalities> for Sizes<'a> {
    fn from(sizes: &'a Cardinalities) -> Self {
        Sizes::Ctr(sizes)
    }
}

impl<'a> From<&'a NextItemSizes> for Sizes<'a> {
    fn from(sizes: &'a NextItemSizes) -> Self {
        Sizes::NextItem { sizes, item_popularity: None, item_features: None }
    }
}

impl<'a> Sizes<'a> {
    fn task(&self) -> Task {
        match self {
            Sizes::Ctr(_) => Task::Ctr,
            Sizes::NextItem { .. } => Task::NextItem,
        }
    }

    /// The CTR sizes, for a model of `task` (CTR or multi-task) named `model`.
    fn cardinalities(&self, model: &str, task: Task) -> Result<&'a Cardinalities> {
        match *self {
            Sizes::Ctr(sizes) => Ok(sizes),
            Sizes::NextItem { .. } => Err(ModelError::WrongTask { model: model.to_string(), actual: task, expected: Task::NextItem }),
        }
    }

    /// The next-item sizes and popularity, for a next-item model.
    fn next_item(&self, model: &str) -> Result<NextItemInputs<'a>> {
        match *self {
            Sizes::NextItem { sizes, item_popularity, item_features } => Ok((sizes, item_popularity, item_features)),
            Sizes::Ctr(_) => Err(ModelError::WrongTask { model: model.to_string(), actual: Task::NextItem, expected: self.task() }),
        }
    }
}

type Builder = fn(&nn::Path, Sizes<'_>, &Map<String, Value>) -> Result<BuiltModel>;

pub struct ModelInfo {
    /// The name a spec uses (`model: DIN`), matched case-insensitively.
    pub name: &'static str,
    pub task: Task,
    pub summary: &'static str,
    /// Whether the model reads the user's item sequence (the prepared data
    /// then needs sequences); equal to the built model's
    /// [`NextItemModel::sequential`].
    pub sequential: bool,
    build: Builder,
    check: fn(&Map<String, Value>) -> Result<()>,
    defaults: fn() -> Value,
    time_key: fn(&Map<String, Value>) -> Option<&'static str>,
}

impl ModelInfo {
    /// The default params, as a JSON object.
    pub fn defaults(&self) -> Value {
        (self.defaults)()
    }
}

/// Typed, validated params of one model.
pub(crate) trait ModelParams: DeserializeOwned + Serialize + Default {
    /// Range checks serde cannot express; the message names the key.
    fn validate(&self) -> std::result::Result<(), ParamsOutOfRange> {
        Ok(())
    }

    /// The key that makes the model read timestamps, when it is on (the
    /// data must then have them).
    fn time_key(&self) -> Option<&'static str> {
        None
    }
}

/// A params value out of range, the message naming the key; the registry
/// reports it as [`ModelError::Params`] of the model.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ParamsOutOfRange(String);

/// Range checks shared by the params types; the first failure wins.
#[derive(Default)]
pub(crate) struct Checks(Option<String>);

impl Checks {
    fn fail(mut self, message: String) -> Self {
        self.0.get_or_insert(message);
        self
    }

    /// `value >= 1`.
    pub fn size(self, key: &str, value: usize) -> Self {
        if value == 0 { self.fail(format!("`{key}` must be at least 1")) } else { self }
    }

    /// Every layer size `>= 1` (an empty list is allowed).
    pub fn sizes(self, key: &str, values: &[usize]) -> Self {
        if values.contains(&0) { self.fail(format!("`{key}`: layer sizes must be at least 1")) } else { self }
    }

    /// At least one layer, every size `>= 1`.
    pub fn layers(self, key: &str, values: &[usize]) -> Self {
        if values.is_empty() { self.fail(format!("`{key}` needs at least one layer")) } else { self.sizes(key, values) }
    }

    pub fn dropout(self, value: f64) -> Self {
        if (0.0..1.0).contains(&value) { self } else { self.fail(format!("`dropout` must be in [0, 1), got {value}")) }
    }

    pub fn require(self, ok: bool, message: impl FnOnce() -> String) -> Self {
        if ok { self } else { self.fail(message()) }
    }

    pub fn finish(self) -> std::result::Result<(), ParamsOutOfRange> {
        self.0.map_or(Ok(()), |message| Err(ParamsOutOfRange(message)))
    }
}

fn checked<P: ModelParams>(model: &str, params: &Map<String, Value>) -> Result<P> {
    let parsed: P = serde_json::from_value(Value::Object(params.clone()))
        .map_err(|e| ModelError::Params { model: model.to_string(), message: e.to_string() })?;
    parsed.validate().map_err(|e| ModelError::Params { model: model.to_string(), message: e.0 })?;
    Ok(parsed)
}

fn defaults<P: ModelParams>() -> Value {
    serde_json::to_value(P::default()).expect("params serialise")
}

/// One registry entry: `$task` names both the [`Task`] and the
/// [`BuiltModel`] variant.
macro_rules! model {
    ($name:literal, $task:ident, $params:ty, $model:ty, $summary:literal) => {
        ModelInfo {
            name: $name,
            task: Task::$task,
            summary: $summary,
            sequential: false,
            build: |p, sizes, params| {
                let params = checked::<$params>($name, params)?;
                let sizes = sizes.cardinalities($name, Task::$task)?;
                Ok(BuiltModel::$task(Box::new(<$model>::new(p, sizes, &params))))
            },
            check: |params| checked::<$params>($name, params).map(drop),
            defaults: defaults::<$params>,
            time_key: |params| checked::<$params>($name, params).ok().and_then(|p| p.time_key()),
        }
    };
}

/// One next-item registry entry; `$new` builds the model from the path, the
/// sizes, the training item popularity and the checked params.
macro_rules! next_item_model {
    ($name:literal, $params:ty, sequential: $sequential:literal, $summary:literal, $new:expr) => {
        ModelInfo {
            name: $name,
            task: Task::NextItem,
            summary: $summary,
            sequential: $sequential,
            build: |p, sizes, params| {
                let params = checked::<$params>($name, params)?;
                let (sizes, popularity, features) = sizes.next_item($name)?;
                let new: fn(&nn::Path, &NextItemSizes, Option<&[u32]>, Option<&ItemFeatures>, &$params) -> Result<Box<dyn NextItemModel>> = $new;
                Ok(BuiltModel::NextItem(new(p, sizes, popularity, features, &params)?))
            },
            check: |params| checked::<$params>($name, params).map(drop),
            defaults: defaults::<$params>,
            time_key: |params| checked::<$params>($name, params).ok().and_then(|p| p.time_key()),
        }
    };
}

pub const REGISTRY: &[ModelInfo] = &[
    model!("LR", Ctr, LrParams, Lr, "logistic regression on user, item and slot ids (baseline)"),
    model!("DIN", Ctr, DinParams, Din, "Deep Interest Network: target attention over clicked history"),
    model!("FM", Ctr, FmParams, Fm, "factorisation machine over the id fields and the pooled history"),
    model!("DeepFM", Ctr, DeepFmParams, DeepFm, "factorisation machine plus an MLP over the same field embeddings"),
    model!("DCN-V2", Ctr, DcnV2Params, DcnV2, "deep & cross network v2: full-rank cross layers with a deep tower"),
    model!("AutoInt", Ctr, AutoIntParams, AutoInt, "multi-head self-attention between feature fields, with residuals"),
    model!("SharedBottom", MultiTask, SharedBottomParams, SharedBottom, "click + conversion: one shared MLP, a tower per task"),
    model!("ESMM", MultiTask, EsmmParams, Esmm, "entire-space multi-task model: pCTCVR = pCTR x pCVR over all impressions"),
    model!("MMoE", MultiTask, MmoeParams, Mmoe, "click + conversion: shared experts mixed by a softmax gate per task"),
    model!("PLE", MultiTask, PleParams, Ple, "progressive layered extraction: CGC levels of shared and per-task experts"),
    next_item_model!("Pop", PopParams, sequential: false, "most popular items in training, the same for every user (baseline)", |p, s, pop, _, c| {
        Ok(Box::new(Pop::new(p, s, pop, c)?))
    }),
    next_item_model!("GRU4Rec", Gru4RecParams, sequential: true, "a GRU over the item sequence, cross entropy on the next item", |p, s, _, f, c| {
        Ok(Box::new(Gru4Rec::new(p, s, f, c)))
    }),
    next_item_model!("Caser", CaserParams, sequential: true, "horizontal and vertical convolutions over the last L items, plus the user", |p, s, _, f, c| {
        Ok(Box::new(Caser::new(p, s, f, c)))
    }),
    next_item_model!("SASRec", SasRecParams, sequential: true, "causal self-attention over the item sequence, cross entropy on the next item", |p, s, _, f, c| {
        Ok(Box::new(SasRec::new(p, s, f, c)))
    }),
    next_item_model!("HSTU", HstuParams, sequential: true, "pointwise aggregated attention with relative position and time biases (generative recommenders)", |p, s, _, f, c| {
        Ok(Box::new(Hstu::new(p, s, f, c)))
    }),
    next_item_model!("BERT4Rec", Bert4RecParams, sequential: true, "bidirectional self-attention trained to recover masked items", |p, s, _, f, c| {
        Ok(Box::new(Bert4Rec::new(p, s, f, c)))
    }),
    next_item_model!("BPR", BprParams, sequential: false, "matrix factorisation with the pairwise BPR loss on sampled negatives", |p, s, _, f, c| {
        Ok(Box::new(Bpr::new(p, s, f, c)))
    }),
];

fn lookup(name: &str) -> Result<&'static ModelInfo> {
    REGISTRY.iter().find(|m| m.name.eq_ignore_ascii_case(name)).ok_or_else(|| ModelError::UnknownModel {
        name: name.to_string(),
        known: REGISTRY.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}

/// The task of the named model.
pub fn task_of(name: &str) -> Result<Task> {
    Ok(lookup(name)?.task)
}

/// Whether the named model reads the user's item sequence.
pub fn reads_sequence(name: &str) -> Result<bool> {
    Ok(lookup(name)?.sequential)
}

/// The params key that makes the named model read timestamps, when it is
/// on (HSTU's `time_bias`): the data must then have them.
pub fn time_key(name: &str, params: &Map<String, Value>) -> Result<Option<&'static str>> {
    Ok((lookup(name)?.time_key)(params))
}

/// Checks a model name and its params without building anything.
pub fn check_params(name: &str, params: &Map<String, Value>) -> Result<()> {
    (lookup(name)?.check)(params)
}

/// Builds the named model, of whichever task, with its variables under `p`.
/// `sizes` is a `&Cardinalities` for CTR and multi-task models, a
/// `&NextItemSizes` (or [`Sizes::NextItem`] with the item popularity) for
/// next-item models; a mismatch is [`ModelError::WrongTask`].
pub fn build_any<'a>(name: &str, p: &nn::Path, sizes: impl Into<Sizes<'a>>, params: &Map<String, Value>) -> Result<BuiltModel> {
    (lookup(name)?.build)(p, sizes.into(), params)
}

fn lookup_task(name: &str, expected: Task) -> Result<&'static ModelInfo> {
    let info = lookup(name)?;
    if info.task == expected {
        Ok(info)
    } else {
        Err(ModelError::WrongTask { model: info.name.to_string(), actual: info.task, expected })
    }
}

/// Builds the named CTR model; a multi-task name is [`ModelError::WrongTask`]
/// (checked before any variable is created).
pub fn build(name: &str, p: &nn::Path, sizes: &Cardinalities, params: &Map<String, Value>) -> Result<Box<dyn CtrModel>> {
    match (lookup_task(name, Task::Ctr)?.build)(p, sizes.into(), params)? {
        BuiltModel::Ctr(model) => Ok(model),
        other => unreachable!("{name} registered as CTR built {other:?}"),
    }
}

/// Builds the named click + conversion model; a CTR name is
/// [`ModelError::WrongTask`].
pub fn build_multitask(name: &str, p: &nn::Path, sizes: &Cardinalities, params: &Map<String, Value>) -> Result<Box<dyn MultiTaskModel>> {
    match (lookup_task(name, Task::MultiTask)?.build)(p, sizes.into(), params)? {
        BuiltModel::MultiTask(model) => Ok(model),
        other => unreachable!("{name} registered as multi-task built {other:?}"),
    }
}

/// Builds the named next-item model. `item_popularity` holds the training
/// interactions of each item id (`sizes.items` entries, PAD first); Pop
/// needs it ([`ModelError::Input`] without it), the others ignore it.
/// `item_features` are fused into the item table of every model that has
/// one (Pop has none and ignores them). A CTR
/// or multi-task name is [`ModelError::WrongTask`].
pub fn build_next_item(
    name: &str,
    p: &nn::Path,
    sizes: &NextItemSizes,
    params: &Map<String, Value>,
    item_popularity: Option<&[u32]>,
    item_features: Option<&ItemFeatures>,
) -> Result<Box<dyn NextItemModel>> {
    match (lookup_task(name, Task::NextItem)?.build)(p, Sizes::NextItem { sizes, item_popularity, item_features }, params)? {
        BuiltModel::NextItem(model) => Ok(model),
        other => unreachable!("{name} registered as next-item built {other:?}"),
    }
}
