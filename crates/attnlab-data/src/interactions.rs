//! The columnar interaction table of real data sets, its token vocabularies
//! and the side-feature tables of users and items.
//!
//! # Id convention
//!
//! The same as the simulator's [`Impressions`](crate::Impressions):
//!
//! - **users** are dense and 0-based: `0..users.len()`, no padding row;
//! - **items** are dense and 1-based: id 0 is [`PAD`](crate::PAD), so item
//!   embedding tables have `items.id_space()` = items + 1 rows;
//! - **token features** (side features, CTR categorical columns) are 1-based
//!   too: 0 is padding / missing. A vocabulary recoded with a `min_count`
//!   ([`crate::preprocess::MinCount`]) reserves 1 for out-of-vocabulary tokens.
//!
//! Ids are given in order of first appearance while loading (the `.inter`
//! file first, then `.user` / `.item`), so loading the same files always
//! gives the same ids.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast non-cryptographic hasher for token interning (the FxHash mix).
/// Token keys come from data files, not adversaries.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Raw token <-> dense id. The first `specials` ids are reserved (see the
/// module docs): 0 for user vocabularies, 1 (PAD) for items and token
/// features, 2 (PAD, OOV) after a `min_count` recode.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    tokens: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, FxBuild>,
    specials: u32,
}

impl PartialEq for Vocab {
    fn eq(&self, other: &Vocab) -> bool {
        self.specials == other.specials && self.tokens == other.tokens
    }
}

impl Vocab {
    /// The token shown for the padding id.
    pub const PAD_TOKEN: &'static str = "[PAD]";
    /// The token shown for the out-of-vocabulary id of a recoded vocabulary.
    pub const OOV_TOKEN: &'static str = "[OOV]";
    /// The token interned for an empty categorical value in CTR logs.
    pub const MISSING_TOKEN: &'static str = "[MISSING]";

    /// 0-based ids with no reserved id (users).
    pub fn unpadded() -> Vocab {
        Vocab {
            specials: 0,
            ..Vocab::default()
        }
    }

    /// 1-based ids, 0 = padding (items, token features).
    pub fn padded() -> Vocab {
        Vocab {
            specials: 1,
            ..Vocab::default()
        }
    }

    /// 0 = padding, 1 = out of vocabulary, tokens from 2.
    pub fn with_oov() -> Vocab {
        Vocab {
            specials: 2,
            ..Vocab::default()
        }
    }

    /// Number of reserved ids before the first token.
    pub fn specials(&self) -> u32 {
        self.specials
    }

    /// The OOV id, if this vocabulary has one.
    pub fn oov_id(&self) -> Option<u32> {
        (self.specials >= 2).then_some(1)
    }

    /// The id of `token`, adding it if new.
    #[inline]
    pub fn intern(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.index.get(token) {
            return id;
        }
        let id = self.specials + self.tokens.len() as u32;
        let boxed: Box<str> = token.into();
        self.tokens.push(boxed.clone());
        self.index.insert(boxed, id);
        id
    }

    #[inline]
    pub fn get(&self, token: &str) -> Option<u32> {
        self.index.get(token).copied()
    }

    /// The id of `token`, or the OOV id (or PAD when there is none).
    pub fn get_or_oov(&self, token: &str) -> u32 {
        self.get(token)
            .unwrap_or(self.oov_id().unwrap_or(crate::PAD))
    }

    /// The raw token of `id`; `None` for reserved ids and ids out of range.
    pub fn token(&self, id: u32) -> Option<&str> {
        id.checked_sub(self.specials)
            .and_then(|i| self.tokens.get(i as usize))
            .map(|t| &**t)
    }

    /// The token of `id` for display, naming reserved ids.
    pub fn display(&self, id: u32) -> &str {
        match self.token(id) {
            Some(t) => t,
            None if id == 0 && self.specials >= 1 => Self::PAD_TOKEN,
            None if id == 1 && self.specials >= 2 => Self::OOV_TOKEN,
            None => "?",
        }
    }

    /// Number of real tokens (excluding reserved ids).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Number of ids including the reserved ones: the rows of an embedding
    /// table over this vocabulary.
    pub fn id_space(&self) -> usize {
        self.specials as usize + self.tokens.len()
    }

    /// Tokens in id order (from the first non-reserved id).
    pub fn tokens(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tokens.iter().map(|t| &**t)
    }

    /// A vocabulary of the same kind holding only the ids for which `keep`
    /// is true, in id order, and the old-id -> new-id map (reserved ids map
    /// to themselves; dropped ids to `None`).
    pub fn retain(&self, mut keep: impl FnMut(u32) -> bool) -> (Vocab, Vec<Option<u32>>) {
        let mut out = Vocab {
            specials: self.specials,
            ..Vocab::default()
        };
        let mut map: Vec<Option<u32>> = (0..self.specials).map(Some).collect();
        for (i, t) in self.tokens.iter().enumerate() {
            let id = self.specials + i as u32;
            map.push(keep(id).then(|| out.intern(t)));
        }
        (out, map)
    }
}

/// The values of one column. Sequences are stored flat: row `r` holds
/// `values[offsets[r]..offsets[r + 1]]` (`offsets.len() == rows + 1`).
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Token ids in the column's vocabulary; 0 = missing.
    Token(Vec<u32>),
    TokenSeq {
        offsets: Vec<u32>,
        values: Vec<u32>,
    },
    /// NaN = missing.
    Float(Vec<f32>),
    FloatSeq {
        offsets: Vec<u32>,
        values: Vec<f32>,
    },
}

/// The four RecBole field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Token,
    TokenSeq,
    Float,
    FloatSeq,
}

impl FieldType {
    pub fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "token" => FieldType::Token,
            "token_seq" => FieldType::TokenSeq,
            "float" => FieldType::Float,
            "float_seq" => FieldType::FloatSeq,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Token => "token",
            FieldType::TokenSeq => "token_seq",
            FieldType::Float => "float",
            FieldType::FloatSeq => "float_seq",
        }
    }
}

impl ColumnData {
    pub fn new(kind: FieldType) -> ColumnData {
        match kind {
            FieldType::Token => ColumnData::Token(Vec::new()),
            FieldType::TokenSeq => ColumnData::TokenSeq {
                offsets: vec![0],
                values: Vec::new(),
            },
            FieldType::Float => ColumnData::Float(Vec::new()),
            FieldType::FloatSeq => ColumnData::FloatSeq {
                offsets: vec![0],
                values: Vec::new(),
            },
        }
    }

    pub fn kind(&self) -> FieldType {
        match self {
            ColumnData::Token(_) => FieldType::Token,
            ColumnData::TokenSeq { .. } => FieldType::TokenSeq,
            ColumnData::Float(_) => FieldType::Float,
            ColumnData::FloatSeq { .. } => FieldType::FloatSeq,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ColumnData::Token(v) => v.len(),
            ColumnData::Float(v) => v.len(),
            ColumnData::TokenSeq { offsets, .. } | ColumnData::FloatSeq { offsets, .. } => {
                offsets.len() - 1
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the missing value: PAD, NaN or an empty sequence.
    pub fn push_missing(&mut self) {
        match self {
            ColumnData::Token(v) => v.push(crate::PAD),
            ColumnData::Float(v) => v.push(f32::NAN),
            ColumnData::TokenSeq { offsets, values } => offsets.push(values.len() as u32),
            ColumnData::FloatSeq { offsets, values } => offsets.push(values.len() as u32),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ColumnData {
        fn seq<T: Copy>(offsets: &[u32], values: &[T], indices: &[usize]) -> (Vec<u32>, Vec<T>) {
            let mut o = Vec::with_capacity(indices.len() + 1);
            let mut v = Vec::new();
            o.push(0);
            for &i in indices {
                v.extend_from_slice(&values[offsets[i] as usize..offsets[i + 1] as usize]);
                o.push(v.len() as u32);
            }
            (o, v)
        }
        match self {
            ColumnData::Token(v) => ColumnData::Token(indices.iter().map(|&i| v[i]).collect()),
            ColumnData::Float(v) => ColumnData::Float(indices.iter().map(|&i| v[i]).collect()),
            ColumnData::TokenSeq { offsets, values } => {
                let (offsets, values) = seq(offsets, values, indices);
                ColumnData::TokenSeq { offsets, values }
            }
            ColumnData::FloatSeq { offsets, values } => {
                let (offsets, values) = seq(offsets, values, indices);
                ColumnData::FloatSeq { offsets, values }
            }
        }
    }

    /// Row `r` of a token sequence column.
    pub fn token_seq(&self, r: usize) -> Option<&[u32]> {
        match self {
            ColumnData::TokenSeq { offsets, values } => {
                Some(&values[offsets[r] as usize..offsets[r + 1] as usize])
            }
            _ => None,
        }
    }

    /// Row `r` of a float sequence column.
    pub fn float_seq(&self, r: usize) -> Option<&[f32]> {
        match self {
            ColumnData::FloatSeq { offsets, values } => {
                Some(&values[offsets[r] as usize..offsets[r + 1] as usize])
            }
            _ => None,
        }
    }
}

/// A named column; token columns carry their own vocabulary (padded: 0 =
/// missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
    /// `Some` for token and token_seq columns.
    pub vocab: Option<Vocab>,
}

impl Column {
    pub fn new(name: impl Into<String>, kind: FieldType) -> Column {
        let vocab = matches!(kind, FieldType::Token | FieldType::TokenSeq).then(Vocab::padded);
        Column {
            name: name.into(),
            data: ColumnData::new(kind),
            vocab,
        }
    }

    pub fn kind(&self) -> FieldType {
        self.data.kind()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Token ids of a token column.
    pub fn tokens(&self) -> Option<&[u32]> {
        match &self.data {
            ColumnData::Token(v) => Some(v),
            _ => None,
        }
    }

    /// Values of a float column.
    pub fn floats(&self) -> Option<&[f32]> {
        match &self.data {
            ColumnData::Float(v) => Some(v),
            _ => None,
        }
    }

    /// The raw token at row `r` of a token column (`None` when missing).
    pub fn token_str(&self, r: usize) -> Option<&str> {
        let id = *self.tokens()?.get(r)?;
        self.vocab.as_ref()?.token(id)
    }
}

/// Side features of users or items: row `id` describes the entity with that
/// dense id (so the item table's row 0 is the padding row, all missing).
/// Entities with no row in the feature file have missing values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureTable {
    pub columns: Vec<Column>,
}

impl FeatureTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Number of rows (the id space of the entity vocabulary).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The rows at `indices` (one per new id, in new-id order).
    pub fn select(&self, indices: &[usize]) -> FeatureTable {
        FeatureTable {
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    data: c.data.select(indices),
                    vocab: c.vocab.clone(),
                })
                .collect(),
        }
    }
}

/// One row per interaction, columnar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interactions {
    /// 0-based dense user id (see the module docs).
    pub user: Vec<u32>,
    /// 1-based dense item id; 0 is padding and never appears here.
    pub item: Vec<u32>,
    /// Seconds (or whatever unit the file uses), if the data has a time field.
    pub timestamp: Option<Vec<i64>>,
    /// Explicit rating, if the data has one.
    pub rating: Option<Vec<f32>>,
    /// 0/1 label, if the data has one or [`crate::preprocess::label_from_threshold`] made it.
    pub label: Option<Vec<f32>>,
    /// Other columns of the interaction file, row-aligned with `user`.
    pub extra: Vec<Column>,
    pub users: Vocab,
    pub items: Vocab,
    /// Side features indexed by user id (`users.id_space()` rows), if loaded.
    pub user_features: Option<FeatureTable>,
    /// Side features indexed by item id (`items.id_space()` rows), if loaded.
    pub item_features: Option<FeatureTable>,
}

impl Interactions {
    /// An empty table with the crate's id convention.
    pub fn empty() -> Interactions {
        Interactions {
            users: Vocab::unpadded(),
            items: Vocab::padded(),
            ..Interactions::default()
        }
    }

    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// Number of users in the vocabulary (some may have no rows after filtering).
    pub fn num_users(&self) -> usize {
        self.users.id_space()
    }

    /// Item id space including the padding id 0.
    pub fn num_items(&self) -> usize {
        self.items.id_space()
    }

    pub fn extra_column(&self, name: &str) -> Option<&Column> {
        self.extra.iter().find(|c| c.name == name)
    }

    /// The rows at `indices`, in that order; vocabularies and side features
    /// are kept as they are (ids do not change).
    pub fn select(&self, indices: &[usize]) -> Interactions {
        let pick = |v: &Vec<u32>| indices.iter().map(|&i| v[i]).collect();
        Interactions {
            user: pick(&self.user),
            item: pick(&self.item),
            timestamp: self
                .timestamp
                .as_ref()
                .map(|t| indices.iter().map(|&i| t[i]).collect()),
            rating: self
                .rating
                .as_ref()
                .map(|t| indices.iter().map(|&i| t[i]).collect()),
            label: self
                .label
                .as_ref()
                .map(|t| indices.iter().map(|&i| t[i]).collect()),
            extra: self
                .extra
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    data: c.data.select(indices),
                    vocab: c.vocab.clone(),
                })
                .collect(),
            users: self.users.clone(),
            items: self.items.clone(),
            user_features: self.user_features.clone(),
            item_features: self.item_features.clone(),
        }
    }

    /// Checks the internal invariants (equal column lengths, ids in range,
    /// feature tables sized to the vocabularies). Loaders and preprocessing
    /// keep them; this is for callers that build tables by hand.
    /// A broken invariant is [`crate::DataError::Invalid`] (`invalid interaction table: ...`).
    pub fn check(&self) -> crate::Result<()> {
        let invalid = |message: String| Err(crate::DataError::Invalid { what: "interaction table", message });
        let n = self.len();
        let lens = [
            ("item", Some(self.item.len())),
            ("timestamp", self.timestamp.as_ref().map(Vec::len)),
            ("rating", self.rating.as_ref().map(Vec::len)),
            ("label", self.label.as_ref().map(Vec::len)),
        ];
        for (name, len) in lens {
            if let Some(len) = len
                && len != n
            {
                return invalid(format!("column `{name}` has {len} rows, `user` has {n}"));
            }
        }
        for c in &self.extra {
            if c.len() != n {
                return invalid(format!(
                    "column `{}` has {} rows, `user` has {n}",
                    c.name,
                    c.len()
                ));
            }
        }
        if let Some(&u) = self.user.iter().find(|&&u| u as usize >= self.num_users()) {
            return invalid(format!("user id {u} out of range 0..{}", self.num_users()));
        }
        if let Some(&i) = self
            .item
            .iter()
            .find(|&&i| i == crate::PAD || i as usize >= self.num_items())
        {
            return invalid(format!("item id {i} out of range 1..{}", self.num_items()));
        }
        for (what, table, rows) in [
            ("user", &self.user_features, self.num_users()),
            ("item", &self.item_features, self.num_items()),
        ] {
            if let Some(t) = table {
                for c in &t.columns {
                    if c.len() != rows {
                        return invalid(format!(
                            "{what} feature `{}` has {} rows, expected {rows}",
                            c.name,
                            c.len()
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocab_conventions() {
        let mut users = Vocab::unpadded();
        assert_eq!(
            (
                users.intern("196"),
                users.intern("186"),
                users.intern("196")
            ),
            (0, 1, 0)
        );
        assert_eq!(users.id_space(), 2);
        let mut items = Vocab::padded();
        assert_eq!((items.intern("242"), items.intern("302")), (1, 2));
        assert_eq!(items.token(0), None);
        assert_eq!(items.display(0), Vocab::PAD_TOKEN);
        assert_eq!(items.token(2), Some("302"));
        assert_eq!(items.id_space(), 3);
        let mut oov = Vocab::with_oov();
        assert_eq!(oov.intern("a"), 2);
        assert_eq!(oov.get_or_oov("zzz"), 1);
        let (kept, map) = items.retain(|id| id == 2);
        assert_eq!(map, vec![Some(0), None, Some(1)]);
        assert_eq!(kept.token(1), Some("302"));
    }
}
