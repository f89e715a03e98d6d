//! Cutting a left-padded batch to its longest real sequence: the columns at
//! the front that are padding in every row carry nothing for a model that
//! trims padding ([`attnlab_models::NextItemModel::trims_padding`]), yet
//! attention pays for them quadratically. A batch of short histories at
//! `max_len` 200 then costs its own length, not 200.

/// How many of the first columns of the left-padded `[rows, width]` ids
/// `inputs` (row-major, 0 = padding) are padding in every row; at least one
/// column is always kept.
pub(crate) fn padding_columns(inputs: &[i64], width: usize) -> usize {
    if width == 0 {
        return 0;
    }
    let longest = inputs.chunks(width).map(|row| width - row.iter().take_while(|&&i| i == 0).count()).max().unwrap_or(width);
    width - longest.max(1)
}

/// The row-major `[rows, width]` block `v` without its first `k` columns.
pub(crate) fn drop_columns<T: Copy>(v: &[T], width: usize, k: usize) -> Vec<T> {
    if k == 0 || width == 0 {
        return v.to_vec();
    }
    v.chunks(width).flat_map(|row| row[k..].iter().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_longest_row_and_at_least_one_column() {
        let inputs = [0, 0, 0, 5, 0, 0, 7, 8, 0, 0, 0, 0];
        assert_eq!(padding_columns(&inputs, 4), 2);
        assert_eq!(drop_columns(&inputs, 4, 2), vec![0, 5, 7, 8, 0, 0]);
        assert_eq!(padding_columns(&[0, 0, 0], 3), 2, "an all-padding batch keeps one column");
        assert_eq!(padding_columns(&[1, 2, 0, 3], 2), 0);
        assert_eq!(padding_columns(&[], 4), 0, "no rows: nothing to cut");
        // timestamps are [rows, width + 1]: the same columns go
        assert_eq!(drop_columns(&[0, 0, 10, 11, 0, 20, 21, 22], 4, 1), vec![0, 10, 11, 20, 21, 22]);
    }
}
