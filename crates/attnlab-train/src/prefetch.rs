//! Batches gathered ahead on a worker thread. The worker only fills plain
//! host buffers (e.g. [`RawBatch`]); tensors are made on the training thread
//! (tch tensors are not `Sync`, and libtorch's own threads stay with the
//! trainer). The channel is bounded, so at most `depth` batches wait.

use std::sync::mpsc;

use attnlab_data::Impressions;

use crate::batches::{BatchOrder, RawBatch};

/// Calls `consume(step, batch)` with `gather(step, rows)` of every chunk of
/// `order`, in order. With `depth == 0` batches are gathered inline;
/// otherwise a scoped worker gathers up to `depth` batches ahead. `consume`
/// returning an error stops the epoch (the worker notices the closed
/// channel and ends). `gather` must be a pure function of its arguments for
/// the batches not to depend on `depth`.
pub fn prefetch<B: Send, E>(
    order: &BatchOrder,
    depth: usize,
    gather: impl Fn(usize, &[usize]) -> B + Sync,
    mut consume: impl FnMut(usize, B) -> Result<(), E>,
) -> Result<(), E> {
    if depth == 0 {
        for (step, rows) in order.chunks().enumerate() {
            consume(step, gather(step, rows))?;
        }
        return Ok(());
    }
    let gather = &gather;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<B>(depth);
        scope.spawn(move || {
            for (step, rows) in order.chunks().enumerate() {
                if tx.send(gather(step, rows)).is_err() {
                    break;
                }
            }
        });
        // `rx` is dropped on return, before the scope joins the worker
        for (step, batch) in rx.into_iter().enumerate() {
            consume(step, batch)?;
        }
        Ok(())
    })
}

/// [`prefetch`] of impression batches ([`RawBatch::gather`]).
pub fn for_each_batch<E>(
    data: &Impressions,
    order: &BatchOrder,
    depth: usize,
    consume: impl FnMut(usize, RawBatch) -> Result<(), E>,
) -> Result<(), E> {
    prefetch(order, depth, |_, rows| RawBatch::gather(data, rows), consume)
}
