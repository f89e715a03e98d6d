use tch::nn;

/// How every embedding row starts.
pub const EMBEDDING_INIT: nn::Init = nn::Init::Randn { mean: 0.0, stdev: 0.05 };

/// An embedding table whose row 0 is padding: zero at start and, because
/// libtorch's embedding backward skips `padding_idx`, zero forever.
/// (tch's `nn::embedding` does not zero the row itself.)
pub fn embedding_with_padding(p: &nn::Path, rows: usize, dim: usize) -> nn::Embedding {
    padded_embedding(p, rows, dim, EMBEDDING_INIT)
}

/// [`embedding_with_padding`] with rows drawn from `init` (the Transformer
/// models start from their own `init_std`, as in RecBole).
pub fn padded_embedding(p: &nn::Path, rows: usize, dim: usize, init: nn::Init) -> nn::Embedding {
    let config = nn::EmbeddingConfig { padding_idx: 0, ws_init: init, ..Default::default() };
    let table = nn::embedding(p, rows as i64, dim as i64, config);
    tch::no_grad(|| {
        let _ = table.ws.get(0).fill_(0.0);
    });
    table
}

/// An embedding table without a padding row (0-based ids such as users and
/// feed slots), initialised like [`embedding_with_padding`].
pub fn embedding_table(p: &nn::Path, rows: usize, dim: usize) -> nn::Embedding {
    nn::embedding(p, rows as i64, dim as i64, nn::EmbeddingConfig { ws_init: EMBEDDING_INIT, ..Default::default() })
}

/// A one-weight-per-id table initialised at zero: the per-id bias of
/// linear models.
pub fn scalar_table(p: &nn::Path, rows: usize) -> nn::Embedding {
    let config = nn::EmbeddingConfig { ws_init: nn::Init::Const(0.0), ..Default::default() };
    nn::embedding(p, rows as i64, 1, config)
}
