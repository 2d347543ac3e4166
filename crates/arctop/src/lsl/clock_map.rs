//! From the phone's clock to LSL's: each message's own `timestamp` (Unix milliseconds on
//! the phone) becomes a time on the local LSL clock (seconds since an arbitrary moment), so
//! an Arctop value lines up with EEG, eye tracking and stimulus markers recorded beside it.
//!
//! The two clocks differ by an unknown offset (the phone's clock is set by the phone) plus
//! the network delay. The map keeps `offset = lsl - phone` with the least delay seen:
//!
//! - the first message of a connection is stamped with its arrival time;
//! - a later message is stamped `phone time + offset`, the phone's own spacing kept;
//! - a stamp may not lie after the message arrived (data cannot come from the future):
//!   then the offset shrinks to make it the arrival time;
//! - a stamp more than [`MAX_LAG`] before its arrival means the phone's clock jumped (or
//!   drifted that far): the offset is set again from the arrival time;
//! - a message without a timestamp is stamped with its arrival time.
//!
//! Whenever the offset changes, the stamp is the arrival time, which no earlier stamp
//! passes (each was at most its own arrival): stamps therefore never go backwards unless
//! the phone's own timestamps do.

/// How far before its arrival a stamp may lie before the map starts over.
pub const MAX_LAG: f64 = 10.0;

/// The mapping of one connection. Sans I/O: the caller reads the LSL clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClockMap {
    offset: Option<f64>,
}

impl ClockMap {
    /// A map that has seen no message.
    pub fn new() -> Self {
        ClockMap::default()
    }

    /// The LSL time for a message stamped `phone_ms` (if at all) that arrived at
    /// `arrival` (LSL seconds).
    pub fn stamp(&mut self, phone_ms: Option<i64>, arrival: f64) -> f64 {
        let Some(ms) = phone_ms else {
            return arrival;
        };
        let sent = ms as f64 / 1000.0;
        let offset = match self.offset {
            Some(offset) if sent + offset <= arrival && arrival - (sent + offset) <= MAX_LAG => {
                offset
            }
            _ => arrival - sent,
        };
        self.offset = Some(offset);
        sent + offset
    }

    /// `lsl - phone` in seconds, once a timestamped message was seen.
    pub fn offset(&self) -> Option<f64> {
        self.offset
    }

    /// Forgets the offset: a new connection (maybe another phone) starts over.
    pub fn reset(&mut self) {
        self.offset = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One message: its phone timestamp (ms) if any, and its arrival (LSL seconds).
    type Arrival = (Option<i64>, f64);

    /// The stamps of messages, in order, on one map.
    fn stamps(messages: &[Arrival]) -> Vec<f64> {
        let mut map = ClockMap::new();
        messages
            .iter()
            .map(|&(ms, arrival)| map.stamp(ms, arrival))
            .collect()
    }

    #[test]
    fn stamps_follow_the_phone_clock_from_the_least_delay() {
        let cases: [(&str, &[Arrival], &[f64]); 6] = [
            (
                "steady delay: the phone's spacing is kept",
                &[
                    (Some(1_000), 50.0),
                    (Some(1_250), 50.25),
                    (Some(1_500), 50.5),
                ],
                &[50.0, 50.25, 50.5],
            ),
            (
                "late arrivals keep their measured time",
                &[
                    (Some(1_000), 50.0),
                    (Some(1_100), 52.0),
                    (Some(1_200), 52.0),
                ],
                &[50.0, 50.1, 50.2],
            ),
            (
                "the first message was slow: a faster one lowers the offset",
                &[
                    (Some(1_000), 50.5),
                    (Some(1_500), 50.6),
                    (Some(2_000), 51.1),
                ],
                &[50.5, 50.6, 51.1],
            ),
            (
                "no timestamp: the arrival time",
                &[(Some(1_000), 50.0), (None, 50.7), (Some(1_800), 50.9)],
                &[50.0, 50.7, 50.8],
            ),
            (
                "a phone clock jump forward starts over",
                &[
                    (Some(1_000), 50.0),
                    (Some(3_601_000), 51.0),
                    (Some(3_601_500), 51.5),
                ],
                &[50.0, 51.0, 51.5],
            ),
            (
                "a phone clock jump back starts over",
                &[
                    (Some(1_000_000), 50.0),
                    (Some(1_000), 51.0),
                    (Some(1_500), 51.5),
                ],
                &[50.0, 51.0, 51.5],
            ),
        ];
        for (name, messages, want) in cases {
            let got = stamps(messages);
            assert_eq!(got.len(), want.len(), "{name}");
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-9, "{name}: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn stamps_never_go_backwards_while_the_phone_clock_does_not() {
        // Arrivals with jitter, slow starts and jumps; phone time always increasing.
        let mut map = ClockMap::new();
        let mut last = f64::NEG_INFINITY;
        let mut arrival = 100.0;
        for i in 0..2_000_i64 {
            let jitter = ((i * 7919) % 13) as f64 * 0.01;
            let jump = if i % 500 == 499 { 30_000 } else { 0 };
            arrival += 0.1 + jitter + jump as f64 / 1000.0;
            let stamp = map.stamp(Some(i * 100 + (i / 500) * 30_000), arrival);
            assert!(stamp >= last, "message {i}: {stamp} < {last}");
            assert!(stamp <= arrival, "message {i}: stamped after it arrived");
            last = stamp;
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut map = ClockMap::new();
        map.stamp(Some(1_000), 50.0);
        assert_eq!(map.offset(), Some(49.0));
        map.reset();
        assert_eq!(map.offset(), None);
        assert_eq!(map.stamp(Some(1_000), 60.0), 60.0);
    }
}
