//! The documented targets of the All-in-One API.

/// Routine selection: StartRoutine, GetActiveRoutine, GetAvailableRoutines.
pub const MAIN: &str = "MAIN";
/// The active routine: settings, measurement, status, data, custom commands.
pub const ROUTINE: &str = "ROUTINE";
/// The temperature controller.
pub const TMPCTL: &str = "TMPCTL";
/// The relay multiplexer.
pub const MUX: &str = "MUX";
/// The LED light source.
pub const LED: &str = "LED";

/// Every documented target.
pub const ALL: [&str; 5] = [MAIN, ROUTINE, TMPCTL, MUX, LED];
