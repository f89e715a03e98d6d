//! The fields of a real click log beyond the four role fields (user, item,
//! category, position): any number of categorical fields (ids) and numeric
//! fields (values). The simulator has none; a Criteo log has up to 39.
//!
//! Categorical ids follow the token-feature convention of
//! [`crate::Vocab`]: 0 is padding (never in a loaded log, where an empty
//! value is its own token), 1 the out-of-vocabulary id of a `min_count`
//! recode ([`crate::preprocess::MinCount`]), tokens from 2.

/// The values of the extra fields, one column per field, row-aligned with
/// the [`crate::Impressions`] that holds them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtraColumns {
    /// One id column per categorical field, in [`ExtraFields::categorical`] order.
    pub categorical: Vec<Vec<u32>>,
    /// One value column per numeric field (finite: missing values are
    /// filled when the log is encoded), in [`ExtraFields::numeric`] order.
    pub numeric: Vec<Vec<f32>>,
}

impl ExtraColumns {
    pub fn is_empty(&self) -> bool {
        self.categorical.is_empty() && self.numeric.is_empty()
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ExtraColumns {
        fn pick<T: Copy>(col: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().map(|&i| col[i]).collect()
        }
        ExtraColumns {
            categorical: self.categorical.iter().map(|c| pick(c, indices)).collect(),
            numeric: self.numeric.iter().map(|c| pick(c, indices)).collect(),
        }
    }

    /// Rows `..a`, `a..b` and `b..`, moving the columns (see
    /// [`crate::Impressions::cut_in_three`]).
    pub fn cut_in_three(self, a: usize, b: usize) -> [ExtraColumns; 3] {
        let mut parts: [ExtraColumns; 3] = Default::default();
        for column in self.categorical {
            for (part, rows) in parts.iter_mut().zip(crate::impressions::cut_column(column, a, b)) {
                part.categorical.push(rows);
            }
        }
        for column in self.numeric {
            for (part, rows) in parts.iter_mut().zip(crate::impressions::cut_column(column, a, b)) {
                part.numeric.push(rows);
            }
        }
        parts
    }

    /// Reserves room for `rows` more rows in every column.
    pub fn reserve(&mut self, rows: usize) {
        self.categorical.iter_mut().for_each(|c| c.reserve(rows));
        self.numeric.iter_mut().for_each(|c| c.reserve(rows));
    }
}

/// A categorical field: its name (the log's column) and id space (rows of
/// its embedding table, reserved ids included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoricalField {
    pub name: String,
    pub size: usize,
}

/// The schema of the extra fields: what a model builds its tables for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraFields {
    pub categorical: Vec<CategoricalField>,
    /// Names of the numeric fields.
    pub numeric: Vec<String>,
}

impl ExtraFields {
    /// No extra field: the simulator's impressions.
    pub const NONE: ExtraFields = ExtraFields { categorical: Vec::new(), numeric: Vec::new() };

    pub fn is_empty(&self) -> bool {
        self.categorical.is_empty() && self.numeric.is_empty()
    }

    /// Number of fields, categorical and numeric.
    pub fn len(&self) -> usize {
        self.categorical.len() + self.numeric.len()
    }

    /// Field names: the categorical fields, then the numeric ones (the
    /// order in which models stack them).
    pub fn names(&self) -> Vec<String> {
        self.categorical.iter().map(|f| f.name.clone()).chain(self.numeric.iter().cloned()).collect()
    }
}
