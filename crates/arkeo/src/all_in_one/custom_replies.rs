//! Replies of the custom commands the vendor documents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GetChopperFrequency` (IPCE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChopperFrequency {
    /// The chopper frequency, in Hz.
    #[serde(with = "crate::float::lenient")]
    pub frequency: f64,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GetMonochromatorStatus` (IPCE). The vendor names the keys, not their types, so the
/// shutter, filter and grating are kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonochromatorStatus {
    /// The monochromator model.
    #[serde(rename = "type", default)]
    pub model: String,
    /// Whether it answers.
    #[serde(default)]
    pub connected: bool,
    /// The wavelength set, in nm.
    #[serde(with = "crate::float::option", default)]
    pub wavelength: Option<f64>,
    /// The shutter, as sent.
    #[serde(default)]
    pub shutter: Value,
    /// The filter, as sent.
    #[serde(default)]
    pub filter: Value,
    /// The grating, as sent.
    #[serde(default)]
    pub grating: Value,
    /// The configuration object.
    #[serde(default)]
    pub config: Map<String, Value>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GetRates` (TCSPC): counts per second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountRates {
    /// The laser sync rate, in counts/s.
    #[serde(with = "crate::float::lenient")]
    pub sync_rate: f64,
    /// The detector rate, in counts/s.
    #[serde(with = "crate::float::lenient")]
    pub input_rate: f64,
    /// `input_rate / sync_rate`.
    #[serde(with = "crate::float::lenient")]
    pub ratio: f64,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AutoExposure` (Luminescence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoExposure {
    /// The integration time chosen, in ms.
    #[serde(with = "crate::float::lenient")]
    pub integration_time: f64,
    /// The number of averages chosen.
    pub averages: u32,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `AcquireDark`, `AcquireReference` (two rows: wavelengths, counts) and `AcquireSingle`
/// (three rows) (Luminescence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// The rows; the first holds the wavelengths in nm.
    #[serde(with = "crate::float::rows")]
    pub spectrum: Vec<Vec<f64>>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Spectrum {
    /// The wavelengths (the first row), empty when there is none.
    pub fn wavelengths(&self) -> &[f64] {
        self.spectrum.first().map_or(&[], Vec::as_slice)
    }
}
