//! Floats in typed replies: a JSON number, or one of the non-finite values the instrument
//! writes (`NaN`, `Infinity`, `-Infinity`, kept as strings by
//! [`to_strict_json`](crate::nonfinite::to_strict_json)).
//!
//! Each submodule is a `#[serde(with = "...")]` adapter for one field type. Reading accepts
//! numbers, the three token strings and `null` (read as NaN where the type has no `None`);
//! writing spells non-finite values as the token strings, which
//! [`to_lenient_json`](crate::nonfinite::to_lenient_json) turns back into bare tokens.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// One lenient float, the building block of the adapters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Float(pub(crate) f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        if x.is_nan() {
            serializer.serialize_str("NaN")
        } else if x == f64::INFINITY {
            serializer.serialize_str("Infinity")
        } else if x == f64::NEG_INFINITY {
            serializer.serialize_str("-Infinity")
        } else {
            serializer.serialize_f64(x)
        }
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = Float;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, NaN, Infinity or -Infinity")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Float, E> {
        Ok(Float(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Float, E> {
        Ok(Float(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Float, E> {
        Ok(Float(v as f64))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Float, E> {
        match v {
            "NaN" => Ok(Float(f64::NAN)),
            "Infinity" => Ok(Float(f64::INFINITY)),
            "-Infinity" => Ok(Float(f64::NEG_INFINITY)),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Float, E> {
        Ok(Float(f64::NAN))
    }

    fn visit_none<E: de::Error>(self) -> Result<Float, E> {
        Ok(Float(f64::NAN))
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }
}

/// `f64`: a number or a token; `null` reads as NaN.
pub mod lenient {
    use super::*;

    /// Writes the number, or its token string when not finite.
    pub fn serialize<S: Serializer>(x: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        Float(*x).serialize(serializer)
    }

    /// Reads a number, a token string or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Float::deserialize(deserializer).map(|f| f.0)
    }
}

/// `Option<f64>`: `null` (or an absent field, with `#[serde(default)]`) is `None`.
pub mod option {
    use super::*;

    /// Writes `null` for `None`.
    pub fn serialize<S: Serializer>(x: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        x.map(Float).serialize(serializer)
    }

    /// Reads `null` as `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        Option::<Float>::deserialize(deserializer).map(|f| f.map(|f| f.0))
    }
}

/// `Vec<f64>`: an array of lenient floats.
pub mod vec {
    use super::*;

    /// Writes an array.
    pub fn serialize<S: Serializer>(xs: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(xs.iter().map(|&x| Float(x)))
    }

    /// Reads an array.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Float>::deserialize(deserializer).map(|v| v.into_iter().map(|f| f.0).collect())
    }
}

/// `Vec<Vec<f64>>`: rows of lenient floats (`data: [[V, J], ...]`).
pub mod rows {
    use super::*;

    /// Writes an array of arrays.
    pub fn serialize<S: Serializer>(rows: &[Vec<f64>], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            rows.iter()
                .map(|r| r.iter().map(|&x| Float(x)).collect::<Vec<_>>()),
        )
    }

    /// Reads an array of arrays.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<f64>>, D::Error> {
        Vec::<Vec<Float>>::deserialize(deserializer).map(|rows| {
            rows.into_iter()
                .map(|r| r.into_iter().map(|f| f.0).collect())
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Sample {
        #[serde(with = "super::lenient")]
        x: f64,
        #[serde(with = "super::option", default)]
        y: Option<f64>,
        #[serde(with = "super::rows")]
        data: Vec<Vec<f64>>,
    }

    #[test]
    fn numbers_tokens_and_null_are_read() {
        let s: Sample = serde_json::from_value(
            json!({"x": "Infinity", "y": null, "data": [[1, "NaN"], ["-Infinity", 2.5]]}),
        )
        .unwrap();
        assert_eq!(s.x, f64::INFINITY);
        assert_eq!(s.y, None);
        assert!(s.data[0][1].is_nan());
        assert_eq!(s.data[1], vec![f64::NEG_INFINITY, 2.5]);
        let s: Sample = serde_json::from_value(json!({"x": null, "data": []})).unwrap();
        assert!(s.x.is_nan());
    }

    #[test]
    fn other_strings_are_errors() {
        let r = serde_json::from_value::<Sample>(json!({"x": "1.5", "data": []}));
        assert!(r.is_err());
    }

    #[test]
    fn non_finite_values_are_written_as_tokens() {
        let s = Sample {
            x: f64::NAN,
            y: Some(f64::NEG_INFINITY),
            data: vec![vec![0.5, f64::INFINITY]],
        };
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            json!({"x": "NaN", "y": "-Infinity", "data": [[0.5, "Infinity"]]})
        );
    }
}
