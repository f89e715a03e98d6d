//! The pinned data sets (`make data` fetches them into the checkout's
//! `data/` folder), and wheels rebuilt from those files, so fetch,
//! verification and repair are tested without a download at test time.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The checkout's copy of data set `name`, checked to hold `files`.
pub fn fetched(name: &str, files: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name);
    for file in files {
        assert!(dir.join(file).is_file(), "no {}: run `make data` (it fetches data/{name}) before the tests", dir.join(file).display());
    }
    dir
}

/// Writes a wheel (a zip) at `wheel` holding each of `files` from `folder`
/// under `prefix` (the folder inside the real wheel, ending in `/`).
pub fn wheel_from(folder: &Path, prefix: &str, files: &[&str], wheel: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(wheel).unwrap());
    for file in files {
        zip.start_file(format!("{prefix}{file}"), zip::write::FileOptions::default()).unwrap();
        zip.write_all(&std::fs::read(folder.join(file)).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}
