//! The cache file's columns, streamed both ways (format in the parent
//! module's docs): never the whole file in memory next to the `Prepared`
//! it holds, so reading or writing a cache costs the data itself plus a
//! buffer.
//!
//! Writing makes three passes over the data: the header (column names,
//! types and lengths, so the payload length), the blake3 checksum of header
//! and payload, then the file. Reading checks the file's length against
//! its header before reading a column (a truncated file is refused
//! unread), decodes each column into its typed vector while hashing, and
//! returns nothing unless the checksum matches.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::{CacheReadError, MAGIC};
use crate::fingerprint::FORMAT_VERSION;
use crate::protocol::{Csr, EvalSequences, Prepared, Protocol, SampledCandidates, SequenceData, SplitRows};
use crate::{DataError, Result};

/// Values converted per write or read call.
const CHUNK: usize = 1 << 16;

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

// ---------------------------------------------------------------- writing

/// Encodes columns into `sink`, recording the header as it goes.
struct Encoder<'w> {
    header: Vec<(String, Ty, u64)>,
    payload_len: u64,
    sink: &'w mut dyn Write,
    /// The sink's first error; later writes are skipped.
    error: Option<std::io::Error>,
}

impl<'w> Encoder<'w> {
    fn new(sink: &'w mut dyn Write) -> Encoder<'w> {
        Encoder { header: Vec::new(), payload_len: 0, sink, error: None }
    }
    fn write(&mut self, bytes: &[u8]) {
        self.payload_len += bytes.len() as u64;
        if self.error.is_none()
            && let Err(e) = self.sink.write_all(bytes)
        {
            self.error = Some(e);
        }
    }
    fn values<T: Copy, const N: usize>(&mut self, name: &str, ty: Ty, v: &[T], le: fn(T) -> [u8; N]) {
        self.header.push((name.to_string(), ty, v.len() as u64));
        let mut buf = Vec::with_capacity(CHUNK.min(v.len()) * N);
        for chunk in v.chunks(CHUNK) {
            buf.clear();
            chunk.iter().for_each(|&x| buf.extend_from_slice(&le(x)));
            self.write(&buf);
        }
    }
    fn u32s(&mut self, name: &str, v: &[u32]) {
        self.values(name, Ty::U32, v, u32::to_le_bytes);
    }
    fn i64s(&mut self, name: &str, v: &[i64]) {
        self.values(name, Ty::I64, v, i64::to_le_bytes);
    }
    fn f32s(&mut self, name: &str, v: &[f32]) {
        self.values(name, Ty::F32, v, f32::to_le_bytes);
    }
    fn u64s(&mut self, name: &str, v: &[u64]) {
        self.values(name, Ty::U64, v, u64::to_le_bytes);
    }
    fn bytes(&mut self, name: &str, v: &[u8]) {
        self.header.push((name.to_string(), Ty::Bytes, v.len() as u64));
        self.write(v);
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

    /// Magic, version, columns and payload length: what precedes the checksum.
    fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        for (name, ty, n) in &self.header {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.push(*ty as u8);
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&self.payload_len.to_le_bytes());
        out
    }

    fn done(self) -> std::io::Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Every column of `p`, in file order.
fn encode(p: &Prepared, e: &mut Encoder) {
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
}

/// Writes `prepared` to `path` in the cache format and fsyncs it.
pub fn write_file(path: &Path, prepared: &Prepared) -> Result<()> {
    let io = |e: std::io::Error| DataError::io(path, e);
    let mut nothing = std::io::sink();
    let mut layout = Encoder::new(&mut nothing);
    encode(prepared, &mut layout);
    let header = layout.header_bytes();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&header);
    let mut hashing = Encoder::new(&mut hasher);
    encode(prepared, &mut hashing);
    hashing.done().map_err(io)?;
    let checksum = hasher.finalize();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io)?);
    out.write_all(&header).map_err(io)?;
    out.write_all(checksum.as_bytes()).map_err(io)?;
    let mut payload = Encoder::new(&mut out);
    encode(prepared, &mut payload);
    payload.done().map_err(io)?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

// ---------------------------------------------------------------- reading

fn corrupt(m: impl Into<String>) -> CacheReadError {
    CacheReadError::Corrupt(m.into())
}

/// The file, read in order, hashing what it is told to.
struct Stream {
    r: BufReader<File>,
    hasher: blake3::Hasher,
    at: u64,
    len: u64,
}

impl Stream {
    fn fill(&mut self, buf: &mut [u8], hash: bool) -> std::result::Result<(), CacheReadError> {
        if self.at + buf.len() as u64 > self.len {
            return Err(corrupt(format!("truncated at byte {} ({} bytes)", self.at, self.len)));
        }
        self.r.read_exact(buf).map_err(|e| CacheReadError::Io(e.to_string()))?;
        self.at += buf.len() as u64;
        if hash {
            self.hasher.update(buf);
        }
        Ok(())
    }
    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], CacheReadError> {
        let mut b = [0u8; N];
        self.fill(&mut b, true)?;
        Ok(b)
    }
    fn values<T, const N: usize>(&mut self, n: u64, le: fn([u8; N]) -> T) -> std::result::Result<Vec<T>, CacheReadError> {
        let mut out = Vec::with_capacity(n as usize);
        let mut buf = vec![0u8; CHUNK.min(n as usize) * N];
        let mut left = n as usize;
        while left > 0 {
            let k = left.min(CHUNK);
            let b = &mut buf[..k * N];
            self.fill(b, true)?;
            out.extend(b.chunks_exact(N).map(|c| le(c.try_into().expect("N bytes"))));
            left -= k;
        }
        Ok(out)
    }
    fn column(&mut self, ty: Ty, n: u64) -> std::result::Result<Values, CacheReadError> {
        Ok(match ty {
            Ty::U32 => Values::U32(self.values(n, u32::from_le_bytes)?),
            Ty::I64 => Values::I64(self.values(n, i64::from_le_bytes)?),
            Ty::F32 => Values::F32(self.values(n, f32::from_le_bytes)?),
            Ty::U64 => Values::U64(self.values(n, u64::from_le_bytes)?),
            Ty::Bytes => Values::Bytes(self.values(n, |[b]: [u8; 1]| b)?),
        })
    }
}

/// One decoded column.
enum Values {
    U32(Vec<u32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    U64(Vec<u64>),
    Bytes(Vec<u8>),
}

impl Values {
    fn ty(&self) -> Ty {
        match self {
            Values::U32(_) => Ty::U32,
            Values::I64(_) => Ty::I64,
            Values::F32(_) => Ty::F32,
            Values::U64(_) => Ty::U64,
            Values::Bytes(_) => Ty::Bytes,
        }
    }
}

/// The decoded columns, each taken out once by the `Prepared` it fills.
struct Columns {
    cols: Vec<(String, Values)>,
}

macro_rules! typed {
    ($opt:ident, $variant:ident, $t:ty) => {
        fn $opt(&mut self, name: &str) -> std::result::Result<Option<Vec<$t>>, CacheReadError> {
            match self.take(name, Ty::$variant)? {
                Some(Values::$variant(v)) => Ok(Some(v)),
                _ => Ok(None),
            }
        }
    };
}

/// A column that must be there.
fn need<T>(name: &str, v: Option<Vec<T>>) -> std::result::Result<Vec<T>, CacheReadError> {
    v.ok_or_else(|| corrupt(format!("column `{name}` is missing")))
}

impl Columns {
    fn take(&mut self, name: &str, ty: Ty) -> std::result::Result<Option<Values>, CacheReadError> {
        match self.cols.iter().position(|c| c.0 == name) {
            None => Ok(None),
            Some(i) if self.cols[i].1.ty() == ty => Ok(Some(self.cols.swap_remove(i).1)),
            Some(i) => Err(corrupt(format!("column `{name}` has type {:?}, expected {ty:?}", self.cols[i].1.ty()))),
        }
    }
    typed!(opt_u32, U32, u32);
    typed!(opt_i64, I64, i64);
    typed!(opt_f32, F32, f32);
    typed!(opt_u64, U64, u64);
    typed!(opt_bytes, Bytes, u8);

    fn u32s(&mut self, name: &str) -> std::result::Result<Vec<u32>, CacheReadError> {
        need(name, self.opt_u32(name)?)
    }
    fn u64s(&mut self, name: &str) -> std::result::Result<Vec<u64>, CacheReadError> {
        need(name, self.opt_u64(name)?)
    }

    fn scalar(&mut self, name: &str) -> std::result::Result<Option<u64>, CacheReadError> {
        match self.opt_u64(name)? {
            None => Ok(None),
            Some(v) if v.len() == 1 => Ok(Some(v[0])),
            Some(_) => Err(corrupt(format!("column `{name}` is not a scalar"))),
        }
    }
    fn csr(&mut self, name: &str, users: usize) -> std::result::Result<Csr, CacheReadError> {
        let c = Csr { offsets: self.u64s(&format!("{name}.offsets"))?, items: self.u32s(&format!("{name}.items"))? };
        let ok = c.offsets.len() == users + 1
            && c.offsets[0] == 0
            && c.offsets.windows(2).all(|w| w[0] <= w[1])
            && c.offsets[users] == c.items.len() as u64;
        if !ok {
            return Err(corrupt(format!("`{name}` has inconsistent offsets")));
        }
        Ok(c)
    }
    fn split(&mut self, name: &str) -> std::result::Result<SplitRows, CacheReadError> {
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
    fn eval_seq(&mut self, name: &str) -> std::result::Result<EvalSequences, CacheReadError> {
        Ok(EvalSequences {
            inputs: self.u32s(&format!("{name}.inputs"))?,
            lengths: self.u32s(&format!("{name}.lengths"))?,
            targets: self.u32s(&format!("{name}.targets"))?,
            times: self.opt_i64(&format!("{name}.times"))?,
        })
    }
    fn candidates(&mut self, name: &str) -> std::result::Result<Option<SampledCandidates>, CacheReadError> {
        match self.scalar(&format!("{name}.per_row"))? {
            None => Ok(None),
            Some(per_row) => Ok(Some(SampledCandidates { per_row: per_row as usize, items: self.u32s(&format!("{name}.items"))? })),
        }
    }
}

/// Reads and verifies a file written by [`write_file`].
pub fn read_file(path: &Path) -> std::result::Result<Prepared, CacheReadError> {
    let io = |e: std::io::Error| CacheReadError::Io(e.to_string());
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut s = Stream { r: BufReader::with_capacity(1 << 20, file), hasher: blake3::Hasher::new(), at: 0, len };
    if s.array::<8>().map_err(|_| corrupt("shorter than its magic number"))? != *MAGIC {
        return Err(corrupt("not an attnlab prepared-data file (bad magic number)"));
    }
    let version = u32::from_le_bytes(s.array()?);
    if version != FORMAT_VERSION {
        return Err(CacheReadError::Version { found: version });
    }
    let ncols = u32::from_le_bytes(s.array()?) as usize;
    let mut header = Vec::with_capacity(ncols.min(1024));
    let mut expected = 0u64;
    for _ in 0..ncols {
        let mut name = vec![0u8; u16::from_le_bytes(s.array()?) as usize];
        s.fill(&mut name, true)?;
        let name = String::from_utf8(name).map_err(|_| corrupt("a column name is not UTF-8"))?;
        let [ty] = s.array()?;
        let ty = Ty::from_u8(ty).ok_or_else(|| corrupt(format!("column `{name}` has an unknown type")))?;
        let n = u64::from_le_bytes(s.array()?);
        let size = n.checked_mul(ty.size() as u64).ok_or_else(|| corrupt("column size overflows"))?;
        expected = expected.checked_add(size).ok_or_else(|| corrupt("payload size overflows"))?;
        header.push((name, ty, n));
    }
    let payload_len = u64::from_le_bytes(s.array()?);
    if payload_len != expected {
        return Err(corrupt(format!("payload length {payload_len} does not match its columns ({expected})")));
    }
    // the whole file's length is known now: a short one is refused unread
    let total = s.at + 32 + payload_len;
    if len < total {
        return Err(corrupt(format!("truncated at byte {len} (its header says {total} bytes)")));
    }
    if len > total {
        return Err(corrupt(format!("{} trailing bytes", len - total)));
    }
    let mut checksum = [0u8; 32];
    s.fill(&mut checksum, false)?;
    let mut cols = Columns { cols: Vec::with_capacity(header.len()) };
    for (name, ty, n) in header {
        let values = s.column(ty, n)?;
        cols.cols.push((name, values));
    }
    if s.hasher.finalize().as_bytes() != &checksum {
        return Err(corrupt("blake3 checksum mismatch"));
    }
    decode(cols)
}

/// The `Prepared` of verified columns.
fn decode(mut cols: Columns) -> std::result::Result<Prepared, CacheReadError> {
    let protocol: Protocol = serde_json::from_slice(&need("protocol", cols.opt_bytes("protocol")?)?).map_err(|e| corrupt(format!("protocol: {e}")))?;
    let sizes = cols.u64s("sizes")?;
    let [num_users, num_items] = sizes[..] else {
        return Err(corrupt("`sizes` must hold two values"));
    };
    let (num_users, num_items) = (num_users as usize, num_items as usize);
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
        valid_candidates: cols.candidates("valid_candidates")?,
        test_candidates: cols.candidates("test_candidates")?,
        sequences,
        item_popularity: cols.u32s("item_popularity")?,
    })
}
