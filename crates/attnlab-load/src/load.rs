//! The load loop: `concurrency` threads, each with one keep-alive
//! connection, take request numbers from a shared counter.
//!
//! Open loop (`rate > 0`): request `i` is due at `start + i / rate`; a
//! thread sleeps until it is due, sends it, and its latency runs from the
//! due time to the last byte of the response. When every connection is
//! busy the next request leaves late and its wait counts, as a user's
//! would: a server that falls behind cannot hide it by slowing the client
//! (no coordinated omission). Closed loop (`rate == 0`): each thread sends
//! its next request as soon as the last one is answered, until the time is
//! up; latency runs from the send.
//!
//! Blocking threads, not an async runtime: `std::thread::sleep` wakes
//! within tens of microseconds, where a runtime's timer wheel rounds up to
//! a millisecond, which would show as latency the server did not cause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::http::{Connection, Target};
use crate::stats::Summary;

/// How much load to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// Requests per second (open loop); 0: closed loop, as fast as answered.
    pub rate: f64,
    /// Connections (and threads).
    pub concurrency: usize,
    pub duration: Duration,
}

/// What one thread saw.
#[derive(Debug, Default)]
struct Seen {
    /// Latencies of the requests answered 200, nanoseconds.
    latencies: Vec<u64>,
    errors: u64,
}

/// The latencies of a run, sorted, its errors and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Nanoseconds, ascending.
    pub latencies: Vec<u64>,
    /// Requests answered with another status than 200, or not answered.
    pub errors: u64,
    /// From the first due time to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }
}

/// Sends `requests` (prepared bytes, used round robin) to `target` under `load`.
pub fn run(target: &Target, requests: &[Vec<u8>], load: &Load) -> Outcome {
    let concurrency = load.concurrency.max(1);
    // an open loop sends exactly rate x duration requests
    let total = (load.rate > 0.0).then(|| (load.rate * load.duration.as_secs_f64()).round() as u64);
    let next = AtomicU64::new(0);
    // time for every thread to connect before the first request is due
    let start = Instant::now() + Duration::from_millis(200);
    let deadline = start + load.duration;
    let seen: Vec<Seen> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| scope.spawn(|| worker(target, requests, load.rate, total, &next, start, deadline)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    let elapsed = Instant::now().saturating_duration_since(start);
    let mut latencies: Vec<u64> = seen.iter().flat_map(|s| s.latencies.iter().copied()).collect();
    latencies.sort_unstable();
    Outcome { latencies, errors: seen.iter().map(|s| s.errors).sum(), elapsed }
}

fn worker(target: &Target, requests: &[Vec<u8>], rate: f64, total: Option<u64>, next: &AtomicU64, start: Instant, deadline: Instant) -> Seen {
    let timeout = Duration::from_secs(30);
    let mut seen = Seen { latencies: Vec::with_capacity(1 << 16), errors: 0 };
    let mut conn = Connection::open(target, timeout).ok();
    if let Some(wait) = start.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let due = match total {
            Some(total) if i >= total => break,
            Some(_) => {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                due
            }
            None => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                now
            }
        };
        let request = &requests[(i % requests.len() as u64) as usize];
        let answered = match conn.as_mut().filter(|c| !c.closed) {
            Some(c) => c.send(request),
            None => Connection::open(target, timeout).and_then(|c| conn.insert(c).send(request)),
        };
        match answered {
            Ok(200) => seen.latencies.push(Instant::now().saturating_duration_since(due).as_nanos() as u64),
            Ok(_) => seen.errors += 1,
            Err(_) => {
                seen.errors += 1;
                conn = None;
            }
        }
    }
    seen
}
