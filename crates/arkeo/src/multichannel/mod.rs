//! Typed helpers for the Multichannel API: the command names, a request builder for every
//! documented command, and typed replies.
//!
//! The builders are at the root of this module (`multichannel::get_iv(&[0, 1])`); the names
//! they send are the constants of [`command`], which the simulator dispatches on. Each
//! builder returns a plain [`Request`](crate::Request): any other command is one
//! `Request::command(name)` away.
//!
//! Replies carry their payload under a domain key (`channels`, `sensors`, `environments`,
//! `day_night`), except `GetIV` and `GetSensorsData`, whose fields sit at the top level.
//! Each typed reply has a `from_reply` reader; all keep the fields they do not know
//! (`extra`) and accept NaN and Infinity.

mod builders;
mod channel_results;
mod channel_settings;
mod channel_state;
pub mod command;
mod day_night;
mod environments;
mod iv;
mod sensors;
mod settings_encoding;

pub use builders::*;
pub use channel_results::{
    ChannelAck, ChannelTransition, ForceJvResult, force_jv_result, latest_jv, transition_result,
};
pub use channel_settings::{
    Cell, ChannelDayNight, ChannelLimits, ChannelSettings, ChannelSettingsEntry, JvSweep, Light,
    TimeSpan, Tracking, algorithm, cell_type, scan_order,
};
pub use channel_state::{ChannelState, ChannelStatus, measurement};
pub use day_night::{DayNight, DayNightSettings, DayNightStatus};
pub use environments::Environment;
pub use iv::IvReading;
pub use sensors::{
    SchemaColumn, SensorCommon, SensorInfo, SensorOrigin, SensorSample, SensorsData,
};
pub use settings_encoding::{SettingsEncoding, settings_value};

/// A channel's latest JV measurement (`GetLatestJV`): the same object as the All-in-One JV
/// data.
pub type JvObject = crate::jv::JvData;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use serde_json::json;

    #[test]
    fn settings_travel_as_object_or_string() {
        let settings = json!({"Enable": true});
        let object = set_channel_settings(&[0, 1], &settings, SettingsEncoding::Object);
        assert_eq!(
            object.encode(Dialect::Multichannel, None).unwrap(),
            json!({"command":"SetChannelSettings","indices":[0,1],"parameter":{"settings":{"Enable":true}}})
        );
        let string = set_channel_settings(&[0], &settings, SettingsEncoding::String);
        let sent = string.encode(Dialect::Multichannel, None).unwrap();
        assert_eq!(sent["parameter"]["settings"], "{\"Enable\":true}");
        assert_eq!(
            settings_value(&sent["parameter"]["settings"]),
            Some(settings)
        );
    }

    #[test]
    fn every_builder_sends_its_command_constant() {
        let requests = [
            set_channel_settings(&[0], &json!({}), SettingsEncoding::Object),
            get_channel_settings(&[0]),
            start_measurement(),
            stop_channel(&[0]),
            force_jv(&[0]),
            get_channel_state(&[0]),
            get_latest_jv(&[0]),
            get_iv(&[0]),
            set_device_environment(&[0], "x"),
            get_sensors_info(),
            get_sensors_data(),
            get_environments(),
            get_global_day_night(),
            set_global_day_night(&json!({}), SettingsEncoding::Object),
        ];
        let names: Vec<&str> = requests.iter().map(|r| r.command_name()).collect();
        assert_eq!(names, command::ALL);
    }
}
