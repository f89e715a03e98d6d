//! Fetching data sets that PyPI wheels ship, pinned by sha256: a
//! [`PinnedDataset`] names the wheel, the folder inside it and every file
//! with its sha256. Two are known:
//! - [`ML100K`]: MovieLens-100k in RecBole's atomic format, from
//!   `recbole==1.2.1` (`recbole/dataset_example/ml-100k/`);
//! - [`OBD`]: the small Open Bandit Dataset (10,000 rounds per logging
//!   policy and campaign), from `obp==0.4.1` (`obp/dataset/obd/`; later
//!   releases no longer ship it).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{DataError, Result};

/// A data set inside a pinned PyPI wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedDataset {
    /// The name `attnlab data fetch` knows it by (and its default folder under `data/`).
    pub name: &'static str,
    /// The pip requirement of the wheel, an exact version.
    pub requirement: &'static str,
    /// sha256 of the wheel as served by PyPI (informative: the files are what is verified).
    pub wheel_sha256: &'static str,
    /// The folder inside the wheel, with a trailing `/`.
    pub wheel_dir: &'static str,
    /// Path (relative to the folder, `/`-separated) and pinned sha256 of each file.
    pub files: &'static [(&'static str, &'static str)],
}

/// MovieLens-100k, RecBole atomic files.
pub const ML100K: PinnedDataset = PinnedDataset {
    name: "ml-100k",
    requirement: RECBOLE_REQUIREMENT,
    wheel_sha256: RECBOLE_WHEEL_SHA256,
    wheel_dir: "recbole/dataset_example/ml-100k/",
    files: &ML100K_FILES,
};

/// The pinned RecBole release whose wheel ships the files.
pub const RECBOLE_REQUIREMENT: &str = "recbole==1.2.1";

/// sha256 of `recbole-1.2.1-py3-none-any.whl` as served by PyPI.
pub const RECBOLE_WHEEL_SHA256: &str =
    "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407";

/// File name and pinned sha256 of each file of MovieLens-100k.
pub const ML100K_FILES: [(&str, &str); 3] = [
    (
        "ml-100k.inter",
        "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    ),
    (
        "ml-100k.user",
        "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    ),
    (
        "ml-100k.item",
        "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
    ),
];

/// The Open Bandit Dataset (small): per logging policy (`random`, `bts`)
/// and campaign (`all`, `men`, `women`), the log `CAMPAIGN.csv` and
/// `item_context.csv`. See [`crate::loaders::load_obd`].
pub const OBD: PinnedDataset = PinnedDataset {
    name: "obd",
    requirement: "obp==0.4.1",
    wheel_sha256: "87dec9caf4283c25ab13036532e0a24566f1c7bdcad1653a8ded43b2f5ef8208",
    wheel_dir: "obp/dataset/obd/",
    files: &[
        ("random/all/all.csv", "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1"),
        ("random/all/item_context.csv", "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358"),
        ("random/men/men.csv", "ede6d08c6877f99cd3770f7d09e26c738e6aa6de4445ccccfb1356ba5d06b1eb"),
        ("random/men/item_context.csv", "6d855c2b7e917d0448d71bbe62c023147495882c0fdc8c41e86fef86abf9fe09"),
        ("random/women/women.csv", "e65f3bd3beb17664fa69cc129bf7bf852a775f8ffa630506e505fc905315bb34"),
        ("random/women/item_context.csv", "b1ca4905f97703d196004f2ad4552c1e90c2afad8b50688d333b0d2dc0b33147"),
        ("bts/all/all.csv", "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106"),
        ("bts/all/item_context.csv", "5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153"),
        ("bts/men/men.csv", "db6d1f7ed2d591ba521533e45286d4c1fba7fe57a8ad2e80342210335f43c527"),
        ("bts/men/item_context.csv", "3b411ed6b0471316321a6b93f4f756bb25888eac6218cd71d0b603d41d85732d"),
        ("bts/women/women.csv", "e5d1b49a39b608585a2f3014a3f54970430cd37a495c1b73fceb85cdf428a5b8"),
        ("bts/women/item_context.csv", "a56295bad066a558eb783055afd9279f5f4e209a4776eafc22151c53f0ac89d4"),
    ],
};

/// Every data set `attnlab data fetch` knows.
pub const PINNED: [PinnedDataset; 2] = [ML100K, OBD];

impl PinnedDataset {
    /// The pinned data set called `name`.
    pub fn named(name: &str) -> Option<PinnedDataset> {
        PINNED.iter().copied().find(|d| d.name == name)
    }
}

/// Where the wheel comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchSource {
    /// `PYTHON -m pip download --no-deps --only-binary=:all: REQUIREMENT`.
    Pip { python: PathBuf },
    /// A wheel already on disk.
    Wheel(PathBuf),
}

/// The state of one file in the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Ok,
    Missing,
    /// Present with another sha256.
    Corrupt {
        actual: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    pub path: PathBuf,
    pub expected_sha256: &'static str,
    pub state: FileState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    pub dest: PathBuf,
    /// The files as found before fetching.
    pub before: Vec<FileStatus>,
    /// False when every file was already present and intact.
    pub downloaded: bool,
    /// Files that were present but did not match their sha256 (replaced).
    pub repaired: Vec<PathBuf>,
}

/// sha256 of a file, lowercase hex, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the three files in `dest` against their pinned sha256.
pub fn verify_ml100k(dest: &Path) -> Result<Vec<FileStatus>> {
    verify(&ML100K, dest)
}

/// Checks every file of `dataset` in `dest` against its pinned sha256.
pub fn verify(dataset: &PinnedDataset, dest: &Path) -> Result<Vec<FileStatus>> {
    dataset
        .files
        .iter()
        .map(|&(name, expected)| {
            let path = dest.join(name);
            let state = if !path.exists() {
                FileState::Missing
            } else {
                let actual = sha256_file(&path)?;
                if actual == expected {
                    FileState::Ok
                } else {
                    FileState::Corrupt { actual }
                }
            };
            Ok(FileStatus {
                path,
                expected_sha256: expected,
                state,
            })
        })
        .collect()
}

/// [`fetch_ml100k_from`] with pip.
pub fn fetch_ml100k(dest: &Path, python: &Path) -> Result<FetchReport> {
    fetch_ml100k_from(
        dest,
        &FetchSource::Pip {
            python: python.to_path_buf(),
        },
    )
}

/// [`fetch`] of [`ML100K`].
pub fn fetch_ml100k_from(dest: &Path, source: &FetchSource) -> Result<FetchReport> {
    fetch(&ML100K, dest, source)
}

/// Makes `dest` hold every file of `dataset` with its pinned sha256.
/// Nothing is done when it already does. Otherwise the wheel is obtained,
/// the files are extracted and verified in a temporary directory beside
/// `dest`, and each is moved into place with a rename, so `dest` never
/// holds a partial or unverified file. Other files in `dest` are left alone.
pub fn fetch(dataset: &PinnedDataset, dest: &Path, source: &FetchSource) -> Result<FetchReport> {
    let before = verify(dataset, dest)?;
    let repaired: Vec<PathBuf> = before
        .iter()
        .filter(|s| matches!(s.state, FileState::Corrupt { .. }))
        .map(|s| s.path.clone())
        .collect();
    if before.iter().all(|s| s.state == FileState::Ok) {
        return Ok(FetchReport {
            dest: dest.to_path_buf(),
            before,
            downloaded: false,
            repaired,
        });
    }
    std::fs::create_dir_all(dest).map_err(|e| DataError::io(dest, e))?;
    // beside dest, so the final renames stay on one file system
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}-fetch-", dataset.name))
        .tempdir_in(dest)
        .map_err(|e| DataError::io(dest, e))?;
    let wheel = match source {
        FetchSource::Wheel(path) => path.clone(),
        FetchSource::Pip { python } => pip_download(dataset, python, staging.path())?,
    };
    let extracted = extract(dataset, &wheel, staging.path())?;
    for (path, &(name, _)) in extracted.iter().zip(dataset.files) {
        let target = dest.join(name);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
        }
        std::fs::rename(path, &target).map_err(|e| DataError::io(&target, e))?;
    }
    let after = verify(dataset, dest)?;
    if let Some(bad) = after.iter().find(|s| s.state != FileState::Ok) {
        return Err(fetch_err(
            dataset,
            format!("{} changed while it was being written", bad.path.display()),
        ));
    }
    Ok(FetchReport {
        dest: dest.to_path_buf(),
        before,
        downloaded: true,
        repaired,
    })
}

fn fetch_err(dataset: &PinnedDataset, message: String) -> DataError {
    DataError::Fetch {
        dataset: dataset.name,
        message,
    }
}

fn pip_download(dataset: &PinnedDataset, python: &Path, dir: &Path) -> Result<PathBuf> {
    let download = dir.join("wheel");
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
        ])
        .arg(dataset.requirement)
        .arg("-d")
        .arg(&download)
        .output()
        .map_err(|e| fetch_err(dataset, format!("could not run `{} -m pip`: {e}", python.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(fetch_err(dataset, format!(
            "`{} -m pip download {}` failed ({}):\n{}",
            python.display(),
            dataset.requirement,
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    let entries = std::fs::read_dir(&download).map_err(|e| DataError::io(&download, e))?;
    for entry in entries {
        let path = entry.map_err(|e| DataError::io(&download, e))?.path();
        if path.extension().is_some_and(|e| e == "whl") {
            return Ok(path);
        }
    }
    Err(fetch_err(dataset, format!(
        "pip reported success but left no wheel in {}",
        download.display()
    )))
}

/// Extracts and verifies every file into `dir` (flattened: the names
/// may hold `/`); returns their paths in the order of `dataset.files`.
fn extract(dataset: &PinnedDataset, wheel: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(wheel).map_err(|e| DataError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| fetch_err(dataset, format!("{} is not a readable wheel: {e}", wheel.display())))?;
    let mut out = Vec::new();
    for (k, &(name, expected)) in dataset.files.iter().enumerate() {
        let member = format!("{}{name}", dataset.wheel_dir);
        let mut entry = archive
            .by_name(&member)
            .map_err(|e| fetch_err(dataset, format!("{} has no `{member}`: {e}", wheel.display())))?;
        let path = dir.join(format!("{k}.part"));
        let mut target = File::create(&path).map_err(|e| DataError::io(&path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                fetch_err(dataset, format!("reading `{member}` from {}: {e}", wheel.display()))
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            target
                .write_all(&buf[..n])
                .map_err(|e| DataError::io(&path, e))?;
        }
        target.sync_all().map_err(|e| DataError::io(&path, e))?;
        let actual = hex(&hasher.finalize());
        if actual != expected {
            return Err(DataError::Checksum {
                path: PathBuf::from(format!("{}!{member}", wheel.display())),
                expected: expected.to_string(),
                actual,
            });
        }
        out.push(path);
    }
    Ok(out)
}
