//! Item side features: the columns of the source's item file (the RecBole
//! `.item` file, MovieLens's `u.item` / `movies.dat`) that each next-item
//! model fuses into its item table: `dataset.item_features` for every
//! model, or a model's own `models[i].item_features` (`[]`: ids only).
//! The columns are taken after the same preprocessing as the
//! interactions, so row `i` describes item id `i`. A name may also be the
//! `dataset.item_embeddings` name: that model then adds the pretrained
//! vectors through their adapter. `text:<column>` (a token or token_seq
//! column, e.g. `text:movie_title`) is that column's text as a bag of
//! hashed word uni- and bi-grams ([`attnlab_data::text`]).
//!
//! User side features work alike: `dataset.user_features` (or a model's
//! own `models[i].user_features`) names columns of the user file that the
//! models with a user vector (BPR, Caser) add to it.
//!
//! The prepared-data cache holds ids only, so the files are read again when
//! a spec names features; a malformed item file fails there as it would
//! while preparing (file, line and field named).

use std::collections::BTreeMap;

use attnlab_models::{Adapter, Fusion, ItemFeatures};
use attnlab_spec::{AdapterKind, ItemFusion, LoadedSpec};

use super::item_embeddings::read_embeddings;
use super::InteractionRows;
use crate::{ExperimentError, Result};

/// Each model's features, by model name (a model without any is absent).
pub type ModelItemFeatures = BTreeMap<String, ItemFeatures>;

/// Which side's feature lists a spec key names.
#[derive(Clone, Copy)]
enum Side {
    Item,
    User,
}

/// The spec key of every named column of `side`, for each model, in the
/// spec's order: `(key, column)`.
fn requested(loaded: &LoadedSpec, side: Side) -> Vec<(String, Vec<(String, String)>)> {
    let spec = &loaded.spec;
    let keyed = |prefix: &str, names: &[String]| names.iter().enumerate().map(|(i, n)| (format!("{prefix}[{i}]"), n.clone())).collect::<Vec<_>>();
    let (field, shared) = match side {
        Side::Item => ("item_features", &spec.dataset.item_features),
        Side::User => ("user_features", &spec.dataset.user_features),
    };
    spec.models
        .iter()
        .enumerate()
        .map(|(m, model)| {
            let own = match side {
                Side::Item => &model.item_features,
                Side::User => &model.user_features,
            };
            let names = match own {
                Some(own) => keyed(&format!("models[{m}].{field}"), own),
                None => keyed(&format!("dataset.{field}"), shared),
            };
            (model.name.clone(), names)
        })
        .collect()
}

/// The files beside the interactions that the runs read: the source's
/// user and item files when a model fuses item features or the protocol
/// reads them (`reads_side_files`: user groups, providers), and the
/// pretrained vectors' file when a model uses them.
pub(crate) fn files_read(
    loaded: &LoadedSpec,
    rows: &InteractionRows<'_>,
    features: &ModelItemFeatures,
    reads_side_files: bool,
) -> Vec<std::path::PathBuf> {
    if features.is_empty() && !reads_side_files {
        return Vec::new();
    }
    let mut files = rows.side_files.clone();
    let spec = &loaded.spec.dataset;
    if let Some(e) = spec.item_embeddings.as_ref().filter(|e| requested(loaded, Side::Item).iter().any(|(_, names)| names.iter().any(|(_, n)| *n == e.name))) {
        let dir = std::path::Path::new(spec.path.as_deref().unwrap_or("."));
        files.push(dir.join(&e.file));
        let key = super::item_embeddings::key_path(dir, &e.file, e.key.as_deref());
        if key.is_file() {
            files.push(key);
        }
    }
    if let Some(e) = &spec.user_embeddings {
        let dir = std::path::Path::new(spec.path.as_deref().unwrap_or("."));
        files.push(dir.join(&e.file));
        let key = super::item_embeddings::key_path(dir, &e.file, e.key.as_deref());
        if key.is_file() {
            files.push(key);
        }
    }
    files
}

fn adapter_of(kind: AdapterKind) -> Adapter {
    match kind {
        AdapterKind::Linear => Adapter::Linear,
        AdapterKind::Mlp => Adapter::Mlp,
    }
}

/// The item and user columns each model names (none: ids only), and what
/// reading them says (items without a pretrained vector). `item_popularity` holds the
/// prepared data's training rows per item id (its length, the id space the
/// feature rows must match); an item without any (a cold item) is its
/// features alone, its untrained id vector left out.
pub(crate) fn item_features(loaded: &LoadedSpec, rows: &InteractionRows<'_>, item_popularity: &[u32]) -> Result<(ModelItemFeatures, Vec<String>)> {
    let num_items = item_popularity.len();
    let user_requested = requested(loaded, Side::User);
    let requested = requested(loaded, Side::Item);
    let named = |key: &str, message: String| ExperimentError::bad(format!("{}: {key}: {message}", loaded.path.display()));
    for (_, names) in requested.iter().chain(&user_requested) {
        for (i, (key, name)) in names.iter().enumerate() {
            if names[..i].iter().any(|(_, n)| n == name) {
                return Err(named(key, format!("`{name}` is named twice")));
            }
        }
    }
    let mut notes = Vec::new();
    let users_spec = loaded.spec.dataset.user_embeddings.as_ref();
    if requested.iter().chain(&user_requested).all(|(_, names)| names.is_empty()) && users_spec.is_none() {
        return Ok((ModelItemFeatures::new(), notes));
    }
    let clean = super::read_again(loaded, rows)?;
    if clean.num_items() != num_items {
        return Err(ExperimentError::bad(format!(
            "{}: the data now have {} item ids, the prepared data {num_items}; remove the cached data and run again",
            rows.file.display(),
            clean.num_items()
        )));
    }
    let spec = &loaded.spec.dataset;
    let pretrained = spec.item_embeddings.as_ref().filter(|e| requested.iter().any(|(_, names)| names.iter().any(|(_, n)| *n == e.name)));
    let embeddings = match pretrained {
        Some(e) => {
            let dir = std::path::Path::new(spec.path.as_deref().unwrap_or("."));
            let path = dir.join(&e.file);
            let read = read_embeddings(&path, &super::item_embeddings::key_path(dir, &e.file, e.key.as_deref()), &clean.items, "item")?;
            notes.push(format!(
                "{}: {}-dimensional vectors for {} items ({} items without one: zero vectors; {} lines of unknown items skipped)",
                path.display(),
                read.dim,
                num_items - 1 - read.missing(),
                read.missing(),
                read.unknown
            ));
            Some((e, read))
        }
        None => None,
    };
    let users = match users_spec {
        Some(e) => {
            let dir = std::path::Path::new(spec.path.as_deref().unwrap_or("."));
            let path = dir.join(&e.file);
            let read = read_embeddings(&path, &super::item_embeddings::key_path(dir, &e.file, e.key.as_deref()), &clean.users, "user")?;
            let missing = read.present.iter().filter(|&&p| !p).count();
            notes.push(format!(
                "{}: {}-dimensional vectors for {} users ({missing} users without one: zero vectors; {} lines of unknown users skipped)",
                path.display(),
                read.dim,
                read.present.len() - missing,
                read.unknown
            ));
            Some((e, read))
        }
        None => None,
    };
    let mut out = ModelItemFeatures::new();
    let untrained: Vec<bool> = item_popularity.iter().enumerate().map(|(i, &n)| i != 0 && n == 0).collect();
    for ((model, names), (_, user_names)) in requested.into_iter().zip(user_requested) {
        if names.is_empty() && user_names.is_empty() && users.is_none() {
            continue;
        }
        let fusion = match loaded.spec.models.iter().find(|m| m.name == model).map(|m| m.item_fusion) {
            Some(ItemFusion::Concat) => Fusion::Concat,
            _ => Fusion::Sum,
        };
        let mut features = ItemFeatures::default().with_fusion(fusion).with_untrained(untrained.clone());
        for (key, name) in &names {
            let added = match &embeddings {
                Some((e, read)) if *name == e.name => features.push_pretrained(name, read.dim, read.vectors.clone(), read.present.clone(), adapter_of(e.adapter)),
                _ => {
                    let table = clean.item_features.as_ref().ok_or_else(|| {
                        named(key, format!("the data beside {} have no item file (RecBole `.item`, MovieLens `u.item`) to read `{name}` from", rows.file.display()))
                    })?;
                    // `text:<column>`: the column's hashed n-gram bag
                    let text = name.strip_prefix("text:");
                    let column_name = text.unwrap_or(name);
                    let column = table.column(column_name).ok_or_else(|| {
                        let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                        named(key, format!("`{column_name}` is not an item column (the item file has: {})", known.join(", ")))
                    })?;
                    match text {
                        Some(_) => {
                            let bag = attnlab_data::hashed_ngrams(column, attnlab_data::TEXT_BUCKETS).map_err(|e| named(key, e.to_string()))?;
                            features.push_column(&bag)
                        }
                        None => features.push_column(column),
                    }
                }
            };
            added.map_err(|e| named(key, e.to_string()))?;
        }
        for (key, name) in &user_names {
            let table = clean.user_features.as_ref().ok_or_else(|| {
                named(key, format!("the data beside {} have no user file (RecBole `.user`, MovieLens `u.user`) to read `{name}` from", rows.file.display()))
            })?;
            let column = table.column(name).ok_or_else(|| {
                let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                named(key, format!("`{name}` is not a user column (the user file has: {})", known.join(", ")))
            })?;
            features.push_user_column(column).map_err(|e| named(key, e.to_string()))?;
        }
        if let Some((e, read)) = &users {
            features = features
                .with_user_vectors(read.dim, read.vectors.clone(), read.present.clone(), adapter_of(e.adapter))
                .map_err(|err| named("dataset.user_embeddings", err.to_string()))?;
        }
        out.insert(model, features);
    }
    Ok((out, notes))
}
