//! The Multichannel command names, shared by the builders and the simulator.

/// `SetChannelSettings`.
pub const SET_CHANNEL_SETTINGS: &str = "SetChannelSettings";
/// `GetChannelSettings`.
pub const GET_CHANNEL_SETTINGS: &str = "GetChannelSettings";
/// `StartMeasurement`.
pub const START_MEASUREMENT: &str = "StartMeasurement";
/// `StopChannel`.
pub const STOP_CHANNEL: &str = "StopChannel";
/// `ForceJV`.
pub const FORCE_JV: &str = "ForceJV";
/// `GetChannelState`.
pub const GET_CHANNEL_STATE: &str = "GetChannelState";
/// `GetLatestJV`.
pub const GET_LATEST_JV: &str = "GetLatestJV";
/// `GetIV`.
pub const GET_IV: &str = "GetIV";
/// `SetDeviceEnvironment`.
pub const SET_DEVICE_ENVIRONMENT: &str = "SetDeviceEnvironment";
/// `GetSensorsInfo`.
pub const GET_SENSORS_INFO: &str = "GetSensorsInfo";
/// `GetSensorsData`.
pub const GET_SENSORS_DATA: &str = "GetSensorsData";
/// `GetEnvironments`.
pub const GET_ENVIRONMENTS: &str = "GetEnvironments";
/// `GetGlobalDayNight`.
pub const GET_GLOBAL_DAY_NIGHT: &str = "GetGlobalDayNight";
/// `SetGlobalDayNight`.
pub const SET_GLOBAL_DAY_NIGHT: &str = "SetGlobalDayNight";

/// Every documented command.
pub const ALL: [&str; 14] = [
    SET_CHANNEL_SETTINGS,
    GET_CHANNEL_SETTINGS,
    START_MEASUREMENT,
    STOP_CHANNEL,
    FORCE_JV,
    GET_CHANNEL_STATE,
    GET_LATEST_JV,
    GET_IV,
    SET_DEVICE_ENVIRONMENT,
    GET_SENSORS_INFO,
    GET_SENSORS_DATA,
    GET_ENVIRONMENTS,
    GET_GLOBAL_DAY_NIGHT,
    SET_GLOBAL_DAY_NIGHT,
];
