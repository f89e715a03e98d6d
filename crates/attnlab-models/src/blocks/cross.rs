use tch::nn::{self, Module};
use tch::Tensor;

/// DCN-V2's cross network (Wang et al., WWW 2021): `layers` cross layers
/// `x_{l+1} = x_0 ⊙ (W_l x_l + b_l) + x_l` with full-rank `W_l`, so layer
/// `l` holds feature crosses up to degree `l + 1`; the width stays `dim`.
#[derive(Debug)]
pub struct CrossNetwork {
    layers: Vec<nn::Linear>,
}

impl CrossNetwork {
    pub fn new(p: &nn::Path, dim: usize, layers: usize) -> CrossNetwork {
        let d = dim as i64;
        // small weights: each layer starts close to the identity x_{l+1} ≈ x_l
        let config = nn::LinearConfig { ws_init: nn::Init::Randn { mean: 0.0, stdev: 0.1 / (d as f64).sqrt() }, ..Default::default() };
        CrossNetwork { layers: (0..layers).map(|i| nn::linear(p / i, d, d, config)).collect() }
    }

    pub fn forward(&self, x0: &Tensor) -> Tensor {
        self.layers.iter().fold(x0.shallow_clone(), |x, layer| x0 * layer.forward(&x) + &x)
    }
}
