use tch::{Device, Kind, Tensor};

/// One mini-batch of impressions as int64 id tensors on the model's device.
#[derive(Debug)]
pub struct CtrBatch {
    /// `[B]`
    pub user: Tensor,
    /// `[B]`, 1-based item ids.
    pub item: Tensor,
    /// `[B]`, 1-based category ids.
    pub category: Tensor,
    /// `[B]`, 0-based feed slot.
    pub position: Tensor,
    /// `[B, K]`, 0 = padding.
    pub history_items: Tensor,
    /// `[B, K]`, 0 = padding.
    pub history_categories: Tensor,
    /// `[B, F]` int64: a log's extra categorical fields (ids 1-based per
    /// field, 1 = OOV after a `min_count` recode); `[B, 0]` for the simulator.
    pub categorical: Tensor,
    /// `[B, D]` float: a log's numeric fields; `[B, 0]` for the simulator.
    pub numeric: Tensor,
}

impl CtrBatch {
    /// The `[rows, 0]` categorical and numeric tensors of a batch without
    /// extra fields.
    pub fn no_extra_fields(rows: i64, device: Device) -> (Tensor, Tensor) {
        (Tensor::zeros([rows, 0], (Kind::Int64, device)), Tensor::zeros([rows, 0], (Kind::Float, device)))
    }

    /// The rows `index` (`[N]` int64) of this batch, in that order.
    pub fn select_rows(&self, index: &Tensor) -> CtrBatch {
        let pick = |t: &Tensor| t.index_select(0, index);
        CtrBatch {
            user: pick(&self.user),
            item: pick(&self.item),
            category: pick(&self.category),
            position: pick(&self.position),
            history_items: pick(&self.history_items),
            history_categories: pick(&self.history_categories),
            categorical: pick(&self.categorical),
            numeric: pick(&self.numeric),
        }
    }
}
