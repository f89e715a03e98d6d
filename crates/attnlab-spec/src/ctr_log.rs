//! The parts of `dataset.ctr_log` beyond file and layout: which of a log's
//! columns become fields, and how they are encoded.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A choice of columns: `all` of a kind, or a list of names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ColumnSelection {
    #[default]
    All,
    List(Vec<String>),
}

impl<'de> Deserialize<'de> for ColumnSelection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ColumnSelection;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`all` or a list of column names")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ColumnSelection, E> {
                match s {
                    "all" => Ok(ColumnSelection::All),
                    other => Err(E::custom(format!("expected `all` or a list of column names, got `{other}`"))),
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ColumnSelection, A::Error> {
                let mut names: Vec<String> = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    if names.contains(&name) {
                        return Err(de::Error::custom(format!("column `{name}` is listed twice")));
                    }
                    names.push(name);
                }
                Ok(ColumnSelection::List(names))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for ColumnSelection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ColumnSelection::All => s.serialize_str("all"),
            ColumnSelection::List(names) => names.serialize(s),
        }
    }
}

/// What becomes of a log's numeric columns (fitted on the training rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumericPreprocess {
    /// Values as they are (a missing value is 0), each embedded as a
    /// learned vector times the value.
    #[default]
    #[serde(rename = "none")]
    AsIs,
    /// FuxiCTR's `convert_to_bucket` (BARS Criteo_x4): a value above 2
    /// becomes `floor(ln(x)²)`, others their integer part; the buckets are
    /// categorical fields. `log2_square` is accepted for the same thing.
    #[serde(alias = "log2_square")]
    LogSquare,
    /// `(x - mean) / std` over the training rows (a missing value is 0).
    Standardise,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ColumnSelection, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn columns_are_all_or_a_list_without_repeats() {
        assert_eq!(parse("all"), Ok(ColumnSelection::All));
        assert_eq!(parse("[C1, C17]"), Ok(ColumnSelection::List(vec!["C1".into(), "C17".into()])));
        assert_eq!(parse("[]"), Ok(ColumnSelection::List(vec![])));
        assert!(parse("every").unwrap_err().contains("expected `all` or a list"));
        assert!(parse("[C1, C1]").unwrap_err().contains("`C1` is listed twice"));
        assert_eq!(serde_json::to_string(&ColumnSelection::All).unwrap(), "\"all\"");
    }

    #[test]
    fn numeric_preprocess_names() {
        let p = |s: &str| serde_yaml::from_str::<NumericPreprocess>(s).map_err(|e| e.to_string());
        assert_eq!(p("none"), Ok(NumericPreprocess::AsIs));
        assert_eq!(p("log_square"), Ok(NumericPreprocess::LogSquare));
        assert_eq!(p("log2_square"), Ok(NumericPreprocess::LogSquare));
        assert_eq!(p("standardise"), Ok(NumericPreprocess::Standardise));
        assert!(p("zscore").is_err());
    }
}
