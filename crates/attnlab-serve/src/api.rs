//! How a request's outcome becomes an HTTP answer: JSON bodies, and errors
//! as `{"error": ..., "field": ...}` with the status they deserve (4xx for
//! the client's mistakes, never 500).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A request that could not be answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The request field at fault (`k`, `events[2].type`, `body`).
    pub field: Option<String>,
}

impl ApiError {
    /// 400 for `field`.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, message: message.into(), field: Some(field.to_string()) }
    }

    pub fn status(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), field: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        };
        (self.status, json_body(&json!({ "error": message, "field": self.field }))).into_response()
    }
}

/// A JSON body with its content type.
pub fn json_body(value: &Value) -> ([(header::HeaderName, &'static str); 1], String) {
    ([(header::CONTENT_TYPE, "application/json")], value.to_string())
}

/// 200 with `value`.
pub fn ok(value: &Value) -> Response {
    (StatusCode::OK, json_body(value)).into_response()
}
