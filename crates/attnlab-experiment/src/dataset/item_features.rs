//! Item side features: the columns of the source's item file (the RecBole
//! `.item` file, MovieLens's `u.item` / `movies.dat`) that each next-item
//! model fuses into its item table: `dataset.item_features` for every
//! model, or a model's own `models[i].item_features` (`[]`: ids only).
//! The columns are taken after the same preprocessing as the
//! interactions, so row `i` describes item id `i`.
//!
//! The prepared-data cache holds ids only, so the files are read again when
//! a spec names features; a malformed item file fails there as it would
//! while preparing (file, line and field named).

use std::collections::BTreeMap;

use attnlab_models::ItemFeatures;
use attnlab_spec::LoadedSpec;

use super::InteractionRows;
use crate::{ExperimentError, Result};

/// Each model's features, by model name (a model without any is absent).
pub type ModelItemFeatures = BTreeMap<String, ItemFeatures>;

/// The spec key of every named column, for each model: `(key, column)`.
fn requested(loaded: &LoadedSpec) -> Vec<(String, Vec<(String, String)>)> {
    let spec = &loaded.spec;
    let keyed = |prefix: &str, names: &[String]| names.iter().enumerate().map(|(i, n)| (format!("{prefix}[{i}]"), n.clone())).collect::<Vec<_>>();
    spec.models
        .iter()
        .enumerate()
        .map(|(m, model)| {
            let names = match &model.item_features {
                Some(own) => keyed(&format!("models[{m}].item_features"), own),
                None => keyed("dataset.item_features", &spec.dataset.item_features),
            };
            (model.name.clone(), names)
        })
        .collect()
}

/// The columns each model names; empty when none does. `num_items` is the
/// prepared data's item id space, which the feature rows must match.
pub(crate) fn item_features(loaded: &LoadedSpec, rows: &InteractionRows<'_>, num_items: usize) -> Result<ModelItemFeatures> {
    let requested = requested(loaded);
    let named = |key: &str, message: String| ExperimentError::bad(format!("{}: {key}: {message}", loaded.path.display()));
    for (_, names) in &requested {
        for (i, (key, name)) in names.iter().enumerate() {
            if names[..i].iter().any(|(_, n)| n == name) {
                return Err(named(key, format!("`{name}` is named twice")));
            }
        }
    }
    if requested.iter().all(|(_, names)| names.is_empty()) {
        return Ok(ModelItemFeatures::new());
    }
    let clean = super::read_again(loaded, rows)?;
    let first_key = requested.iter().flat_map(|(_, names)| names.first()).map(|(k, _)| k.clone()).next().unwrap_or_default();
    let table = clean.item_features.as_ref().ok_or_else(|| {
        named(&first_key, format!("the data beside {} have no item file (RecBole `.item`, MovieLens `u.item`) to read features from", rows.file.display()))
    })?;
    if table.rows() != num_items {
        return Err(ExperimentError::bad(format!(
            "{}: the item file describes {} item ids, the prepared data has {num_items}; remove the cached data and run again",
            rows.file.display(),
            table.rows()
        )));
    }
    let mut out = ModelItemFeatures::new();
    for (model, names) in requested.into_iter().filter(|(_, names)| !names.is_empty()) {
        let mut columns = Vec::with_capacity(names.len());
        for (key, name) in &names {
            let column = table.column(name).ok_or_else(|| {
                let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                named(key, format!("`{name}` is not an item column (the item file has: {})", known.join(", ")))
            })?;
            columns.push(column);
        }
        let features = ItemFeatures::from_columns(&columns).map_err(|e| named(&names[0].0, e.to_string()))?;
        out.insert(model, features);
    }
    Ok(out)
}
