//! A small client for Debian's headless Chromium over the DevTools protocol
//! on a pipe (`--remote-debugging-pipe`: commands in on fd 3, replies and
//! events out on fd 4, each a JSON message ended by a NUL byte). Enough to
//! open a page from `file://`, evaluate script in it, resize the viewport,
//! take screenshots and collect console errors.
//!
//! A missing browser is a failure, never a skip: `make browser` installs it.


use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long one protocol call may take before the test fails (a hung
/// browser must not hang the test run).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
    /// Events received so far (console messages, exceptions, log entries).
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

/// The browser's program: `ATTNLAB_CHROMIUM`, else `chromium` or
/// `chromium-browser` on the PATH.
fn program() -> String {
    if let Ok(p) = std::env::var("ATTNLAB_CHROMIUM") {
        return p;
    }
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
            .unwrap_or(false);
        if found {
            return name.to_string();
        }
    }
    panic!("Chromium is needed by the report's browser tests and was not found: run `make browser` (scripts/install-chromium.sh)");
}

impl Browser {
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().expect("temporary browser profile");
        // bash moves our stdin/stdout pipes to fds 3 and 4, where the
        // browser expects its protocol pipe.
        let mut child = Command::new("bash")
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>&2")
            .arg(program())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromium through bash");
        let to = child.stdin.take().expect("browser stdin");
        let mut out = BufReader::new(child.stdout.take().expect("browser stdout"));
        let (tx, from) = channel();
        std::thread::spawn(move || loop {
            let mut buf = Vec::new();
            match out.read_until(0, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    buf.pop();
                    if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                        && tx.send(v).is_err()
                    {
                        return;
                    }
                }
            }
        });
        let mut browser = Browser { child, to, from, next_id: 0, session: None, events: Vec::new(), _profile: profile };
        let target = browser.call("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = browser.call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }));
        browser.session = Some(attached["sessionId"].as_str().expect("a session id").to_string());
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.call(domain, json!({}));
        }
        browser
    }

    /// Sends one command (to the page once one is open) and waits for its reply.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("serialising a command");
        bytes.push(0);
        self.to.write_all(&bytes).and_then(|()| self.to.flush()).expect("writing to the browser");
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.from.recv_timeout(left).unwrap_or_else(|e| panic!("no reply to {method}: {e}"));
            if v["id"] == json!(id) {
                if let Some(err) = v.get("error") {
                    panic!("{method} failed: {err}");
                }
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for an event of `method` (already received or coming).
    fn wait_event(&mut self, method: &str) -> Value {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i);
        }
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.from.recv_timeout(left).unwrap_or_else(|e| panic!("no {method} event: {e}"));
            if v["method"] == method {
                return v;
            }
            self.events.push(v);
        }
    }

    /// Opens `file` in the page and waits for its load event; returns the
    /// time from navigation to load.
    pub fn open(&mut self, file: &Path) -> Duration {
        let url = format!("file://{}", file.canonicalize().expect("report path").display());
        self.events.retain(|e| e["method"] != "Page.loadEventFired");
        let started = Instant::now();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_event("Page.loadEventFired");
        started.elapsed()
    }

    /// Evaluates `expression` in the page and returns its value (awaiting a promise).
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }));
        if let Some(e) = r.get("exceptionDetails") {
            panic!("evaluating `{expression}` threw: {e}");
        }
        r["result"]["value"].clone()
    }

    /// A viewport `width` CSS pixels wide (a phone below 600: mobile layout).
    pub fn set_width(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 }),
        );
    }

    /// A PNG of the viewport.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        base64_decode(r["data"].as_str().expect("screenshot data"))
    }

    /// Console errors, uncaught exceptions and error log entries so far.
    pub fn console_errors(&mut self) -> Vec<String> {
        // Let pending events arrive.
        self.eval("0");
        while let Ok(v) = self.from.try_recv() {
            self.events.push(v);
        }
        self.events
            .iter()
            .filter_map(|e| {
                let p = &e["params"];
                match e["method"].as_str()? {
                    "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => Some(p["args"].to_string()),
                    "Runtime.exceptionThrown" => Some(p["exceptionDetails"].to_string()),
                    "Log.entryAdded" if p["entry"]["level"] == "error" => Some(p["entry"].to_string()),
                    _ => None,
                }
            })
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (the screenshot's encoding) to bytes.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("aGk="), b"hi");
    assert_eq!(base64_decode("YWJj"), b"abc");
}
