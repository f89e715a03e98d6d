//! The built-in text featurizer: a text column (a title, a description)
//! becomes a bag of hashed word uni- and bi-grams in a fixed number of
//! buckets, a token sequence column a model mean-pools like any other
//! (`item_features: ["text:movie_title"]`). Hashing needs no vocabulary, so
//! a word only cold items have still lands in a bucket that warm items with
//! the same word trained, and "Star Wars" and "Star Trek" share the bucket
//! of `star` while keeping their bigrams apart.
//!
//! The text of a row is its token (a token column) or its tokens joined by
//! spaces (a token sequence column, as RecBole splits `movie_title`);
//! words are its runs of letters and digits, lowercased.

use crate::{Column, ColumnData, DataError, Result, Vocab};

/// Buckets of a hashed bag unless a spec names another number.
pub const TEXT_BUCKETS: usize = 4096;

/// The hashed uni- and bi-gram bag of each row of `column` (a token or
/// token sequence column) in `buckets` buckets: a token sequence column
/// named `text:<name>` whose tokens are `#0`..`#{buckets-1}` (0 padding).
/// A row without text has an empty bag.
pub fn hashed_ngrams(column: &Column, buckets: usize) -> Result<Column> {
    let invalid = |message: String| DataError::Invalid { what: "text feature", message };
    if buckets == 0 {
        return Err(invalid(format!("`{}`: the bag needs at least one bucket", column.name)));
    }
    let vocab_of = column.vocab.as_ref();
    let text_of = |ids: &[u32]| -> String {
        ids.iter().filter(|&&t| t != 0).filter_map(|&t| vocab_of.and_then(|v| v.token(t))).collect::<Vec<_>>().join(" ")
    };
    let rows: Vec<String> = match &column.data {
        ColumnData::Token(tokens) => tokens.iter().map(|&t| text_of(&[t])).collect(),
        ColumnData::TokenSeq { offsets, values } => {
            offsets.windows(2).map(|w| text_of(&values[w[0] as usize..w[1] as usize])).collect()
        }
        ColumnData::Float(_) | ColumnData::FloatSeq { .. } => {
            return Err(invalid(format!("`{}` is a {} column; text is a token or token_seq column", column.name, column.kind().as_str())))
        }
    };
    let mut vocab = Vocab::padded();
    for b in 0..buckets {
        vocab.intern(&format!("#{b}"));
    }
    let mut offsets = vec![0u32];
    let mut values = Vec::new();
    for text in &rows {
        values.extend(ngram_buckets(text, buckets));
        offsets.push(values.len() as u32);
    }
    Ok(Column { name: format!("text:{}", column.name), data: ColumnData::TokenSeq { offsets, values }, vocab: Some(vocab) })
}

/// The bucket ids (1-based) of the words and adjacent word pairs of `text`.
pub fn ngram_buckets(text: &str, buckets: usize) -> Vec<u32> {
    let words: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let bucket = |gram: &str| 1 + (fnv1a(gram.as_bytes()) % buckets as u64) as u32;
    let unigrams = words.iter().map(|w| bucket(w));
    let bigrams = words.windows(2).map(|p| bucket(&format!("{} {}", p[0], p[1])));
    unigrams.chain(bigrams).collect()
}

/// 64-bit FNV-1a: stable across runs and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldType;

    fn token_column(values: &[&str]) -> Column {
        let mut c = Column::new("title", FieldType::Token);
        let ids: Vec<u32> = values.iter().map(|v| if v.is_empty() { 0 } else { c.vocab.as_mut().unwrap().intern(v) }).collect();
        c.data = ColumnData::Token(ids);
        c
    }

    #[test]
    fn words_and_pairs_hash_into_buckets() {
        let b = ngram_buckets("Star Wars (1977)", 1 << 20);
        assert_eq!(b.len(), 3 + 2, "star, wars, 1977, star wars, wars 1977");
        assert_eq!(b[0], ngram_buckets("STAR", 1 << 20)[0], "lowercased");
        assert_eq!(b[0], ngram_buckets("star trek", 1 << 20)[0], "a shared word shares its bucket");
        assert_ne!(b[3], ngram_buckets("star trek", 1 << 20)[2], "bigrams differ");
        assert!(ngram_buckets("a b c d e f", 3).iter().all(|&x| (1..=3).contains(&x)));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "the published FNV-1a 64 value of `a`");
    }

    #[test]
    fn a_column_becomes_a_bag_per_row() {
        let col = hashed_ngrams(&token_column(&["", "Toy Story", "toy soldiers"]), 64).unwrap();
        assert_eq!(col.name, "text:title");
        assert_eq!(col.vocab.as_ref().unwrap().id_space(), 65);
        let ColumnData::TokenSeq { offsets, values } = &col.data else { panic!("{col:?}") };
        assert_eq!(offsets.iter().map(|&o| o as usize).collect::<Vec<_>>(), vec![0, 0, 3, 6]);
        assert_eq!(values[0], values[3], "`toy` in both rows");
        let floats = Column::new("year", FieldType::Float);
        assert!(hashed_ngrams(&floats, 64).unwrap_err().to_string().contains("`year` is a float column"));
        assert!(hashed_ngrams(&token_column(&["x"]), 0).is_err());
    }
}
