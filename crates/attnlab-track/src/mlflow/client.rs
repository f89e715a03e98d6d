//! A blocking client for the MLflow tracking REST API (`/api/2.0/mlflow/...`).

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

use super::error::{MlflowError, Result};
use super::retry::RetryPolicy;
use super::wire::{self, Chunk};

/// Environment variable holding a bearer token for the tracking server.
pub const TOKEN_ENV: &str = "MLFLOW_TRACKING_TOKEN";

/// A metric point as the server stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMetric {
    pub key: String,
    /// Any f64: NaN and the infinities travel as "NaN", "Infinity", "-Infinity".
    pub value: f64,
    pub step: i64,
    pub timestamp_ms: i64,
}

/// Run statuses MLflow knows (`RunStatus` in its protos).
pub const RUN_STATUSES: [&str; 5] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

/// Per request, whole (the blocking client has no idle-read timeout): long
/// enough for a 1,000-point batch to a loaded server, so a slow server is
/// not mistaken for a dead one; what bounds a sync is its budget
/// ([`MlflowClient::with_budget`]), which cuts each attempt to what is left.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Page size for `metrics/get-history` and `runs/search`.
const DEFAULT_PAGE_SIZE: u32 = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Whether sending a request twice is harmless. A non-idempotent request
/// (`runs/create`, `runs/log-batch`) is retried only when the server cannot
/// have applied it: the connection was never made, or the server answered
/// 429, 500 or 503 (MLflow's stores roll a failed request back). After a
/// timeout, a dropped connection or a 502/504 it is not retried; the error
/// says `may_have_applied`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idempotent {
    Yes,
    No,
}

/// Blocking client for one MLflow tracking server.
///
/// The bearer token (from `MLFLOW_TRACKING_TOKEN`) is only ever put into the
/// `Authorization` header; `Debug` shows `<redacted>` and no error carries it.
pub struct MlflowClient {
    base: String,
    token: Option<String>,
    retry: RetryPolicy,
    page_size: u32,
    http: Client,
    /// Per attempt (the client's own, kept to cut it to a budget's rest).
    timeout: Duration,
    /// When set: the instant after which no request is started, and the
    /// budget it came from (for the message).
    deadline: Option<(Instant, Duration)>,
}

impl fmt::Debug for MlflowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MlflowClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .field("page_size", &self.page_size)
            .field("budget", &self.deadline.map(|(_, budget)| budget))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for MlflowClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = if self.token.is_some() {
            " (bearer token set)"
        } else {
            ""
        };
        write!(f, "MLflow at {}{auth}", self.base)
    }
}

impl MlflowClient {
    /// A client for the tracking server at `uri` (`http(s)://host[:port][/prefix]`),
    /// authenticating with `MLFLOW_TRACKING_TOKEN` when that is set and non-empty.
    /// Credentials inside the URI are refused, so they cannot leak into messages.
    pub fn new(uri: &str) -> Result<Self> {
        let token = std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty());
        Self::build(uri, token, DEFAULT_TIMEOUT)
    }

    fn build(uri: &str, token: Option<String>, timeout: Duration) -> Result<Self> {
        let base = validate_uri(uri)?;
        let http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .user_agent(concat!("attnlab-track/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MlflowError::Client(cause_chain(&e)))?;
        Ok(MlflowClient {
            base,
            token,
            retry: RetryPolicy::default(),
            page_size: DEFAULT_PAGE_SIZE,
            http,
            timeout,
            deadline: None,
        })
    }

    /// Replaces the retry policy (default: [`RetryPolicy::default`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the token read from the environment (`None`: send no `Authorization`).
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// Per-request timeout (default 30 s; connecting alone times out after 3 s).
    pub fn with_timeout(self, timeout: Duration) -> Result<Self> {
        let MlflowClient {
            base,
            token,
            retry,
            page_size,
            deadline,
            ..
        } = self;
        let mut c = Self::build(&base, token, timeout)?;
        c.retry = retry;
        c.page_size = page_size;
        c.deadline = deadline;
        Ok(c)
    }

    /// Bounds everything this client does from now on to `budget`: no
    /// attempt starts after it, an attempt's timeout and a backoff sleep
    /// are cut to what is left, and a call that runs out fails with
    /// [`MlflowError::Unavailable`] saying so. A sync that stops this way
    /// has recorded what the server confirmed, so the next sync sends the rest.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.deadline = Some((Instant::now() + budget, budget));
        self
    }

    /// Page size for paginated reads (default 1000, at least 1).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The validated base URI, without a trailing slash.
    pub fn base_uri(&self) -> &str {
        &self.base
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The id of the active experiment called `name`, creating it if there is
    /// none and restoring it if it was deleted. Safe against a concurrent
    /// creator: `RESOURCE_ALREADY_EXISTS` leads to reading the winner's id.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<String> {
        const EP: &str = "experiments/create";
        if name.trim().is_empty() {
            return Err(MlflowError::InvalidArgument {
                endpoint: EP,
                reason: "empty experiment name".into(),
            });
        }
        if let Some(id) = self.active_experiment_by_name(name)? {
            return Ok(id);
        }
        // Safe to resend: a duplicate create answers RESOURCE_ALREADY_EXISTS.
        match self.call(
            Method::Post,
            EP,
            &[],
            Some(&json!({ "name": name })),
            Idempotent::Yes,
        ) {
            Ok(v) => str_field(&v, "experiment_id", EP),
            Err(MlflowError::Api { error_code, .. }) if error_code == "RESOURCE_ALREADY_EXISTS" => {
                self.active_experiment_by_name(name)?
                    .ok_or_else(|| MlflowError::Decode {
                        endpoint: EP,
                        message: format!("experiment {name:?} exists but cannot be read back"),
                    })
            }
            Err(e) => Err(e),
        }
    }

    /// Looks the experiment up by name; restores it when deleted. `None` if absent.
    fn active_experiment_by_name(&self, name: &str) -> Result<Option<String>> {
        const EP: &str = "experiments/get-by-name";
        let q = [("experiment_name", name.to_owned())];
        let v = match self.call(Method::Get, EP, &q, None, Idempotent::Yes) {
            Ok(v) => v,
            Err(MlflowError::Api { error_code, .. }) if error_code == "RESOURCE_DOES_NOT_EXIST" => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let exp = v.get("experiment").unwrap_or(&Value::Null);
        let id = str_field(exp, "experiment_id", EP)?;
        if exp.get("lifecycle_stage").and_then(Value::as_str) == Some("deleted") {
            self.call(
                Method::Post,
                "experiments/restore",
                &[],
                Some(&json!({ "experiment_id": id })),
                Idempotent::Yes,
            )?;
        }
        Ok(Some(id))
    }

    /// Marks an experiment deleted (MLflow keeps it and its runs; restorable).
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let body = json!({ "experiment_id": experiment_id });
        self.call(
            Method::Post,
            "experiments/delete",
            &[],
            Some(&body),
            Idempotent::Yes,
        )
        .map(drop)
    }

    /// The experiment object (`experiment_id`, `name`, `lifecycle_stage`, ...).
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Value> {
        const EP: &str = "experiments/get";
        let v = self.call(
            Method::Get,
            EP,
            &[("experiment_id", experiment_id.to_owned())],
            None,
            Idempotent::Yes,
        )?;
        take_field(v, "experiment", EP)
    }

    /// Creates a run and returns its id. `tags` are sent as given (see
    /// [`sanitize_key`](super::sanitize_key)).
    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_ms: i64,
        tags: &[(String, String)],
    ) -> Result<String> {
        const EP: &str = "runs/create";
        let body = json!({
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": start_ms,
            "tags": wire::key_values(tags),
        });
        let v = self.call(Method::Post, EP, &[], Some(&body), Idempotent::No)?;
        let info = v.pointer("/run/info").unwrap_or(&Value::Null);
        str_field(info, "run_id", EP)
    }

    /// Logs metrics, params and tags, split into as few `runs/log-batch`
    /// requests as MLflow's limits allow (1000 metrics, 100 params, 100 tags,
    /// 1000 entities and 1 MB per request). The split depends only on the
    /// inputs, and every request carries the next contiguous range of each
    /// slice. If request `k > 0` fails, the error is
    /// [`MlflowError::PartialBatch`] with the number of leading metrics,
    /// params and tags already confirmed; any other error means nothing was
    /// confirmed.
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[RemoteMetric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        const EP: &str = "runs/log-batch";
        let m: Vec<Value> = metrics.iter().map(wire::metric_json).collect();
        let p = wire::key_values(params);
        let t = wire::key_values(tags);
        let chunks = wire::plan_chunks(&m, &p, &t);
        let mut done = Chunk::default();
        for (i, c) in chunks.iter().enumerate() {
            let body = json!({
                "run_id": run_id,
                "metrics": &m[c.metrics.clone()],
                "params": &p[c.params.clone()],
                "tags": &t[c.tags.clone()],
            });
            if let Err(e) = self.call(Method::Post, EP, &[], Some(&body), Idempotent::No) {
                if i == 0 {
                    return Err(e);
                }
                return Err(MlflowError::PartialBatch {
                    confirmed_chunks: i,
                    confirmed_metrics: done.metrics.end,
                    confirmed_params: done.params.end,
                    confirmed_tags: done.tags.end,
                    source: Box::new(e),
                });
            }
            done = c.clone();
        }
        Ok(())
    }

    /// Sets a run's status (`RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`,
    /// `KILLED`) and, if given, its end time.
    pub fn update_run(&self, run_id: &str, status: &str, end_ms: Option<i64>) -> Result<()> {
        const EP: &str = "runs/update";
        if !RUN_STATUSES.contains(&status) {
            return Err(MlflowError::InvalidArgument {
                endpoint: EP,
                reason: format!("unknown run status {status:?}; expected one of {RUN_STATUSES:?}"),
            });
        }
        let mut body = json!({ "run_id": run_id, "status": status });
        if let Some(end) = end_ms {
            body["end_time"] = json!(end);
        }
        self.call(Method::Post, EP, &[], Some(&body), Idempotent::Yes)
            .map(drop)
    }

    /// The run object (`info`, `data` with latest metrics, params, tags).
    pub fn get_run(&self, run_id: &str) -> Result<Value> {
        const EP: &str = "runs/get";
        let v = self.call(
            Method::Get,
            EP,
            &[("run_id", run_id.to_owned())],
            None,
            Idempotent::Yes,
        )?;
        take_field(v, "run", EP)
    }

    /// Every logged point of metric `key`, following `next_page_token`.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<RemoteMetric>> {
        const EP: &str = "metrics/get-history";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![
                ("run_id", run_id.to_owned()),
                ("metric_key", key.to_owned()),
                ("max_results", self.page_size.to_string()),
            ];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let v = self.call(Method::Get, EP, &q, None, Idempotent::Yes)?;
            if let Some(ms) = v.get("metrics").and_then(Value::as_array) {
                for m in ms {
                    out.push(wire::parse_metric(EP, m)?);
                }
            }
            token = next_token(&v);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Active runs of one experiment, optionally filtered with MLflow's
    /// search syntax (e.g. `tags.attnlab.run_key = 'abc'`), all pages.
    pub fn search_runs(&self, experiment_id: &str, filter: Option<&str>) -> Result<Vec<Value>> {
        const EP: &str = "runs/search";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "max_results": self.page_size,
                "run_view_type": "ACTIVE_ONLY",
            });
            if let Some(f) = filter {
                body["filter"] = json!(f);
            }
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            // A read, although it is a POST.
            let v = self.call(Method::Post, EP, &[], Some(&body), Idempotent::Yes)?;
            if let Some(runs) = v.get("runs").and_then(Value::as_array) {
                out.extend(runs.iter().cloned());
            }
            token = next_token(&v);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// One REST call with retries. Returns the parsed JSON body (`{}` if empty).
    fn call(
        &self,
        method: Method,
        endpoint: &'static str,
        query: &[(&str, String)],
        body: Option<&Value>,
        idem: Idempotent,
    ) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        let max = self.retry.attempts();
        let mut attempt = 0;
        let mut last_cause = None;
        loop {
            let left = self.time_left();
            if left.is_some_and(|left| left.is_zero()) {
                let budget = self.deadline.map_or(Duration::ZERO, |(_, budget)| budget);
                let spent = format!("the time budget of {budget:?} is spent");
                return Err(MlflowError::Unavailable {
                    endpoint,
                    attempts: attempt,
                    last_cause: match last_cause {
                        Some(cause) => format!("{cause}; {spent}"),
                        None => spent,
                    },
                    may_have_applied: false,
                });
            }
            attempt += 1;
            let mut req = match method {
                Method::Get => self.http.get(&url).query(query),
                Method::Post => self.http.post(&url).json(body.unwrap_or(&Value::Null)),
            };
            if let Some(left) = left {
                req = req.timeout(self.timeout.min(left));
            }
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let failure = match req.send() {
                Ok(resp) => match self.handle(endpoint, resp) {
                    Outcome::Done(r) => return r,
                    Outcome::Retry(f) => f,
                },
                Err(e) => transport_failure(&e),
            };
            let retryable = match (idem, failure.applied) {
                (Idempotent::Yes, _) | (Idempotent::No, Applied::No) => true,
                (Idempotent::No, Applied::Maybe) => false,
            };
            if !retryable || attempt >= max {
                return Err(MlflowError::Unavailable {
                    endpoint,
                    attempts: attempt,
                    last_cause: failure.cause,
                    may_have_applied: failure.applied == Applied::Maybe,
                });
            }
            let pause = self.retry.backoff(attempt, failure.retry_after);
            std::thread::sleep(self.time_left().map_or(pause, |left| pause.min(left)));
            last_cause = Some(failure.cause);
        }
    }

    /// What is left of the budget (`None`: no budget).
    fn time_left(&self) -> Option<Duration> {
        self.deadline.map(|(at, _)| at.saturating_duration_since(Instant::now()))
    }

    fn handle(&self, endpoint: &'static str, resp: Response) -> Outcome {
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|h| h.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = match resp.text() {
            Ok(t) => t,
            Err(e) => {
                let mut f = transport_failure(&e);
                f.applied = if status.is_success() {
                    Applied::Maybe
                } else {
                    f.applied
                };
                return Outcome::Retry(f);
            }
        };
        if status.is_success() {
            if text.trim().is_empty() {
                return Outcome::Done(Ok(json!({})));
            }
            return Outcome::Done(
                serde_json::from_str(&text).map_err(|e| MlflowError::Decode {
                    endpoint,
                    message: format!("HTTP {status}: invalid JSON ({e}): {}", snippet(&text)),
                }),
            );
        }
        let (error_code, message) = parse_error_body(status, &text);
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let applied = match status.as_u16() {
                429 | 500 | 503 => Applied::No,
                _ => Applied::Maybe,
            };
            return Outcome::Retry(Failure {
                cause: format!("HTTP {} {error_code}: {message}", status.as_u16()),
                applied,
                retry_after,
            });
        }
        Outcome::Done(Err(MlflowError::Api {
            endpoint,
            status: status.as_u16(),
            error_code,
            message,
        }))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Applied {
    No,
    Maybe,
}

struct Failure {
    cause: String,
    applied: Applied,
    retry_after: Option<Duration>,
}

enum Outcome {
    Done(Result<Value>),
    Retry(Failure),
}

fn transport_failure(e: &reqwest::Error) -> Failure {
    // A connect error (refused, unreachable, connect timeout) means the
    // request never left; anything later (read timeout, reset) may have
    // reached the server.
    let applied = if e.is_connect() {
        Applied::No
    } else {
        Applied::Maybe
    };
    let kind = if e.is_timeout() { "timeout: " } else { "" };
    Failure {
        cause: format!("{kind}{}", cause_chain(e)),
        applied,
        retry_after: None,
    }
}

/// The error and its sources joined with ": ", without the URL.
fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = match err.downcast_ref::<reqwest::Error>() {
            Some(r) if r.url().is_some() => {
                // reqwest prints "... for url (...)"; the URL is named by the endpoint already.
                let mut s = r.to_string();
                if let Some(i) = s.find(" for url (") {
                    s.truncate(i);
                }
                s
            }
            _ => err.to_string(),
        };
        if !parts.last().is_some_and(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn parse_error_body(status: StatusCode, text: &str) -> (String, String) {
    let fallback = || format!("HTTP_{}", status.as_u16());
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() => {
            let code = v
                .get("error_code")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(fallback);
            let msg = v
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| snippet(text));
            (code, msg)
        }
        _ => (fallback(), snippet(text)),
    }
}

fn snippet(text: &str) -> String {
    const MAX: usize = 300;
    let t = text.trim();
    if t.chars().count() <= MAX {
        return t.to_owned();
    }
    let mut s: String = t.chars().take(MAX).collect();
    s.push_str("...");
    s
}

fn next_token(v: &Value) -> Option<String> {
    v.get("next_page_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn str_field(v: &Value, field: &str, endpoint: &'static str) -> Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MlflowError::Decode {
            endpoint,
            message: format!("no string field {field:?} in {}", snippet(&v.to_string())),
        })
}

fn take_field(mut v: Value, field: &str, endpoint: &'static str) -> Result<Value> {
    match v.get_mut(field).map(Value::take) {
        Some(x) if !x.is_null() => Ok(x),
        _ => Err(MlflowError::Decode {
            endpoint,
            message: format!("no field {field:?} in {}", snippet(&v.to_string())),
        }),
    }
}

fn validate_uri(uri: &str) -> Result<String> {
    let bad = |reason: &str| MlflowError::InvalidUri {
        uri: redact_uri(uri),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(uri.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URI are not supported; set MLFLOW_TRACKING_TOKEN",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The URI with any userinfo replaced, for error messages.
fn redact_uri(uri: &str) -> String {
    match (uri.find("://"), uri.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let host_start = at + 1;
            let path_start = uri[s + 3..]
                .find('/')
                .map(|i| i + s + 3)
                .unwrap_or(uri.len());
            if at < path_start {
                format!("{}<redacted>@{}", &uri[..s + 3], &uri[host_start..])
            } else {
                uri.to_owned()
            }
        }
        _ => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_validation() {
        let ok = |u: &str| validate_uri(u).unwrap();
        assert_eq!(ok("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(
            ok("https://mlflow.example.com/prefix/"),
            "https://mlflow.example.com/prefix"
        );
        for bad in [
            "",
            "127.0.0.1:5000",
            "ftp://x",
            "file:///tmp/x",
            "http://",
            "http://h/?a=b",
        ] {
            assert!(validate_uri(bad).is_err(), "{bad}");
        }
        let e = validate_uri("http://user:s3cret@host:5000")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("s3cret"), "{e}");
        assert!(e.contains("MLFLOW_TRACKING_TOKEN"), "{e}");
    }

    #[test]
    fn error_bodies() {
        let (c, m) = parse_error_body(
            StatusCode::BAD_REQUEST,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}"#,
        );
        assert_eq!((c.as_str(), m.as_str()), ("INVALID_PARAMETER_VALUE", "bad"));
        let (c, m) = parse_error_body(StatusCode::NOT_FOUND, "<html>nope</html>");
        assert_eq!((c.as_str(), m.as_str()), ("HTTP_404", "<html>nope</html>"));
    }

    #[test]
    fn debug_hides_token() {
        let c = MlflowClient::build(
            "http://127.0.0.1:1",
            Some("tok-SECRET".into()),
            DEFAULT_TIMEOUT,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(!format!("{c}").contains("SECRET"));
        assert!(format!("{c:?}").contains("<redacted>"));
    }
}
