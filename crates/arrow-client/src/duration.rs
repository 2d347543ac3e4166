//! Durations as people write them in flags and config files: a bare number of seconds
//! (`15`, `0.5`) or a number with a unit (`500ms`, `15s`, `2m`, `1h`, `3d`, `1h 30m`).
//!
//! One parser for the whole of protoctl: the `arrow run` config file reads its durations
//! here, and the command line parses every duration flag of every subcommand with it, so a
//! value that works in one place works everywhere and a mistake gets the same message. Each
//! use names its upper bound: [`MAX_INTERVAL`] for timeouts and intervals, [`MAX_RUN`] for
//! the length of a run. Zero is refused (no timeout, interval or run of length 0 makes
//! sense), and so is anything past the bound, before a `Duration` is made, so no value can
//! overflow a timer or a clock later.
//!
//! ```
//! use std::time::Duration;
//! use arrow_client::duration::{MAX_INTERVAL, parse_duration};
//!
//! assert_eq!(parse_duration("0.5", MAX_INTERVAL), Ok(Duration::from_millis(500)));
//! assert_eq!(parse_duration("2m", MAX_INTERVAL), Ok(Duration::from_secs(120)));
//! assert!(parse_duration("2days", MAX_INTERVAL).is_err());
//! ```

use std::time::Duration;

/// The longest timeout or interval: one day.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest run (such as a tracking run's `--duration`): 365 days.
pub const MAX_RUN: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The forms a duration may take, for help texts and error messages.
pub const FORMS: &str = "seconds (15, 0.5) or a number with a unit (500ms, 15s, 2m, 1h, 3d)";

/// Why a text is not a usable duration. Its message quotes the text and says what would
/// be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Neither a number of seconds nor a number with a unit.
    #[error("invalid duration {text:?}: expected {FORMS}")]
    Invalid {
        /// The text as given.
        text: String,
    },
    /// Zero.
    #[error("invalid duration {text:?}: must be more than 0 (e.g. 500ms, 15s, 2m)")]
    Zero {
        /// The text as given.
        text: String,
    },
    /// Longer than the bound of its kind.
    #[error(
        "invalid duration {text:?}: too long: the allowed range is more than 0 up to {} \
         (e.g. 500ms, 15s, 2m, 1h)",
        describe(*max)
    )]
    TooLong {
        /// The text as given.
        text: String,
        /// The bound.
        max: Duration,
    },
}

/// `1 day`, `365 days`, or humantime's form for other bounds.
fn describe(max: Duration) -> String {
    const DAY: u64 = 24 * 60 * 60;
    match (max.as_secs(), max.subsec_nanos()) {
        (DAY, 0) => "1 day".into(),
        (secs, 0) if secs % DAY == 0 => format!("{} days", secs / DAY),
        _ => humantime::format_duration(max).to_string(),
    }
}

/// Parses `text` (surrounding spaces ignored) as a duration of more than 0 and at most
/// `max`.
pub fn parse_duration(text: &str, max: Duration) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let parsed = if is_plain_number(trimmed) {
        // Digits with at most one '.': finite and not negative, so only the bound can fail.
        let secs: f64 = trimmed.parse().map_err(|_| invalid(text))?;
        if secs > max.as_secs_f64() {
            return Err(too_long(text, max));
        }
        Duration::try_from_secs_f64(secs).map_err(|_| invalid(text))?
    } else {
        match humantime::parse_duration(trimmed) {
            Ok(d) => d,
            // humantime reports overflow for absurd values such as 500000000000years.
            Err(humantime::DurationError::NumberOverflow) => return Err(too_long(text, max)),
            Err(_) => return Err(invalid(text)),
        }
    };
    check(text, parsed, max)
}

/// A number of seconds from a config file's number value (`ping_timeout = 15` or `0.5`),
/// checked like [`parse_duration`]; `text` is how the value is quoted in errors.
pub fn seconds(secs: f64, max: Duration) -> Result<Duration, DurationError> {
    let text = secs.to_string();
    if !secs.is_finite() || secs < 0.0 {
        return Err(invalid(&text));
    }
    if secs > max.as_secs_f64() {
        return Err(too_long(&text, max));
    }
    let parsed = Duration::try_from_secs_f64(secs).map_err(|_| invalid(&text))?;
    check(&text, parsed, max)
}

fn check(text: &str, parsed: Duration, max: Duration) -> Result<Duration, DurationError> {
    if parsed.is_zero() {
        return Err(DurationError::Zero {
            text: text.to_string(),
        });
    }
    if parsed > max {
        return Err(too_long(text, max));
    }
    Ok(parsed)
}

/// Digits, optionally one '.' followed by digits: `15`, `0.5`, `1.` is not one.
fn is_plain_number(s: &str) -> bool {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

fn invalid(text: &str) -> DurationError {
    DurationError::Invalid {
        text: text.to_string(),
    }
}

fn too_long(text: &str, max: Duration) -> DurationError {
    DurationError::TooLong {
        text: text.to_string(),
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = MAX_INTERVAL;

    #[test]
    fn bare_numbers_are_seconds_and_units_work_too() {
        let cases = [
            ("1", Duration::from_secs(1)),
            ("15", Duration::from_secs(15)),
            ("0.5", Duration::from_millis(500)),
            ("2.25", Duration::from_millis(2250)),
            (" 3 ", Duration::from_secs(3)),
            ("0.001", Duration::from_millis(1)),
            ("500ms", Duration::from_millis(500)),
            ("1.5s", Duration::from_millis(1500)),
            ("15s", Duration::from_secs(15)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1h 30m", Duration::from_secs(5400)),
            ("1d", DAY),
            ("1day", DAY),
            ("24h", DAY),
            ("86400", DAY),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text, DAY), Ok(want), "{text}");
        }
    }

    #[test]
    fn runs_may_last_a_year_and_intervals_a_day() {
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(parse_duration("3d", MAX_RUN), Ok(3 * DAY));
        assert_eq!(parse_duration("365d", MAX_RUN), Ok(year));
        assert_eq!(parse_duration("31536000", MAX_RUN), Ok(year));
        assert!(matches!(
            parse_duration("366d", MAX_RUN),
            Err(DurationError::TooLong { .. })
        ));
        assert!(matches!(
            parse_duration("3d", MAX_INTERVAL),
            Err(DurationError::TooLong { .. })
        ));
    }

    #[test]
    fn what_is_refused_and_why() {
        type Kind = fn(&DurationError) -> bool;
        let invalid: Kind = |e| matches!(e, DurationError::Invalid { .. });
        let zero: Kind = |e| matches!(e, DurationError::Zero { .. });
        let too_long: Kind = |e| matches!(e, DurationError::TooLong { .. });
        let cases: [(&str, Kind); 20] = [
            ("", invalid),
            ("x", invalid),
            ("-1", invalid),
            ("+1", invalid),
            ("1e9", invalid),
            ("NaN", invalid),
            ("inf", invalid),
            ("1.", invalid),
            (".5", invalid),
            ("1.2.3", invalid),
            ("20 parsecs", invalid),
            ("0", zero),
            ("0.0", zero),
            ("0s", zero),
            ("0ms", zero),
            ("86401", too_long),
            ("24h 1ms", too_long),
            ("2days", too_long),
            ("500000000000years", too_long),
            ("99999999999999999999999999999999999999999", too_long),
        ];
        for (text, kind) in cases {
            let err = parse_duration(text, DAY).unwrap_err();
            assert!(kind(&err), "{text}: {err:?}");
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }

    #[test]
    fn messages_say_what_is_accepted() {
        let err = parse_duration("soon", DAY).unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid duration \"soon\": expected seconds (15, 0.5) or a number with a unit \
             (500ms, 15s, 2m, 1h, 3d)"
        );
        let err = parse_duration("2days", DAY).unwrap_err().to_string();
        assert!(err.contains("up to 1 day"), "{err}");
        let err = parse_duration("400d", MAX_RUN).unwrap_err().to_string();
        assert!(err.contains("up to 365 days"), "{err}");
        let err = parse_duration("0", DAY).unwrap_err().to_string();
        assert!(err.contains("must be more than 0"), "{err}");
    }

    #[test]
    fn config_file_numbers_are_seconds() {
        assert_eq!(seconds(15.0, DAY), Ok(Duration::from_secs(15)));
        assert_eq!(seconds(0.25, DAY), Ok(Duration::from_millis(250)));
        assert_eq!(seconds(86_400.0, DAY), Ok(DAY));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 86_400.5, 1e300] {
            assert!(seconds(bad, DAY).is_err(), "{bad}");
        }
    }
}
