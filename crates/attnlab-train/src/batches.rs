//! Mini-batches gathered straight from the prepared columns: one tensor per
//! column per batch, never one per sample.

use attnlab_data::{Impressions, Rng};
use attnlab_models::CtrBatch;
use tch::{Device, Kind, Tensor};

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

fn ids(values: impl Iterator<Item = u32>, shape: &[i64], device: Device) -> Tensor {
    let v: Vec<i64> = values.map(i64::from).collect();
    Tensor::from_slice(&v).view(shape).to_device(device)
}

/// The batch of `rows` of `data`, with its labels `[B]` as float.
pub fn batch_of(data: &Impressions, rows: &[usize], device: Device) -> (CtrBatch, Tensor) {
    let b = rows.len() as i64;
    let k = data.history_len;
    let column = |col: &[u32]| ids(rows.iter().map(|&r| col[r]), &[b], device);
    let window = |col: &[u32]| ids(rows.iter().flat_map(|&r| col[r * k..(r + 1) * k].iter().copied()), &[b, k as i64], device);
    let batch = CtrBatch {
        user: column(&data.user),
        item: column(&data.item),
        category: column(&data.category),
        position: column(&data.position),
        history_items: window(&data.history_items),
        history_categories: window(&data.history_categories),
    };
    let labels: Vec<f32> = rows.iter().map(|&r| data.click[r]).collect();
    (batch, Tensor::from_slice(&labels).to_kind(Kind::Float).to_device(device))
}
