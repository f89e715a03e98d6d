//! Checkpoints: `<dir>/last.safetensors` (weights as `model.<name>`, the
//! optimiser state as `optim.<name>`) plus `<dir>/last.json` (the
//! [`CheckpointMeta`]), rewritten after every epoch, and the same pair as
//! `best.*` after every epoch that improved the valid metric. Nothing else
//! is kept.
//!
//! Every file is written to `<name>.tmp`, fsynced, renamed over the old one,
//! and the directory is fsynced. The meta is also stored in the safetensors
//! header (key `attnlab.meta`), so the weights and the counters they belong
//! to change in one rename; resuming reads that copy, and `last.json` is the
//! readable mirror for people and tools. `last.*` is written before `best.*`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, View};
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use crate::{Result, TrainError};

pub const FORMAT_VERSION: u32 = 1;
const META_KEY: &str = "attnlab.meta";

/// One finished epoch, as kept in the checkpoint's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// (metric name, value)
    pub valid: Vec<(String, f64)>,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub improved: bool,
    pub lr: f64,
}

/// Where a run stands after `epoch` epochs: enough, with the tensors, to
/// continue exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format_version: u32,
    /// Epochs completed (1-based number of the last one).
    pub epoch: usize,
    /// Optimiser steps done: the schedule's position.
    pub global_step: usize,
    /// Steps the schedule was planned for.
    pub total_steps: usize,
    pub best_epoch: Option<usize>,
    pub best_value: Option<f64>,
    /// Early stopping: epochs since the best one.
    pub epochs_since_best: usize,
    /// Early stopping has ended the run.
    pub stopped_early: bool,
    /// The valid metric's name.
    pub valid_metric: String,
    /// Settings a resumed run must share.
    pub seed: u64,
    pub batch_size: usize,
    pub optimizer: String,
    pub train_rows: usize,
    /// fp16 loss scaler (scale, steps since the last overflow), if used.
    pub loss_scale: Option<(f64, usize)>,
    pub history: Vec<EpochRecord>,
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub meta: Option<CheckpointMeta>,
    /// Every tensor, full names (`model.…`, `optim.…`).
    pub tensors: Vec<(String, Tensor)>,
}

impl Checkpoint {
    /// The tensors under `prefix.`, with the prefix removed.
    pub fn section(&self, prefix: &str) -> Vec<(String, Tensor)> {
        let prefix = format!("{prefix}.");
        self.tensors
            .iter()
            .filter_map(|(n, t)| n.strip_prefix(&prefix).map(|s| (s.to_string(), t.shallow_clone())))
            .collect()
    }
}

pub fn last_path(dir: &Path) -> PathBuf {
    dir.join("last.safetensors")
}

pub fn best_path(dir: &Path) -> PathBuf {
    dir.join("best.safetensors")
}

fn err(path: &Path, reason: impl ToString) -> TrainError {
    TrainError::Checkpoint { path: path.to_path_buf(), reason: reason.to_string() }
}

struct Owned {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Owned {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.data[..]).into()
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn owned(t: &Tensor) -> Result<Owned> {
    let t = t.detach().to_device(Device::Cpu).contiguous();
    let numel = t.numel();
    let mut data = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    t.f_copy_data_u8(&mut data, numel)?;
    let dtype = Dtype::try_from(t.kind())?;
    Ok(Owned { dtype, shape: t.size().iter().map(|&d| d as usize).collect(), data })
}

/// The bytes of a safetensors file holding `tensors` and `meta`.
pub fn encode(meta: &CheckpointMeta, tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let owned: Vec<(String, Owned)> = tensors.iter().map(|(n, t)| Ok((n.clone(), owned(t)?))).collect::<Result<_>>()?;
    let json = serde_json::to_string(meta).map_err(|e| err(Path::new("<memory>"), e))?;
    let header = Some(HashMap::from([(META_KEY.to_string(), json)]));
    safetensors::tensor::serialize(owned.iter().map(|(n, o)| (n.as_str(), o)), &header)
        .map_err(|e| err(Path::new("<memory>"), format!("{e:?}")))
}

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_file_name(format!("{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint")));
    let io = |e: std::io::Error| err(path, e);
    let mut file = File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        // a directory fsync makes the rename durable (not supported everywhere: best effort)
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes `last.*`, then (if `improved`) `best.*`, in `dir`.
pub fn save(dir: &Path, meta: &CheckpointMeta, tensors: &[(String, Tensor)], improved: bool) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let bytes = encode(meta, tensors)?;
    let json = serde_json::to_vec_pretty(meta).map_err(|e| err(dir, e))?;
    write_atomic(&last_path(dir), &bytes)?;
    write_atomic(&dir.join("last.json"), &json)?;
    if improved {
        write_atomic(&best_path(dir), &bytes)?;
        write_atomic(&dir.join("best.json"), &json)?;
    }
    Ok(())
}

/// Copies `last.safetensors` over `best.safetensors` (repairs a crash
/// between the two writes). Both JSON mirrors are rewritten from the meta
/// inside it, the authoritative copy: the crash may also have come between
/// `last.safetensors` and `last.json`.
pub fn copy_last_to_best(dir: &Path) -> Result<()> {
    let last = last_path(dir);
    let bytes = fs::read(&last).map_err(|e| err(&last, e))?;
    let meta = load(&last)?.meta.ok_or_else(|| err(&last, "no attnlab meta in its header"))?;
    let json = serde_json::to_vec_pretty(&meta).map_err(|e| err(dir, e))?;
    write_atomic(&dir.join("last.json"), &json)?;
    write_atomic(&best_path(dir), &bytes)?;
    write_atomic(&dir.join("best.json"), &json)
}

/// Reads a safetensors file: ours (with meta) or any other (meta `None`).
pub fn load(path: &Path) -> Result<Checkpoint> {
    let bytes = fs::read(path).map_err(|e| err(path, e))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(path, format!("not a safetensors file ({e:?})")))?;
    let meta = match header.metadata().as_ref().and_then(|m| m.get(META_KEY)) {
        Some(json) => {
            let meta: CheckpointMeta = serde_json::from_str(json).map_err(|e| err(path, format!("bad metadata: {e}")))?;
            if meta.format_version != FORMAT_VERSION {
                return Err(err(path, format!("format version {} (this build reads {FORMAT_VERSION})", meta.format_version)));
            }
            Some(meta)
        }
        None => None,
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| err(path, format!("{e:?}")))?;
    let mut tensors = st
        .tensors()
        .into_iter()
        .map(|(name, view)| Ok((name, Tensor::try_from(view)?)))
        .collect::<Result<Vec<_>>>()?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Checkpoint { meta, tensors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> CheckpointMeta {
        CheckpointMeta {
            format_version: FORMAT_VERSION,
            epoch: 2,
            global_step: 10,
            total_steps: 50,
            best_epoch: Some(1),
            best_value: Some(0.75),
            epochs_since_best: 1,
            stopped_early: false,
            valid_metric: "auc".into(),
            seed: 3,
            batch_size: 4,
            optimizer: "adam".into(),
            train_rows: 20,
            loss_scale: None,
            history: vec![EpochRecord {
                epoch: 1,
                train_loss: 0.5,
                valid: vec![("auc".into(), 0.75)],
                seconds: 1.0,
                samples_per_s: 20.0,
                improved: true,
                lr: 0.01,
            }],
        }
    }

    #[test]
    fn round_trips_tensors_and_meta_and_keeps_last_and_best_only() {
        let dir = tempfile::tempdir().unwrap();
        let w = Tensor::from_slice(&[1.5f32, -2.0, 3.25, 0.0]).view([2, 2]);
        let s = Tensor::from_slice(&[7i64]);
        let tensors = vec![("model.w".to_string(), w.shallow_clone()), ("optim.w.step".to_string(), s)];
        save(dir.path(), &meta(), &tensors, true).unwrap();
        let mut second = meta();
        second.epoch = 3;
        save(dir.path(), &second, &tensors, false).unwrap();
        let mut names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["best.json", "best.safetensors", "last.json", "last.safetensors"]);
        let last = load(&last_path(dir.path())).unwrap();
        assert_eq!(last.meta.as_ref().unwrap(), &second);
        let json: CheckpointMeta = serde_json::from_slice(&fs::read(dir.path().join("last.json")).unwrap()).unwrap();
        assert_eq!(json, second);
        assert_eq!(load(&best_path(dir.path())).unwrap().meta.unwrap().epoch, 2);
        let model = last.section("model");
        assert_eq!(model.len(), 1);
        assert_eq!(model[0].0, "w");
        assert!(model[0].1.equal(&w));
        assert_eq!(last.section("optim")[0].1.int64_value(&[0]), 7);
    }

    /// Killed after `last.safetensors` was renamed, before `last.json` and
    /// `best.*`: the repair needs only the safetensors file.
    #[test]
    fn a_crash_before_the_json_mirror_is_repaired_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let tensors = vec![("model.w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        save(dir.path(), &meta(), &tensors, true).unwrap();
        fs::remove_file(dir.path().join("last.json")).unwrap();
        fs::remove_file(dir.path().join("best.json")).unwrap();
        copy_last_to_best(dir.path()).unwrap();
        for name in ["last.json", "best.json"] {
            let json: CheckpointMeta = serde_json::from_slice(&fs::read(dir.path().join(name)).unwrap()).unwrap();
            assert_eq!(json, meta(), "{name}");
        }
        assert_eq!(fs::read(best_path(dir.path())).unwrap(), fs::read(last_path(dir.path())).unwrap());
    }

    #[test]
    fn foreign_and_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.safetensors");
        Tensor::write_safetensors(&[("a", Tensor::from_slice(&[1.0f32]))], &plain).unwrap();
        let c = load(&plain).unwrap();
        assert!(c.meta.is_none());
        assert_eq!(c.tensors[0].0, "a");
        let junk = dir.path().join("junk.safetensors");
        fs::write(&junk, b"not a checkpoint").unwrap();
        let e = load(&junk).err().unwrap().to_string();
        assert!(e.contains("junk.safetensors") && e.contains("not a safetensors file"), "{e}");
    }
}
