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

/// [`temporal_cut`] of `n` rows, an error when a part would be empty.
fn checked_cut(n: usize, ratios: [f64; 3]) -> Result<(usize, usize)> {
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
    Ok((train_end, valid_end))
}

/// Orders rows by time (stable, so equal times keep table order) and cuts
/// them into train / valid / test by `ratios`: the model never sees the future.
pub fn split_temporal(data: &Impressions, ratios: [f64; 3]) -> Result<Splits> {
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| data.timestamp[i]);
    let (train_end, valid_end) = checked_cut(n, ratios)?;
    Ok(Splits {
        train: data.select(&order[..train_end]),
        valid: data.select(&order[train_end..valid_end]),
        test: data.select(&order[valid_end..]),
    })
}

/// [`split_temporal`], taking the data: rows already in time order (a click
/// log's, whose timestamps are the row numbers) are cut where they lie, the
/// training part keeping the columns' memory, so a log is never held twice;
/// others go through [`split_temporal`]. The same splits either way.
pub fn split_temporal_owned(data: Impressions, ratios: [f64; 3]) -> Result<Splits> {
    if !data.timestamp.windows(2).all(|w| w[0] <= w[1]) {
        return split_temporal(&data, ratios);
    }
    let (train_end, valid_end) = checked_cut(data.len(), ratios)?;
    let [train, valid, test] = data.cut_in_three(train_end, valid_end);
    Ok(Splits { train, valid, test })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{simulate, AdsConfig, SimulatorConfig};

    /// Simulated impressions (history windows of 3, ads) with two extra
    /// fields, rows in time order.
    fn data() -> Impressions {
        let config = SimulatorConfig { users: 30, items: 40, topics: 4, sessions_per_user: 3, slots: 5, history_len: 3, ads: AdsConfig { advertisers: 4, ..Default::default() }, ..SimulatorConfig::default() };
        let mut d = simulate(&config).unwrap();
        let n = d.len();
        d.timestamp = (0..n as u64).collect();
        d.extra.categorical = vec![(0..n as u32).map(|i| i % 7).collect()];
        d.extra.numeric = vec![(0..n).map(|i| i as f32 * 0.5).collect()];
        d
    }

    #[test]
    fn the_owned_split_cuts_in_place_as_the_sorting_split_does() {
        let d = data();
        let n = d.len();
        let (want, got) = (split_temporal(&d, [0.7, 0.2, 0.1]).unwrap(), split_temporal_owned(d.clone(), [0.7, 0.2, 0.1]).unwrap());
        let (a, b) = temporal_cut(n, [0.7, 0.2, 0.1]);
        assert!(0 < a && a < b && b < n);
        assert_eq!((want.train.len(), want.valid.len(), want.test.len()), (a, b - a, n - b));
        assert_eq!((&got.train, &got.valid, &got.test), (&want.train, &want.valid, &want.test));
        assert_eq!(got.valid.history_items.len(), 3 * got.valid.len());
        assert_eq!(got.test.extra.numeric[0][0], (n - got.test.len()) as f32 * 0.5);

        // rows out of time order: sorted first, as split_temporal
        let shuffled = d.select(&(0..n).rev().collect::<Vec<_>>());
        let (want, got) = (split_temporal(&shuffled, [0.8, 0.1, 0.1]).unwrap(), split_temporal_owned(shuffled.clone(), [0.8, 0.1, 0.1]).unwrap());
        assert_eq!((&got.train, &got.valid, &got.test), (&want.train, &want.valid, &want.test));

        let e = split_temporal_owned(d, [1.0, 0.0, 0.0]).unwrap_err().to_string();
        assert!(e.contains("valid"), "{e}");
    }
}
