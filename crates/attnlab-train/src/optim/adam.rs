//! Adam (Kingma & Ba) and AdamW (Loshchilov & Hutter), step for step as
//! libtorch's `torch::optim::Adam`/`AdamW` (no amsgrad).
//!
//! A sparse gradient (an embedding table looked up with sparse gradients,
//! as BPR's) updates only the rows it holds, by the rule of
//! `torch.optim.SparseAdam`: those rows' moments and values move as dense
//! Adam would move them, with the table's step count for the bias
//! correction; the other rows keep their moments and values (dense Adam
//! would keep moving them on their decaying momentum). A step then costs the
//! batch, not the table: with dense updates a BPR epoch grew with users x
//! items. A table with an L2 term or a decoupled decay is regularised on
//! every row, so its sparse gradient is made dense and takes the dense step.

use tch::{Kind, Tensor};

use super::{load_buffers, Optimizer, Param};
use crate::Result;

pub struct Adam {
    params: Vec<Param>,
    exp_avg: Vec<Tensor>,
    exp_avg_sq: Vec<Tensor>,
    /// Per parameter, as libtorch: a parameter without a gradient does not advance.
    steps: Vec<i64>,
    beta1: f64,
    beta2: f64,
    eps: f64,
    name: &'static str,
}

impl Adam {
    /// `name` is `adam` or `adamw`; the difference lies in each [`Param`]'s
    /// `l2` (coupled) and `decay` (decoupled) coefficients.
    pub fn new(params: Vec<Param>, beta1: f64, beta2: f64, eps: f64, name: &'static str) -> Adam {
        let _guard = tch::no_grad_guard();
        let exp_avg = params.iter().map(|p| p.tensor.zeros_like()).collect();
        let exp_avg_sq = params.iter().map(|p| p.tensor.zeros_like()).collect();
        let steps = vec![0; params.len()];
        Adam { params, exp_avg, exp_avg_sq, steps, beta1, beta2, eps, name }
    }
}

/// One Adam step on the rows of the sparse gradient `grad` only (see the
/// module docs); `t` is the table's step count after this step.
fn sparse_step(p: &mut Tensor, grad: &Tensor, (exp_avg, exp_avg_sq): (&Tensor, &Tensor), (b1, b2, eps): (f64, f64, f64), lr: f64, t: i64) {
    // one entry per row (a row looked up twice holds the sum of both)
    let grad = grad.coalesce();
    let rows = grad.indices().select(0, 0);
    if rows.numel() == 0 {
        return;
    }
    let g = grad.values();
    let mut m = exp_avg.index_select(0, &rows);
    let _ = m.lerp_(&g, 1.0 - b1);
    let mut v = exp_avg_sq.index_select(0, &rows);
    let _ = v.g_mul_scalar_(b2);
    let _ = v.addcmul_(&(&g * (1.0 - b2)), &g);
    let (mut exp_avg, mut exp_avg_sq) = (exp_avg.shallow_clone(), exp_avg_sq.shallow_clone());
    let _ = exp_avg.index_copy_(0, &rows, &m);
    let _ = exp_avg_sq.index_copy_(0, &rows, &v);
    if lr == 0.0 {
        return;
    }
    let (bias1, bias2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
    let mut denom = v.sqrt();
    let _ = denom.g_div_scalar_(bias2.sqrt());
    let _ = denom.g_add_scalar_(eps);
    let _ = denom.g_mul_scalar_(-bias1 / lr);
    let moved = p.index_select(0, &rows).addcdiv(&m, &denom);
    let _ = p.index_copy_(0, &rows, &moved);
}

impl Optimizer for Adam {
    fn name(&self) -> &'static str {
        self.name
    }

    fn params(&self) -> &[Param] {
        &self.params
    }

    fn step(&mut self, lr: f64) {
        let _guard = tch::no_grad_guard();
        let (b1, b2) = (self.beta1, self.beta2);
        for (i, param) in self.params.iter().enumerate() {
            let grad = param.tensor.grad();
            if !grad.defined() {
                continue;
            }
            let mut p = param.tensor.shallow_clone();
            if grad.is_sparse() && param.l2 == 0.0 && param.decay == 0.0 {
                self.steps[i] += 1;
                let t = self.steps[i];
                sparse_step(&mut p, &grad, (&self.exp_avg[i], &self.exp_avg_sq[i]), (b1, b2, self.eps), lr, t);
                continue;
            }
            let grad = if grad.is_sparse() { grad.to_dense(None, false) } else { grad };
            let grad = if param.l2 != 0.0 { grad + &p * param.l2 } else { grad };
            if param.decay != 0.0 {
                let _ = p.g_mul_scalar_(1.0 - lr * param.decay);
            }
            self.steps[i] += 1;
            let t = self.steps[i] as i32;
            // in place, two temporaries: the update is memory-bound, and
            // dense embedding tables make it most of a step's time
            let m = &mut self.exp_avg[i];
            let _ = m.lerp_(&grad, 1.0 - b1);
            let v = &mut self.exp_avg_sq[i];
            let _ = v.g_mul_scalar_(b2);
            let _ = v.addcmul_(&(&grad * (1.0 - b2)), &grad);
            let bias1 = 1.0 - b1.powi(t);
            let bias2 = 1.0 - b2.powi(t);
            if lr == 0.0 {
                continue; // (a decay may end at 0) no move, and no 0 * inf below
            }
            // p -= lr / bias1 * m / (sqrt(v) / sqrt(bias2) + eps), as
            // p += m / ((sqrt(v) / sqrt(bias2) + eps) * -(bias1 / lr))
            let mut denom = self.exp_avg_sq[i].sqrt();
            let _ = denom.g_div_scalar_(bias2.sqrt());
            let _ = denom.g_add_scalar_(self.eps);
            let _ = denom.g_mul_scalar_(-bias1 / lr);
            let _ = p.addcdiv_(&self.exp_avg[i], &denom);
        }
    }

    fn state(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(3 * self.params.len());
        for (i, p) in self.params.iter().enumerate() {
            out.push((format!("{}.exp_avg", p.name), self.exp_avg[i].shallow_clone()));
            out.push((format!("{}.exp_avg_sq", p.name), self.exp_avg_sq[i].shallow_clone()));
            out.push((format!("{}.step", p.name), Tensor::from_slice(&[self.steps[i]])));
        }
        out
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let expected = self
            .params
            .iter()
            .flat_map(|p| {
                let shape = p.tensor.size();
                [
                    (format!("{}.exp_avg", p.name), shape.clone(), false),
                    (format!("{}.exp_avg_sq", p.name), shape, false),
                    (format!("{}.step", p.name), vec![1], false),
                ]
            })
            .collect();
        let mut loaded = load_buffers(self.name, state, expected)?;
        let _guard = tch::no_grad_guard();
        for (i, p) in self.params.iter().enumerate() {
            let mut take = |suffix: &str| loaded.remove(&format!("{}.{suffix}", p.name)).flatten().expect("checked");
            self.exp_avg[i].f_copy_(&take("exp_avg"))?;
            self.exp_avg_sq[i].f_copy_(&take("exp_avg_sq"))?;
            self.steps[i] = take("step").to_kind(Kind::Int64).int64_value(&[0]);
        }
        Ok(())
    }
}
