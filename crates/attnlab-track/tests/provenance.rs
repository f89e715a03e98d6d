//! Provenance against a real git repository in a temporary directory.

use std::path::Path;
use std::process::Command;

use attnlab_track::{Provenance, peak_memory_bytes};

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn git_available() -> bool {
    Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn git_commit_and_dirty_flag_follow_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let specs = repo.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::write(specs.join("ctr.yaml"), "name: ctr\n").unwrap();

    if !git_available() {
        let p = Provenance::collect(&specs, None);
        assert_eq!((p.git_commit, p.git_dirty), (None, None));
        return;
    }
    assert!(git(&repo, &["init", "-q"]));
    let before_commit = Provenance::collect(&specs, None);
    assert_eq!(before_commit.git_commit, None, "a repository without commits has no HEAD");
    assert_eq!(before_commit.git_dirty, None);

    assert!(git(&repo, &["add", "."]));
    assert!(git(&repo, &["commit", "-q", "-m", "first"]));
    let head = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .unwrap();
    let head = String::from_utf8(head.stdout).unwrap().trim().to_owned();
    assert_eq!(head.len(), 40);

    // Asked from the spec's sub-directory: the repository around it counts.
    let clean = Provenance::collect(&specs, None);
    assert_eq!(clean.git_commit.as_deref(), Some(head.as_str()));
    assert_eq!(clean.git_dirty, Some(false));

    std::fs::write(specs.join("ctr.yaml"), "name: changed\n").unwrap();
    let dirty = Provenance::collect(&specs, None);
    assert_eq!(dirty.git_commit.as_deref(), Some(head.as_str()));
    assert_eq!(dirty.git_dirty, Some(true));
    let tags = dirty.to_tags();
    let tag = |k: &str| tags.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(tag("prov.git.commit"), Some(head.as_str()));
    assert_eq!(tag("prov.git.dirty"), Some("true"));

    // Outside any repository (unless the temp dir itself sits in one): nothing, no error.
    let outside = dir.path().join("plain");
    std::fs::create_dir_all(&outside).unwrap();
    if !git(&outside, &["rev-parse", "HEAD"]) {
        let p = Provenance::collect(&outside, None);
        assert_eq!((p.git_commit, p.git_dirty), (None, None));
    }
    // A directory that does not exist is not an error either.
    let p = Provenance::collect(&dir.path().join("missing"), None);
    assert_eq!((p.git_commit, p.git_dirty), (None, None));
}

#[test]
fn machine_lock_file_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join("Cargo.lock");
    std::fs::write(&lock, "# lock\nversion = 4\n").unwrap();
    let p = Provenance::collect(dir.path(), Some(&lock));
    assert_eq!(
        p.cargo_lock_blake3.as_deref(),
        Some(blake3::hash(b"# lock\nversion = 4\n").to_hex().as_str())
    );
    assert!(p.cpu_cores >= 1);
    assert!(!p.host.is_empty());
    let exe = std::env::args().next().unwrap();
    let exe_name = Path::new(&exe).file_name().unwrap().to_string_lossy().into_owned();
    assert!(p.command.contains(&exe_name), "{} lacks {exe_name}", p.command);
    if cfg!(target_os = "linux") {
        assert!(p.cpu_model.is_some() || !std::fs::read_to_string("/proc/cpuinfo").unwrap().contains("model name"));
        assert!(p.kernel.is_some());
        let peak = peak_memory_bytes().expect("VmHWM on Linux");
        assert!(peak > 1024 * 1024, "a test process uses more than 1 MiB: {peak}");
        assert!(p.peak_memory_bytes.is_some());
    }
    assert_eq!(Provenance::collect(dir.path(), Some(&dir.path().join("nope"))).cargo_lock_blake3, None);

    let tags = p.to_tags();
    assert!(tags.iter().all(|(k, v)| k.starts_with("prov.") && !v.is_empty()), "{tags:?}");
    let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
    for key in ["prov.cargo_lock.blake3", "prov.cpu.cores", "prov.host", "prov.command"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    assert!(!keys.contains(&"prov.git.commit"), "not a repository: left out, not empty");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len());
}
