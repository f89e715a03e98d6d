use tch::nn::{self, Module};
use tch::Tensor;

/// A feed-forward tower: Linear -> ReLU -> dropout per hidden layer, then a
/// final Linear without activation.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
    dropout: f64,
}

impl Mlp {
    pub fn new(p: &nn::Path, input: usize, hidden: &[usize], output: usize, dropout: f64) -> Mlp {
        let mut sizes = vec![input];
        sizes.extend_from_slice(hidden);
        sizes.push(output);
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(p / i, w[0] as i64, w[1] as i64, Default::default()))
            .collect();
        Mlp { layers, dropout }
    }

    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(xs.shallow_clone(), |h, (i, layer)| {
            let h = layer.forward(&h);
            if i == last { h } else { h.relu().dropout(self.dropout, train) }
        })
    }
}
