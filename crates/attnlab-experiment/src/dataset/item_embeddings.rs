//! `dataset.item_embeddings`: pretrained item vectors from a file, keyed by
//! the data's original item ids, in one of three forms (by the file's
//! extension):
//!
//! - `.csv`: one item a line, `item_id,v1,...,vD`, no header;
//! - `.npy`: a 2-D float matrix `[N, D]` (NumPy's `np.save`);
//! - `.safetensors`: the file's one 2-D float tensor `[N, D]` (or the one
//!   named `embeddings` among several).
//!
//! A matrix has no ids of its own: its key file (`key:`, default the file
//! name with its extension replaced by `.keys`) holds the original id of
//! row `k` on line `k + 1`. Every id appears once and every vector has the
//! same width; ids the data does not have are skipped and counted, items
//! without a vector get a zero vector (counted too).

use std::path::{Path, PathBuf};

use attnlab_data::Vocab;
use tch::{Kind, Tensor};

use crate::{ExperimentError, Result};

/// The vectors by item id (`items.id_space()` rows, PAD's zero).
pub(crate) struct Embeddings {
    pub dim: usize,
    pub vectors: Vec<f32>,
    pub present: Vec<bool>,
    /// Lines whose id the data does not have.
    pub unknown: usize,
}

impl Embeddings {
    /// Items of the data without a vector.
    pub fn missing(&self) -> usize {
        self.present.iter().skip(1).filter(|&&p| !p).count()
    }

    fn new(rows: usize, dim: usize) -> Embeddings {
        Embeddings { dim, vectors: vec![0.0; rows * dim], present: vec![false; rows], unknown: 0 }
    }

    /// Places the vector of original id `id` (unknown ids are counted).
    fn place(&mut self, items: &Vocab, id: &str, values: &[f32]) {
        match items.get(id) {
            Some(i) => {
                let i = i as usize;
                self.vectors[i * self.dim..(i + 1) * self.dim].copy_from_slice(values);
                self.present[i] = true;
            }
            None => self.unknown += 1,
        }
    }
}

/// The key file of a matrix `file`: `key` inside the data directory
/// `dir`, or `file` with the extension `.keys`.
pub(crate) fn key_path(dir: &Path, file: &str, key: Option<&str>) -> PathBuf {
    match key {
        Some(key) => dir.join(key),
        None => dir.join(file).with_extension("keys"),
    }
}

/// Reads `path` (its form by extension; `key` the key file of a matrix)
/// into vectors by the ids of `items`.
/// `what` (`item`, `user`) names an id in errors.
pub(crate) fn read_embeddings(path: &Path, key: &Path, items: &Vocab, what: &str) -> Result<Embeddings> {
    let matrix = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Tensor::read_npy(path).map_err(|e| bad(path, format!("not a readable .npy file ({e})")))?,
        Some("safetensors") => safetensors_matrix(path)?,
        _ => return read_csv(path, items, what),
    };
    let size = matrix.size();
    let [n, dim] = size[..] else {
        return Err(bad(path, format!("holds a {}-dimensional array {size:?}; expected a matrix [items, dim]", size.len())));
    };
    if !matches!(matrix.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) || dim == 0 {
        return Err(bad(path, format!("holds {:?} values of shape {size:?}; expected floats [items, dim]", matrix.kind())));
    }
    let values = Vec::<f32>::try_from(matrix.to_kind(Kind::Float).contiguous().view([-1])).map_err(|e| bad(path, e.to_string()))?;
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(path, format!("row {} holds a value that is not a finite number", k / dim as usize)));
    }
    let text = std::fs::read_to_string(key).map_err(|e| bad(key, format!("{e} (the ids of the rows of {}, one a line)", path.display())))?;
    let ids: Vec<(usize, &str)> = text.lines().enumerate().map(|(k, l)| (k + 1, l.trim())).filter(|(_, l)| !l.is_empty()).collect();
    if ids.len() != n as usize {
        return Err(bad(key, format!("{} ids for the {n} rows of {} (one id a row, in order)", ids.len(), path.display())));
    }
    let dim = dim as usize;
    let mut out = Embeddings::new(items.id_space(), dim);
    let mut seen = std::collections::HashSet::new();
    for (row, (line, id)) in ids.into_iter().enumerate() {
        if !seen.insert(id) {
            return Err(ExperimentError::bad(format!("{}:{line}: {what} `{id}` is listed twice", key.display())));
        }
        out.place(items, id, &values[row * dim..(row + 1) * dim]);
    }
    Ok(out)
}

/// The one float matrix of a safetensors file (or the one named
/// `embeddings`).
fn safetensors_matrix(path: &Path) -> Result<Tensor> {
    let mut tensors = Tensor::read_safetensors(path).map_err(|e| bad(path, format!("not a readable .safetensors file ({e})")))?;
    if let Some(k) = tensors.iter().position(|(name, _)| name == "embeddings") {
        return Ok(tensors.swap_remove(k).1);
    }
    match tensors.len() {
        1 => Ok(tensors.remove(0).1),
        n => {
            let names: Vec<&str> = tensors.iter().map(|(name, _)| name.as_str()).collect();
            Err(bad(path, format!("holds {n} tensors ({}); name the vectors `embeddings`", names.join(", "))))
        }
    }
}

fn bad(path: &Path, message: String) -> ExperimentError {
    ExperimentError::bad(format!("{}: {message}", path.display()))
}

fn read_csv(path: &Path, items: &Vocab, what: &str) -> Result<Embeddings> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e.to_string()))?;
    let mut out: Option<Embeddings> = None;
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |message: String| ExperimentError::bad(format!("{}:{}: {message}", path.display(), n + 1));
        let mut fields = line.split(',').map(str::trim);
        let id = fields.next().unwrap_or_default();
        let values = fields
            .enumerate()
            .map(|(k, v)| v.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| at(format!("{what} `{id}`: field {} (`{v}`) is not a finite number", k + 2))))
            .collect::<Result<Vec<f32>>>()?;
        let out = match &mut out {
            Some(out) if values.len() != out.dim => {
                return Err(at(format!("{what} `{id}` has {} values, the first line {} (every vector has the same dimension)", values.len(), out.dim)));
            }
            Some(out) => out,
            None if values.is_empty() => return Err(at(format!("{what} `{id}` has no values"))),
            None => out.insert(Embeddings::new(items.id_space(), values.len())),
        };
        if !seen.insert(id.to_string()) {
            return Err(at(format!("{what} `{id}` is listed twice")));
        }
        out.place(items, id, &values);
    }
    out.ok_or_else(|| bad(path, "no vectors (expected `id,v1,...,vD` lines)".into()))
}
