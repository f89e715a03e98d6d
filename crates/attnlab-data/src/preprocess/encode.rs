use crate::interactions::{Column, ColumnData, Vocab};
use crate::{DataError, Result};

/// A categorical recoding that keeps tokens seen at least `min_count` times
/// in the fitting rows (normally the training split) and sends the rest to
/// the OOV id 1. PAD stays 0; kept tokens get ids from 2 in their old order.
#[derive(Debug, Clone, PartialEq)]
pub struct MinCount {
    /// The new vocabulary (PAD 0, OOV 1, tokens from 2).
    pub vocab: Vocab,
    map: Vec<u32>,
}

impl MinCount {
    /// Counts the ids of `fit_ids` (ids of `vocab`). `min_count` 0 keeps
    /// every token of `vocab`, even unseen ones.
    pub fn fit(fit_ids: &[u32], vocab: &Vocab, min_count: usize) -> Result<MinCount> {
        let mut counts = vec![0usize; vocab.id_space()];
        for &id in fit_ids {
            match counts.get_mut(id as usize) {
                Some(c) => *c += 1,
                None => {
                    return Err(DataError::Invalid {
                        what: "categorical ids",
                        message: format!(
                            "id {id} is outside the vocabulary (0..{})",
                            vocab.id_space()
                        ),
                    });
                }
            }
        }
        let specials = vocab.specials();
        let mut out = Vocab::with_oov();
        let oov = 1;
        let map = (0..vocab.id_space() as u32)
            .map(|id| {
                if id < specials {
                    return id.min(oov); // PAD -> PAD, an old OOV -> OOV
                }
                if counts[id as usize] >= min_count {
                    out.intern(vocab.token(id).expect("id in range"))
                } else {
                    oov
                }
            })
            .collect();
        Ok(MinCount { vocab: out, map })
    }

    /// The new id of an old id (ids beyond the fitted vocabulary: OOV).
    #[inline]
    pub fn map(&self, id: u32) -> u32 {
        self.map.get(id as usize).copied().unwrap_or(1)
    }

    pub fn apply(&self, ids: &mut [u32]) {
        for id in ids {
            *id = self.map(*id);
        }
    }

    /// Recodes a token or token_seq column and gives it the new vocabulary.
    pub fn apply_column(&self, column: &mut Column) -> Result<()> {
        match &mut column.data {
            ColumnData::Token(ids) => self.apply(ids),
            ColumnData::TokenSeq { values, .. } => self.apply(values),
            _ => {
                return Err(DataError::Invalid {
                    what: "categorical encoding",
                    message: format!("column `{}` is not a token column", column.name),
                });
            }
        }
        column.vocab = Some(self.vocab.clone());
        Ok(())
    }
}

/// A numeric normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// `(x - min) / (max - min)`; a constant column becomes 0.
    MinMax,
    /// `(x - mean) / std` (population std); a constant column becomes 0.
    ZScore,
    /// `sign(x) * ln(1 + |x|)`: `log1p` for x >= 0, mirrored for the
    /// negative values of e.g. Criteo's I2. Needs no fitting.
    Log1p,
}

/// A fitted normalisation: fit on the training rows, apply to all splits.
/// NaN (missing) stays NaN and is ignored when fitting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalizer {
    pub norm: Norm,
    /// MinMax: min; ZScore: mean.
    pub shift: f64,
    /// MinMax: max - min; ZScore: std (0 for a constant column).
    pub scale: f64,
}

impl Normalizer {
    pub fn fit(values: &[f32], norm: Norm) -> Result<Normalizer> {
        if norm == Norm::Log1p {
            return Ok(Normalizer {
                norm,
                shift: 0.0,
                scale: 1.0,
            });
        }
        let finite = values.iter().filter(|x| x.is_finite()).map(|&x| x as f64);
        let (mut n, mut min, mut max, mut sum) = (0usize, f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for x in finite.clone() {
            n += 1;
            min = min.min(x);
            max = max.max(x);
            sum += x;
        }
        if n == 0 {
            return Err(DataError::Invalid {
                what: "normalisation",
                message: "no finite value to fit on".into(),
            });
        }
        Ok(match norm {
            Norm::MinMax => Normalizer {
                norm,
                shift: min,
                scale: max - min,
            },
            Norm::ZScore => {
                let mean = sum / n as f64;
                let var = finite.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
                Normalizer {
                    norm,
                    shift: mean,
                    scale: var.sqrt(),
                }
            }
            Norm::Log1p => unreachable!(),
        })
    }

    #[inline]
    pub fn transform(&self, x: f32) -> f32 {
        if x.is_nan() {
            return x;
        }
        let x = x as f64;
        let y = match self.norm {
            Norm::Log1p => x.signum() * x.abs().ln_1p(),
            _ if self.scale == 0.0 => 0.0,
            _ => (x - self.shift) / self.scale,
        };
        y as f32
    }

    pub fn apply(&self, values: &mut [f32]) {
        for x in values {
            *x = self.transform(*x);
        }
    }
}
