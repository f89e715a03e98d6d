use tch::nn;

/// An embedding table whose row 0 is padding: zero at start and, because
/// libtorch's embedding backward skips `padding_idx`, zero forever.
/// (tch's `nn::embedding` does not zero the row itself.)
pub fn embedding_with_padding(p: &nn::Path, rows: usize, dim: usize) -> nn::Embedding {
    let config = nn::EmbeddingConfig {
        padding_idx: 0,
        ws_init: nn::Init::Randn { mean: 0.0, stdev: 0.05 },
        ..Default::default()
    };
    let table = nn::embedding(p, rows as i64, dim as i64, config);
    tch::no_grad(|| {
        let _ = table.ws.get(0).fill_(0.0);
    });
    table
}

/// A one-weight-per-id table initialised at zero: the per-id bias of
/// linear models.
pub fn scalar_table(p: &nn::Path, rows: usize) -> nn::Embedding {
    let config = nn::EmbeddingConfig { ws_init: nn::Init::Const(0.0), ..Default::default() };
    nn::embedding(p, rows as i64, 1, config)
}
