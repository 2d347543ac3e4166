//! Each routine's settings: the defaults a routine opens with, the documented JV schema
//! every ApplySettings is checked against, and the measurement plan the settings make.
//!
//! Only the JV routines' settings are documented; the other routines store whatever object
//! they are given (bounded) and return it from GetSettings.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::routine_plan::{RunPlan, SweepRun};
use crate::all_in_one::{JvSettings, RoutineInfo, order, routines};
use crate::simulator::Timing;
use crate::simulator::cell::CellModel;
use crate::simulator::jv_sweep::{Direction, Sweep};
use crate::simulator::outcome::Failure;
use crate::simulator::schema::{Field, Kind, field};

const SCAN: &[Field] = &[
    field("Start (V)", Kind::Number),
    field("End (V)", Kind::Number),
    field("Step (V)", Kind::NonNegative),
    field("Rate (V/s)", Kind::NonNegative),
    field("Order", Kind::OneOf(&order::ALL)),
    field("Auto Voc", Kind::Bool),
    field("Exceed Voc (%)", Kind::NonNegative),
];
const PRECONDITION: &[Field] = &[
    field("Condition", Kind::Text),
    field("Value", Kind::Number),
    field("Hold Time (s)", Kind::NonNegative),
    field("Hold Voltage (V)", Kind::Number),
];
const DEVICE: &[Field] = &[
    field("Area (cm2)", Kind::NonNegative),
    field("Inverted", Kind::Bool),
];
const LIGHT: &[Field] = &[
    field("Source", Kind::Text),
    field("Irradiance (mW/cm2)", Kind::NonNegative),
    field("Level (%)", Kind::NonNegative),
];
const LIGHT_CONFIG: &[Field] = &[field("LED Level", Kind::NonNegative)];
const SCAN_SETTINGS: &[Field] = &[
    field("scan", Kind::Object(SCAN)),
    field("precondition", Kind::Object(PRECONDITION)),
    field("device", Kind::Object(DEVICE)),
    field("light", Kind::Object(LIGHT)),
    field("light_config", Kind::Object(LIGHT_CONFIG)),
];
const DEVICE_SETTINGS: &[Field] = &[field("Compliance (A)", Kind::NonNegative)];

/// The documented JV settings keys.
pub(crate) const JV_FIELDS: &[Field] = &[
    field("device_type", Kind::Text),
    field("device_settings", Kind::Object(DEVICE_SETTINGS)),
    field("scan_settings", Kind::Object(SCAN_SETTINGS)),
    field("sweep_settings", Kind::List),
];

/// The longest preconditioning hold accepted, in seconds (a day).
const MAX_HOLD_S: f64 = 86_400.0;

/// True for the routines whose data is JV data.
pub(crate) fn is_jv(routine: &str) -> bool {
    routine == routines::JV || routine == routines::DARK_JV
}

/// The documented keys of `routine`'s settings (none for the routines the vendor does not
/// document).
pub(crate) fn schema(routine: &str) -> &'static [Field] {
    if is_jv(routine) { JV_FIELDS } else { &[] }
}

/// The settings a routine opens with.
pub(crate) fn defaults(routine: &str) -> Map<String, Value> {
    let value = if is_jv(routine) {
        let dark = routine == routines::DARK_JV;
        json!({
            "device_type": "NI-SMU",
            "device_settings": {"Compliance (A)": 0.1},
            "scan_settings": {
                "scan": {"Start (V)": -0.1, "End (V)": 1.2, "Step (V)": 0.02, "Rate (V/s)": 0.2,
                         "Order": order::FORWARD_THEN_REVERSE, "Auto Voc": false,
                         "Exceed Voc (%)": 10.0},
                "precondition": {"Condition": "None", "Value": 0.0, "Hold Time (s)": 0.0,
                                 "Hold Voltage (V)": 0.0},
                "device": {"Area (cm2)": 0.1, "Inverted": false},
                "light": {"Source": if dark { "None" } else { "LED" },
                          "Irradiance (mW/cm2)": if dark { 0.0 } else { 100.0 },
                          "Level (%)": if dark { 0.0 } else { 100.0 }},
                "light_config": {"LED Level": if dark { 0.0 } else { 100.0 }}
            },
            "sweep_settings": []
        })
    } else {
        match routine {
            routines::LUMINESCENCE => json!({"Integration Time (ms)": 100.0, "Averages": 1}),
            routines::IPCE => json!({"Start (nm)": 300.0, "End (nm)": 850.0, "Step (nm)": 10.0}),
            _ => json!({}),
        }
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The measurement `settings` make for `routine`: for the JV routines the sweep (refused
/// with 101 when impossible), for the others a timed measurement.
pub(crate) fn plan(
    routine: &str,
    settings: &Map<String, Value>,
    info: &RoutineInfo,
    timing: &Timing,
) -> Result<RunPlan, Failure> {
    if !is_jv(routine) {
        return Ok(RunPlan::Timed {
            length: timing.measure,
        });
    }
    let typed: JvSettings = serde_json::from_value(Value::Object(settings.clone()))
        .map_err(|e| Failure::invalid(format!("Invalid parameters: {e}")))?;
    let scan_settings = typed.scan_settings.unwrap_or_default();
    let scan = scan_settings.scan.unwrap_or_default();
    let light = scan_settings.light.unwrap_or_default();
    let pre = scan_settings.precondition.unwrap_or_default();
    let device = scan_settings.device.unwrap_or_default();

    let irradiance =
        light.irradiance_mw_cm2.unwrap_or(100.0) * light.level_pct.unwrap_or(100.0) / 100.0;
    let cell = CellModel::PEROVSKITE.under(irradiance);
    let (start, end) = (scan.start_v.unwrap_or(-0.1), scan.end_v.unwrap_or(1.2));
    let low = start.min(end);
    let mut high = start.max(end);
    if scan.auto_voc == Some(true) {
        let past = cell.voc() * (1.0 + scan.exceed_voc_pct.unwrap_or(10.0) / 100.0);
        if past > low {
            high = high.min(past);
        }
    }
    let step = scan.step_v.unwrap_or(0.02);
    let rate = scan.rate_v_per_s.unwrap_or(0.2);
    if rate <= 0.0 {
        return Err(Failure::invalid(
            "Invalid parameters: scan_settings.scan.Rate (V/s) must be above 0",
        ));
    }
    let period = Duration::try_from_secs_f64(step / rate).map_err(|_| {
        Failure::invalid("Invalid parameters: Step (V) / Rate (V/s) is not a usable time")
    })?;
    let order = match scan.order.as_deref().unwrap_or(order::FORWARD_THEN_REVERSE) {
        order::REVERSE_THEN_FORWARD => &[Direction::Reverse, Direction::Forward][..],
        order::FORWARD => &[Direction::Forward][..],
        order::REVERSE => &[Direction::Reverse][..],
        _ => &[Direction::Forward, Direction::Reverse][..],
    };
    let sweep = Sweep::plan(low, high, step, order, period)?;
    let hold = Duration::try_from_secs_f64(pre.hold_time_s.unwrap_or(0.0))
        .ok()
        .filter(|h| h.as_secs_f64() <= MAX_HOLD_S)
        .ok_or_else(|| {
            Failure::invalid(format!(
                "Invalid parameters: Hold Time (s) must be 0 to {MAX_HOLD_S}"
            ))
        })?;
    let area = info.device_area.or(device.area_cm2).unwrap_or(0.1);
    let compliance = typed
        .device_settings
        .and_then(|d| d.compliance_a)
        .unwrap_or(0.1);
    let fault = compliance_fault(&sweep, &cell, area, compliance);
    Ok(RunPlan::Sweep(Box::new(SweepRun {
        sweep,
        hold,
        hold_voltage: pre.hold_voltage_v.unwrap_or(0.0),
        cell,
        irradiance_mw_cm2: irradiance,
        area_cm2: area,
        fault,
    })))
}

/// The first point whose current exceeds the compliance: how many points come before it,
/// and the error the routine reports.
fn compliance_fault(
    sweep: &Sweep,
    cell: &CellModel,
    area_cm2: f64,
    compliance_a: f64,
) -> Option<(usize, String)> {
    let mut before = 0;
    for scan in &sweep.scans {
        for i in 0..scan.points {
            let v = scan.voltage(i);
            let amps = cell.current(v).abs() * area_cm2 / 1000.0;
            if amps > compliance_a {
                return Some((
                    before,
                    format!(
                        "Compliance reached: {amps:.3} A at {v:.3} V exceeds Compliance (A) {compliance_a}"
                    ),
                ));
            }
            before += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_jv_settings_make_two_66_point_scans_at_10_points_a_second() {
        let settings = defaults(routines::JV);
        let plan = plan(
            routines::JV,
            &settings,
            &RoutineInfo::default(),
            &Timing::realistic(),
        )
        .unwrap();
        let RunPlan::Sweep(s) = plan else {
            panic!("a sweep")
        };
        assert_eq!(s.sweep.total_points(), 132);
        assert_eq!(s.sweep.point_period, Duration::from_millis(100));
        assert_eq!(s.fault, None);
    }

    #[test]
    fn a_current_over_the_compliance_is_a_fault_at_its_point() {
        let mut settings = defaults(routines::JV);
        settings["scan_settings"]["scan"]["End (V)"] = json!(1.4);
        settings["device_settings"]["Compliance (A)"] = json!(0.01);
        let RunPlan::Sweep(s) = plan(
            routines::JV,
            &settings,
            &RoutineInfo::default(),
            &Timing::realistic(),
        )
        .unwrap() else {
            panic!("a sweep")
        };
        let (before, message) = s.fault.unwrap();
        assert!(before > 0 && before < 76, "{before}");
        assert!(message.contains("Compliance reached"), "{message}");
    }

    #[test]
    fn dark_jv_has_no_light() {
        let RunPlan::Sweep(s) = plan(
            routines::DARK_JV,
            &defaults(routines::DARK_JV),
            &RoutineInfo::default(),
            &Timing::realistic(),
        )
        .unwrap() else {
            panic!("a sweep")
        };
        assert_eq!(s.irradiance_mw_cm2, 0.0);
        assert_eq!(s.cell.jsc, 0.0);
    }
}
