//! SGD with optional (Nesterov) momentum, as libtorch's `torch::optim::SGD`
//! with dampening 0: the momentum buffer starts as the first gradient.

use tch::Tensor;

use super::{load_buffers, Optimizer, Param};
use crate::Result;

pub struct Sgd {
    params: Vec<Param>,
    /// Created at a parameter's first step when momentum > 0.
    buffers: Vec<Option<Tensor>>,
    momentum: f64,
    nesterov: bool,
}

impl Sgd {
    pub fn new(params: Vec<Param>, momentum: f64, nesterov: bool) -> Sgd {
        let buffers = params.iter().map(|_| None).collect();
        Sgd { params, buffers, momentum, nesterov }
    }
}

impl Optimizer for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn params(&self) -> &[Param] {
        &self.params
    }

    fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        for (i, param) in self.params.iter().enumerate() {
            let grad = param.tensor.grad();
            if !grad.defined() {
                continue;
            }
            // SGD's momentum buffers are dense: so is the step
            let grad = if grad.is_sparse() { grad.to_dense(None, false) } else { grad };
            let mut p = param.tensor.shallow_clone();
            if param.decay != 0.0 {
                let _ = p.g_mul_scalar_(1.0 - lr * param.decay);
            }
            let mut d_p = if param.l2 != 0.0 { grad + &p * param.l2 } else { grad.copy() };
            if self.momentum != 0.0 {
                let buf = match &mut self.buffers[i] {
                    Some(buf) => {
                        let _ = buf.g_mul_scalar_(self.momentum);
                        let _ = buf.g_add_(&d_p);
                        buf.shallow_clone()
                    }
                    slot @ None => slot.insert(d_p.copy()).shallow_clone(),
                };
                d_p = if self.nesterov { d_p + buf * self.momentum } else { buf };
            }
            let _ = p.g_sub_(&(d_p * lr));
        }
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .zip(&self.buffers)
            .filter_map(|(p, b)| b.as_ref().map(|b| (format!("{}.momentum_buffer", p.name), b.shallow_clone())))
            .collect()
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let expected =
            self.params.iter().map(|p| (format!("{}.momentum_buffer", p.name), p.tensor.size(), true)).collect();
        let mut loaded = load_buffers("sgd", state, expected)?;
        for (i, p) in self.params.iter().enumerate() {
            self.buffers[i] = loaded.remove(&format!("{}.momentum_buffer", p.name)).flatten().map(|t| t.to_device(p.tensor.device()).to_kind(p.tensor.kind()).copy());
        }
        Ok(())
    }
}
