//! Fine-tuning: initialise a model from a checkpoint (`init_from`) and keep
//! some parameters fixed (`freeze`).

use std::path::Path;

use tch::nn::VarStore;
use tch::Tensor;

use crate::checkpoint;
use crate::optim::matches_prefix;
use crate::{Result, TrainError};

/// Problems fitting `tensors` (name -> tensor) to every variable of `vs`:
/// missing names and shape mismatches, sorted. Empty = they fit.
pub fn fit_problems(vs: &VarStore, tensors: &[(String, Tensor)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, var) in vs.variables() {
        match tensors.iter().find(|(n, _)| *n == name) {
            None => problems.push(format!("`{name}` (shape {:?}) is missing", var.size())),
            Some((_, t)) if t.size() != var.size() => {
                problems.push(format!("`{name}`: checkpoint has shape {:?}, the model {:?}", t.size(), var.size()))
            }
            Some(_) => {}
        }
    }
    problems.sort();
    problems
}

/// Copies `tensors` into the same-named variables of `vs` (call
/// [`fit_problems`] first); returns how many were copied.
pub fn copy_into(vs: &VarStore, tensors: &[(String, Tensor)]) -> Result<usize> {
    let _guard = tch::no_grad_guard();
    let vars = vs.variables();
    let mut copied = 0;
    for (name, t) in tensors {
        if let Some(var) = vars.get(name) {
            var.shallow_clone().f_copy_(t)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// Loads every variable of `vs` from the checkpoint file at `path`: one of
/// ours (its `model.` section) or any safetensors file of plain names (e.g.
/// `VarStore::save`). Extra tensors in the file are ignored; a variable the
/// file lacks or whose shape differs is an [`TrainError::InitMismatch`]
/// listing every problem, and then nothing is loaded.
pub fn init_from(vs: &VarStore, path: &Path) -> Result<usize> {
    let ckpt = checkpoint::load(path)?;
    let tensors = if ckpt.tensors.iter().any(|(n, _)| n.starts_with("model.")) { ckpt.section("model") } else { ckpt.tensors };
    let problems = fit_problems(vs, &tensors);
    if !problems.is_empty() {
        return Err(TrainError::InitMismatch { path: path.to_path_buf(), problems });
    }
    copy_into(vs, &tensors)
}

/// Variables kept fixed while it lives: `requires_grad` is off, and the
/// trainer leaves them out of the optimiser. Dropping it turns gradients
/// back on.
pub struct Frozen {
    vars: Vec<Tensor>,
    pub names: Vec<String>,
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for v in &self.vars {
            let _ = v.set_requires_grad(true);
        }
    }
}

/// Freezes every trainable variable under one of `prefixes` (whole path
/// segments, see [`matches_prefix`]); a prefix that matches nothing is an error.
pub fn freeze(vs: &VarStore, prefixes: &[String]) -> Result<Frozen> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let unmatched: Vec<&String> = prefixes.iter().filter(|p| !vars.iter().any(|(n, _)| matches_prefix(n, p))).collect();
    if !unmatched.is_empty() {
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        return Err(TrainError::Config(format!("freeze {unmatched:?} matches no trainable parameter (parameters: {names:?})")));
    }
    let mut frozen = Frozen { vars: Vec::new(), names: Vec::new() };
    for (name, var) in vars {
        if prefixes.iter().any(|p| matches_prefix(&name, p)) {
            let _ = var.set_requires_grad(false);
            frozen.vars.push(var);
            frozen.names.push(name);
        }
    }
    Ok(frozen)
}
