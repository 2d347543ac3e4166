//! A simulated channel's settings: the documented schema every SetChannelSettings is
//! checked against, the defaults a channel powers on with, and the measurement plan the
//! settings make (refused with 101 when it cannot run).

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::multichannel::{ChannelSettings, TimeSpan, algorithm, cell_type, scan_order};
use crate::simulator::cell::CellModel;
use crate::simulator::jv_sweep::{Direction, Sweep};
use crate::simulator::outcome::Failure;
use crate::simulator::schema::{Field, Kind, field};

const CHANNEL: &[Field] = &[
    field("VoltageLimit", Kind::Text),
    field("CurrentLimit", Kind::Integer),
    field("Inverted", Kind::Bool),
];
const JV: &[Field] = &[
    field("Vmin (V)", Kind::Number),
    field("Vmax (V)", Kind::Number),
    field("Step (mV)", Kind::NonNegative),
    field("ScanRate (mV/s)", Kind::NonNegative),
    field("VocDetect", Kind::Bool),
    field("Overvoltage (%)", Kind::NonNegative),
    field("ScanOrder", Kind::OneOf(&scan_order::ALL)),
];
const SPAN: &[Field] = &[field("Value", Kind::NonNegative), field("Unit", Kind::Text)];
const TRACKING: &[Field] = &[
    field("TrackEnable", Kind::Bool),
    field("Algorithm", Kind::OneOf(&algorithm::ALL)),
    field("SaveInterval (s)", Kind::NonNegative),
    field("jvInterval", Kind::Object(SPAN)),
    field("TestDuration", Kind::Object(SPAN)),
];
const CELL: &[Field] = &[
    field("Type", Kind::OneOf(&cell_type::ALL)),
    field("Area (cm2)", Kind::NonNegative),
    field("NrCells", Kind::Integer),
];
/// The six keys of the day-night settings (global, or a channel's own).
pub(crate) const DAY_NIGHT: &[Field] = &[
    field("enable", Kind::Bool),
    field("sensor", Kind::Integer),
    field("threshold_value", Kind::Number),
    field("threshold_duration", Kind::NonNegative),
    field("night_algorithm", Kind::OneOf(&algorithm::ALL)),
    field("night_jv", Kind::Bool),
];
const CHANNEL_DAY_NIGHT: &[Field] = &[
    field("Use Global", Kind::Bool),
    field("Settings", Kind::Object(DAY_NIGHT)),
];
const LIGHT: &[Field] = &[
    field("Irradiance", Kind::NonNegative),
    field("Unit", Kind::Text),
];

/// The documented channel settings keys.
pub(crate) const FIELDS: &[Field] = &[
    field("Enable", Kind::Bool),
    field("User", Kind::Text),
    field("Device", Kind::Text),
    field("Note", Kind::Text),
    field("Channel", Kind::Object(CHANNEL)),
    field("JV", Kind::Object(JV)),
    field("Tracking", Kind::Object(TRACKING)),
    field("Cell", Kind::Object(CELL)),
    field("Day-Night", Kind::Object(CHANNEL_DAY_NIGHT)),
    field("Light", Kind::Object(LIGHT)),
];

/// The fastest a channel sweeps: about 10 points per second, as the vendor documents.
pub(crate) const FASTEST_POINT: Duration = Duration::from_millis(100);
/// The longest jvInterval or TestDuration accepted: a year.
const LONGEST_SPAN: Duration = Duration::from_secs(365 * 86_400);

/// The settings a channel powers on with: disabled, a -0.1 to 1.2 V sweep in 20 mV steps
/// at 200 mV/s forward then reverse, MPP tracking with a JV every 10 minutes and no end.
pub(crate) fn defaults() -> Map<String, Value> {
    let value = json!({
        "Enable": false, "User": "", "Device": "", "Note": "",
        "Channel": {"VoltageLimit": "10 V", "CurrentLimit": 2, "Inverted": false},
        "JV": {"Vmin (V)": -0.1, "Vmax (V)": 1.2, "Step (mV)": 20.0, "ScanRate (mV/s)": 200.0,
               "VocDetect": false, "Overvoltage (%)": 10.0, "ScanOrder": scan_order::FW_THEN_RV},
        "Tracking": {"TrackEnable": true, "Algorithm": algorithm::MPPT, "SaveInterval (s)": 10.0,
                     "jvInterval": {"Value": 10.0, "Unit": "min"},
                     "TestDuration": {"Value": 0.0, "Unit": "h"}},
        "Cell": {"Type": cell_type::CELL, "Area (cm2)": 0.1, "NrCells": 1},
        "Day-Night": {"Use Global": true,
                      "Settings": {"enable": false, "sensor": 0, "threshold_value": 50.0,
                                   "threshold_duration": 60.0,
                                   "night_algorithm": algorithm::OPEN_CIRCUIT, "night_jv": false}},
        "Light": {"Irradiance": 100.0, "Unit": "mW/cm2"}
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// What a channel's settings make it do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelPlan {
    pub(crate) enabled: bool,
    pub(crate) user: String,
    pub(crate) device: String,
    pub(crate) sweep: Sweep,
    pub(crate) track: bool,
    pub(crate) algorithm: String,
    pub(crate) jv_interval: Duration,
    /// `None`: until StopChannel.
    pub(crate) test_duration: Option<Duration>,
    /// The cell under this channel's light, before ageing.
    pub(crate) cell: CellModel,
    pub(crate) irradiance_mw_cm2: f64,
    pub(crate) area_cm2: f64,
    /// Cells in series multiply the voltage, in parallel the current.
    pub(crate) series: f64,
    pub(crate) parallel: f64,
}

fn span(span: Option<&TimeSpan>, name: &str, default: Duration) -> Result<Duration, Failure> {
    let Some(span) = span else { return Ok(default) };
    if span.value.is_none() && span.unit.is_none() {
        return Ok(default);
    }
    let unit = span.unit.as_deref().unwrap_or("s");
    if TimeSpan::unit_seconds(unit).is_none() {
        return Err(Failure::invalid(format!(
            "Invalid parameters: Tracking.{name}.Unit \"{}\" is not one of s, min, h, d",
            crate::simulator::params::short(unit)
        )));
    }
    let d = TimeSpan {
        unit: Some(unit.to_string()),
        ..span.clone()
    }
    .duration()
    .filter(|d| *d <= LONGEST_SPAN)
    .ok_or_else(|| {
        Failure::invalid(format!(
            "Invalid parameters: Tracking.{name} must be at most a year"
        ))
    })?;
    Ok(d)
}

/// Irradiance in mW/cm² from a `Light` value and unit.
fn irradiance(value: f64, unit: &str) -> Option<f64> {
    match unit.trim().to_ascii_lowercase().as_str() {
        "mw/cm2" | "mw/cm^2" | "mw/cm²" => Some(value),
        "w/m2" | "w/m^2" | "w/m²" => Some(value / 10.0),
        "sun" | "suns" => Some(value * 100.0),
        _ => None,
    }
}

/// The voltage limit in volts, from `"10 V"` (or a bare number).
fn voltage_limit(text: &str) -> Option<f64> {
    let number = text.trim().trim_end_matches(['V', 'v']).trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// The plan `settings` (a whole settings object) make.
pub(crate) fn plan(settings: &Map<String, Value>) -> Result<ChannelPlan, Failure> {
    let typed: ChannelSettings = serde_json::from_value(Value::Object(settings.clone()))
        .map_err(|e| Failure::invalid(format!("Invalid parameters: {e}")))?;
    let jv = typed.jv.unwrap_or_default();
    let tracking = typed.tracking.unwrap_or_default();
    let cell = typed.cell.unwrap_or_default();
    let light = typed.light.unwrap_or_default();
    let limits = typed.channel.unwrap_or_default();

    let unit = light.unit.as_deref().unwrap_or("mW/cm2");
    let irradiance_mw_cm2 =
        irradiance(light.irradiance.unwrap_or(100.0), unit).ok_or_else(|| {
            Failure::invalid(format!(
                "Invalid parameters: Light.Unit \"{}\" is not one of mW/cm2, W/m2, suns",
                crate::simulator::params::short(unit)
            ))
        })?;
    let model = CellModel::PEROVSKITE.under(irradiance_mw_cm2);

    let (vmin, vmax) = (jv.vmin_v.unwrap_or(-0.1), jv.vmax_v.unwrap_or(1.2));
    if let Some(limit) = limits.voltage_limit.as_deref() {
        let volts = voltage_limit(limit).ok_or_else(|| {
            Failure::invalid("Invalid parameters: Channel.VoltageLimit must read like \"10 V\"")
        })?;
        if vmin.abs() > volts || vmax.abs() > volts {
            return Err(Failure::invalid(format!(
                "Invalid parameters: the JV range {vmin} to {vmax} V exceeds Channel.VoltageLimit {limit}"
            )));
        }
    }
    let mut high = vmax;
    if jv.voc_detect == Some(true) {
        let past = model.voc() * (1.0 + jv.overvoltage_pct.unwrap_or(10.0) / 100.0);
        if past > vmin {
            high = high.min(past);
        }
    }
    let step_mv = jv.step_mv.unwrap_or(20.0);
    let rate = jv.scan_rate_mv_per_s.unwrap_or(200.0);
    if rate <= 0.0 {
        return Err(Failure::invalid(
            "Invalid parameters: JV.ScanRate (mV/s) must be above 0",
        ));
    }
    let period = Duration::try_from_secs_f64(step_mv / rate)
        .map_err(|_| {
            Failure::invalid(
                "Invalid parameters: JV.Step (mV) / ScanRate (mV/s) is not a usable time",
            )
        })?
        .max(FASTEST_POINT);
    let order = match jv.scan_order.as_deref().unwrap_or(scan_order::FW_THEN_RV) {
        scan_order::RV_THEN_FW => &[Direction::Reverse, Direction::Forward][..],
        scan_order::FORWARD_ONLY => &[Direction::Forward][..],
        scan_order::REVERSE_ONLY => &[Direction::Reverse][..],
        _ => &[Direction::Forward, Direction::Reverse][..],
    };
    let sweep = Sweep::plan(vmin, high, step_mv / 1000.0, order, period)?;

    let area = cell.area_cm2.unwrap_or(0.1);
    if !(area > 0.0 && area <= 10_000.0) {
        return Err(Failure::invalid(
            "Invalid parameters: Cell.Area (cm2) must be above 0 (at most 10000)",
        ));
    }
    let cells = f64::from(cell.nr_cells.unwrap_or(1));
    if !(1.0..=1000.0).contains(&cells) {
        return Err(Failure::invalid(
            "Invalid parameters: Cell.NrCells must be 1 to 1000",
        ));
    }
    let (series, parallel) = match cell.cell_type.as_deref() {
        Some(cell_type::PARALLEL_MODULE) => (1.0, cells),
        Some(cell_type::Z_MODULE | cell_type::W_MODULE) => (cells, 1.0),
        _ => (1.0, 1.0),
    };
    let test_duration = span(
        tracking.test_duration.as_ref(),
        "TestDuration",
        Duration::ZERO,
    )?;
    Ok(ChannelPlan {
        enabled: typed.enable.unwrap_or(false),
        user: typed.user.unwrap_or_default(),
        device: typed.device.unwrap_or_default(),
        sweep,
        track: tracking.track_enable.unwrap_or(true),
        algorithm: tracking
            .algorithm
            .unwrap_or_else(|| algorithm::MPPT.to_string()),
        jv_interval: span(
            tracking.jv_interval.as_ref(),
            "jvInterval",
            Duration::from_secs(600),
        )?,
        test_duration: (!test_duration.is_zero()).then_some(test_duration),
        cell: model,
        irradiance_mw_cm2,
        area_cm2: area,
        series,
        parallel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_make_a_valid_plan_at_the_documented_pace() {
        let p = plan(&defaults()).unwrap();
        assert!(!p.enabled);
        assert_eq!(p.sweep.total_points(), 132);
        assert_eq!(p.sweep.point_period, FASTEST_POINT);
        assert_eq!(p.jv_interval, Duration::from_secs(600));
        assert_eq!(p.test_duration, None);
    }

    #[test]
    fn scans_never_run_faster_than_ten_points_a_second() {
        let mut s = defaults();
        s["JV"]["ScanRate (mV/s)"] = json!(10_000.0);
        assert_eq!(plan(&s).unwrap().sweep.point_period, FASTEST_POINT);
    }

    #[test]
    fn impossible_settings_are_refused() {
        let cases: [(&str, &str, Value); 5] = [
            ("JV", "Vmax (V)", json!(20.0)),
            (
                "Tracking",
                "jvInterval",
                json!({"Value": 1, "Unit": "fortnight"}),
            ),
            ("Light", "Unit", json!("lux")),
            ("Cell", "Area (cm2)", json!(0.0)),
            ("JV", "Step (mV)", json!(0.0)),
        ];
        for (section, key, value) in cases {
            let mut s = defaults();
            s[section][key] = value.clone();
            assert!(plan(&s).is_err(), "{section}.{key} = {value}");
        }
    }
}
