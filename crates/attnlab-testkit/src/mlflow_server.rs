//! For the tests that talk to a real MLflow server (attnlab-track's
//! `mlflow.rs` and `sync.rs`, the binary's `mlflow.rs`): starting and stopping `mlflow
//! server` (from `.venv-mlflow`, see scripts/bootstrap-mlflow.sh), ports,
//! unique names.
//!
//! Process groups are signalled with `libc::killpg`, never with the external
//! `kill` program (on some machines `kill -TERM -<pgid>` became kill(-1)).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use attnlab_track::mlflow::{MlflowClient, RetryPolicy};

/// The `mlflow` executable: $ATTNLAB_TEST_MLFLOW, else <workspace>/.venv-mlflow/bin/mlflow.
pub fn mlflow_exe() -> PathBuf {
    if let Some(p) = std::env::var_os("ATTNLAB_TEST_MLFLOW").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "ATTNLAB_TEST_MLFLOW={} does not exist; run `make test` or scripts/bootstrap-mlflow.sh",
            p.display()
        );
        return p;
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = ws.join(".venv-mlflow/bin/mlflow");
    assert!(
        p.is_file(),
        "no MLflow server for the tests: set ATTNLAB_TEST_MLFLOW to an `mlflow` executable, \
         or run `make test` or `bash scripts/bootstrap-mlflow.sh` (creates {})",
        p.display()
    );
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `mlflow server` in its own process group, on a SQLite file in a
/// temp dir. Dropping it kills the group; should the test process die
/// without dropping it (statics are never dropped), the wrapper shell sees
/// its stdin close and kills the group itself.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    stopped: bool,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, free_port());
        s._tmp = Some(tmp);
        s
    }

    pub fn start_in(dir: &Path, port: u16) -> Server {
        let exe = mlflow_exe();
        let log = std::fs::File::create(dir.join(format!("server-{port}.log"))).unwrap();
        let child = Command::new("sh")
            .arg("-c")
            .arg(r#""$@" & trap '' TERM; read -r _ignored; kill -TERM 0; sleep 5; kill -KILL 0"#)
            .arg("sh")
            .arg(&exe)
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}/mlflow.db", dir.display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .arg("--no-serve-artifacts")
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "1",
            ])
            .current_dir(dir)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let mut s = Server {
            child,
            port,
            dir: dir.to_path_buf(),
            stopped: false,
            _tmp: None,
        };
        // A fresh store runs its migrations first: ~45 s on a busy 2-core machine.
        s.wait_healthy(Duration::from_secs(180));
        s
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("server-{}.log", self.port)))
            .unwrap_or_default()
    }

    pub fn wait_healthy(&mut self, timeout: Duration) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("mlflow server exited early ({st}); log:\n{}", self.log());
            }
            if http_get_status(self.port, "/health") == Some(200) {
                return;
            }
            if t0.elapsed() > timeout {
                panic!(
                    "mlflow server not healthy after {timeout:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pgid = self.child.id() as libc::pid_t;
        // killpg, not the `kill` program: on some machines `kill -TERM -10`
        // ends up as kill(-1, SIGTERM), which signals every process.
        let kill = |sig: libc::c_int| {
            assert!(pgid > 1, "refusing to signal process group {pgid}");
            // SAFETY: killpg has no memory-safety preconditions.
            unsafe { libc::killpg(pgid, sig) };
        };
        kill(libc::SIGTERM);
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        kill(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bare HTTP/1.1 GET, independent of the client under test.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One server shared by all tests of this binary (startup costs seconds);
/// each test works in its own experiment.
pub fn shared() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(Server::start)
}

pub fn client() -> MlflowClient {
    MlflowClient::new(&shared().uri())
        .unwrap()
        .with_token(None)
        .with_retry(RetryPolicy::new(
            4,
            Duration::from_millis(200),
            Duration::from_secs(2),
        ))
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
