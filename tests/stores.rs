//! The run store under hostile conditions: damaged, read-only.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use attnlab_track::{MetricPoint, NewRun, RunStatus, Store};

use crate::util::{quickstart, Run, Scratch};

/// `attnlab run` on a store with a damaged page: exit 2 with the way to
/// recover, and not one byte of the file changed.
#[test]
fn run_on_a_damaged_store_writes_nothing_and_says_how_to_recover() {
    let s = Scratch::new();
    {
        let store = Store::open(&s.db()).unwrap();
        let new = NewRun { experiment: "quickstart".into(), name: "old".into(), model: "LR".into(), ..NewRun::default() };
        let run = store.create_run(&new).unwrap();
        let points: Vec<MetricPoint> = (0..5_000).map(|i| MetricPoint::now("loss", i as f64, i)).collect();
        store.log_metrics(&run, &points).unwrap();
        store.finish_run(&run, RunStatus::Finished).unwrap();
    }
    let mut bytes = std::fs::read(s.db()).unwrap();
    let (page, pages) = (4096, bytes.len() / 4096);
    let start = pages / 2 * page;
    bytes[start..start + page].fill(0xAA);
    std::fs::write(s.db(), &bytes).unwrap();

    let run = s.attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let expected = format!("sqlite3 {} .recover", s.db().display());
    assert!(run.stderr().contains("is damaged") && run.stderr().contains(&expected), "{}", run.stderr());
    assert_eq!(std::fs::read(s.db()).unwrap(), bytes, "the damaged store is left as it was");
}

/// `attnlab ARGS` as a user who may not write the store's folder: as root
/// (who may write anywhere) the command runs as `nobody`.
fn attnlab_without_write_access(s: &Scratch, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attnlab"));
    cmd.args(args).current_dir("/").env("ATTNLAB_DB", s.db()).env_remove("LD_LIBRARY_PATH");
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        cmd.uid(65534).gid(65534);
    }
    Run(cmd.output().expect("start attnlab"))
}

/// Listing, showing and reporting work on a store in a read-only folder,
/// and leave it untouched.
#[test]
fn reading_commands_work_on_a_read_only_store() {
    let s = Scratch::new();
    s.attnlab(&["run", &quickstart(), "train.epochs=1", "dataset.simulator.users=60", "models.1.params.embed_dim=4"]).ok();
    let store_dir = s.db().parent().unwrap().to_path_buf();
    let before = std::fs::read(s.db()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mode = |path: &std::path::Path, mode: u32| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    mode(s.dir.path(), 0o755);
    mode(&store_dir, 0o555);
    mode(&s.db(), 0o444);
    mode(out.path(), 0o777);

    let listed = attnlab_without_write_access(&s, &["runs", "list", "quickstart", "--json"]);
    assert_eq!(listed.code(), 0, "{}", listed.stderr());
    let runs: serde_json::Value = serde_json::from_str(&listed.stdout()).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    let id = runs[0]["id"].as_str().unwrap();
    let shown = attnlab_without_write_access(&s, &["runs", "show", id]);
    let html = out.path().join("r.html");
    let report = attnlab_without_write_access(&s, &["report", "quickstart", "-o", html.to_str().unwrap()]);
    mode(&store_dir, 0o755);

    assert_eq!(shown.code(), 0, "{}", shown.stderr());
    assert!(shown.stdout().contains(id), "{}", shown.stdout());
    assert_eq!(report.code(), 0, "{}", report.stderr());
    assert!(std::fs::read_to_string(&html).unwrap().contains(id));
    assert_eq!(std::fs::read(s.db()).unwrap(), before, "the store is untouched");
    let left: Vec<_> = std::fs::read_dir(&store_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!left.iter().any(|n| n.to_string_lossy().ends_with("-shm")), "{left:?}");
}
