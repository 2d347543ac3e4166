//! What the channel commands report per channel: StartMeasurement and StopChannel
//! transitions, ForceJV results, and the acknowledgements of SetChannelSettings and
//! SetDeviceEnvironment.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ChannelStatus, command};
use crate::jv::JvData;
use crate::{ProtocolError, Reply};

/// The values of a StopChannel (and StartMeasurement) `result`.
pub mod transition_result {
    /// StopChannel stopped a running channel.
    pub const STOPPED: &str = "stopped";
    /// StopChannel found the channel not running and left it as it was.
    pub const IGNORED: &str = "ignored";
    /// StartMeasurement started the channel (the simulator's report).
    pub const STARTED: &str = "started";
}

/// One channel of a StopChannel reply (the simulator answers StartMeasurement the same way):
/// `{index, enabled, previous_state, new_state, result}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTransition {
    /// The channel.
    pub index: u32,
    /// Whether it is enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Its state before the command.
    pub previous_state: ChannelStatus,
    /// Its state after the command.
    pub new_state: ChannelStatus,
    /// See [`transition_result`].
    pub result: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelTransition {
    /// Reads every channel of a StopChannel (or the simulator's StartMeasurement) reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("channels", command::STOP_CHANNEL)
    }
}

/// The values of a ForceJV `result` and `reason`.
pub mod force_jv_result {
    /// A sweep was started.
    pub const OK: &str = "ok";
    /// Nothing was done; `reason` says why.
    pub const IGNORED: &str = "ignored";
    /// Reason: the channel is not enabled.
    pub const NOT_ENABLED: &str = "not enabled";
    /// Reason: the channel is not running.
    pub const NOT_RUNNING: &str = "not running";
    /// Reason: the channel is already sweeping.
    pub const ALREADY_IN_JV: &str = "already in JV";
}

/// One channel of a ForceJV reply: `{index, enabled, state, measurement, result, reason}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForceJvResult {
    /// The channel.
    pub index: u32,
    /// Whether it is enabled.
    #[serde(default)]
    pub enabled: bool,
    /// Its state.
    pub state: ChannelStatus,
    /// What it measures now (`"jv"` after a successful ForceJV).
    #[serde(default)]
    pub measurement: Option<String>,
    /// See [`force_jv_result`].
    pub result: String,
    /// Why it was ignored (absent when `result` is "ok").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ForceJvResult {
    /// Reads every channel of a ForceJV reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("channels", command::FORCE_JV)
    }
}

/// One channel of a SetChannelSettings or SetDeviceEnvironment reply (the vendor does not
/// document these; the simulator answers `{index, result: "ok"}`, plus `environment`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelAck {
    /// The channel.
    pub index: u32,
    /// `"ok"`.
    pub result: String,
    /// Fields this library does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ChannelAck {
    /// Reads every channel of a SetChannelSettings or SetDeviceEnvironment reply.
    pub fn from_reply(reply: &Reply) -> Result<Vec<Self>, ProtocolError> {
        reply.field_as("channels", command::SET_CHANNEL_SETTINGS)
    }
}

/// The JV object of each channel in a GetLatestJV reply, in the order of the request's
/// indices (a channel without a JV yet has no `acquisition_time` and no scans).
pub fn latest_jv(reply: &Reply) -> Result<Vec<JvData>, ProtocolError> {
    reply.field_as("channels", command::GET_LATEST_JV)
}
