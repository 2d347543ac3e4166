//! What the numbers of the known value keys mean: range, neutral point and unit, for
//! anything that draws or labels a value (plots, the live view, LSL channel metadata).
//!
//! The key set is open (newer SDKs use server-assigned prediction ids): an unknown key has
//! no scale, and a drawing takes its range from the data.

use crate::message::ValueKey;

/// The scale of a known key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// The smallest and largest value the app sends (other than -1, low confidence), for
    /// a bounded score; `None` for a measure such as beats per minute.
    pub range: Option<(f64, f64)>,
    /// The user's neutral point, where the key has one (50 for the 0-100 scores).
    pub neutral: Option<f64>,
    /// The unit, short, as LSL channel metadata writes it (`score`, `bpm`, `level`).
    pub unit: &'static str,
}

impl Scale {
    /// How a label shows the scale: `score 0-100, 50 neutral`, `bpm`, `level 1-4`.
    pub fn describe(&self) -> String {
        let Some((min, max)) = self.range else {
            return self.unit.to_string();
        };
        let mut text = format!("{} {min}-{max}", self.unit);
        if let Some(neutral) = self.neutral {
            text.push_str(&format!(", {neutral} neutral"));
        }
        text
    }
}

/// 0-100 with 50 as the user's neutral point: focus, enjoyment, zone_state.
const SCORE: Scale = Scale {
    range: Some((0.0, 100.0)),
    neutral: Some(50.0),
    unit: "score",
};

impl ValueKey {
    /// The key's scale, or `None` for a key this crate does not know.
    pub fn scale(&self) -> Option<Scale> {
        match self {
            ValueKey::Focus | ValueKey::Enjoyment | ValueKey::ZoneState => Some(SCORE),
            ValueKey::AvgMotion => Some(Scale {
                range: Some((1.0, 4.0)),
                neutral: None,
                unit: "level",
            }),
            ValueKey::HeartRate => Some(Scale {
                range: None,
                neutral: None,
                unit: "bpm",
            }),
            ValueKey::Other(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_have_a_scale_and_others_none() {
        let cases = [
            ("focus", Some("score 0-100, 50 neutral")),
            ("enjoyment", Some("score 0-100, 50 neutral")),
            ("zone_state", Some("score 0-100, 50 neutral")),
            ("avg_motion", Some("level 1-4")),
            ("heart_rate", Some("bpm")),
            ("prediction-17", None),
        ];
        for (key, described) in cases {
            let scale = ValueKey::from(key).scale();
            assert_eq!(scale.map(|s| s.describe()).as_deref(), described, "{key}");
        }
    }
}
