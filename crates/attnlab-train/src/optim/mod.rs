//! Optimisers written on tch tensors, so that their state (moments, momentum
//! buffers, step counts) can be checkpointed and a resumed run continues
//! exactly. libtorch's own optimisers behind `tch::nn::Optimizer` cannot
//! export their state.
//!
//! Regularisation:
//! - `weight_decay`: for Adam and SGD an L2 term added to the gradient (as
//!   `torch.optim.Adam`/`SGD`); for AdamW the decoupled decay
//!   `p -= lr * wd * p` (as `torch.optim.AdamW`).
//! - `l2_embedding`: an L2 term added to the gradient of the embedding
//!   tables only, whatever the optimiser. Tables are named explicitly by
//!   `embedding_params` prefixes (see [`matches_prefix`]), because a
//!   VarStore does not know which module made a variable.

mod adam;
mod sgd;

use std::collections::HashMap;

use tch::Tensor;

pub use adam::Adam;
pub use sgd::Sgd;

use crate::{Result, TrainError};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptimizerKind {
    Adam,
    AdamW,
    Sgd,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
            OptimizerKind::Sgd => "sgd",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    /// Adam/AdamW first-moment decay (default 0.9).
    pub beta1: f64,
    /// Adam/AdamW second-moment decay (default 0.999).
    pub beta2: f64,
    /// Adam/AdamW denominator epsilon (default 1e-8).
    pub eps: f64,
    /// SGD momentum (default 0: plain SGD).
    pub momentum: f64,
    /// SGD Nesterov momentum (needs momentum > 0).
    pub nesterov: bool,
    /// L2 (Adam, SGD) or decoupled decay (AdamW) on every trained parameter.
    pub weight_decay: f64,
    /// Extra L2 on the embedding tables only.
    pub l2_embedding: f64,
    /// Name prefixes of the embedding tables (e.g. `user`, `item`), required
    /// when `l2_embedding > 0`; each must match at least one parameter.
    pub embedding_params: Vec<String>,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Adam,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            l2_embedding: 0.0,
            embedding_params: Vec::new(),
        }
    }
}

/// One trained variable with its regularisation coefficients.
#[derive(Debug)]
pub struct Param {
    pub name: String,
    pub tensor: Tensor,
    /// L2 coefficient added to the gradient (`grad += l2 * p`).
    pub l2: f64,
    /// Decoupled decay (`p -= lr * decay * p`), AdamW only.
    pub decay: f64,
}

/// An optimiser over a fixed, name-sorted list of parameters.
pub trait Optimizer: Send {
    fn name(&self) -> &'static str;
    fn params(&self) -> &[Param];
    /// One update with learning rate `lr` from the parameters' gradients;
    /// parameters without a gradient are skipped (their state is unchanged).
    fn step(&mut self, lr: f64);
    /// Zeroes every parameter's gradient.
    fn zero_grad(&mut self) {
        for p in self.params() {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }
    /// The state tensors, named `<param>.<buffer>`; shallow views, copy them
    /// if they must outlive the next step.
    fn state(&self) -> Vec<(String, Tensor)>;
    /// Replaces the state with `state` (as returned by [`Optimizer::state`]);
    /// every missing, unknown or misshapen entry is reported at once.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// `name` lies under `prefix` by whole path segments: `user` matches `user`
/// and `user.weight`, not `user_tower.weight`. A trailing `.` is ignored.
pub fn matches_prefix(name: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('.');
    name == prefix || (name.starts_with(prefix) && name.as_bytes().get(prefix.len()) == Some(&b'.'))
}

/// Builds the optimiser for `params` (name, variable), sorted by name so the
/// order never depends on a HashMap's per-process seed.
pub fn build_optimizer(config: &OptimizerConfig, mut params: Vec<(String, Tensor)>) -> Result<Box<dyn Optimizer>> {
    params.sort_by(|a, b| a.0.cmp(&b.0));
    if config.l2_embedding < 0.0 || config.weight_decay < 0.0 {
        return Err(TrainError::Config("weight_decay and l2_embedding must be >= 0".into()));
    }
    if config.l2_embedding > 0.0 {
        if config.embedding_params.is_empty() {
            return Err(TrainError::Config(
                "l2_embedding > 0 needs embedding_params (name prefixes of the embedding tables)".into(),
            ));
        }
        let unmatched: Vec<&str> = config
            .embedding_params
            .iter()
            .filter(|pre| !params.iter().any(|(n, _)| matches_prefix(n, pre)))
            .map(String::as_str)
            .collect();
        if !unmatched.is_empty() {
            let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            return Err(TrainError::Config(format!(
                "embedding_params {unmatched:?} match no trained parameter (parameters: {names:?})"
            )));
        }
    }
    if config.nesterov && (config.kind != OptimizerKind::Sgd || config.momentum <= 0.0) {
        return Err(TrainError::Config("nesterov needs the sgd optimiser with momentum > 0".into()));
    }
    let params: Vec<Param> = params
        .into_iter()
        .map(|(name, tensor)| {
            let table = config.embedding_params.iter().any(|pre| matches_prefix(&name, pre));
            let coupled = if config.kind == OptimizerKind::AdamW { 0.0 } else { config.weight_decay };
            let l2 = coupled + if table { config.l2_embedding } else { 0.0 };
            let decay = if config.kind == OptimizerKind::AdamW { config.weight_decay } else { 0.0 };
            Param { name, tensor, l2, decay }
        })
        .collect();
    Ok(match config.kind {
        OptimizerKind::Adam | OptimizerKind::AdamW => {
            Box::new(Adam::new(params, config.beta1, config.beta2, config.eps, config.kind.name()))
        }
        OptimizerKind::Sgd => Box::new(Sgd::new(params, config.momentum, config.nesterov)),
    })
}

/// Scales all gradients so that their global L2 norm is at most `max_norm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping as
/// a 0-dim tensor. Stays on the device: no host synchronisation.
pub fn clip_grad_norm(params: &[Param], max_norm: f64) -> Option<Tensor> {
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> = params.iter().map(|p| p.tensor.grad()).filter(Tensor::defined).collect();
    if grads.is_empty() {
        return None;
    }
    let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
    let total = Tensor::stack(&norms, 0).norm();
    let coef = ((&total + 1e-6).reciprocal() * max_norm).clamp_max(1.0);
    for mut g in grads {
        let _ = g.g_mul_(&coef);
    }
    Some(total)
}

/// Shared by `load_state`: checks `state` against the expected names and
/// shapes and copies each entry into its buffer. `optional` entries (e.g. a
/// momentum buffer not created yet) may be absent: they come back as `None`.
pub(crate) fn load_buffers(
    optimizer: &str,
    state: &[(String, Tensor)],
    expected: Vec<(String, Vec<i64>, bool)>,
) -> Result<HashMap<String, Option<Tensor>>> {
    let given: HashMap<&str, &Tensor> = state.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut problems = Vec::new();
    let mut out = HashMap::new();
    for (name, shape, optional) in &expected {
        match given.get(name.as_str()) {
            None if *optional => {
                out.insert(name.clone(), None);
            }
            None => problems.push(format!("missing `{name}`")),
            Some(t) if t.size() != *shape => {
                problems.push(format!("`{name}` has shape {:?}, expected {shape:?}", t.size()))
            }
            Some(t) => {
                out.insert(name.clone(), Some(t.shallow_clone()));
            }
        }
    }
    for name in given.keys() {
        if !expected.iter().any(|(e, _, _)| e == name) {
            problems.push(format!("unexpected `{name}`"));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        problems.sort();
        Err(TrainError::OptimizerState(format!("{optimizer}: {}", problems.join("; "))))
    }
}

#[cfg(test)]
mod tests;
