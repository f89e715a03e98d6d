//! Mixture-of-experts pieces shared by MMoE and PLE, and the two task towers
//! every click + conversion model ends with.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::Mlp;
use crate::TaskLogits;

/// A group of experts: MLPs (`input -> hidden...`, ReLU after every layer,
/// the last one included) run side by side.
#[derive(Debug)]
pub struct Experts {
    experts: Vec<Mlp>,
    width: usize,
}

impl Experts {
    /// `hidden` must be non-empty: its last size is each expert's output.
    pub fn new(p: &nn::Path, count: usize, input: usize, hidden: &[usize], dropout: f64) -> Experts {
        let (&width, inner) = hidden.split_last().expect("experts need at least one layer");
        let experts = (0..count).map(|i| Mlp::new(&(p / i), input, inner, width, dropout)).collect();
        Experts { experts, width }
    }

    pub fn len(&self) -> usize {
        self.experts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.experts.is_empty()
    }

    /// Output width of each expert.
    pub fn width(&self) -> usize {
        self.width
    }

    /// `x [B, input]` -> `[B, experts, width]`.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        let outs: Vec<Tensor> = self.experts.iter().map(|e| e.forward_t(x, train).relu()).collect();
        Tensor::stack(&outs, 1)
    }
}

/// A softmax gate: weighs `n` expert outputs by `softmax(W x + b)`.
#[derive(Debug)]
pub struct Gate {
    linear: nn::Linear,
}

impl Gate {
    pub fn new(p: &nn::Path, input: usize, experts: usize) -> Gate {
        Gate { linear: nn::linear(p, input as i64, experts as i64, Default::default()) }
    }

    /// `x [B, input]`, `experts [B, n, H]` -> the mixture `[B, H]` and the
    /// gate weights `[B, n]` (rows sum to 1).
    pub fn forward(&self, x: &Tensor, experts: &Tensor) -> (Tensor, Tensor) {
        let weights = self.linear.forward(x).softmax(-1, Kind::Float);
        let mixed = weights.unsqueeze(1).bmm(experts).squeeze_dim(1);
        (mixed, weights)
    }
}

/// The click tower and the conversion tower: one MLP each to a logit; with
/// `dwell`, a dwell tower too, regressing `log1p(dwell seconds)` of a click.
#[derive(Debug)]
pub struct TaskTowers {
    click: Mlp,
    conversion: Mlp,
    dwell: Option<Mlp>,
}

impl TaskTowers {
    pub fn new(p: &nn::Path, input: usize, hidden: &[usize], dropout: f64, dwell: bool) -> TaskTowers {
        TaskTowers {
            click: Mlp::new(&(p / "click"), input, hidden, 1, dropout),
            conversion: Mlp::new(&(p / "conversion"), input, hidden, 1, dropout),
            dwell: dwell.then(|| Mlp::new(&(p / "dwell"), input, hidden, 1, dropout)),
        }
    }

    /// Each tower reads its own input (`[B, input]`); the dwell tower reads
    /// the click task's: dwell is learned on clicks, and the click task's
    /// representation (its gate's mix, its experts) is the one that models
    /// what a user engages with, so no third gate or expert group is added.
    pub fn forward_t(&self, click: &Tensor, conversion: &Tensor, train: bool) -> TaskLogits {
        TaskLogits {
            click: self.click.forward_t(click, train).squeeze_dim(-1),
            conversion: self.conversion.forward_t(conversion, train).squeeze_dim(-1),
            dwell: self.dwell.as_ref().map(|d| d.forward_t(click, train).squeeze_dim(-1)),
        }
    }
}
