//! Maps a spec's `model:` name to its constructor and typed parameters.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tch::nn;

use attnlab_data::Cardinalities;

use crate::din::{Din, DinParams};
use crate::lr::{Lr, LrParams};
use crate::{CtrModel, ModelError, Result};

type Builder = fn(&nn::Path, &Cardinalities, &Map<String, Value>) -> Result<Box<dyn CtrModel>>;

pub struct ModelInfo {
    /// The name a spec uses (`model: DIN`).
    pub name: &'static str,
    pub summary: &'static str,
    build: Builder,
    check: fn(&Map<String, Value>) -> Result<()>,
}

pub const REGISTRY: &[ModelInfo] = &[
    ModelInfo {
        name: "LR",
        summary: "logistic regression on user, item and slot ids (baseline)",
        build: |p, s, params| Ok(Box::new(Lr::new(p, s, &parse::<LrParams>("LR", params)?))),
        check: |params| parse::<LrParams>("LR", params).map(drop),
    },
    ModelInfo {
        name: "DIN",
        summary: "Deep Interest Network: target attention over clicked history",
        build: |p, s, params| {
            let params = parse::<DinParams>("DIN", params)?;
            check_din(&params)?;
            Ok(Box::new(Din::new(p, s, &params)))
        },
        check: |params| check_din(&parse::<DinParams>("DIN", params)?),
    },
];

fn check_din(p: &DinParams) -> Result<()> {
    let bad = |message: &str| Err(ModelError::Params { model: "DIN".into(), message: message.into() });
    if p.embed_dim == 0 || p.attention_hidden.contains(&0) || p.mlp_hidden.contains(&0) {
        return bad("sizes must be at least 1");
    }
    if !(0.0..1.0).contains(&p.dropout) {
        return bad("dropout must be in [0, 1)");
    }
    Ok(())
}

fn parse<T: DeserializeOwned>(model: &str, params: &Map<String, Value>) -> Result<T> {
    serde_json::from_value(Value::Object(params.clone()))
        .map_err(|e| ModelError::Params { model: model.to_string(), message: e.to_string() })
}

fn lookup(name: &str) -> Result<&'static ModelInfo> {
    REGISTRY.iter().find(|m| m.name.eq_ignore_ascii_case(name)).ok_or_else(|| ModelError::UnknownModel {
        name: name.to_string(),
        known: REGISTRY.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}

/// Checks a model name and its params without building anything.
pub fn check_params(name: &str, params: &Map<String, Value>) -> Result<()> {
    (lookup(name)?.check)(params)
}

/// Builds the named model with its variables under `p`.
pub fn build(name: &str, p: &nn::Path, sizes: &Cardinalities, params: &Map<String, Value>) -> Result<Box<dyn CtrModel>> {
    (lookup(name)?.build)(p, sizes, params)
}
