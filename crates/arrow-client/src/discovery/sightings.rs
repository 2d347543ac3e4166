//! Which discovered services are visible: each stays in the client's table for
//! [`VISIBLE_FOR`] after a scan last saw it, so a camera that misses one scan (busy,
//! rebooting) does not flicker out of the Arrow Service. Kept in the state directory
//! (`discovered.json`) across restarts. Sans-IO: the time is an argument, the file is
//! text in and out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_codec::ServiceType;
use serde::{Deserialize, Serialize};

use super::FoundService;
use crate::identity::MacAddr;

/// How long a service stays visible after it was last seen.
pub const VISIBLE_FOR: Duration = Duration::from_secs(1200);

/// The file in the state directory.
pub const SIGHTINGS_FILE: &str = "discovered.json";

/// The most services remembered (the least recently seen go first).
pub const MAX_SIGHTINGS: usize = 4096;

/// A service as the file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    #[serde(rename = "type")]
    service_type: u16,
    mac: String,
    addr: SocketAddr,
    path: String,
    /// Seconds since the Unix epoch.
    last_seen: u64,
}

/// The services scans found, with when each was last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sightings {
    /// (type, MAC, address, path) to last seen.
    seen: BTreeMap<(u16, MacAddr, SocketAddr, String), SystemTime>,
}

impl Sightings {
    /// Records what a scan found at `now`. True when the set of services changed (one is
    /// new); a service seen again only moves its time.
    pub fn record(&mut self, found: &[FoundService], now: SystemTime) -> bool {
        let mut changed = false;
        for f in found {
            let key = (u16::from(f.service_type), f.mac, f.addr, f.path.clone());
            changed |= self.seen.insert(key, now).is_none();
        }
        while self.seen.len() > MAX_SIGHTINGS {
            let oldest = self
                .seen
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                self.seen.remove(&key);
            }
        }
        changed
    }

    /// The services seen within [`VISIBLE_FOR`] of `now`. A time ahead of `now` by more
    /// than that (the clock was set back, a damaged file) does not count as seen: such a
    /// service comes back with the next scan that finds it.
    pub fn visible(&self, now: SystemTime) -> Vec<FoundService> {
        // One service per address and type: the one seen last (a camera replaced at the
        // same address, or seen once before its MAC was known).
        let mut latest: BTreeMap<(SocketAddr, u16), (SystemTime, FoundService)> = BTreeMap::new();
        for ((service_type, mac, addr, path), at) in &self.seen {
            let age = now
                .duration_since(*at)
                .unwrap_or_else(|ahead| ahead.duration());
            if age >= VISIBLE_FOR {
                continue;
            }
            let service = FoundService {
                service_type: ServiceType::from(*service_type),
                addr: *addr,
                path: path.clone(),
                mac: *mac,
            };
            match latest.entry((*addr, *service_type)) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert((*at, service));
                }
                std::collections::btree_map::Entry::Occupied(mut e) => {
                    if *at > e.get().0 {
                        e.insert((*at, service));
                    }
                }
            }
        }
        latest.into_values().map(|(_, service)| service).collect()
    }

    /// Forgets every service (RESET_SVC_TABLE).
    pub fn clear(&mut self) {
        self.seen.clear();
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        let records: Vec<Record> = self
            .seen
            .iter()
            .map(|((service_type, mac, addr, path), at)| Record {
                service_type: *service_type,
                mac: mac.to_string(),
                addr: *addr,
                path: path.clone(),
                last_seen: at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            })
            .collect();
        serde_json::to_string_pretty(&records).unwrap_or_else(|_| "[]".into())
    }

    /// The sightings in a file's text; what does not parse, or is no service a scan finds
    /// (a type it never gives, a path that is no request path), is left out: a damaged
    /// file costs a rescan, never the client.
    pub fn from_json(text: &str) -> Sightings {
        let records: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
        let mut sightings = Sightings::default();
        for value in records.into_iter().take(MAX_SIGHTINGS) {
            let Ok(r) = serde_json::from_value::<Record>(value) else {
                continue;
            };
            let Ok(mac) = r.mac.parse::<MacAddr>() else {
                continue;
            };
            if !is_found_type(r.service_type) || !is_request_path(&r.path) {
                continue;
            }
            let at = UNIX_EPOCH + Duration::from_secs(r.last_seen.min(u64::from(u32::MAX) * 4));
            sightings
                .seen
                .insert((r.service_type, mac, r.addr, r.path), at);
        }
        sightings
    }
}

/// A type a scan gives a service.
fn is_found_type(t: u16) -> bool {
    matches!(
        ServiceType::from(t),
        ServiceType::Rtsp
            | ServiceType::LockedRtsp
            | ServiceType::UnknownRtsp
            | ServiceType::UnsupportedRtsp
            | ServiceType::Mjpeg
            | ServiceType::LockedMjpeg
            | ServiceType::Http
    )
}

/// Empty, or an absolute path of printable length with no NUL (it goes into REGISTER as a
/// C string).
fn is_request_path(path: &str) -> bool {
    (path.is_empty() || path.starts_with('/')) && path.len() <= 1024 && !path.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(port: u16, path: &str) -> FoundService {
        FoundService {
            service_type: ServiceType::Rtsp,
            addr: SocketAddr::from(([10, 99, 0, 10], port)),
            path: path.into(),
            mac: MacAddr([2, 0, 0, 0, 0, 10]),
        }
    }

    #[test]
    fn a_service_stays_visible_for_twenty_minutes_after_it_was_last_seen() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut s = Sightings::default();
        assert!(s.record(&[found(554, "/a")], t0));
        assert!(!s.record(&[found(554, "/a")], t0), "seen again: no change");
        let cases = [
            (Duration::ZERO, 1),
            (VISIBLE_FOR - Duration::from_secs(1), 1),
            (VISIBLE_FOR, 0),
            (VISIBLE_FOR * 3, 0),
        ];
        for (later, want) in cases {
            assert_eq!(s.visible(t0 + later).len(), want, "{later:?}");
        }
        // Seen again later: visible again, for twenty minutes from then.
        s.record(&[found(554, "/a")], t0 + VISIBLE_FOR * 2);
        assert_eq!(
            s.visible(t0 + VISIBLE_FOR * 2 + Duration::from_secs(60))
                .len(),
            1
        );
        s.clear();
        assert!(s.visible(t0).is_empty());
    }

    #[test]
    fn the_file_round_trips_and_a_damaged_one_costs_only_its_bad_records() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut s = Sightings::default();
        s.record(&[found(554, "/a"), found(8554, "/b")], t0);
        let text = s.to_json();
        assert_eq!(Sightings::from_json(&text), s);
        for bad in ["", "nonsense", "{}", "[1, 2]"] {
            assert_eq!(Sightings::from_json(bad), Sightings::default(), "{bad}");
        }
        let mixed = r#"[{"type":1,"mac":"zz","addr":"10.0.0.1:554","path":"","last_seen":1},
            {"type":1,"mac":"02:00:00:00:00:01","addr":"10.0.0.2:554","path":"/x","last_seen":1}]"#;
        assert_eq!(Sightings::from_json(mixed).visible(UNIX_EPOCH).len(), 1);
    }

    #[test]
    fn a_record_no_scan_gives_is_left_out_of_the_file() {
        let record = |t: u16, path: &str| {
            format!(
                r#"[{{"type":{t},"mac":"02:00:00:00:00:01","addr":"10.0.0.2:554","path":{},"last_seen":1}}]"#,
                serde_json::to_string(path).unwrap()
            )
        };
        let cases = [
            (1, "/x", 1),
            (6, "/mjpg/video.mjpg", 1),
            (5, "", 1),
            (0, "/x", 0),
            (999, "/x", 0),
            (1, "/x\0y", 0),
            (1, "x", 0),
            (1, &"/a".repeat(600), 0),
        ];
        for (t, path, want) in cases {
            let s = Sightings::from_json(&record(t, path));
            assert_eq!(s.visible(UNIX_EPOCH).len(), want, "type {t} path {path:?}");
        }
    }

    #[test]
    fn one_service_per_address_and_type_the_one_seen_last() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut s = Sightings::default();
        let mut unknown_mac = found(554, "/a");
        unknown_mac.mac = MacAddr([0; 6]);
        s.record(&[unknown_mac], t0);
        s.record(&[found(554, "/a")], t0 + Duration::from_secs(300));
        let visible = s.visible(t0 + Duration::from_secs(301));
        assert_eq!(visible, vec![found(554, "/a")]);
    }

    #[test]
    fn a_time_far_ahead_of_now_does_not_keep_a_service_visible() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut s = Sightings::default();
        s.record(
            &[found(554, "/ahead")],
            now + Duration::from_secs(86_400 * 365),
        );
        s.record(&[found(555, "/near")], now + Duration::from_secs(60));
        let visible = s.visible(now);
        assert_eq!(visible.len(), 1, "{visible:?}");
        assert_eq!(visible[0].path, "/near");
    }

    #[test]
    fn the_least_recently_seen_go_first_past_the_limit() {
        let mut s = Sightings::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(10);
        for i in 0..(MAX_SIGHTINGS as u16 + 5) {
            s.record(&[found(i, "/")], t0 + Duration::from_millis(u64::from(i)));
        }
        let visible = s.visible(t0 + Duration::from_secs(60));
        assert_eq!(visible.len(), MAX_SIGHTINGS);
        assert!(
            visible.iter().all(|f| f.addr.port() >= 5),
            "the oldest five went"
        );
    }
}
