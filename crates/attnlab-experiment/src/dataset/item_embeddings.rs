//! `dataset.item_embeddings`: pretrained item vectors from a CSV file, one
//! item a line (`item_id,v1,...,vD`, no header), keyed by the data's
//! original item ids. Every line must have the first line's width and a
//! distinct known-or-unknown id; ids the data does not have are skipped and
//! counted, items without a line get a zero vector (counted too).

use std::path::Path;

use attnlab_data::Vocab;

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
}

pub(crate) fn read_embeddings(path: &Path, items: &Vocab) -> Result<Embeddings> {
    let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::bad(format!("{}: {e}", path.display())))?;
    let rows = items.id_space();
    let mut out = Embeddings { dim: 0, vectors: Vec::new(), present: vec![false; rows], unknown: 0 };
    let mut seen = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |message: String| ExperimentError::bad(format!("{}:{}: {message}", path.display(), n + 1));
        let mut fields = line.split(',').map(str::trim);
        let id = fields.next().unwrap_or_default();
        let values = fields
            .enumerate()
            .map(|(k, v)| v.parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| at(format!("item `{id}`: field {} (`{v}`) is not a finite number", k + 2))))
            .collect::<Result<Vec<f32>>>()?;
        if out.dim == 0 {
            if values.is_empty() {
                return Err(at(format!("item `{id}` has no values")));
            }
            out.dim = values.len();
            out.vectors = vec![0.0; rows * out.dim];
        } else if values.len() != out.dim {
            return Err(at(format!("item `{id}` has {} values, the first line {} (every vector has the same dimension)", values.len(), out.dim)));
        }
        if !seen.insert(id.to_string()) {
            return Err(at(format!("item `{id}` is listed twice")));
        }
        match items.get(id) {
            Some(i) => {
                let i = i as usize;
                out.vectors[i * out.dim..(i + 1) * out.dim].copy_from_slice(&values);
                out.present[i] = true;
            }
            None => out.unknown += 1,
        }
    }
    if out.dim == 0 {
        return Err(ExperimentError::bad(format!("{}: no vectors (expected `item_id,v1,...,vD` lines)", path.display())));
    }
    Ok(out)
}
