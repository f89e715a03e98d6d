//! An in-memory copy of a VarStore's values: the best epoch's weights,
//! restored after early stopping.

use tch::nn::VarStore;
use tch::Tensor;

pub struct Snapshot(Vec<(String, Tensor)>);

impl Snapshot {
    pub fn take(vs: &VarStore) -> Snapshot {
        let _guard = tch::no_grad_guard();
        Snapshot(named_variables(vs).into_iter().map(|(name, t)| (name, t.detach().copy())).collect())
    }

    /// From tensors read back from a checkpoint.
    pub fn from_tensors(tensors: Vec<(String, Tensor)>) -> Snapshot {
        Snapshot(tensors)
    }

    pub fn restore(&self, vs: &VarStore) {
        let _guard = tch::no_grad_guard();
        let vars = vs.variables();
        for (name, saved) in &self.0 {
            if let Some(var) = vars.get(name) {
                var.shallow_clone().copy_(saved);
            }
        }
    }
}

/// Every variable of `vs`, sorted by name.
pub fn named_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}
