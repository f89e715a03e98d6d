//! The prepared-data cache: `<cache_root>/<fingerprint>/prepared.bin`.
//!
//! # File format (little-endian)
//!
//! ```text
//! magic            8 bytes  "ATTNPREP"
//! format version   u32      fingerprint::FORMAT_VERSION
//! columns          u32      count, then per column:
//!   name           u16 length + UTF-8 bytes
//!   type           u8       1 u32, 2 i64, 3 f32, 4 u64, 5 bytes
//!   elements       u64
//! payload length   u64      bytes (must equal the sum of the columns)
//! checksum         32 bytes blake3 of every byte before it and the payload
//! payload                   the columns' values, in column order
//! ```
//!
//! # Atomicity
//!
//! An entry is prepared in `<cache_root>/.tmp-<pid>-<random>/`, its file
//! fsynced, and the directory renamed to `<fingerprint>/`; only complete
//! entries ever carry a fingerprint's name. A process killed while writing
//! leaves a `.tmp-*` directory that is never read, and removed by the next
//! [`load_or_prepare`] once its process is gone. If another process renames
//! its entry into place first, ours is discarded. An entry that fails to
//! read (truncated, checksum mismatch, wrong version) is a miss with a
//! warning, rebuilt and replaced; never a panic.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fingerprint::{FORMAT_VERSION, Fingerprint};
use crate::protocol::{Csr, EvalSequences, Prepared, Protocol, SampledCandidates, SequenceData, SplitRows};
use crate::{DataError, Result};

const MAGIC: &[u8; 8] = b"ATTNPREP";
const FILE: &str = "prepared.bin";
const TMP_PREFIX: &str = ".tmp-";

/// Whether [`load_or_prepare`] read the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    /// Prepared afresh; `warnings` say why an existing entry was not used
    /// (corrupt, unreadable) or what could not be cleaned or written.
    Miss { warnings: Vec<String> },
}

/// The directory of `fingerprint`'s entry.
pub fn entry_dir(cache_root: &Path, fingerprint: &Fingerprint) -> PathBuf {
    cache_root.join(fingerprint.as_str())
}

/// Reads `fingerprint`'s entry, or runs `prepare` and stores its result.
/// Errors of `prepare` are returned as they are; a cache that cannot be
/// read or written only adds a warning.
pub fn load_or_prepare<E: From<DataError>>(
    cache_root: &Path,
    fingerprint: &Fingerprint,
    prepare: impl FnOnce() -> std::result::Result<Prepared, E>,
) -> std::result::Result<(Prepared, CacheOutcome), E> {
    let mut warnings = Vec::new();
    clean_stale_temps(cache_root, &mut warnings);
    let dir = entry_dir(cache_root, fingerprint);
    let file = dir.join(FILE);
    let mut stale_entry = false;
    if dir.exists() {
        match read_file(&file) {
            Ok(p) => return Ok((p, CacheOutcome::Hit)),
            Err(e) => {
                warnings.push(format!("ignoring the cache entry {}: {e}", dir.display()));
                stale_entry = true;
            }
        }
    }
    let prepared = prepare()?;
    if let Err(e) = store(cache_root, &dir, &prepared, stale_entry) {
        warnings.push(format!("could not write the cache entry {}: {e}", dir.display()));
    }
    Ok((prepared, CacheOutcome::Miss { warnings }))
}

/// Writes `prepared` as `fingerprint`'s entry, atomically, replacing a
/// corrupt one when `replace` (a valid entry written meanwhile by another
/// process is kept).
fn store(cache_root: &Path, dir: &Path, prepared: &Prepared, replace: bool) -> Result<()> {
    fs::create_dir_all(cache_root).map_err(|e| DataError::io(cache_root, e))?;
    let tmp = cache_root.join(format!("{TMP_PREFIX}{}-{:016x}", std::process::id(), random_u64()));
    fs::create_dir(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let result = (|| {
        write_file(&tmp.join(FILE), prepared)?;
        sync_dir(&tmp);
        if replace && dir.exists() && read_file(&dir.join(FILE)).is_err() {
            // move the corrupt entry aside first, so the rename below can land
            let trash = cache_root.join(format!("{TMP_PREFIX}{}-{:016x}", std::process::id(), random_u64()));
            if fs::rename(dir, &trash).is_ok() {
                let _ = fs::remove_dir_all(&trash);
            }
        }
        match fs::rename(&tmp, dir) {
            Ok(()) => {
                sync_dir(cache_root);
                Ok(())
            }
            // another process won the race: its entry stands, ours goes
            Err(_) if dir.join(FILE).exists() => {
                let _ = fs::remove_dir_all(&tmp);
                Ok(())
            }
            Err(e) => Err(DataError::io(dir, e)),
        }
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn random_u64() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    crate::Rng::new(nanos ^ addr.rotate_left(32) ^ std::process::id() as u64).next_u64()
}

/// Removes `.tmp-<pid>-*` directories whose process no longer runs (on
/// Linux, by `/proc/<pid>`; elsewhere, those older than a day).
fn clean_stale_temps(cache_root: &Path, warnings: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(cache_root) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TMP_PREFIX)) else {
            continue;
        };
        let pid: Option<u32> = rest.split('-').next().and_then(|p| p.parse().ok());
        let alive = match pid {
            Some(p) if p == std::process::id() => true,
            Some(p) if Path::new("/proc/self").exists() => Path::new(&format!("/proc/{p}")).exists(),
            _ => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age.as_secs() < 86_400),
        };
        if !alive && let Err(e) = fs::remove_dir_all(entry.path()) {
            warnings.push(format!("could not remove the stale {}: {e}", entry.path().display()));
        }
    }
}

// ---------------------------------------------------------------- encoding

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Ty {
    U32 = 1,
    I64 = 2,
    F32 = 3,
    U64 = 4,
    Bytes = 5,
}

impl Ty {
    fn size(self) -> usize {
        match self {
            Ty::U32 | Ty::F32 => 4,
            Ty::I64 | Ty::U64 => 8,
            Ty::Bytes => 1,
        }
    }
    fn from_u8(b: u8) -> Option<Ty> {
        Some(match b {
            1 => Ty::U32,
            2 => Ty::I64,
            3 => Ty::F32,
            4 => Ty::U64,
            5 => Ty::Bytes,
            _ => return None,
        })
    }
}

#[derive(Default)]
struct Encoder {
    header: Vec<(String, Ty, u64)>,
    payload: Vec<u8>,
}

impl Encoder {
    fn col(&mut self, name: &str, ty: Ty, n: usize) {
        self.header.push((name.to_string(), ty, n as u64));
    }
    fn u32s(&mut self, name: &str, v: &[u32]) {
        self.col(name, Ty::U32, v.len());
        self.payload.reserve(v.len() * 4);
        v.iter().for_each(|x| self.payload.extend_from_slice(&x.to_le_bytes()));
    }
    fn i64s(&mut self, name: &str, v: &[i64]) {
        self.col(name, Ty::I64, v.len());
        v.iter().for_each(|x| self.payload.extend_from_slice(&x.to_le_bytes()));
    }
    fn f32s(&mut self, name: &str, v: &[f32]) {
        self.col(name, Ty::F32, v.len());
        v.iter().for_each(|x| self.payload.extend_from_slice(&x.to_le_bytes()));
    }
    fn u64s(&mut self, name: &str, v: &[u64]) {
        self.col(name, Ty::U64, v.len());
        v.iter().for_each(|x| self.payload.extend_from_slice(&x.to_le_bytes()));
    }
    fn bytes(&mut self, name: &str, v: &[u8]) {
        self.col(name, Ty::Bytes, v.len());
        self.payload.extend_from_slice(v);
    }
    fn csr(&mut self, name: &str, c: &Csr) {
        self.u64s(&format!("{name}.offsets"), &c.offsets);
        self.u32s(&format!("{name}.items"), &c.items);
    }
    fn split(&mut self, name: &str, s: &SplitRows) {
        self.u32s(&format!("{name}.row"), &s.row);
        self.u32s(&format!("{name}.user"), &s.user);
        self.u32s(&format!("{name}.item"), &s.item);
        if let Some(t) = &s.timestamp {
            self.i64s(&format!("{name}.timestamp"), t);
        }
        if let Some(l) = &s.label {
            self.f32s(&format!("{name}.label"), l);
        }
    }
    fn eval_seq(&mut self, name: &str, e: &EvalSequences) {
        self.u32s(&format!("{name}.inputs"), &e.inputs);
        self.u32s(&format!("{name}.lengths"), &e.lengths);
        self.u32s(&format!("{name}.targets"), &e.targets);
        if let Some(t) = &e.times {
            self.i64s(&format!("{name}.times"), t);
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + 4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        for (name, ty, n) in &self.header {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(*ty as u8);
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&(self.payload.len() as u64).to_le_bytes());
        let mut h = blake3::Hasher::new();
        h.update(&out);
        h.update(&self.payload);
        out.extend_from_slice(h.finalize().as_bytes());
        out.extend_from_slice(&self.payload);
        out
    }
}

fn encode(p: &Prepared) -> Vec<u8> {
    let mut e = Encoder::default();
    let protocol = serde_json::to_vec(&p.protocol).expect("a protocol serialises");
    e.bytes("protocol", &protocol);
    e.u64s("sizes", &[p.num_users as u64, p.num_items as u64]);
    e.split("train", &p.train);
    e.split("valid", &p.valid);
    e.split("test", &p.test);
    e.csr("positives", &p.positives);
    e.csr("train_items", &p.train_items);
    e.csr("exclude_valid", &p.exclude_valid);
    e.csr("exclude_test", &p.exclude_test);
    for (name, c) in [("valid_candidates", &p.valid_candidates), ("test_candidates", &p.test_candidates)] {
        if let Some(c) = c {
            e.u64s(&format!("{name}.per_row"), &[c.per_row as u64]);
            e.u32s(&format!("{name}.items"), &c.items);
        }
    }
    if let Some(s) = &p.sequences {
        e.u64s("seq.max_len", &[s.max_len as u64]);
        e.csr("seq.train", &s.train);
        if let Some(t) = &s.train_times {
            e.i64s("seq.train.times", t);
        }
        e.eval_seq("seq.valid", &s.valid);
        e.eval_seq("seq.test", &s.test);
    }
    e.u32s("item_popularity", &p.item_popularity);
    e.finish()
}

/// Writes `prepared` to `path` in the cache format and fsyncs it.
pub fn write_file(path: &Path, prepared: &Prepared) -> Result<()> {
    let bytes = encode(prepared);
    let mut f = File::create(path).map_err(|e| DataError::io(path, e))?;
    f.write_all(&bytes).map_err(|e| DataError::io(path, e))?;
    f.sync_all().map_err(|e| DataError::io(path, e))
}

/// Why a cache file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheReadError {
    #[error("cannot read it: {0}")]
    Io(String),
    #[error("it is corrupt: {0}")]
    Corrupt(String),
    #[error("it was written by format version {found}, this is version {FORMAT_VERSION}")]
    Version { found: u32 },
}

/// Reads and verifies a file written by [`write_file`].
pub fn read_file(path: &Path) -> std::result::Result<Prepared, CacheReadError> {
    let bytes = fs::read(path).map_err(|e| CacheReadError::Io(e.to_string()))?;
    decode(&bytes)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], CacheReadError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or_else(|| {
            CacheReadError::Corrupt(format!("truncated at byte {} ({} bytes)", self.at, self.b.len()))
        })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> std::result::Result<u8, CacheReadError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> std::result::Result<u16, CacheReadError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> std::result::Result<u32, CacheReadError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> std::result::Result<u64, CacheReadError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
}

struct Columns<'a> {
    cols: Vec<(String, Ty, &'a [u8])>,
}

fn corrupt(m: impl Into<String>) -> CacheReadError {
    CacheReadError::Corrupt(m.into())
}

impl<'a> Columns<'a> {
    fn find(&self, name: &str, ty: Ty) -> std::result::Result<Option<&'a [u8]>, CacheReadError> {
        match self.cols.iter().find(|c| c.0 == name) {
            None => Ok(None),
            Some((_, t, b)) if *t == ty => Ok(Some(b)),
            Some((_, t, _)) => Err(corrupt(format!("column `{name}` has type {t:?}, expected {ty:?}"))),
        }
    }
    fn need(&self, name: &str, ty: Ty) -> std::result::Result<&'a [u8], CacheReadError> {
        self.find(name, ty)?.ok_or_else(|| corrupt(format!("column `{name}` is missing")))
    }
    fn opt_u32(&self, name: &str) -> std::result::Result<Option<Vec<u32>>, CacheReadError> {
        Ok(self.find(name, Ty::U32)?.map(|b| b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect()))
    }
    fn u32s(&self, name: &str) -> std::result::Result<Vec<u32>, CacheReadError> {
        self.opt_u32(name)?.ok_or_else(|| corrupt(format!("column `{name}` is missing")))
    }
    fn opt_i64(&self, name: &str) -> std::result::Result<Option<Vec<i64>>, CacheReadError> {
        Ok(self.find(name, Ty::I64)?.map(|b| b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()))
    }
    fn opt_f32(&self, name: &str) -> std::result::Result<Option<Vec<f32>>, CacheReadError> {
        Ok(self.find(name, Ty::F32)?.map(|b| b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()))
    }
    fn opt_u64(&self, name: &str) -> std::result::Result<Option<Vec<u64>>, CacheReadError> {
        Ok(self.find(name, Ty::U64)?.map(|b| b.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect()))
    }
    fn u64s(&self, name: &str) -> std::result::Result<Vec<u64>, CacheReadError> {
        self.opt_u64(name)?.ok_or_else(|| corrupt(format!("column `{name}` is missing")))
    }
    fn scalar(&self, name: &str) -> std::result::Result<Option<u64>, CacheReadError> {
        match self.opt_u64(name)? {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(Some(v[0])),
            Some(_) => Err(corrupt(format!("column `{name}` is not a scalar"))),
        }
    }
    fn csr(&self, name: &str, users: usize) -> std::result::Result<Csr, CacheReadError> {
        let c = Csr {
            offsets: self.u64s(&format!("{name}.offsets"))?,
            items: self.u32s(&format!("{name}.items"))?,
        };
        let ok = c.offsets.len() == users + 1
            && c.offsets[0] == 0
            && c.offsets.windows(2).all(|w| w[0] <= w[1])
            && c.offsets[users] == c.items.len() as u64;
        if !ok {
            return Err(corrupt(format!("`{name}` has inconsistent offsets")));
        }
        Ok(c)
    }
    fn split(&self, name: &str) -> std::result::Result<SplitRows, CacheReadError> {
        let s = SplitRows {
            row: self.u32s(&format!("{name}.row"))?,
            user: self.u32s(&format!("{name}.user"))?,
            item: self.u32s(&format!("{name}.item"))?,
            timestamp: self.opt_i64(&format!("{name}.timestamp"))?,
            label: self.opt_f32(&format!("{name}.label"))?,
        };
        let n = s.user.len();
        if s.row.len() != n
            || s.item.len() != n
            || s.timestamp.as_ref().is_some_and(|t| t.len() != n)
            || s.label.as_ref().is_some_and(|t| t.len() != n)
        {
            return Err(corrupt(format!("the `{name}` columns differ in length")));
        }
        Ok(s)
    }
    fn eval_seq(&self, name: &str) -> std::result::Result<EvalSequences, CacheReadError> {
        Ok(EvalSequences {
            inputs: self.u32s(&format!("{name}.inputs"))?,
            lengths: self.u32s(&format!("{name}.lengths"))?,
            targets: self.u32s(&format!("{name}.targets"))?,
            times: self.opt_i64(&format!("{name}.times"))?,
        })
    }
}

fn decode(bytes: &[u8]) -> std::result::Result<Prepared, CacheReadError> {
    let mut r = Reader { b: bytes, at: 0 };
    if r.take(8).map_err(|_| corrupt("shorter than its magic number"))? != MAGIC {
        return Err(corrupt("not an attnlab prepared-data file (bad magic number)"));
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(CacheReadError::Version { found: version });
    }
    let ncols = r.u32()? as usize;
    let mut header = Vec::with_capacity(ncols.min(1024));
    let mut expected = 0u64;
    for _ in 0..ncols {
        let len = r.u16()? as usize;
        let name = std::str::from_utf8(r.take(len)?).map_err(|_| corrupt("a column name is not UTF-8"))?.to_string();
        let ty = Ty::from_u8(r.u8()?).ok_or_else(|| corrupt(format!("column `{name}` has an unknown type")))?;
        let n = r.u64()?;
        let size = n.checked_mul(ty.size() as u64).ok_or_else(|| corrupt("column size overflows"))?;
        expected = expected.checked_add(size).ok_or_else(|| corrupt("payload size overflows"))?;
        header.push((name, ty, size));
    }
    let payload_len = r.u64()?;
    if payload_len != expected {
        return Err(corrupt(format!("payload length {payload_len} does not match its columns ({expected})")));
    }
    let header_end = r.at;
    let checksum = r.take(32)?;
    let payload = r.take(payload_len as usize)?;
    if r.at != bytes.len() {
        return Err(corrupt(format!("{} trailing bytes", bytes.len() - r.at)));
    }
    let mut h = blake3::Hasher::new();
    h.update(&bytes[..header_end]);
    h.update(payload);
    if h.finalize().as_bytes() != checksum {
        return Err(corrupt("blake3 checksum mismatch"));
    }
    let mut at = 0usize;
    let cols = Columns {
        cols: header
            .into_iter()
            .map(|(name, ty, size)| {
                let s = &payload[at..at + size as usize];
                at += size as usize;
                (name, ty, s)
            })
            .collect(),
    };
    let protocol: Protocol = serde_json::from_slice(cols.need("protocol", Ty::Bytes)?)
        .map_err(|e| corrupt(format!("protocol: {e}")))?;
    let sizes = cols.u64s("sizes")?;
    let [num_users, num_items] = sizes[..] else {
        return Err(corrupt("`sizes` must hold two values"));
    };
    let (num_users, num_items) = (num_users as usize, num_items as usize);
    let candidates = |name: &str| -> std::result::Result<Option<SampledCandidates>, CacheReadError> {
        match cols.scalar(&format!("{name}.per_row"))? {
            None => Ok(None),
            Some(per_row) => Ok(Some(SampledCandidates {
                per_row: per_row as usize,
                items: cols.u32s(&format!("{name}.items"))?,
            })),
        }
    };
    let sequences = match cols.scalar("seq.max_len")? {
        None => None,
        Some(max_len) => Some(SequenceData {
            max_len: max_len as usize,
            train: cols.csr("seq.train", num_users)?,
            train_times: cols.opt_i64("seq.train.times")?,
            valid: cols.eval_seq("seq.valid")?,
            test: cols.eval_seq("seq.test")?,
        }),
    };
    if let Some(s) = &sequences {
        let width = s.max_len + 1;
        let eval_ok = |e: &EvalSequences| e.times.as_ref().is_none_or(|t| t.len() == e.targets.len() * width);
        if s.train_times.as_ref().is_some_and(|t| t.len() != s.train.items.len()) || !eval_ok(&s.valid) || !eval_ok(&s.test) {
            return Err(corrupt("the sequence timestamps differ in length from their items"));
        }
    }
    Ok(Prepared {
        protocol,
        num_users,
        num_items,
        train: cols.split("train")?,
        valid: cols.split("valid")?,
        test: cols.split("test")?,
        positives: cols.csr("positives", num_users)?,
        train_items: cols.csr("train_items", num_users)?,
        exclude_valid: cols.csr("exclude_valid", num_users)?,
        exclude_test: cols.csr("exclude_test", num_users)?,
        valid_candidates: candidates("valid_candidates")?,
        test_candidates: candidates("test_candidates")?,
        sequences,
        item_popularity: cols.u32s("item_popularity")?,
    })
}
