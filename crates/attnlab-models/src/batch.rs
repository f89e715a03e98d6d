use tch::Tensor;

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
}
