use crate::{DataError, Impressions, Result};

#[derive(Debug, Clone)]
pub struct Splits {
    pub train: Impressions,
    pub valid: Impressions,
    pub test: Impressions,
}

/// Where [`split_temporal`] cuts `n` time-ordered rows: train is
/// `..train_end`, valid `train_end..valid_end`, test the rest. Data fitted
/// on the training rows only (vocabularies, normalisers) uses it before
/// splitting.
pub fn temporal_cut(n: usize, ratios: [f64; 3]) -> (usize, usize) {
    let train_end = (n as f64 * ratios[0]).round() as usize;
    let valid_end = (n as f64 * (ratios[0] + ratios[1])).round() as usize;
    (train_end, valid_end)
}

/// Orders rows by time (stable, so equal times keep table order) and cuts
/// them into train / valid / test by `ratios`: the model never sees the future.
pub fn split_temporal(data: &Impressions, ratios: [f64; 3]) -> Result<Splits> {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| data.timestamp[i]);
    let (train_end, valid_end) = temporal_cut(n, ratios);
    let empty = |part| DataError::EmptySplit { ratios, rows: n, part };
    if train_end == 0 {
        return Err(empty("train"));
    }
    if valid_end <= train_end {
        return Err(empty("valid"));
    }
    if valid_end >= n {
        return Err(empty("test"));
    }
    Ok(Splits {
        train: data.select(&order[..train_end]),
        valid: data.select(&order[train_end..valid_end]),
        test: data.select(&order[valid_end..]),
    })
}
