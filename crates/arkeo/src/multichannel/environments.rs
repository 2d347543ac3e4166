//! `GetEnvironments`: the environments, each a group of sensors.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ProtocolError, Reply};

/// One environment: `{name, sensor_channels: [int]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Its name (what `SetDeviceEnvironment` takes).
    pub name: String,
    /// The channels of its sensors (see [`SensorCommon::channel`](super::SensorCommon::channel)).
    #[serde(default)]
    pub sensor_channels: Vec<u32>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Environment {
    /// Reads every environment of a `GetEnvironments` reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("environments", super::command::GET_ENVIRONMENTS)
    }
}
