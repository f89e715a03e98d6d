//! Encoding a loaded click log's fields as FuxiCTR (the BARS benchmarks)
//! does: vocabularies with a minimum count and numeric preprocessing, both
//! fitted on the training rows only and applied to every row.

use crate::interactions::{Column, ColumnData, Vocab};
use crate::loaders::{CtrTable, DenseColumn};
use crate::{DataError, Result};

use super::{MinCount, Norm, Normalizer};

/// What becomes of a log's numeric columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumericEncoding {
    /// The values as they are; a missing value is 0.
    #[default]
    AsIs,
    /// Discretised into buckets ([`log_square_bucket`]) that become
    /// categorical fields (BARS's Criteo_x4 setting); a missing value is
    /// bucket 0.
    LogSquare,
    /// `(x - mean) / std` with the training rows' mean and std; a missing
    /// value is 0 (the mean).
    Standardise,
}

/// How a log's fields are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtrEncoding {
    /// A categorical value seen fewer times in the training rows becomes
    /// the OOV id 1 (FuxiCTR's `min_categr_count`); so does a value never
    /// seen there. 0 keeps every value of the file.
    pub min_count: usize,
    pub numeric: NumericEncoding,
}

/// FuxiCTR's `convert_to_bucket` for Criteo's integer columns: a value
/// above 2 becomes `floor(ln(x)²)`, others are truncated to an integer
/// (Criteo's I2 has small negative counts). The reczoo Criteo_x4 README
/// describes it as `floor(log2(x))`; the code that produced the BARS
/// numbers squares the natural log, and this follows the code.
pub fn log_square_bucket(x: f32) -> i64 {
    let x = x as f64;
    if x > 2.0 { x.ln().powi(2).floor() as i64 } else { x.trunc() as i64 }
}

/// Encodes `table` in place, fitting on its first `fit_rows` rows (the
/// temporal training split): with [`NumericEncoding::LogSquare`] every
/// numeric column moves to the end of `table.categorical` as bucket
/// tokens; then every categorical column is recoded with `min_count`
/// (PAD 0, OOV 1, tokens from 2); numeric columns left are preprocessed and
/// their missing values filled, so every value a model reads is finite.
pub fn encode_ctr_table(table: &mut CtrTable, fit_rows: usize, encoding: &CtrEncoding) -> Result<()> {
    let fit = fit_rows.min(table.len());
    if encoding.numeric == NumericEncoding::LogSquare {
        let dense = std::mem::take(&mut table.dense);
        table.categorical.extend(dense.iter().map(bucket_column));
    }
    for column in &mut table.categorical {
        let (ids, vocab) = match (&column.data, &column.vocab) {
            (ColumnData::Token(ids), Some(vocab)) => (ids, vocab),
            _ => {
                return Err(DataError::Invalid { what: "CTR column", message: format!("`{}` is not a token column", column.name) });
            }
        };
        MinCount::fit(&ids[..fit], vocab, encoding.min_count)?.apply_column(column)?;
    }
    for column in &mut table.dense {
        if encoding.numeric == NumericEncoding::Standardise {
            let normalizer = Normalizer::fit(&column.values[..fit], Norm::ZScore).map_err(|_| DataError::Invalid {
                what: "numeric column",
                message: format!("`{}` has no value in the training rows to standardise with", column.name),
            })?;
            normalizer.apply(&mut column.values);
        }
        for x in &mut column.values {
            if x.is_nan() {
                *x = 0.0;
            }
        }
    }
    Ok(())
}

/// A numeric column as the token column of its buckets (missing: bucket 0).
fn bucket_column(column: &DenseColumn) -> Column {
    let mut vocab = Vocab::padded();
    let ids = column
        .values
        .iter()
        .map(|&x| vocab.intern(&if x.is_nan() { 0 } else { log_square_bucket(x) }.to_string()))
        .collect();
    Column { name: column.name.clone(), data: ColumnData::Token(ids), vocab: Some(vocab) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_column(name: &str, tokens: &[&str]) -> Column {
        let mut vocab = Vocab::padded();
        let ids = tokens.iter().map(|t| vocab.intern(t)).collect();
        Column { name: name.into(), data: ColumnData::Token(ids), vocab: Some(vocab) }
    }

    fn table(tokens: &[&str], values: &[f32]) -> CtrTable {
        CtrTable {
            label: vec![0.0; tokens.len()],
            dense: vec![DenseColumn { name: "I1".into(), values: values.to_vec() }],
            categorical: vec![token_column("C1", tokens)],
            dwell_ms: None,
        }
    }

    fn ids(t: &CtrTable, i: usize) -> &[u32] {
        t.categorical[i].tokens().unwrap()
    }

    #[test]
    fn rare_and_unseen_values_share_the_oov_id() {
        // fitted on the first 6 rows: a x3, b x2, c x1; d only after them
        let mut t = table(&["a", "b", "a", "c", "b", "a", "d", "c", "a"], &[0.0; 9]);
        encode_ctr_table(&mut t, 6, &CtrEncoding { min_count: 2, numeric: NumericEncoding::AsIs }).unwrap();
        assert_eq!(ids(&t, 0), &[2, 3, 2, 1, 3, 2, 1, 1, 2], "c (once) and d (unseen in training) are OOV");
        let vocab = t.categorical[0].vocab.as_ref().unwrap();
        assert_eq!((vocab.id_space(), vocab.display(1), vocab.display(2)), (4, Vocab::OOV_TOKEN, "a"));

        let mut t = table(&["a", "b", "a", "c", "b", "a", "d", "c", "a"], &[0.0; 9]);
        encode_ctr_table(&mut t, 6, &CtrEncoding { min_count: 1, numeric: NumericEncoding::AsIs }).unwrap();
        assert_eq!(ids(&t, 0), &[2, 3, 2, 4, 3, 2, 1, 4, 2], "min_count 1 keeps every training value; d stays OOV");
    }

    #[test]
    fn log_square_buckets_follow_fuxictr() {
        let cases = [(0.0, 0), (1.0, 1), (2.0, 2), (-2.0, -2), (1.9, 1), (3.0, 1), (10.0, 5), (100.0, 21), (1e5, 132)];
        for (x, want) in cases {
            assert_eq!(log_square_bucket(x), want, "x = {x}");
        }
    }

    #[test]
    fn log_square_turns_numeric_columns_into_categorical_fields() {
        let mut t = table(&["a"; 5], &[f32::NAN, 3.0, 10.0, 0.0, 11.0]);
        encode_ctr_table(&mut t, 5, &CtrEncoding { min_count: 1, numeric: NumericEncoding::LogSquare }).unwrap();
        assert!(t.dense.is_empty());
        assert_eq!(t.categorical.len(), 2);
        assert_eq!(t.categorical[1].name, "I1");
        // buckets 0 (missing), 1, 5, 0, 5
        assert_eq!(ids(&t, 1), &[2, 3, 4, 2, 4]);
        assert_eq!(t.categorical[1].vocab.as_ref().unwrap().display(4), "5");
    }

    #[test]
    fn standardise_fits_on_training_rows_and_fills_missing_with_the_mean() {
        let mut t = table(&["a"; 5], &[1.0, f32::NAN, 3.0, 100.0, f32::NAN]);
        encode_ctr_table(&mut t, 3, &CtrEncoding { min_count: 1, numeric: NumericEncoding::Standardise }).unwrap();
        // training rows 1, NaN, 3: mean 2, population std 1
        assert_eq!(t.dense[0].values, vec![-1.0, 0.0, 1.0, 98.0, 0.0]);

        let mut t = table(&["a"; 3], &[f32::NAN, f32::NAN, 5.0]);
        let err = encode_ctr_table(&mut t, 2, &CtrEncoding { min_count: 1, numeric: NumericEncoding::Standardise }).unwrap_err();
        assert!(err.to_string().contains("`I1`"), "{err}");
    }

    #[test]
    fn as_is_keeps_values_and_fills_missing_with_zero() {
        let mut t = table(&["a"; 3], &[2.5, f32::NAN, -1.0]);
        encode_ctr_table(&mut t, 3, &CtrEncoding { min_count: 1, numeric: NumericEncoding::AsIs }).unwrap();
        assert_eq!(t.dense[0].values, vec![2.5, 0.0, -1.0]);
    }
}
