//! A model for impressions as a run trains it: built by the registry, and a
//! click or multi-task model wrapped in PAL when its `train.position_debias`
//! says so (its position tower then lives in the checkpoint too). Training
//! and loading a run both build it here, so a loaded run scores as its test
//! did.

use attnlab_data::Cardinalities;
use attnlab_models::{BuiltModel, Pal};
use attnlab_spec::{ModelSpec, PositionDebias, TrainSpec};
use tch::nn;

use crate::Result;

pub fn build_impression_model(model: &ModelSpec, train: &TrainSpec, p: &nn::Path, sizes: &Cardinalities) -> Result<BuiltModel> {
    Ok(match attnlab_models::build_any(&model.model, p, sizes, &model.params)? {
        BuiltModel::Ctr(net) if train.position_debias == PositionDebias::Pal => BuiltModel::Ctr(Pal::wrap(net, p, sizes.positions)),
        BuiltModel::MultiTask(net) if train.position_debias == PositionDebias::Pal => {
            BuiltModel::MultiTask(Pal::wrap_multitask(net, p, sizes.positions))
        }
        built => built,
    })
}
