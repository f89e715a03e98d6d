//! What an attention model attended to, for a few sample test users, saved
//! with its run (`attention/sample.json`) for the report's heatmaps.
//!
//! The users are chosen from the data alone (every model of an experiment
//! shows the same ones): the test users with at least
//! [`MIN_HISTORY`] history items, sorted by id, taken at [`SAMPLE_USERS`]
//! evenly spaced ranks. A user's ids are those of the run's per-user
//! artifact (the test split's user column), so the two can be joined.

use attnlab_data::{Impressions, Part};
use attnlab_models::{CtrModel, NextItemModel};
use attnlab_report::{AttendedItem, AttentionKind, AttentionSample, SampleUser, ATTENTION_ARTIFACT};
use attnlab_track::{ArtifactSource, Store};
use tch::{Device, Kind, Tensor};

use crate::public_ids::PublicIds;
use crate::Result;

/// Users per sample: enough to see a pattern, few enough to read.
const SAMPLE_USERS: usize = 6;
/// Shorter histories say little about what a model attends to.
const MIN_HISTORY: usize = 3;

/// Saves the sample of a click model that has attention (DIN over the
/// history, AutoInt over fields); others save nothing.
pub fn save_ctr(
    store: &Store,
    run_id: &str,
    model: &str,
    net: &dyn CtrModel,
    test: &Impressions,
    device: Device,
    ids: &PublicIds<'_>,
) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let rows = ctr_rows(test);
    if rows.is_empty() {
        return Ok(());
    }
    let (batch, _) = attnlab_train::batch_of(test, &rows, device);
    let sample = if let Some(weights) = net.attention(&batch) {
        let weights = to_rows(&weights)?;
        let users = rows
            .iter()
            .zip(&weights)
            .map(|(&row, w)| {
                let k = test.history_len;
                let items = &test.history_items[row * k..(row + 1) * k];
                let categories = &test.history_categories[row * k..(row + 1) * k];
                let real: Vec<(u32, Option<u32>, f64)> = (0..k).filter(|&j| items[j] != 0).map(|j| (items[j], Some(categories[j]), w[j])).collect();
                SampleUser {
                    user: ids.user(test.user[row]),
                    target_item: ids.item(test.item[row]),
                    target_category: Some(test.category[row]),
                    clicked: Some(test.click[row] > 0.5),
                    history: shares(ids, &real),
                    field_weights: Vec::new(),
                }
            })
            .collect();
        AttentionSample {
            model: model.to_string(),
            kind: AttentionKind::History,
            note: format!(
                "{model}'s attention over the user's clicked history (oldest to most recent) for the candidate item. \
                 Cells are each item's share |w| / Σ|w| of the weights (the model's raw weights w, which it does not normalise, are in the tooltips)."
            ),
            fields: Vec::new(),
            users,
        }
    } else if let Some(fields) = net.field_attention(&batch) {
        // [layers, B, heads, F, F] -> last layer, mean over heads: [B, F, F]
        let layers = fields.weights.size()[0];
        let mean = fields.weights.select(0, layers - 1).mean_dim([1i64].as_slice(), false, Kind::Float);
        let f = mean.size()[1] as usize;
        let flat = to_rows(&mean.reshape([rows.len() as i64, -1]))?;
        let users = rows
            .iter()
            .zip(&flat)
            .map(|(&row, m)| SampleUser {
                user: ids.user(test.user[row]),
                target_item: ids.item(test.item[row]),
                target_category: Some(test.category[row]),
                clicked: Some(test.click[row] > 0.5),
                history: Vec::new(),
                field_weights: m.chunks(f).map(<[f64]>::to_vec).collect(),
            })
            .collect();
        AttentionSample {
            model: model.to_string(),
            kind: AttentionKind::Fields,
            note: format!("{model}'s self-attention between feature fields in its last layer, mean over heads: row i is how field i attends to each field (rows sum to 1)."),
            fields: fields.fields.clone(),
            users,
        }
    } else {
        return Ok(());
    };
    save(store, run_id, &sample)
}

/// Saves the sample of a next-item model with self-attention (SASRec,
/// HSTU): the last position's attention over the input sequence of a test
/// row (with its timestamps, where the data has them).
pub fn save_next_item(
    store: &Store,
    run_id: &str,
    model: &str,
    net: &dyn NextItemModel,
    data: &attnlab_data::Prepared,
    device: Device,
    ids: &PublicIds<'_>,
) -> Result<()> {
    let _guard = tch::no_grad_guard();
    let Some(seq) = &data.sequences else { return Ok(()) };
    let split = data.split(Part::Test);
    let max_len = seq.max_len.max(1);
    let real = |k: usize| seq.test.input(k, max_len).iter().filter(|&&i| i != 0).count();
    let rows = sample_rows((0..split.len()).map(|k| (split.user[k], k)).filter(|&(_, k)| real(k) >= MIN_HISTORY));
    if rows.is_empty() {
        return Ok(());
    }
    let inputs: Vec<i64> = rows.iter().flat_map(|&k| seq.test.input(k, max_len).iter().map(|&i| i64::from(i))).collect();
    let inputs = Tensor::from_slice(&inputs).view([rows.len() as i64, max_len as i64]).to_device(device);
    let times: Option<Vec<&[i64]>> = rows.iter().map(|&k| seq.test.input_times(k, max_len)).collect();
    let times = times.map(|t| Tensor::from_slice(&t.concat()).view([rows.len() as i64, max_len as i64 + 1]).to_device(device));
    let Some(weights) = net.attention_at(&inputs, times.as_ref()) else { return Ok(()) };
    let weights = to_rows(&weights)?;
    let users = rows
        .iter()
        .zip(&weights)
        .map(|(&k, w)| {
            let input = seq.test.input(k, max_len);
            let real: Vec<(u32, Option<u32>, f64)> = (0..max_len).filter(|&j| input[j] != 0).map(|j| (input[j], None, w[j])).collect();
            SampleUser {
                user: ids.user(split.user[k]),
                target_item: ids.item(seq.test.targets[k]),
                target_category: None,
                clicked: None,
                history: shares(ids, &real),
                field_weights: Vec::new(),
            }
        })
        .collect();
    let sample = AttentionSample {
        model: model.to_string(),
        kind: AttentionKind::History,
        note: format!(
            "{model}'s self-attention of the last position over the user's input sequence (oldest to most recent; last layer, mean over heads) when predicting the held-out test item."
        ),
        fields: Vec::new(),
        users,
    };
    save(store, run_id, &sample)
}

/// Per sample user, the first test row with at least [`MIN_HISTORY`]
/// history items, preferring a clicked one (what explains a click).
fn ctr_rows(test: &Impressions) -> Vec<usize> {
    let k = test.history_len;
    let long_enough = |row: usize| test.history_items[row * k..(row + 1) * k].iter().filter(|&&i| i != 0).count() >= MIN_HISTORY;
    let candidates: Vec<(u32, usize)> = (0..test.len()).filter(|&r| long_enough(r)).map(|r| (test.user[r], r)).collect();
    let users = sample_rows(candidates.iter().copied());
    users
        .into_iter()
        .map(|first| {
            let user = test.user[first];
            candidates.iter().find(|&&(u, r)| u == user && test.click[r] > 0.5).map_or(first, |&(_, r)| r)
        })
        .collect()
}

/// From `(user, row)` candidates: the users sorted by id at evenly spaced
/// ranks, each with its first row.
fn sample_rows(candidates: impl Iterator<Item = (u32, usize)>) -> Vec<usize> {
    let mut first: Vec<(u32, usize)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (user, row) in candidates {
        if seen.insert(user) {
            first.push((user, row));
        }
    }
    first.sort_unstable();
    let n = first.len().min(SAMPLE_USERS);
    (0..n).map(|i| first[i * first.len() / n].1).collect()
}

/// Each item's share `|w| / Σ|w|` of the user's weights (0 everywhere when
/// every weight is 0).
fn shares(ids: &PublicIds<'_>, real: &[(u32, Option<u32>, f64)]) -> Vec<AttendedItem> {
    let total: f64 = real.iter().map(|(_, _, w)| w.abs()).sum();
    real.iter()
        .map(|&(item, category, raw)| AttendedItem {
            item: ids.item(item),
            category,
            raw,
            weight: if total > 0.0 { raw.abs() / total } else { 0.0 },
        })
        .collect()
}

/// A `[rows, n]` tensor as rows of f64.
fn to_rows(t: &Tensor) -> Result<Vec<Vec<f64>>> {
    let n = t.size()[1] as usize;
    let flat = Vec::<f64>::try_from(t.to_kind(Kind::Double).to_device(Device::Cpu).reshape([-1]))
        .map_err(|e| crate::ExperimentError::from(e).context("reading attention weights"))?;
    Ok(flat.chunks(n.max(1)).map(<[f64]>::to_vec).collect())
}

fn save(store: &Store, run_id: &str, sample: &AttentionSample) -> Result<()> {
    let json = serde_json::to_vec_pretty(sample)?;
    store.log_artifact(run_id, ATTENTION_ARTIFACT, ArtifactSource::Bytes(&json))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_absolute_weights_normalised_to_one() {
        let ids = PublicIds::dense(None);
        let s = shares(&ids, &[(1, None, 0.5), (2, None, -1.5), (3, None, 0.0)]);
        let w: Vec<f64> = s.iter().map(|a| a.weight).collect();
        assert_eq!(w, vec![0.25, 0.75, 0.0]);
        assert_eq!(s[1].raw, -1.5, "the raw weight is kept as the model gave it");
        assert_eq!(s[2].item, "3");
        assert!(shares(&ids, &[(1, None, 0.0)]).iter().all(|a| a.weight == 0.0), "no NaN from all-zero weights");
    }

    #[test]
    fn sample_users_are_evenly_spaced_by_id_each_with_its_first_row() {
        // users 0..20 in reverse row order, each twice
        let candidates: Vec<(u32, usize)> = (0..40).map(|r| (19 - (r % 20) as u32, r)).collect();
        let rows = sample_rows(candidates.into_iter());
        let users: Vec<u32> = rows.iter().map(|&r| 19 - (r % 20) as u32).collect();
        assert_eq!(users, vec![0, 3, 6, 10, 13, 16]);
        assert!(rows.iter().all(|&r| r < 20), "the first row of each user");
        assert_eq!(sample_rows([(5, 9)].into_iter()), vec![9]);
    }
}
