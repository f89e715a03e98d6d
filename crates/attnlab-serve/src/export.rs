//! `attnlab export`: a finished next-item run as a deployable bundle, and
//! int8 compression of its id embedding tables with the cost measured.
//!
//! The bundle (a folder, written beside its target and renamed into place,
//! so it is complete or absent) holds `weights.safetensors`, `vocab.json`
//! (original user and item ids, in id order), `spec.yaml` (the resolved
//! spec), `serving.json` (each user's history at test time, seen items and
//! item popularity: [`crate::state::ServingState`], what `attnlab serve
//! --bundle` starts from) and `model_card.json` (run, metrics, data
//! fingerprint, params and provenance tags, and the compression: sizes and
//! test metrics before and after).
//!
//! `int8`: every table indexed by a user or item id (a 2-D weight with as
//! many rows as that id space) is stored as int8 with one f32 scale per row
//! (`max |row| / 127`, symmetric, round to nearest): `NAME` holds the int8
//! codes and `NAME.scale` the scales. The run's own test evaluation
//! (`attnlab_train::evaluate_next_item` on the test split) is run on the
//! model before and after the tables are replaced by their dequantized
//! values, so the metric drop is measured, not guessed.

use std::path::{Path, PathBuf};

use attnlab_data::Part;
use attnlab_eval::Metric;
use attnlab_experiment::{LoadedRun, RunData};
use attnlab_models::BuiltModel;
use attnlab_train::evaluate_next_item;
use serde_json::{json, Value};
use tch::{Kind, Tensor};

use crate::bundle::{CARD, SPEC, STATE, VOCAB, WEIGHTS};
use crate::state::ServingState;
use crate::{Result, ServeError};

/// How the weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantize {
    /// f32, as trained.
    None,
    /// Id embedding tables as int8 with per-row scales.
    Int8,
}

/// What an export wrote and measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    pub dir: PathBuf,
    /// Bytes of the weights as trained (f32) and as stored.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The variables stored as int8.
    pub quantized: Vec<String>,
    /// Test metrics of the model as trained and as stored, by name.
    pub test_before: Vec<(String, f64)>,
    pub test_after: Vec<(String, f64)>,
}

fn bytes(t: &Tensor) -> u64 {
    let per = match t.kind() {
        Kind::Int8 | Kind::Uint8 | Kind::Bool => 1,
        Kind::Half | Kind::BFloat16 | Kind::Int16 => 2,
        Kind::Double | Kind::Int64 => 8,
        _ => 4,
    };
    t.numel() as u64 * per
}

/// Writes run `loaded`'s bundle to `dir`, which must not exist.
pub fn export(loaded: LoadedRun, dir: &Path, quantize: Quantize, device: tch::Device) -> Result<ExportReport> {
    let short = loaded.run.id[..8.min(loaded.run.id.len())].to_string();
    if dir.exists() {
        return Err(ServeError::bad(format!("{}: already exists; export writes a new folder", dir.display())));
    }
    let (net, data) = match (loaded.net, loaded.data) {
        (BuiltModel::NextItem(net), RunData::Interactions(data)) => (net, data),
        _ => return Err(ServeError::bad(format!("run {short} ({}) is not a next-item run; export bundles next-item runs", loaded.run.model))),
    };
    let metrics = loaded
        .spec
        .protocol
        .metrics
        .iter()
        .map(|m| Metric::parse(m).map_err(|e| ServeError::bad(format!("run {short}: protocol.metrics: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let evaluate = || -> Result<Vec<(String, f64)>> {
        let report = evaluate_next_item(net.as_ref(), &data.prepared, Part::Test, &metrics, device)
            .map_err(|e| ServeError::bad(format!("run {short}: evaluating: {e}")))?;
        Ok(report.values.iter().map(|(m, v)| (m.name().to_string(), *v)).collect())
    };
    let test_before = evaluate()?;
    let state = ServingState::of(&data.prepared, net.sequential());

    let id_rows = [data.prepared.num_items as i64, data.prepared.num_users as i64];
    let mut variables: Vec<(String, Tensor)> = loaded.vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    let bytes_before: u64 = variables.iter().map(|(_, t)| bytes(t)).sum();
    let mut stored: Vec<(String, Tensor)> = Vec::new();
    let mut quantized = Vec::new();
    for (name, var) in &variables {
        let size = var.size();
        let table = size.len() == 2 && id_rows.contains(&size[0]) && var.kind() == Kind::Float;
        if quantize == Quantize::Int8 && table {
            let (codes, scale) = tch::no_grad(|| {
                let scale = (var.abs().amax([1i64].as_slice(), true) / 127.0).clamp_min(1e-12);
                let codes = (var / &scale).round().clamp(-127.0, 127.0).to_kind(Kind::Int8);
                // the model now computes with what the bundle holds
                let mut var = var.shallow_clone();
                var.copy_(&(codes.to_kind(Kind::Float) * &scale));
                (codes, scale.view([-1]))
            });
            stored.push((name.clone(), codes.to_device(tch::Device::Cpu)));
            stored.push((format!("{name}.scale"), scale.to_device(tch::Device::Cpu)));
            quantized.push(name.clone());
        } else {
            stored.push((name.clone(), var.detach().to_device(tch::Device::Cpu)));
        }
    }
    let bytes_after: u64 = stored.iter().map(|(_, t)| bytes(t)).sum();
    let test_after = if quantized.is_empty() { test_before.clone() } else { evaluate()? };

    let tmp = dir.with_file_name(format!(
        ".{}.partial-{}",
        dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        std::process::id()
    ));
    let write = |tmp: &Path| -> Result<()> {
        std::fs::create_dir_all(tmp).map_err(ServeError::io(format!("creating {}", tmp.display())))?;
        Tensor::write_safetensors(&stored, tmp.join(WEIGHTS))
            .map_err(|e| ServeError::bad(format!("writing {}: {e}", tmp.join(WEIGHTS).display())))?;
        let vocab = json!({
            "users": data.users.tokens().collect::<Vec<_>>(),
            "items": data.items.tokens().collect::<Vec<_>>(),
            "item_ids_start_at": data.items.specials(),
        });
        let tags: serde_json::Map<String, Value> =
            loaded.run.tags.iter().filter(|(k, _)| k.as_str() != "spec.resolved").map(|(k, v)| (k.clone(), v.clone().into())).collect();
        let pairs = |v: &[(String, f64)]| v.iter().map(|(k, x)| (k.clone(), json!(x))).collect::<serde_json::Map<_, _>>();
        let card = json!({
            "run": loaded.run.id,
            "name": loaded.run.name,
            "model": loaded.run.model,
            "experiment": loaded.run.experiment,
            "data_fingerprint": data.fingerprint,
            "metrics": loaded.run.metrics,
            "params": loaded.run.params,
            "provenance": tags,
            "weights": {
                "quantize": match quantize { Quantize::None => "none", Quantize::Int8 => "int8" },
                "int8_tables": &quantized,
                "bytes_f32": bytes_before,
                "bytes_stored": bytes_after,
                "test_before": pairs(&test_before),
                "test_after": pairs(&test_after),
            },
        });
        let file = |name: &str, text: String| {
            std::fs::write(tmp.join(name), text).map_err(ServeError::io(format!("writing {}", tmp.join(name).display())))
        };
        file(VOCAB, vocab.to_string())?;
        file(STATE, state.to_json().to_string())?;
        file(SPEC, loaded.run.tags.get("spec.resolved").cloned().unwrap_or_default())?;
        file(CARD, serde_json::to_string_pretty(&card).unwrap_or_default())?;
        std::fs::rename(tmp, dir).map_err(ServeError::io(format!("moving the bundle to {}", dir.display())))
    };
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(ExportReport { dir: dir.to_path_buf(), bytes_before, bytes_after, quantized, test_before, test_after })
}
