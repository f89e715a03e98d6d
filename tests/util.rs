//! A scratch directory per test and a runner for the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("store/attnlab.db")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    /// Runs `attnlab ARGS` inside the scratch dir, with the store in it.
    pub fn attnlab(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_attnlab"))
            .args(args)
            .current_dir(self.dir.path())
            .env("ATTNLAB_DB", self.db())
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("start attnlab");
        Run(output)
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts exit 0, showing the output otherwise.
    pub fn ok(self) -> Run {
        assert_eq!(self.code(), 0, "stdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
        self
    }
}

/// A file of the repository (specs, templates).
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn quickstart() -> String {
    repo("experiments/quickstart.yaml").display().to_string()
}
