//! The `indices` of a Multichannel request, read without allocating in proportion to a
//! hostile list: at most [`MAX_CHANNELS`] entries are kept, the rest only counted, while
//! the request is parsed. Then [`IndicesField::channels`] refuses (101) an empty list, more
//! entries than channels, an entry that is not a channel number, and a channel listed
//! twice: `[0, 0, 0, 0]` is an error, never four copies.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::simulator::limits::MAX_CHANNELS;
use crate::simulator::outcome::Failure;

/// The `indices` field as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct IndicesField {
    /// The first entries (at most [`MAX_CHANNELS`]).
    kept: Vec<Value>,
    /// How many entries there were.
    total: usize,
    /// The JSON type, when it was not an array.
    not_array: Option<&'static str>,
    /// It was `null`.
    null: bool,
}

impl IndicesField {
    /// True when the field was absent or `null`.
    pub(crate) fn is_null(&self) -> bool {
        self.null
    }

    /// The channels listed, in order, for an instrument of `count` channels.
    pub(crate) fn channels(&self, count: usize) -> Result<Vec<usize>, Failure> {
        if let Some(found) = self.not_array {
            return Err(Failure::invalid(format!(
                "Invalid parameters: indices must be an array of channel numbers, not {found}"
            )));
        }
        if self.total == 0 {
            return Err(Failure::invalid("Invalid parameters: indices is empty"));
        }
        if self.total > count {
            return Err(Failure::invalid(format!(
                "Invalid parameters: {} indices for an instrument of {count} channels (each channel at most once)",
                self.total
            )));
        }
        let mut channels = Vec::with_capacity(self.kept.len());
        for entry in &self.kept {
            let index = entry
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < count)
                .ok_or_else(|| {
                    Failure::invalid(format!(
                        "Invalid parameters: channel index {} out of range (channels 0 to {})",
                        crate::error::preview(&entry.to_string()),
                        count - 1
                    ))
                })?;
            if channels.contains(&index) {
                return Err(Failure::invalid(format!(
                    "Invalid parameters: channel {index} is listed twice in indices"
                )));
            }
            channels.push(index);
        }
        Ok(channels)
    }
}

struct IndicesVisitor;

impl IndicesVisitor {
    fn other(found: &'static str) -> IndicesField {
        IndicesField {
            not_array: Some(found),
            ..IndicesField::default()
        }
    }
}

impl<'de> Visitor<'de> for IndicesVisitor {
    type Value = IndicesField;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of channel numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IndicesField, A::Error> {
        let mut field = IndicesField::default();
        loop {
            let more = if field.kept.len() < MAX_CHANNELS {
                match seq.next_element::<Value>()? {
                    Some(v) => {
                        field.kept.push(v);
                        true
                    }
                    None => false,
                }
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(field);
            }
            field.total = field.total.saturating_add(1);
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<IndicesField, E> {
        Ok(IndicesField {
            null: true,
            ..IndicesField::default()
        })
    }

    fn visit_none<E: de::Error>(self) -> Result<IndicesField, E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<IndicesField, E> {
        Ok(Self::other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IndicesField, E> {
        Ok(Self::other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<IndicesField, E> {
        Ok(Self::other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IndicesField, E> {
        Ok(Self::other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<IndicesField, E> {
        Ok(Self::other("a string"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IndicesField, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::other("an object"))
    }
}

impl<'de> Deserialize<'de> for IndicesField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IndicesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> IndicesField {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn valid_lists_give_their_channels_in_order() {
        assert_eq!(read("[2,0]").channels(4).unwrap(), vec![2, 0]);
    }

    #[test]
    fn repeated_out_of_range_and_malformed_indices_are_refused() {
        let cases = [
            ("[0,0,0,0]", "listed twice"),
            ("[0,1,2,3,0]", "5 indices for an instrument of 4"),
            ("[4]", "out of range"),
            ("[-1]", "out of range"),
            ("[1.5]", "out of range"),
            ("[\"0\"]", "out of range"),
            ("[]", "empty"),
            ("\"0,1\"", "not a string"),
            ("{\"a\":1}", "not an object"),
        ];
        for (json, want) in cases {
            let err = read(json).channels(4).unwrap_err();
            assert!(err.message.contains(want), "{json}: {}", err.message);
            assert_eq!(err.code.0, 101);
        }
    }

    #[test]
    fn a_hostile_list_is_counted_not_kept() {
        let json = format!("[{}0]", "0,".repeat(200_000));
        let field = read(&json);
        assert_eq!(field.total, 200_001);
        assert_eq!(field.kept.len(), MAX_CHANNELS);
        assert!(
            field
                .channels(8)
                .unwrap_err()
                .message
                .contains("200001 indices")
        );
    }

    #[test]
    fn null_is_absent() {
        assert!(read("null").is_null());
    }
}
