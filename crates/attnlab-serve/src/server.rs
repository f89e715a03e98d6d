//! The HTTP server: routes, the bearer token, body limits, metrics per
//! request, hot reload (`POST /admin/reload` or SIGHUP: the runs are loaded
//! again and swapped in; a request in flight keeps the models it started
//! with), and a graceful stop on SIGTERM or Ctrl-C (in-flight requests
//! finish, then the event log is synced).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::api::{ok, ApiError};
use crate::catalog::{Served, ServedModel};
use crate::market::FeedModel;
use crate::rank::RankRequest;
use crate::feedback::Feedback;
use crate::metrics::Metrics;
use crate::select::RunSource;
use crate::request::{events_from_json, parse_body, EventKind, RecommendRequest};
use crate::{Result, ServeError};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub bind: SocketAddr,
    /// Threads for the HTTP runtime (libtorch has its own setting).
    pub threads: usize,
    /// The bearer token `/v1/events` and `/admin/*` require, if any.
    pub token: Option<String>,
    /// The largest request body accepted (larger: 413).
    pub max_body_bytes: usize,
    /// The event log.
    pub events: PathBuf,
}

/// What a server did, for the caller to report once it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSummary {
    pub requests: u64,
    pub events: u64,
}

struct App {
    /// Swapped whole on reload; a request holds the set it started with.
    models: std::sync::RwLock<Arc<Vec<Served>>>,
    source: RunSource,
    /// Reloads done, and the last one's error if it failed (the old models
    /// then keep serving).
    reloads: Mutex<(u64, Option<String>)>,
    feedback: Arc<Mutex<Feedback>>,
    metrics: Arc<Metrics>,
    token: Option<String>,
    requests: std::sync::atomic::AtomicU64,
}

/// Serves `models` until SIGTERM or Ctrl-C; `on_ready` gets the bound
/// address (the port, when `bind` asked for port 0) once requests are taken.
pub fn serve(
    config: &ServeConfig,
    source: RunSource,
    models: Vec<Served>,
    metrics: Arc<Metrics>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<ServeSummary> {
    let feedback = Arc::new(Mutex::new(Feedback::open(&config.events)?));
    let app = Arc::new(App {
        models: std::sync::RwLock::new(Arc::new(models)),
        source,
        reloads: Mutex::new((0, None)),
        feedback: feedback.clone(),
        metrics,
        token: config.token.clone(),
        requests: 0.into(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .enable_all()
        .build()
        .map_err(ServeError::io("starting the HTTP runtime"))?;
    let served: Result<()> = runtime.block_on(async {
        let listener =
            tokio::net::TcpListener::bind(config.bind).await.map_err(ServeError::io(format!("binding {}", config.bind)))?;
        let addr = listener.local_addr().map_err(ServeError::io("reading the bound address"))?;
        let router = Router::new()
            .route("/healthz", get(healthz))
            .route("/v1/models", get(list_models))
            .route("/metrics", get(metrics_text))
            .route("/v1/recommend", post(recommend))
            .route("/v1/rank", post(rank))
            .route("/v1/events", post(events))
            .route("/admin/reload", post(admin_reload))
            .layer(DefaultBodyLimit::max(config.max_body_bytes))
            .with_state(app.clone());
        if let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            let app = app.clone();
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    let _ = reload(&app).await;
                }
            });
        }
        on_ready(addr);
        axum::serve(listener, router)
            .with_graceful_shutdown(stop_signal())
            .await
            .map_err(ServeError::io("serving HTTP"))
    });
    served?;
    let feedback = feedback.lock().unwrap_or_else(|p| p.into_inner());
    feedback.sync().map_err(ServeError::io(format!("syncing {}", feedback.path().display())))?;
    Ok(ServeSummary { requests: app.requests.load(std::sync::atomic::Ordering::Relaxed), events: feedback.events() })
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}

impl App {
    /// Counts and times an answer.
    fn finish(&self, endpoint: &'static str, started: Instant, result: Result<Response, ApiError>) -> Response {
        let response = result.unwrap_or_else(IntoResponse::into_response);
        self.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.metrics.observe_request(endpoint, response.status().as_u16(), started.elapsed());
        response
    }

    /// The models now served.
    fn models(&self) -> Arc<Vec<Served>> {
        self.models.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The items `user` consumed through events.
    fn consumed(&self, user: &str) -> Vec<String> {
        self.feedback.lock().unwrap_or_else(|p| p.into_inner()).consumed(user)
    }

    /// 401 unless the request carries the token (when one is set). The
    /// token is compared in constant time and never written anywhere.
    fn authorize(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(token) = &self.token else { return Ok(()) };
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let matches = given.is_some_and(|g| {
            g.len() == token.len() && g.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        });
        if matches {
            Ok(())
        } else {
            Err(ApiError { status: StatusCode::UNAUTHORIZED, message: "a valid bearer token is required".into(), field: Some("Authorization".into()) })
        }
    }
}

/// The model `key` names (`None`: the first one that serves `endpoint`),
/// as the kind `kind` picks; a model of another kind is refused by field.
fn pick<'a, T>(models: &'a [Served], key: Option<&str>, endpoint: &str, kind: impl Fn(&Served) -> Option<&T>) -> Result<&'a T, ApiError> {
    let found = match key {
        None => models.iter().find(|m| kind(m).is_some()),
        Some(k) => models.iter().find(|m| m.identity().is(k)),
    };
    match (found, key) {
        (Some(m), _) => kind(m).ok_or_else(|| {
            ApiError::field("model", format!("`{}` is a {} run; {endpoint} serves {}", key.unwrap_or_default(), m.identity().model, serves(endpoint)))
        }),
        (None, None) => Err(ApiError::status(StatusCode::SERVICE_UNAVAILABLE, format!("no loaded run serves {endpoint}"))),
        (None, Some(k)) => {
            let names: Vec<&str> = models.iter().map(|m| m.identity().name.as_str()).collect();
            Err(ApiError::field("model", format!("`{k}` is no loaded run (loaded: {})", names.join(", "))))
        }
    }
}

fn serves(endpoint: &str) -> &'static str {
    if endpoint == "/v1/rank" { "click models of a simulated market" } else { "next-item models" }
}

fn as_recommend(m: &Served) -> Option<&ServedModel> {
    match m {
        Served::Recommend(m) => Some(m),
        Served::Rank(_) => None,
    }
}

fn as_rank(m: &Served) -> Option<&FeedModel> {
    match m {
        Served::Rank(m) => Some(m),
        Served::Recommend(_) => None,
    }
}

/// Loads the runs again and swaps them in; on failure the old ones stay.
async fn reload(app: &Arc<App>) -> Result<Arc<Vec<Served>>, String> {
    let loader = app.clone();
    let loaded = tokio::task::spawn_blocking(move || loader.source.load(&loader.metrics).map_err(|e| error_chain(&e)))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let mut reloads = app.reloads.lock().unwrap_or_else(|p| p.into_inner());
    reloads.0 += 1;
    match loaded {
        Ok(models) => {
            let models = Arc::new(models);
            *app.models.write().unwrap_or_else(|p| p.into_inner()) = models.clone();
            reloads.1 = None;
            Ok(models)
        }
        Err(e) => {
            reloads.1 = Some(e.clone());
            Err(e)
        }
    }
}

/// `err` and its causes, as one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// The JSON object of a body; 413 when the body passed the limit.
fn read_body(body: std::result::Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    match body {
        Ok(bytes) => parse_body(&bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError { status: StatusCode::PAYLOAD_TOO_LARGE, message: "the request body is too large".into(), field: Some("body".into()) })
        }
        Err(rejection) => Err(ApiError::field("body", rejection.body_text())),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    let (reloads, last_error) = app.reloads.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let body = json!({ "status": "ok", "models": app.models().len(), "reloads": reloads, "last_reload_error": last_error });
    app.finish("healthz", started, Ok(ok(&body)))
}

async fn list_models(State(app): State<Arc<App>>) -> Response {
    let started = Instant::now();
    let list: Vec<Value> = app.models().iter().map(Served::describe).collect();
    app.finish("models", started, Ok(ok(&json!({ "models": list }))))
}

async fn metrics_text(State(app): State<Arc<App>>) -> Response {
    let events = app.feedback.lock().unwrap_or_else(|p| p.into_inner()).events();
    let text = app.metrics.render(events);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn recommend(State(app): State<Arc<App>>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let result = async {
        let body = read_body(body)?;
        Ok::<Response, ApiError>(ok(&recommend_answer(&app.models(), &body, |u| app.consumed(u)).await?))
    }
    .await;
    app.finish("recommend", started, result)
}

async fn rank(State(app): State<Arc<App>>, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let result = async {
        let body = read_body(body)?;
        Ok::<Response, ApiError>(ok(&rank_answer(&app.models(), &body, |u| app.consumed(u)).await?))
    }
    .await;
    app.finish("rank", started, result)
}

/// The answer of `POST /v1/recommend` to `body`; `consumed` gives a
/// user's items from events. Shared by the handler and the in-process
/// scoring of `crate::offline`.
pub(crate) async fn recommend_answer(models: &[Served], body: &Value, consumed: impl Fn(&str) -> Vec<String>) -> Result<Value, ApiError> {
    let req = RecommendRequest::from_json(body)?;
    let model = pick(models, req.model.as_deref(), "/v1/recommend", as_recommend)?;
    let live = req.user.as_deref().map(consumed).unwrap_or_default();
    crate::recommend::recommend(model, &req, &live).await
}

/// The answer of `POST /v1/rank` to `body`, as [`recommend_answer`].
pub(crate) async fn rank_answer(models: &[Served], body: &Value, consumed: impl Fn(&str) -> Vec<String>) -> Result<Value, ApiError> {
    let req = RankRequest::from_json(body)?;
    let model = pick(models, req.model.as_deref(), "/v1/rank", as_rank)?;
    let live = consumed(&req.user);
    crate::rank::rank(model, &req, &live).await
}

async fn events(State(app): State<Arc<App>>, headers: HeaderMap, body: std::result::Result<Bytes, BytesRejection>) -> Response {
    let started = Instant::now();
    let result = async {
        app.authorize(&headers)?;
        let events = events_from_json(&read_body(body)?, now_ms())?;
        let feedback = app.feedback.clone();
        let accepted = events.len();
        let clicks: Vec<(String, String)> = events.iter().filter(|e| e.kind == EventKind::Click).map(|e| (e.user.clone(), e.item.clone())).collect();
        // the fsync blocks: off the async workers
        let total = tokio::task::spawn_blocking(move || {
            let mut f = feedback.lock().unwrap_or_else(|p| p.into_inner());
            f.append(&events).map(|()| f.events())
        })
        .await
        .map_err(|e| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, format!("writing the event log: {e}")))?
        .map_err(|e| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, format!("writing the event log: {e}")))?;
        // logged: now a click on a served ad charges its advertiser
        for model in app.models().iter() {
            if let Served::Rank(m) = model {
                clicks.iter().for_each(|(user, item)| m.click(user, item));
            }
        }
        Ok::<Response, ApiError>(ok(&json!({ "accepted": accepted, "events": total })))
    }
    .await;
    app.finish("events", started, result)
}

/// How long a scoring batch may wait, from microseconds.
pub fn wait_us(us: u64) -> Duration {
    Duration::from_micros(us)
}

async fn admin_reload(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let result = async {
        app.authorize(&headers)?;
        let models = reload(&app).await.map_err(|e| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, format!("reload failed; the runs loaded before keep serving: {e}")))?;
        let list: Vec<Value> = models.iter().map(Served::describe).collect();
        Ok::<Response, ApiError>(ok(&json!({ "models": list })))
    }
    .await;
    app.finish("reload", started, result)
}
