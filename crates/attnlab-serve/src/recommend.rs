//! `POST /v1/recommend`: the history a model reads for a request, its top-K
//! in original ids, and the popularity fallback for a cold start.

use serde_json::{json, Value};

use crate::api::ApiError;
use crate::catalog::ServedModel;
use crate::request::RecommendRequest;

/// What a request asks of a model, in its ids.
struct Plan {
    /// The user's id, when the model knows them.
    user: Option<u32>,
    /// Base history, then the user's live events, then the request's `history`.
    history: Vec<u32>,
    /// Item ids never recommended (the padding id, and seen items when asked).
    excluded: Vec<bool>,
    /// Request or event items the model does not know (original ids).
    unknown: Vec<String>,
}

impl ServedModel {
    fn plan(&self, req: &RecommendRequest, live: &[String]) -> Plan {
        let user = req.user.as_deref().and_then(|u| self.users.get(u));
        let mut history = match user {
            Some(u) if self.sequential => self.base_history[u as usize].clone(),
            _ => Vec::new(),
        };
        let mut unknown = Vec::new();
        for token in live.iter().chain(&req.history) {
            match self.items.get(token) {
                Some(i) => history.push(i),
                None => unknown.push(token.clone()),
            }
        }
        let mut excluded = vec![false; self.popularity.len()];
        excluded[0] = true;
        if req.exclude_seen {
            let seen = user.map_or(&[][..], |u| self.seen[u as usize].as_slice());
            for &i in seen.iter().chain(&history) {
                excluded[i as usize] = true;
            }
        }
        Plan { user, history, excluded, unknown }
    }

    /// The model's input row: the last `width` history items, left-padded.
    fn input(&self, history: &[u32]) -> Vec<i64> {
        if !self.sequential {
            return vec![0; self.width];
        }
        let tail = &history[history.len().saturating_sub(self.width)..];
        let mut row = vec![0i64; self.width - tail.len()];
        row.extend(tail.iter().map(|&i| i64::from(i)));
        row
    }

    fn token(&self, item: u32) -> String {
        self.items.token(item).unwrap_or_default().to_string()
    }
}

/// Answers `req` with `model`; `live` is the user's consumed items from events.
pub async fn recommend(model: &ServedModel, req: &RecommendRequest, live: &[String]) -> Result<Value, ApiError> {
    let plan = model.plan(req, live);
    // a sequential model needs a history, a general one a known user
    let cold = if model.sequential { plan.history.is_empty() } else { plan.user.is_none() };
    let (scores, fallback) = if cold {
        (model.popularity.iter().map(|&c| c as f32).collect::<Vec<f32>>(), Some("popularity"))
    } else {
        let user = i64::from(plan.user.unwrap_or(0));
        let scores = model
            .scorer
            .score(user, model.input(&plan.history))
            .await
            .map_err(|e| ApiError::status(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e))?;
        (scores, None)
    };
    let items: Vec<Value> = top_k(&scores, &plan.excluded, req.k)
        .into_iter()
        .map(|i| json!({ "item": model.token(i), "score": f64::from(scores[i as usize]) }))
        .collect();
    Ok(json!({
        "model": model.identity.run_id,
        "user": req.user,
        "known_user": plan.user.is_some(),
        "items": items,
        "fallback": fallback,
        "history": plan.history.iter().map(|&i| model.token(i)).collect::<Vec<_>>(),
        "unknown_items": plan.unknown,
    }))
}

/// The `k` best item ids by score (ties: the smaller id first), skipping
/// excluded ones; a NaN score ranks last. A partial selection, then a sort
/// of the `k` chosen: linear in the catalogue, not `n log n`; the order is
/// total, so the result is the full sort's first `k`.
pub fn top_k(scores: &[f32], excluded: &[bool], k: usize) -> Vec<u32> {
    let key = |i: u32| {
        let s = scores[i as usize];
        if s.is_nan() { f32::NEG_INFINITY } else { s }
    };
    let order = |a: &u32, b: &u32| key(*b).total_cmp(&key(*a)).then(a.cmp(b));
    let mut ids: Vec<u32> = (0..scores.len() as u32).filter(|&i| !excluded.get(i as usize).copied().unwrap_or(false)).collect();
    if k < ids.len() {
        ids.select_nth_unstable_by(k, order);
        ids.truncate(k);
    }
    ids.sort_unstable_by(order);
    ids
}

#[cfg(test)]
mod tests {
    use super::top_k;

    #[test]
    fn top_k_orders_by_score_then_id_and_skips_excluded() {
        let scores = [9.0, 1.0, 3.0, 3.0, f32::NAN, 2.0];
        let excluded = [true, false, false, false, false, true];
        assert_eq!(top_k(&scores, &excluded, 3), vec![2, 3, 1]);
        assert_eq!(top_k(&scores, &excluded, 10), vec![2, 3, 1, 4]);
        assert_eq!(top_k(&scores, &excluded, 0), Vec::<u32>::new());
    }

    #[test]
    fn top_k_is_the_full_sorts_first_k() {
        // many ties and a few NaNs: the selection must keep the sort's order
        let scores: Vec<f32> = (0..500u32).map(|i| if i % 97 == 5 { f32::NAN } else { ((i * 7919) % 23) as f32 }).collect();
        let excluded: Vec<bool> = (0..500).map(|i| i % 11 == 0).collect();
        let mut all: Vec<u32> = (0..500).filter(|&i| !excluded[i as usize]).collect();
        let key = |i: u32| if scores[i as usize].is_nan() { f32::NEG_INFINITY } else { scores[i as usize] };
        all.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        for k in [1, 10, 23, 100, 454, 455, 1000] {
            assert_eq!(top_k(&scores, &excluded, k), all[..k.min(all.len())].to_vec(), "k = {k}");
        }
    }
}
