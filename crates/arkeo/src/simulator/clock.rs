//! Instrument time: the simulated instrument lives on a clock that runs `speed` times faster
//! than the host's, so a 13 s JV sweep takes 0.13 s at speed 100.
//!
//! [`SimClock`] maps a host [`Instant`] to a [`Moment`]: the instrument time since power-on
//! (what every state transition is computed from) and the matching wall-clock time (for the
//! ISO-8601 timestamps in replies, which therefore also run `speed` times faster).

use std::time::{Duration, Instant};

/// The simulator's clock. Sans-IO: the caller passes `now`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimClock {
    origin: Instant,
    unix_origin: f64,
    speed: f64,
}

/// One instant on the instrument's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Moment {
    /// Instrument time since power-on.
    pub(crate) t: Duration,
    /// Wall-clock seconds since the Unix epoch at that time.
    pub(crate) unix: f64,
}

impl SimClock {
    /// A clock powered on at `origin`, when the wall clock read `unix_origin`.
    pub(crate) fn new(origin: Instant, unix_origin: f64, speed: f64) -> Self {
        SimClock {
            origin,
            unix_origin,
            speed,
        }
    }

    /// The instrument's moment at host time `now` (never before power-on; saturates at
    /// `Duration::MAX` instead of overflowing).
    pub(crate) fn at(&self, now: Instant) -> Moment {
        let host = now.saturating_duration_since(self.origin).as_secs_f64();
        let t = Duration::try_from_secs_f64(host * self.speed).unwrap_or(Duration::MAX);
        Moment {
            t,
            unix: self.unix_origin + t.as_secs_f64(),
        }
    }
}

impl Moment {
    /// A moment `t` after power-on, with the wall clock at 0 then (for unit tests).
    #[cfg(test)]
    pub(crate) fn at_offset(t: Duration) -> Self {
        Moment {
            t,
            unix: t.as_secs_f64(),
        }
    }

    /// The wall-clock time at instrument time `t` (same clock as this moment).
    pub(crate) fn unix_at(&self, t: Duration) -> f64 {
        self.unix - self.t.as_secs_f64() + t.as_secs_f64()
    }
}

/// Seconds since the Unix epoch as ISO-8601 UTC with milliseconds,
/// `2025-01-02T03:04:05.678Z` (clamped to years 1970 to 9999).
pub(crate) fn iso8601(unix: f64) -> String {
    let unix = if unix.is_finite() {
        unix.clamp(0.0, 253_402_300_799.999)
    } else {
        0.0
    };
    let total_ms = (unix * 1000.0).round() as i64;
    let secs = total_ms.div_euclid(1000);
    let ms = total_ms.rem_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the era arithmetic of
/// the civil calendar: 400-year eras of 146 097 days, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_of_known_instants() {
        let cases = [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (951_782_400.5, "2000-02-29T00:00:00.500Z"),
            (1_700_000_000.123, "2023-11-14T22:13:20.123Z"),
            (4_102_444_799.999_6, "2100-01-01T00:00:00.000Z"),
            (-5.0, "1970-01-01T00:00:00.000Z"),
            (f64::NAN, "1970-01-01T00:00:00.000Z"),
            (1e300, "9999-12-31T23:59:59.999Z"),
        ];
        for (unix, want) in cases {
            assert_eq!(iso8601(unix), want, "{unix}");
        }
    }

    #[test]
    fn the_clock_runs_speed_times_faster_and_never_overflows() {
        let origin = Instant::now();
        let clock = SimClock::new(origin, 1000.0, 100.0);
        let m = clock.at(origin + Duration::from_millis(20));
        assert_eq!(m.t, Duration::from_secs(2));
        assert_eq!(m.unix, 1002.0);
        assert_eq!(clock.at(origin).t, Duration::ZERO);
        let huge = SimClock::new(origin, 0.0, 1e300);
        assert_eq!(huge.at(origin + Duration::from_secs(1)).t, Duration::MAX);
    }
}
