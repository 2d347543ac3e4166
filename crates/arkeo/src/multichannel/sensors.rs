//! The sensor commands: `GetSensorsInfo` (configuration) and `GetSensorsData` (live values).

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::float::Float;
use crate::{ProtocolError, Reply};

/// One sensor of a `GetSensorsInfo` reply: `{model, common {...}, specific {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorInfo {
    /// The sensor model.
    #[serde(default)]
    pub model: String,
    /// What every sensor has.
    pub common: SensorCommon,
    /// Model-specific settings, as sent.
    #[serde(default)]
    pub specific: Map<String, Value>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `common`: `{group, name, channel, type, unit, origin {chamber, external}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorCommon {
    /// The group name (may be empty).
    #[serde(default)]
    pub group: String,
    /// The sensor's name.
    #[serde(default)]
    pub name: String,
    /// Its channel number: unique, and the key of its value in `GetSensorsData`.
    pub channel: u32,
    /// What it measures ("Humidity", "Irradiance"...).
    #[serde(rename = "type", default)]
    pub sensor_type: String,
    /// The unit of its values.
    #[serde(default)]
    pub unit: String,
    /// Where it sits.
    #[serde(default)]
    pub origin: SensorOrigin,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `origin`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SensorOrigin {
    /// Inside a chamber.
    #[serde(default)]
    pub chamber: bool,
    /// An external sensor.
    #[serde(default)]
    pub external: bool,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SensorInfo {
    /// Reads every sensor of a `GetSensorsInfo` reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("sensors", super::command::GET_SENSORS_INFO)
    }
}

/// A column of the `GetSensorsData` schema: `{"name": "channel", "type": "uint16"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    /// The column name.
    pub name: String,
    /// Its type ("uint16", "float64").
    #[serde(rename = "type")]
    pub column_type: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One live value, a `[channel, value]` row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SensorSample {
    /// The sensor's channel (see [`SensorCommon::channel`]).
    pub channel: u32,
    /// Its value, in the sensor's unit (NaN when it could not be read).
    pub value: f64,
}

impl Serialize for SensorSample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (self.channel, Float(self.value)).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SensorSample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (channel, value) = <(u32, Float)>::deserialize(deserializer)?;
        Ok(SensorSample {
            channel,
            value: value.0,
        })
    }
}

/// A `GetSensorsData` reply: `{schema: [{name, type}...], sensors: [[channel, value]...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorsData {
    /// The columns of each row.
    pub schema: Vec<SchemaColumn>,
    /// One row per sensor.
    pub sensors: Vec<SensorSample>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SensorsData {
    /// Reads a `GetSensorsData` reply (schema and rows at the top level).
    pub fn from_reply(reply: &Reply) -> Result<Self, ProtocolError> {
        reply.payload_as(super::command::GET_SENSORS_DATA)
    }

    /// The value of the sensor on `channel`.
    pub fn value(&self, channel: u32) -> Option<f64> {
        self.sensors
            .iter()
            .find(|s| s.channel == channel)
            .map(|s| s.value)
    }
}
