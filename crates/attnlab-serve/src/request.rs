//! Request bodies checked field by field, so that every client mistake is a
//! 400 naming the field (serde's own messages name a line and column, not
//! the field, for a wrong type). Unknown fields are refused: a typo such as
//! `"exlude_seen"` must not be silently ignored.

use serde_json::{Map, Value};

use crate::api::ApiError;

/// The most items one recommendation may ask for.
pub const MAX_K: u64 = 1000;

/// The most events one `/v1/events` request may carry.
pub const MAX_EVENTS: usize = 1000;

/// `POST /v1/recommend`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendRequest {
    /// A loaded run's id (or prefix) or name; `None`: the first loaded.
    pub model: Option<String>,
    /// The user's original id.
    pub user: Option<String>,
    /// Original item ids, oldest first, read after the user's own history.
    pub history: Vec<String>,
    pub k: usize,
    pub exclude_seen: bool,
}

/// What a user did with an item (`POST /v1/events`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Impression,
    Click,
    Dwell,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::Dwell => "dwell",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        [EventKind::Impression, EventKind::Click, EventKind::Dwell].into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the user consumed the item (it joins their history): a click
    /// or time spent on it, not a mere impression.
    pub fn consumed(self) -> bool {
        !matches!(self, EventKind::Impression)
    }
}

/// One feedback event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub user: String,
    pub item: String,
    pub kind: EventKind,
    /// Seconds on the item, for dwell events.
    pub dwell_s: Option<f64>,
    /// Milliseconds since the epoch (the server's clock when not sent).
    pub ts_ms: i64,
}

impl Event {
    /// The event as one line of the event log (and of its answer).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("user".into(), self.user.clone().into());
        m.insert("item".into(), self.item.clone().into());
        m.insert("type".into(), self.kind.as_str().into());
        if let Some(d) = self.dwell_s {
            m.insert("dwell_s".into(), d.into());
        }
        m.insert("ts".into(), self.ts_ms.into());
        Value::Object(m)
    }

    /// Reads one event; `at` names it in messages (`events[3]`).
    pub fn from_json(value: &Value, at: &str, now_ms: i64) -> Result<Event, ApiError> {
        let obj = object(value, at)?;
        only_fields(obj, at, &["user", "item", "type", "dwell_s", "ts"])?;
        let user = required_id(obj, at, "user")?;
        let item = required_id(obj, at, "item")?;
        let kind_field = join(at, "type");
        let kind = match obj.get("type") {
            Some(Value::String(s)) => EventKind::parse(s)
                .ok_or_else(|| ApiError::field(&kind_field, format!("`{s}` is not an event type (impression, click, dwell)")))?,
            Some(_) => return Err(ApiError::field(&kind_field, "must be a string: impression, click or dwell")),
            None => return Err(ApiError::field(&kind_field, "is required")),
        };
        let dwell_field = join(at, "dwell_s");
        let dwell_s = match obj.get("dwell_s") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(d) if d.is_finite() && d >= 0.0 => Some(d),
                _ => return Err(ApiError::field(&dwell_field, "must be a number of seconds >= 0")),
            },
        };
        if kind == EventKind::Dwell && dwell_s.is_none() {
            return Err(ApiError::field(&dwell_field, "is required for a dwell event"));
        }
        let ts_field = join(at, "ts");
        let ts_ms = match obj.get("ts") {
            None | Some(Value::Null) => now_ms,
            Some(v) => v.as_i64().filter(|&t| t >= 0).ok_or_else(|| ApiError::field(&ts_field, "must be milliseconds since the epoch (an integer >= 0)"))?,
        };
        Ok(Event { user, item, kind, dwell_s, ts_ms })
    }
}

/// Parses a request body as a JSON object.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::field("body", format!("malformed JSON: {e}")))?;
    object(&value, "body")?;
    Ok(value)
}

impl RecommendRequest {
    pub fn from_json(value: &Value) -> Result<RecommendRequest, ApiError> {
        let obj = object(value, "body")?;
        only_fields(obj, "", &["model", "user", "history", "k", "exclude_seen"])?;
        let model = optional_string(obj, "model")?;
        let user = match obj.get("user") {
            None | Some(Value::Null) => None,
            Some(_) => Some(required_id(obj, "", "user")?),
        };
        let history = id_list(obj, "history")?;
        if user.is_none() && history.is_empty() {
            return Err(ApiError::field("user", "a `user` or a non-empty `history` is required"));
        }
        let k = match obj.get("k") {
            None => 10,
            Some(v) => match v.as_u64() {
                Some(k) if (1..=MAX_K).contains(&k) => k as usize,
                _ => return Err(ApiError::field("k", format!("must be an integer from 1 to {MAX_K}"))),
            },
        };
        let exclude_seen = match obj.get("exclude_seen") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::field("exclude_seen", "must be true or false")),
        };
        Ok(RecommendRequest { model, user, history, k, exclude_seen })
    }
}

/// The events of a `/v1/events` body `{"events": [...]}`.
pub fn events_from_json(value: &Value, now_ms: i64) -> Result<Vec<Event>, ApiError> {
    let obj = object(value, "body")?;
    only_fields(obj, "", &["events"])?;
    match obj.get("events") {
        Some(Value::Array(list)) if list.is_empty() => Err(ApiError::field("events", "is empty")),
        Some(Value::Array(list)) if list.len() > MAX_EVENTS => {
            Err(ApiError::field("events", format!("holds {} events; at most {MAX_EVENTS} a request", list.len())))
        }
        Some(Value::Array(list)) => list.iter().enumerate().map(|(i, v)| Event::from_json(v, &format!("events[{i}]"), now_ms)).collect(),
        Some(_) => Err(ApiError::field("events", "must be an array of events")),
        None => Err(ApiError::field("events", "is required")),
    }
}

/// The item ids of list `field` (absent or null: none).
pub(crate) fn id_list(obj: &Map<String, Value>, field: &str) -> Result<Vec<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(ApiError::field(&format!("{field}[{i}]"), "must be an item id (a non-empty string)")),
            })
            .collect(),
        Some(_) => Err(ApiError::field(field, "must be an array of item ids")),
    }
}

pub(crate) fn join(at: &str, field: &str) -> String {
    if at.is_empty() { field.to_string() } else { format!("{at}.{field}") }
}

pub(crate) fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value.as_object().ok_or_else(|| ApiError::field(at, "must be a JSON object"))
}

pub(crate) fn only_fields(obj: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), ApiError> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::field(&join(at, k), format!("unknown field (expected one of: {})", known.join(", ")))),
        None => Ok(()),
    }
}

pub(crate) fn required_id(obj: &Map<String, Value>, at: &str, field: &str) -> Result<String, ApiError> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        // numeric ids are accepted as their text: `.inter` tokens are text
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(ApiError::field(&join(at, field), "must be an id (a non-empty string)")),
        None => Err(ApiError::field(&join(at, field), "is required")),
    }
}

pub(crate) fn optional_string(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::field(field, "must be a string")),
    }
}
