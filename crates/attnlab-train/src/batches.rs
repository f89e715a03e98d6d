//! Mini-batches gathered straight from the prepared columns: one tensor per
//! column per batch, never one per sample. Gathering ([`RawBatch::gather`],
//! plain Rust, `Send`) is split from making tensors ([`RawBatch::to_tensors`],
//! on the training thread), so the first can run on a prefetch worker.
//! A batch carries the click and the conversion labels (multi-task models).

use attnlab_data::{Impressions, Rng};
use attnlab_models::CtrBatch;
use tch::{Device, Tensor};

/// Batches per window sorted by length in [`BatchOrder::bucketed`]: wide
/// enough for batches of like lengths, narrow enough that an epoch's
/// order stays random at the scale of the whole data.
pub const BUCKET_WINDOW: usize = 64;

/// Row order of one epoch: shuffled for training, in order for evaluation.
pub struct BatchOrder {
    rows: Vec<usize>,
    batch_size: usize,
}

impl BatchOrder {
    pub fn shuffled(n: usize, batch_size: usize, rng: &mut Rng) -> BatchOrder {
        let mut rows: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut rows);
        BatchOrder { rows, batch_size }
    }

    /// Length-bucketed: the shuffled rows, cut into windows of
    /// [`BUCKET_WINDOW`] batches, each window sorted by `len` (so a batch
    /// holds examples of similar lengths and pays for its longest only),
    /// then the full batches in a shuffled order (the last, short batch
    /// stays last). Every row once, as `shuffled`; the batches differ.
    pub fn bucketed(n: usize, batch_size: usize, rng: &mut Rng, len: impl Fn(usize) -> usize) -> BatchOrder {
        let b = batch_size.max(1);
        let mut rows = BatchOrder::shuffled(n, b, rng).rows;
        for window in rows.chunks_mut(b * BUCKET_WINDOW) {
            window.sort_by_key(|&r| len(r));
        }
        let mut full: Vec<&[usize]> = rows.chunks_exact(b).collect();
        rng.shuffle(&mut full);
        let mut order: Vec<usize> = full.concat();
        order.extend_from_slice(rows.chunks_exact(b).remainder());
        BatchOrder { rows: order, batch_size: b }
    }

    pub fn sequential(n: usize, batch_size: usize) -> BatchOrder {
        BatchOrder { rows: (0..n).collect(), batch_size }
    }

    pub fn chunks(&self) -> std::slice::Chunks<'_, usize> {
        self.rows.chunks(self.batch_size.max(1))
    }

    pub fn batches(&self) -> usize {
        self.rows.len().div_ceil(self.batch_size.max(1))
    }
}

/// One batch's ids and labels as host buffers.
#[derive(Debug, Clone, Default)]
pub struct RawBatch {
    pub rows: usize,
    pub history_len: usize,
    pub user: Vec<i64>,
    pub item: Vec<i64>,
    pub category: Vec<i64>,
    pub position: Vec<i64>,
    /// `rows * history_len`, row-major.
    pub history_items: Vec<i64>,
    pub history_categories: Vec<i64>,
    /// A log's extra categorical fields, `rows * categorical_fields`, row-major.
    pub categorical: Vec<i64>,
    pub categorical_fields: usize,
    /// A log's numeric fields, `rows * numeric_fields`, row-major.
    pub numeric: Vec<f32>,
    pub numeric_fields: usize,
    /// Clicks (the CTR label).
    pub labels: Vec<f32>,
    /// Conversions (purchase after the click), for multi-task models.
    pub conversions: Vec<f32>,
    /// Dwell seconds after the click (0 without one), for dwell targets.
    pub dwell_s: Vec<f32>,
}

impl RawBatch {
    pub fn gather(data: &Impressions, rows: &[usize]) -> RawBatch {
        let k = data.history_len;
        let column = |col: &[u32]| rows.iter().map(|&r| i64::from(col[r])).collect::<Vec<i64>>();
        let window = |col: &[u32]| {
            let mut out = Vec::with_capacity(rows.len() * k);
            for &r in rows {
                out.extend(col[r * k..(r + 1) * k].iter().map(|&v| i64::from(v)));
            }
            out
        };
        let extra = &data.extra;
        RawBatch {
            rows: rows.len(),
            history_len: k,
            user: column(&data.user),
            item: column(&data.item),
            category: column(&data.category),
            position: column(&data.position),
            history_items: window(&data.history_items),
            history_categories: window(&data.history_categories),
            categorical: rows.iter().flat_map(|&r| extra.categorical.iter().map(move |c| i64::from(c[r]))).collect(),
            categorical_fields: extra.categorical.len(),
            numeric: rows.iter().flat_map(|&r| extra.numeric.iter().map(move |c| c[r])).collect(),
            numeric_fields: extra.numeric.len(),
            labels: rows.iter().map(|&r| data.click[r]).collect(),
            conversions: rows.iter().map(|&r| data.conversion.get(r).copied().unwrap_or(0.0)).collect(),
            dwell_s: rows.iter().map(|&r| data.dwell_ms.get(r).map_or(0.0, |&d| d as f32 / 1000.0)).collect(),
        }
    }

    /// The model's batch, the click labels and the conversion labels (`[B]`,
    /// float) on `device`.
    pub fn to_multitask_tensors(&self, device: Device) -> (CtrBatch, Tensor, Tensor) {
        let (batch, clicks) = self.to_tensors(device);
        (batch, clicks, Tensor::from_slice(&self.conversions).to_device(device))
    }

    /// The dwell seconds `[B]` (float) on `device`.
    pub fn dwell_tensor(&self, device: Device) -> Tensor {
        Tensor::from_slice(&self.dwell_s).to_device(device)
    }

    /// The model's batch and the labels `[B]` (float) on `device`.
    pub fn to_tensors(&self, device: Device) -> (CtrBatch, Tensor) {
        let (b, k) = (self.rows as i64, self.history_len as i64);
        let ids = |v: &[i64], shape: &[i64]| Tensor::from_slice(v).view(shape).to_device(device);
        let batch = CtrBatch {
            user: ids(&self.user, &[b]),
            item: ids(&self.item, &[b]),
            category: ids(&self.category, &[b]),
            position: ids(&self.position, &[b]),
            history_items: ids(&self.history_items, &[b, k]),
            history_categories: ids(&self.history_categories, &[b, k]),
            categorical: ids(&self.categorical, &[b, self.categorical_fields as i64]),
            numeric: Tensor::from_slice(&self.numeric).view([b, self.numeric_fields as i64]).to_device(device),
        };
        (batch, Tensor::from_slice(&self.labels).to_device(device))
    }
}

/// The batch of `rows` of `data`, with its labels `[B]` as float.
pub fn batch_of(data: &Impressions, rows: &[usize], device: Device) -> (CtrBatch, Tensor) {
    RawBatch::gather(data, rows).to_tensors(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucketed_batches_hold_every_row_once_and_like_lengths() {
        // row r has length r % 97: after shuffling, batches mix lengths
        let (n, b) = (1000usize, 8usize);
        let len = |r: usize| r % 97;
        let order = BatchOrder::bucketed(n, b, &mut Rng::new(3), len);
        let mut all: Vec<usize> = order.chunks().flatten().copied().collect();
        assert_eq!(order.batches(), n.div_ceil(b));
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        let spread = |o: &BatchOrder| o.chunks().map(|c| c.iter().map(|&r| len(r)).max().unwrap() - c.iter().map(|&r| len(r)).min().unwrap()).sum::<usize>();
        let plain = BatchOrder::shuffled(n, b, &mut Rng::new(3));
        // sorted windows of 512 rows over 97 lengths: about 5 rows a length
        assert!(spread(&order) * 10 < spread(&plain), "bucketed {} vs shuffled {}", spread(&order), spread(&plain));
        // the batches' order is shuffled, not by length
        let firsts: Vec<usize> = order.chunks().map(|c| len(c[0])).collect();
        assert!(firsts.windows(2).any(|w| w[0] > w[1]) && firsts.windows(2).any(|w| w[0] < w[1]));
        assert_eq!(BatchOrder::bucketed(n, b, &mut Rng::new(3), len).rows, order.rows, "the seed decides");
    }

    #[test]
    fn extra_fields_are_gathered_row_major() {
        let mut data = Impressions { history_len: 1, ..Default::default() };
        for r in 0..4u32 {
            data.user.push(r);
            data.item.push(r + 1);
            data.category.push(1);
            data.position.push(0);
            data.click.push((r % 2) as f32);
            data.history_items.push(0);
            data.history_categories.push(0);
        }
        data.extra.categorical = vec![vec![2, 3, 4, 5], vec![9, 8, 7, 6]];
        data.extra.numeric = vec![vec![0.5, 1.5, 2.5, 3.5]];
        let (batch, _) = batch_of(&data, &[3, 1], Device::Cpu);
        assert_eq!(batch.categorical.size(), vec![2, 2]);
        assert_eq!(Vec::<i64>::try_from(batch.categorical.flatten(0, -1)).unwrap(), vec![5, 6, 3, 8]);
        assert_eq!(Vec::<f32>::try_from(batch.numeric.flatten(0, -1)).unwrap(), vec![3.5, 1.5]);

        data.extra = Default::default();
        let (batch, _) = batch_of(&data, &[0, 2, 1], Device::Cpu);
        assert_eq!((batch.categorical.size(), batch.numeric.size()), (vec![3, 0], vec![3, 0]));
    }
}
