//! Counters and histograms for `GET /metrics`, in the Prometheus text
//! exposition format: requests by endpoint and status, latency by
//! endpoint, the sizes of the scoring batches, how long requests wait for
//! their batch and how long a batch's scoring takes: where a request's
//! time goes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds, seconds.
const LATENCY_BOUNDS: [f64; 12] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0];

/// Batch size bucket bounds.
const BATCH_BOUNDS: [f64; 8] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    /// Per bound, observations <= it (not cumulative; summed when shown).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram { bounds, counts: vec![0; bounds.len()], sum: 0.0, count: 0 }
    }

    fn observe(&mut self, v: f64) {
        if let Some(i) = self.bounds.iter().position(|&b| v <= b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            cumulative += c;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    batches: Option<Histogram>,
    /// A request's wait in its model's queue until its batch is scored.
    queued: Option<Histogram>,
    /// A batch's scoring: the forward pass and the rows' answers.
    scoring: Option<Histogram>,
}

/// The server's metrics; shared by handlers and scoring threads.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// One answered request.
    pub fn observe_request(&self, endpoint: &'static str, status: u16, took: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests.entry((endpoint, status)).or_default() += 1;
        m.latency.entry(endpoint).or_insert_with(|| Histogram::new(&LATENCY_BOUNDS)).observe(took.as_secs_f64());
    }

    /// One forward pass of `size` requests that waited `waits` in the queue.
    pub fn observe_batch(&self, size: usize, waits: impl Iterator<Item = Duration>) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.batches.get_or_insert_with(|| Histogram::new(&BATCH_BOUNDS)).observe(size as f64);
        let queued = m.queued.get_or_insert_with(|| Histogram::new(&LATENCY_BOUNDS));
        for wait in waits {
            queued.observe(wait.as_secs_f64());
        }
    }

    /// One batch scored in `took`.
    pub fn observe_scoring(&self, took: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.scoring.get_or_insert_with(|| Histogram::new(&LATENCY_BOUNDS)).observe(took.as_secs_f64());
    }

    /// The text exposition; `events` is the event log's count.
    pub fn render(&self, events: u64) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP attnlab_requests_total Requests answered, by endpoint and status.\n# TYPE attnlab_requests_total counter\n");
        for ((endpoint, status), n) in &m.requests {
            let _ = writeln!(out, "attnlab_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP attnlab_errors_total Requests answered with a 4xx or 5xx status, by endpoint.\n# TYPE attnlab_errors_total counter\n");
        let mut errors: BTreeMap<&str, u64> = BTreeMap::new();
        for ((endpoint, status), n) in &m.requests {
            if *status >= 400 {
                *errors.entry(*endpoint).or_default() += n;
            }
        }
        for (endpoint, n) in errors {
            let _ = writeln!(out, "attnlab_errors_total{{endpoint=\"{endpoint}\"}} {n}");
        }
        out.push_str("# HELP attnlab_request_seconds Request latency, by endpoint.\n# TYPE attnlab_request_seconds histogram\n");
        for (endpoint, h) in &m.latency {
            h.render(&mut out, "attnlab_request_seconds", &format!("endpoint=\"{endpoint}\""));
        }
        out.push_str("# HELP attnlab_batch_size Requests per forward pass.\n# TYPE attnlab_batch_size histogram\n");
        m.batches.clone().unwrap_or_else(|| Histogram::new(&BATCH_BOUNDS)).render(&mut out, "attnlab_batch_size", "");
        out.push_str("# HELP attnlab_queue_seconds A request's wait until its batch is scored.\n# TYPE attnlab_queue_seconds histogram\n");
        m.queued.clone().unwrap_or_else(|| Histogram::new(&LATENCY_BOUNDS)).render(&mut out, "attnlab_queue_seconds", "");
        out.push_str("# HELP attnlab_scoring_seconds A batch's forward pass and answers.\n# TYPE attnlab_scoring_seconds histogram\n");
        m.scoring.clone().unwrap_or_else(|| Histogram::new(&LATENCY_BOUNDS)).render(&mut out, "attnlab_scoring_seconds", "");
        out.push_str("# HELP attnlab_events_total Feedback events in the event log.\n# TYPE attnlab_events_total counter\n");
        let _ = writeln!(out, "attnlab_events_total {events}");
        out
    }
}
