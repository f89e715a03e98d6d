//! `dataset.item_features`: the item side-feature columns every next-item
//! model fuses into its item table, taken from the source's item file (the
//! RecBole `.item` file, MovieLens's `u.item` / `movies.dat`) after the same
//! preprocessing as the interactions, so row `i` describes item id `i`.
//!
//! The prepared-data cache holds ids only, so the files are read again when
//! a spec names features; a malformed item file fails there as it would
//! while preparing (file, line and field named).

use attnlab_models::ItemFeatures;
use attnlab_spec::LoadedSpec;

use super::{on_bad_row_of, preprocess_of, InteractionRows};
use crate::{ExperimentError, Result};

/// The named columns, or `None` when the spec names none. `num_items` is
/// the prepared data's item id space, which the feature rows must match.
pub(crate) fn item_features(loaded: &LoadedSpec, rows: &InteractionRows<'_>, num_items: usize) -> Result<Option<ItemFeatures>> {
    let names = &loaded.spec.dataset.item_features;
    if names.is_empty() {
        return Ok(None);
    }
    let in_spec = |message: String| ExperimentError::bad(format!("{}: dataset.item_features{message}", loaded.path.display()));
    let (interactions, _) = (rows.load)(on_bad_row_of(&loaded.spec))?;
    let (clean, _) = attnlab_data::preprocess(&interactions, &preprocess_of(&loaded.spec))?;
    let table = clean.item_features.as_ref().ok_or_else(|| {
        in_spec(format!(": the data beside {} have no item file (RecBole `.item`, MovieLens `u.item`) to read features from", rows.file.display()))
    })?;
    let mut columns = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(in_spec(format!("[{i}]: `{name}` is named twice")));
        }
        let column = table.column(name).ok_or_else(|| {
            let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            in_spec(format!("[{i}]: `{name}` is not an item column (the item file has: {})", known.join(", ")))
        })?;
        columns.push(column);
    }
    if table.rows() != num_items {
        return Err(ExperimentError::bad(format!(
            "{}: the item file describes {} item ids, the prepared data has {num_items}; remove the cached data and run again",
            rows.file.display(),
            table.rows()
        )));
    }
    ItemFeatures::from_columns(&columns).map(Some).map_err(|e| in_spec(format!(": {e}")))
}
