//! `POST /v1/rank`: a feed request (a user, organic candidates, ads with
//! their bid, bid type and, optionally, advertiser) ranked by a served click run with
//! the offline A/B test's own ranking, [`attnlab_eval::market::rank_feed`]:
//! the auction of the spec's mechanism sells the ad slots by eCPM, organic
//! items fill the other positions by pCTR. With an attention weight `lambda`
//! (the request's, else the spec's `ab_test.lambda`) every slot is valued
//! `eCPM + lambda · pCTR · E[dwell | click]`: organic items are ordered by
//! expected attention and an ad slot goes to an organic item that is worth
//! more (`rank_feed`'s module doc).
//!
//! With live budgets (the spec's `ab_test.pacing`), each ad enters the
//! auction with its advertiser's paced bid (`crate::budget`), shown per ad
//! as `entered_bid`; its `bid` and `ecpm` are the request's.
//!
//! Ids are the simulated world's: a user is its 0-based index, an item its
//! 1-based id, as in the world's impression rows and attention logs. The
//! user's history is the world's (their last clicks of the simulated
//! period), then their clicks and dwells from `/v1/events`, then the
//! request's `history`; history items the world does not know are skipped
//! and listed in `unknown_items`. A candidate the world does not know, or
//! not of its kind, is refused by field.

use std::collections::HashSet;

use attnlab_data::FeedRequest;
use attnlab_eval::market::{rank_feed, Ad, AdCandidate, BidKind, FeedPolicy, Placement};
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::api::ApiError;
use crate::market::FeedModel;
use crate::request::{id_list, join, object, only_fields, optional_string, required_id};

/// The most candidates (organic and ads) one feed request may carry.
pub const MAX_CANDIDATES: usize = 1000;

/// An ad candidate of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct AdRequest {
    pub item: String,
    /// The ad's advertiser, checked against the world's when given.
    pub advertiser: Option<u32>,
    /// Per click (CPC) or per conversion (CPA).
    pub bid: f64,
    pub bid_kind: BidKind,
}

/// `POST /v1/rank`.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRequest {
    /// A loaded run's id (or prefix) or name; `None`: the first click run loaded.
    pub model: Option<String>,
    pub user: String,
    /// Item ids the user clicked, oldest first, after their known history.
    pub history: Vec<String>,
    pub organic: Vec<String>,
    pub ads: Vec<AdRequest>,
    /// Money per second of expected attention; `None`: the spec's.
    pub lambda: Option<f64>,
}

impl RankRequest {
    pub fn from_json(value: &Value) -> Result<RankRequest, ApiError> {
        let obj = object(value, "body")?;
        only_fields(obj, "", &["model", "user", "history", "organic", "ads", "lambda"])?;
        let lambda = match obj.get("lambda") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_f64()
                    .filter(|l| l.is_finite() && *l >= 0.0)
                    .ok_or_else(|| ApiError::field("lambda", "must be a number >= 0 (money per second of attention)"))?,
            ),
        };
        let model = optional_string(obj, "model")?;
        let user = required_id(obj, "", "user")?;
        let history = id_list(obj, "history")?;
        let organic = id_list(obj, "organic")?;
        let ads = match obj.get("ads") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.iter().enumerate().map(|(i, v)| AdRequest::from_json(v, &format!("ads[{i}]"))).collect::<Result<_, _>>()?,
            Some(_) => return Err(ApiError::field("ads", "must be an array of ads")),
        };
        let candidates = organic.len() + ads.len();
        if candidates == 0 {
            return Err(ApiError::field("organic", "no candidates: give `organic` items or `ads`"));
        }
        if candidates > MAX_CANDIDATES {
            return Err(ApiError::field("organic", format!("{candidates} candidates; at most {MAX_CANDIDATES} a request")));
        }
        let mut listed = HashSet::new();
        let fields = organic.iter().enumerate().map(|(i, item)| (format!("organic[{i}]"), item));
        for (field, item) in fields.chain(ads.iter().enumerate().map(|(i, a)| (format!("ads[{i}].item"), &a.item))) {
            if !listed.insert(item.as_str()) {
                return Err(ApiError::field(&field, format!("item `{item}` is already a candidate")));
            }
        }
        Ok(RankRequest { model, user, history, organic, ads, lambda })
    }
}

impl AdRequest {
    fn from_json(value: &Value, at: &str) -> Result<AdRequest, ApiError> {
        let obj = object(value, at)?;
        only_fields(obj, at, &["item", "advertiser", "bid", "bid_type"])?;
        let item = required_id(obj, at, "item")?;
        let advertiser = match obj.get("advertiser") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|&a| a >= 1 && a <= u64::from(u32::MAX))
                    .map(|a| a as u32)
                    .ok_or_else(|| ApiError::field(&join(at, "advertiser"), "must be an advertiser id (an integer >= 1)"))?,
            ),
        };
        let bid = match obj.get("bid") {
            Some(v) => v.as_f64().filter(|b| b.is_finite() && *b > 0.0),
            None => return Err(ApiError::field(&join(at, "bid"), "is required")),
        }
        .ok_or_else(|| ApiError::field(&join(at, "bid"), "must be a number > 0"))?;
        let bid_kind = match obj.get("bid_type").and_then(Value::as_str) {
            Some("cpc") => BidKind::Cpc,
            Some("cpa") => BidKind::Cpa,
            _ => return Err(ApiError::field(&join(at, "bid_type"), "must be \"cpc\" or \"cpa\"")),
        };
        Ok(AdRequest { item, advertiser, bid, bid_kind })
    }
}

fn bid_type(kind: BidKind) -> &'static str {
    match kind {
        BidKind::Cpc => "cpc",
        BidKind::Cpa => "cpa",
    }
}

impl FeedModel {
    /// The world's id of candidate `token` at `field`, refused unless the
    /// world has it as an ad (`ad`, of `advertiser` when given) or as an
    /// organic item.
    fn candidate(&self, token: &str, field: &str, ad: bool, advertiser: Option<u32>) -> Result<u32, ApiError> {
        let owner = token.parse::<u32>().ok().and_then(|i| self.sampler.advertiser_of(i).map(|a| (i, a)));
        match owner {
            None => Err(ApiError::field(field, format!("`{token}` is not an item of the run's world"))),
            Some((_, 0)) if ad => Err(ApiError::field(field, format!("item `{token}` is an organic item, not an ad"))),
            Some((_, a)) if !ad && a != 0 => Err(ApiError::field(field, format!("item `{token}` is an ad (of advertiser {a}); list it under `ads`"))),
            Some((_, a)) if advertiser.is_some_and(|want| want != a) => {
                let field = field.strip_suffix(".item").map(|f| format!("{f}.advertiser")).unwrap_or_else(|| field.to_string());
                Err(ApiError::field(&field, format!("item `{token}` is advertiser {a}'s ad, not advertiser {}'s", advertiser.unwrap_or(0))))
            }
            Some((i, _)) => Ok(i),
        }
    }

    /// `req` in the world's ids; `live` is the user's consumed items from
    /// events. The history items the world does not know come back apart.
    fn feed_request(&self, req: &RankRequest, live: &[String]) -> Result<(FeedRequest, Vec<String>), ApiError> {
        let users = self.sampler.users();
        let user = req.user.parse::<usize>().ok().filter(|&u| u < users).ok_or_else(|| {
            ApiError::field("user", format!("`{}` is not a user of the run's world (0 to {})", req.user, users.saturating_sub(1)))
        })?;
        let organic = req.organic.iter().enumerate().map(|(i, t)| self.candidate(t, &format!("organic[{i}]"), false, None)).collect::<Result<_, _>>()?;
        let ads = req.ads.iter().enumerate().map(|(i, a)| self.candidate(&a.item, &format!("ads[{i}].item"), true, a.advertiser)).collect::<Result<_, _>>()?;
        let mut history = self.sampler.history(user).to_vec();
        let mut unknown = Vec::new();
        for token in live.iter().chain(&req.history) {
            match token.parse::<u32>().ok().filter(|&i| self.sampler.advertiser_of(i).is_some()) {
                Some(i) => history.push(i),
                None => unknown.push(token.clone()),
            }
        }
        Ok((FeedRequest { user, organic, ads, history }, unknown))
    }
}

/// Answers `req` with `model`; `live` is the user's consumed items from events.
pub async fn rank(model: &FeedModel, req: &RankRequest, live: &[String]) -> Result<Value, ApiError> {
    let (request, unknown) = model.feed_request(req, live)?;
    let history: Vec<String> = request.history.iter().map(u32::to_string).collect();
    let (user, ad_items) = (request.user, request.ads.clone());
    let (mut session, pred) = model.score(request).await.map_err(|e| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    // the request's bids, not the world's, enter the auction
    for (ad, asked) in session.ads.iter_mut().zip(&req.ads) {
        ad.bid = asked.bid;
        ad.bid_kind = asked.bid_kind;
    }
    let policy = FeedPolicy { attention_weight: req.lambda.unwrap_or(model.policy.attention_weight), ..model.policy.clone() };
    // live budgets: the bid that enters is the pacer's (0 once spent: left out)
    let mut budgets = model.budgets.as_ref().map(|b| b.lock().unwrap_or_else(|p| p.into_inner()));
    let elapsed = budgets.as_mut().map(|b| b.open());
    let enter = |a: &AdCandidate| budgets.as_ref().map_or(a.bid, |b| b.shade(a.advertiser, a.bid));
    let entered: Vec<f64> = session.ads.iter().map(enter).collect();
    let feed = rank_feed(&session, &pred, &policy, &model.examination, enter)
        .map_err(|e| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, format!("ranking the feed: {e}")))?;
    if let (Some(b), Some(elapsed)) = (budgets.as_mut(), elapsed) {
        b.close(user, &ad_items, &feed, elapsed);
    }
    drop(budgets);
    let placed: Vec<Value> = feed
        .iter()
        .enumerate()
        .map(|(position, placement)| match placement {
            Some(Placement::Organic(i)) => json!({
                "position": position,
                "kind": "organic",
                "item": req.organic[*i],
                "pctr": pred.organic[*i],
                "attention": pred.organic_attention.get(*i),
            }),
            Some(Placement::Ad(w)) => {
                let ad = &req.ads[w.candidate];
                json!({
                    "position": position,
                    "kind": "ad",
                    "item": ad.item,
                    "advertiser": w.advertiser,
                    "bid": ad.bid,
                    "bid_type": bid_type(ad.bid_kind),
                    "pctr": pred.ad_pctr[w.candidate],
                    "pcvr": pred.ad_pcvr[w.candidate],
                    "attention": pred.ad_attention.get(w.candidate),
                    "ecpm": w.ecpm,
                    "price": w.price,
                    "price_per_click": w.price_per_click,
                })
            }
            None => Value::Null,
        })
        .collect();
    let organic: Vec<Value> = req.organic.iter().zip(&pred.organic).map(|(item, p)| json!({ "item": item, "pctr": p })).collect();
    let ads: Vec<Value> = req
        .ads
        .iter()
        .zip(&session.ads)
        .enumerate()
        .map(|(j, (asked, a))| {
            let ad = Ad { advertiser: a.advertiser, bid: a.bid, pctr: pred.ad_pctr[j], pcvr: pred.ad_pcvr[j], bid_kind: a.bid_kind, quality: a.quality };
            json!({ "item": asked.item, "pctr": ad.pctr, "pcvr": ad.pcvr, "ecpm": ad.ecpm(), "entered_bid": entered[j] })
        })
        .collect();
    Ok(json!({
        "model": model.identity.run_id,
        "user": req.user,
        "lambda": policy.attention_weight,
        "feed": placed,
        "slots": feed.len(),
        "slots_filled": feed.iter().filter(|p| p.is_some()).count(),
        "organic": organic,
        "ads": ads,
        "history": history,
        "unknown_items": unknown,
    }))
}
