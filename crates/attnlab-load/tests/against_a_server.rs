//! The generator against a real HTTP server on 127.0.0.1 (a small one
//! written here with std's TcpListener): every request sent is received,
//! non-200 answers are errors, an open loop sends exactly rate x seconds,
//! and a server that closes each connection is reconnected to.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use attnlab_load::{run, Load, Target};

/// Answers 500 to a body containing `fail`, else 200; `close`: every
/// answer closes its connection. Counts the requests it read.
fn server(close: bool) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/recommend", listener.local_addr().unwrap());
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || serve_connection(stream, &counter, close));
        }
    });
    (url, received)
}

fn serve_connection(stream: TcpStream, received: &AtomicU64, close: bool) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        assert!(line.starts_with("POST /v1/recommend HTTP/1.1"), "{line}");
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        received.fetch_add(1, Ordering::SeqCst);
        let (status, answer) = if String::from_utf8_lossy(&body).contains("fail") { ("500 Internal Server Error", "{\"error\": \"no\"}") } else { ("200 OK", "{\"items\": [1, 2, 3]}") };
        let connection = if close { "connection: close\r\n" } else { "" };
        let response = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{connection}content-length: {}\r\n\r\n{answer}", answer.len());
        if writer.write_all(response.as_bytes()).is_err() || close {
            return;
        }
    }
}

fn requests(target: &Target) -> Vec<Vec<u8>> {
    ["{\"user\": \"1\"}", "{\"user\": \"fail\"}"].iter().map(|b| target.post_bytes(b.as_bytes())).collect()
}

#[test]
fn an_open_loop_sends_rate_times_seconds_and_counts_errors() {
    let (url, received) = server(false);
    let target = Target::parse(&url).unwrap();
    let outcome = run(&target, &requests(&target), &Load { rate: 400.0, concurrency: 4, duration: Duration::from_millis(250) });
    // requests 0..100, every odd one a failure
    assert_eq!((outcome.latencies.len(), outcome.errors), (50, 50));
    assert_eq!(received.load(Ordering::SeqCst), 100);
    let s = outcome.summary();
    assert_eq!(s.sent, 100);
    assert!(s.p50 <= s.p99 && s.p99 <= s.p999, "{s:?}");
    assert!(outcome.latencies.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_closed_loop_sends_until_the_time_is_up_and_reconnects_after_close() {
    for close in [false, true] {
        let (url, received) = server(close);
        let target = Target::parse(&url).unwrap();
        let ok = [target.post_bytes(b"{\"user\": \"1\"}")];
        let outcome = run(&target, &ok, &Load { rate: 0.0, concurrency: 3, duration: Duration::from_millis(200) });
        assert_eq!(outcome.errors, 0, "close: {close}");
        assert!(!outcome.latencies.is_empty());
        assert_eq!(received.load(Ordering::SeqCst), outcome.latencies.len() as u64, "close: {close}");
    }
}

#[test]
fn a_server_that_is_not_there_is_errors_not_a_hang() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let target = Target::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
    let outcome = run(&target, &requests(&target), &Load { rate: 200.0, concurrency: 2, duration: Duration::from_millis(50) });
    assert_eq!((outcome.latencies.len(), outcome.errors), (0, 10));
}
