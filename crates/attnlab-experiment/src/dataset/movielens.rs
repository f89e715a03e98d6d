//! The `movielens` source: a MovieLens download as it comes (ML-100K's
//! `u.data`, ML-1M/10M's `ratings.dat`, ML-20M/25M's `ratings.csv`), its
//! layout named by `dataset.movielens.format` or detected from the file
//! names, prepared as interactions exactly as RecBole atomic files are.

use std::path::PathBuf;

use attnlab_data::loaders::MovieLensFormat;
use attnlab_spec::{LoadedSpec, MovieLensLayout};

use super::InteractionRows;
use crate::{ExperimentError, Result};

/// The ratings (and ML-100K/1M's user and item files when present), to be
/// prepared under the spec's protocol like every interaction source.
pub(crate) fn movielens_rows(loaded: &LoadedSpec) -> Result<InteractionRows<'static>> {
    let spec = &loaded.spec;
    let dir = PathBuf::from(spec.dataset.path.as_deref().unwrap_or("."));
    let in_spec = |message: String| ExperimentError::bad(format!("{}: {message}", loaded.path.display()));
    let layout = spec.dataset.movielens.as_ref().map(|m| m.format).unwrap_or_default();
    let format = match layout {
        MovieLensLayout::Auto => MovieLensFormat::detect(&dir).ok_or_else(|| {
            in_spec(format!(
                "dataset.path: {} holds none of u.data (ML-100K), ratings.dat (ML-1M, ML-10M), ratings.csv (ML-20M, ML-25M); \
                 download a release from https://grouplens.org/datasets/movielens/ and unzip it there",
                dir.display()
            ))
        })?,
        MovieLensLayout::Ml100k => MovieLensFormat::Ml100k,
        MovieLensLayout::Ml1m => MovieLensFormat::Ml1m,
        MovieLensLayout::Ml20m => MovieLensFormat::Ml20m,
    };
    let ratings = dir.join(format.files()[0]);
    if !ratings.is_file() {
        return Err(in_spec(format!("dataset.movielens.format: {} does not exist", ratings.display())));
    }
    // the ratings file decides the rows, whatever layout named it
    let settings = serde_json::json!({ "movielens": format.files()[0] });
    let side_files = super::existing(format.files()[1..].iter().map(|f| dir.join(f)));
    let load = move |on_bad_row| Ok(attnlab_data::load_movielens(&dir, format, on_bad_row)?);
    Ok(InteractionRows { file: ratings, settings: Some(settings), side_files, load: Box::new(load) })
}
