//! Fetching MovieLens-100k in RecBole's atomic format from the PyPI wheel
//! `recbole==1.2.1` (`recbole/dataset_example/ml-100k/`), pinned by sha256.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{DataError, Result};

const DATASET: &str = "ml-100k";

/// The pinned RecBole release whose wheel ships the files.
pub const RECBOLE_REQUIREMENT: &str = "recbole==1.2.1";

/// sha256 of `recbole-1.2.1-py3-none-any.whl` as served by PyPI (informative:
/// the files below are what is verified).
pub const RECBOLE_WHEEL_SHA256: &str =
    "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407";

const WHEEL_DIR: &str = "recbole/dataset_example/ml-100k/";

/// File name and pinned sha256 of each file of the data set.
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

/// Where the wheel comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchSource {
    /// `PYTHON -m pip download --no-deps --only-binary=:all: recbole==1.2.1`.
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
    ML100K_FILES
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

/// Makes `dest` hold `ml-100k.{inter,user,item}` with their pinned sha256.
/// Nothing is done when they already do. Otherwise the wheel is obtained,
/// the files are extracted and verified in a temporary directory beside
/// `dest`, and each is moved into place with a rename, so `dest` never
/// holds a partial or unverified file. Other files in `dest` are left alone.
pub fn fetch_ml100k_from(dest: &Path, source: &FetchSource) -> Result<FetchReport> {
    let before = verify_ml100k(dest)?;
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
        .prefix(".ml-100k-fetch-")
        .tempdir_in(dest)
        .map_err(|e| DataError::io(dest, e))?;
    let wheel = match source {
        FetchSource::Wheel(path) => path.clone(),
        FetchSource::Pip { python } => pip_download(python, staging.path())?,
    };
    let extracted = extract(&wheel, staging.path())?;
    for (path, &(name, _)) in extracted.iter().zip(&ML100K_FILES) {
        let target = dest.join(name);
        std::fs::rename(path, &target).map_err(|e| DataError::io(&target, e))?;
    }
    let after = verify_ml100k(dest)?;
    if let Some(bad) = after.iter().find(|s| s.state != FileState::Ok) {
        return Err(fetch_err(format!(
            "{} changed while it was being written",
            bad.path.display()
        )));
    }
    Ok(FetchReport {
        dest: dest.to_path_buf(),
        before,
        downloaded: true,
        repaired,
    })
}

fn fetch_err(message: String) -> DataError {
    DataError::Fetch {
        dataset: DATASET,
        message,
    }
}

fn pip_download(python: &Path, dir: &Path) -> Result<PathBuf> {
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
        .arg(RECBOLE_REQUIREMENT)
        .arg("-d")
        .arg(&download)
        .output()
        .map_err(|e| fetch_err(format!("could not run `{} -m pip`: {e}", python.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
        return Err(fetch_err(format!(
            "`{} -m pip download {RECBOLE_REQUIREMENT}` failed ({}):\n{}",
            python.display(),
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
    Err(fetch_err(format!(
        "pip reported success but left no wheel in {}",
        download.display()
    )))
}

/// Extracts and verifies the three files into `dir`; returns their paths
/// in [`ML100K_FILES`] order.
fn extract(wheel: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let file = File::open(wheel).map_err(|e| DataError::io(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| fetch_err(format!("{} is not a readable wheel: {e}", wheel.display())))?;
    let mut out = Vec::new();
    for &(name, expected) in &ML100K_FILES {
        let member = format!("{WHEEL_DIR}{name}");
        let mut entry = archive
            .by_name(&member)
            .map_err(|e| fetch_err(format!("{} has no `{member}`: {e}", wheel.display())))?;
        let path = dir.join(name);
        let mut target = File::create(&path).map_err(|e| DataError::io(&path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = entry.read(&mut buf).map_err(|e| {
                fetch_err(format!("reading `{member}` from {}: {e}", wheel.display()))
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
