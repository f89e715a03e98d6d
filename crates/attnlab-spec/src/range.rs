//! Range checks done while a value is read, inside the YAML deserializer's
//! own scalar call: an error raised there carries the line and column of
//! the offending value and its full key (`train.batch_size`), where a check
//! after reading would be blamed on the enclosing mapping. Values are read
//! with `deserialize_any`, so a negative count and a number YAML cannot
//! hold (`1e309` overflows a 64-bit float, so YAML reads it as text) reach
//! the visitor and are reported as out of range, not as a wrong type.

use std::fmt;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// `n >= 1`.
pub(crate) fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(AtLeastOne)
}

/// A finite `x > 0`.
pub(crate) fn positive_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(Within(Bound::Positive))
}

/// A finite `x >= 0`.
pub(crate) fn non_negative_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(Within(Bound::NonNegative))
}

/// `0 < x < 1`.
pub(crate) fn probability<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(Within(Bound::OpenUnit))
}

/// Absent, `null`, or `0 < x < 1`.
pub(crate) fn optional_probability<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_option(Optional(Within(Bound::OpenUnit)))
}

/// Absent, `null`, or a finite `x > 0`.
pub(crate) fn optional_positive_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_option(Optional(Within(Bound::Positive)))
}

struct AtLeastOne;

impl<'de> Visitor<'de> for AtLeastOne {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer of at least 1")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v == 0 {
            return Err(E::custom("must be at least 1"));
        }
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom(format!("must be at least 1, got {v}"))).and_then(|v| self.visit_u64(v))
    }
}

#[derive(Clone, Copy)]
enum Bound {
    Positive,
    NonNegative,
    OpenUnit,
}

impl Bound {
    fn holds(self, v: f64) -> bool {
        match self {
            Bound::Positive => v.is_finite() && v > 0.0,
            Bound::NonNegative => v.is_finite() && v >= 0.0,
            Bound::OpenUnit => v > 0.0 && v < 1.0,
        }
    }

    fn wanted(self) -> &'static str {
        match self {
            Bound::Positive => "a finite number > 0",
            Bound::NonNegative => "a finite number >= 0",
            Bound::OpenUnit => "in (0, 1)",
        }
    }
}

#[derive(Clone, Copy)]
struct Within(Bound);

impl<'de> Visitor<'de> for Within {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.wanted())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        if !self.0.holds(v) {
            return Err(E::custom(format!("must be {}, got {v}", self.0.wanted())));
        }
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_infinite() && !v.to_ascii_lowercase().contains("inf") => {
                Err(E::custom(format!("must be {}, got {v}, which is beyond the range of a 64-bit float", self.0.wanted())))
            }
            _ => Err(E::invalid_type(Unexpected::Str(v), &self)),
        }
    }
}

struct Optional(Within);

impl<'de> Visitor<'de> for Optional {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "null or {}", self.0 .0.wanted())
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(self.0).map(Some)
    }
}

/// Characters of free text (a description) a spec may hold: it is stored
/// with every run and shown in reports, so a pasted file is refused.
pub const MAX_TEXT: usize = 10_000;

/// Absent, `null`, or text of at most [`MAX_TEXT`] characters.
pub(crate) fn optional_short_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptionalText)
}

struct OptionalText;

impl<'de> Visitor<'de> for OptionalText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "null or text of at most {MAX_TEXT} characters")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_string(ShortText).map(Some)
    }
}

struct ShortText;

impl<'de> Visitor<'de> for ShortText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "text of at most {MAX_TEXT} characters")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        let n = v.chars().count();
        if n > MAX_TEXT {
            return Err(E::custom(format!("is {n} characters long; at most {MAX_TEXT} are allowed (it is stored with every run)")));
        }
        Ok(v.to_owned())
    }
}
