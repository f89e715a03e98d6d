//! `protocol.providers`: a token column of the source's item file (RecBole
//! `.item`, MovieLens `u.item`) that names each item's provider (an
//! advertiser, a studio, a channel; a data set without providers can group
//! items by any column, e.g. ml-100k's `release_year`). Every next-item run
//! then compares, at each K of its metrics, the share of the test rankings'
//! position-discounted exposure each provider receives with its share of
//! the test items (disparity of exposure, `attnlab_eval::exposure`).

use attnlab_data::FieldType;
use attnlab_eval::exposure::disparity_of_exposure;
use attnlab_spec::LoadedSpec;

use super::InteractionRows;
use crate::{ExperimentError, Result};

/// Each item's provider, by item id.
#[derive(Debug, Clone, PartialEq)]
pub struct Providers {
    pub column: String,
    /// The provider of item id `i` (`None`: padding, or no value in the
    /// item file; such items count in no provider's shares).
    pub provider: Vec<Option<String>>,
}

/// The spec's `protocol.providers`, read from the item file.
pub(crate) fn providers(loaded: &LoadedSpec, rows: &InteractionRows<'_>, num_items: usize) -> Result<Option<Providers>> {
    let Some(name) = &loaded.spec.protocol.providers else { return Ok(None) };
    let named = |message: String| ExperimentError::bad(format!("{}: protocol.providers: {message}", loaded.path.display()));
    let clean = super::read_again(loaded, rows)?;
    let table = clean.item_features.as_ref().ok_or_else(|| {
        named(format!("the data beside {} have no item file (RecBole `.item`, MovieLens `u.item`) to read providers from", rows.file.display()))
    })?;
    let column = table.column(name).ok_or_else(|| {
        let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        named(format!("`{name}` is not an item column (the item file has: {})", known.join(", ")))
    })?;
    if column.kind() != FieldType::Token {
        return Err(named(format!("`{name}` is a {} column; an item has one provider, a token column", column.kind().as_str())));
    }
    let provider = (0..num_items).map(|i| column.token_str(i).map(str::to_string)).collect();
    Ok(Some(Providers { column: name.clone(), provider }))
}

/// For each K of `item_exposure` (each item's exposure in the test top-K
/// lists): `exposure.disparity@K`, the largest difference between two
/// providers' exposure-to-relevance ratios, and each provider's
/// `exposure.share.<provider>@K` and `exposure.relevance.<provider>@K`.
/// An item's relevance is its number of test rows (`test_items`). Nothing
/// for a K where fewer than two providers hold test items or nothing was
/// exposed.
pub fn provider_exposure(providers: &Providers, item_exposure: &[(u32, Vec<f64>)], test_items: &[u32]) -> Vec<(String, f64)> {
    let mut relevance = vec![0.0; providers.provider.len()];
    for &item in test_items {
        if let Some(r) = relevance.get_mut(item as usize) {
            *r += 1.0;
        }
    }
    let group: Vec<Option<&str>> = providers.provider.iter().map(Option::as_deref).collect();
    let mut out = Vec::new();
    for (k, exposure) in item_exposure {
        let Ok(d) = disparity_of_exposure(exposure, &relevance, &group) else { continue };
        out.push((format!("exposure.disparity@{k}"), d.max_ratio_gap));
        for g in &d.groups {
            out.push((format!("exposure.share.{}@{k}", g.group), g.exposure_share));
            out.push((format!("exposure.relevance.{}@{k}", g.group), g.relevance_share));
        }
    }
    out
}
