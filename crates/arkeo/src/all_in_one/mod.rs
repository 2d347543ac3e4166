//! Typed helpers for the All-in-One API: the command names, a request builder for every
//! documented command, and typed replies.
//!
//! Each target has a module ([`main`], [`routine`], [`tmpctl`], [`mux`], [`led`]) holding
//! its command name constants and their builders; the routine-specific commands are in
//! [`custom`]. The simulator dispatches on the same constants, so a builder and the
//! simulator's handler can never disagree on a name.
//!
//! Every builder returns a plain [`Request`](crate::Request), so anything not covered here
//! (a command a newer instrument adds) is one `Request::new(target, command)` away: the
//! helpers never stand between the user and the wire.
//!
//! Typed replies keep the fields they do not know (`extra`) and accept NaN and Infinity:
//! read them with [`Reply::data_as`](crate::Reply::data_as), or the `from_reply` helpers.

pub mod custom;
mod custom_replies;
mod device_replies;
mod jv_settings;
pub mod led;
pub mod main;
pub mod mux;
pub mod routine;
mod routine_replies;
pub mod routines;
pub mod target;
mod test_status;
pub mod tmpctl;

pub use crate::jv::JvData;
pub use custom_replies::{
    AutoExposure, ChopperFrequency, CountRates, MonochromatorStatus, Spectrum,
};
pub use device_replies::{
    ControllerMeasurement, ControllerState, LedBoard, LedStatus, MuxStatus, TemperatureControl,
    TemperatureController, TemperatureMeasurement,
};
pub use jv_settings::{
    DeviceSettings, JvSettings, LightConfig, LightSource, Precondition, SampleSettings,
    ScanSettings, SweepSettings, order,
};
pub use routine::RoutineInfo;
pub use routine_replies::{ActiveRoutine, AvailableRoutines, CustomCommands};
pub use test_status::{Progress, RoutineState, TestStatus};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;
    use serde_json::json;

    #[test]
    fn builders_produce_the_documented_envelopes() {
        let cases = [
            (
                main::start_routine("JV"),
                json!({"target":"MAIN","command":"StartRoutine","parameter":{"routine":"JV"}}),
            ),
            (
                routine::apply_settings(json!({"device_type":"NI-SMU"})),
                json!({"target":"ROUTINE","command":"ApplySettings","parameter":{"device_type":"NI-SMU"}}),
            ),
            (
                routine::get_test_status(),
                json!({"target":"ROUTINE","command":"GetTestStatus","parameter":{}}),
            ),
            (
                routine::set_info(Some("ada"), None, Some(0.1)),
                json!({"target":"ROUTINE","command":"SetInfo","parameter":{"user_name":"ada","device_area":0.1}}),
            ),
            (
                custom::ipce::set_wavelength(550.0),
                json!({"target":"ROUTINE","command":"SetWavelength","parameter":{"wavelength":550.0}}),
            ),
            (
                custom::luminescence::set_laser(true, None),
                json!({"target":"ROUTINE","command":"SetLaser","parameter":{"enable":true}}),
            ),
            (
                tmpctl::set_temperature(25.0),
                json!({"target":"TMPCTL","command":"SetTemperature","parameter":{"temperature":25.0}}),
            ),
            (
                mux::set_status(&[true, false]),
                json!({"target":"MUX","command":"SetStatus","parameter":{"state":[true,false]}}),
            ),
            (
                led::set_values(1, &[0.5, 1.0]),
                json!({"target":"LED","command":"SetValues","parameter":{"address":1,"values":[0.5,1.0]}}),
            ),
            (
                tmpctl::set_controller(1, 1),
                json!({"target":"TMPCTL","command":"SetController","parameter":{"address":1,"channel":1}}),
            ),
        ];
        for (request, want) in cases {
            assert_eq!(request.encode(Dialect::AllInOne, None).unwrap(), want);
        }
    }

    #[test]
    fn custom_commands_are_listed_per_routine() {
        assert_eq!(custom::commands_of(routines::TCSPC), &custom::tcspc::ALL);
        assert!(custom::commands_of(routines::JV).is_empty());
        assert!(custom::commands_of("jv").is_empty(), "names are exact");
    }
}
