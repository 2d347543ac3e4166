//! Replies of the device targets the vendor documents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// MUX `GetStatus`: `{connected, firmware, nrRelays, status: [bool]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MuxStatus {
    /// Whether the multiplexer is connected.
    pub connected: bool,
    /// Its firmware version.
    #[serde(default)]
    pub firmware: String,
    /// `nrRelays`.
    #[serde(rename = "nrRelays")]
    pub relays: u32,
    /// Each relay's state.
    #[serde(default)]
    pub status: Vec<bool>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// LED `GetStatus`: `{connected, driver, boards: [{address, connected, values}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedStatus {
    /// Whether the light controller is connected.
    pub connected: bool,
    /// The driver it runs (`"LVVISA"` in the vendor's example).
    #[serde(default)]
    pub driver: String,
    /// One entry per board, each named by its address.
    #[serde(default)]
    pub boards: Vec<LedBoard>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One board of [`LedStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedBoard {
    /// The board's address (what `SetValues` names).
    pub address: u32,
    /// Whether it is connected.
    pub connected: bool,
    /// Each channel's output, 0 (off) to 1 (full).
    #[serde(default)]
    pub values: Vec<f64>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One temperature controller of TMPCTL `GetStatus`, whose data is an array of them. The
/// fields a script reads are typed; the rest of the vendor's groups ("Output Stage
/// Monitoring", "Fan Controller", ...) stay in `extra` as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureController {
    /// The controller's address (what `SetController` names).
    pub address: u32,
    /// Its channel.
    pub channel: u32,
    /// Its name (empty in the vendor's example).
    #[serde(default)]
    pub name: String,
    /// `DeviceStatus`.
    #[serde(rename = "DeviceStatus")]
    pub device_status: ControllerState,
    /// `LatestMeasurement`.
    #[serde(rename = "LatestMeasurement")]
    pub latest: ControllerMeasurement,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `DeviceStatus` of a [`TemperatureController`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerState {
    /// `State`, e.g. `"Initializing"`.
    #[serde(rename = "State")]
    pub state: String,
    /// `Error Number` (0: none).
    #[serde(rename = "Error Number", default)]
    pub error_number: i64,
    /// Fields this library does not know (`Error Instance`, `Error Parameter`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `LatestMeasurement` of a [`TemperatureController`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControllerMeasurement {
    /// `Time Stamp`, as sent (ISO 8601; the vendor's example is `1904-01-01T00:00:00.000Z`,
    /// LabVIEW's zero time).
    #[serde(rename = "Time Stamp", default)]
    pub time_stamp: String,
    /// `Temp. Measurement`.
    #[serde(rename = "Temp. Measurement")]
    pub measurement: TemperatureMeasurement,
    /// `Temp. Control`.
    #[serde(rename = "Temp. Control")]
    pub control: TemperatureControl,
    /// The other groups, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Temp. Measurement` of a [`ControllerMeasurement`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureMeasurement {
    /// `Object Temperature` (°C).
    #[serde(rename = "Object Temperature")]
    pub object: f64,
    /// `Sink Temperature` (°C).
    #[serde(rename = "Sink Temperature", default)]
    pub sink: f64,
    /// `Stable`, e.g. `"Not Active"`.
    #[serde(rename = "Stable", default)]
    pub stable: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Temp. Control` of a [`ControllerMeasurement`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureControl {
    /// `Target Object Temperature` (°C).
    #[serde(rename = "Target Object Temperature")]
    pub target: f64,
    /// Fields this library does not know (`(Ramp) Nominal Object Temperature`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
