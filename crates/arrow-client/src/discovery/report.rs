//! What a scan found, as the user sees it (JSON lines of `protoctl arrow scan`) and as the
//! Arrow Service does (SCAN_REPORT's host records and service table).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arrow_codec::{HostFlags, ServiceType};
use serde::Serialize;

use crate::identity::MacAddr;

/// How a host was found. Only `arp` and `icmp` have a bit on the wire; `tcp` (a candidate
/// port answered, open or refused) and `onvif` (it answered WS-Discovery) are ours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FoundBy {
    /// It answered ARP (its MAC is in the neighbour table).
    pub arp: bool,
    /// It answered an ICMP echo.
    pub icmp: bool,
    /// A TCP connect to a candidate port was answered.
    pub tcp: bool,
    /// It answered the ONVIF probe.
    pub onvif: bool,
}

impl FoundBy {
    /// The names of the methods that found it, in a fixed order.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.arp, "arp"),
            (self.icmp, "icmp"),
            (self.tcp, "tcp"),
            (self.onvif, "onvif"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// The host record's flags on the wire.
    pub fn wire(&self) -> HostFlags {
        let mut bits = 0;
        if self.arp {
            bits |= HostFlags::ARP.0;
        }
        if self.icmp {
            bits |= HostFlags::ICMP.0;
        }
        HostFlags(bits)
    }
}

/// A host that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundHost {
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its MAC, when the neighbour table has it (hosts on a local subnet).
    pub mac: Option<MacAddr>,
    /// How it was found.
    pub found_by: FoundBy,
    /// Its open candidate ports, ascending.
    pub ports: Vec<u16>,
}

/// A service the probes identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundService {
    /// RTSP, Locked/Unknown/Unsupported RTSP, HTTP, MJPEG or Locked MJPEG.
    pub service_type: ServiceType,
    /// Where.
    pub addr: SocketAddr,
    /// The stream's path, when one was found.
    pub path: String,
    /// The host's MAC (all zero when unknown).
    pub mac: MacAddr,
}

/// The lower-case name of a scanner's service type in JSON: `rtsp`, `locked_rtsp`,
/// `unknown_rtsp`, `unsupported_rtsp`, `http`, `mjpeg`, `locked_mjpeg`.
pub fn type_name(service_type: ServiceType) -> String {
    service_type
        .name()
        .map_or_else(|| service_type.to_string(), str::to_ascii_lowercase)
}

/// One line of a scan's JSON output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScanLine {
    /// A host.
    Host {
        /// Its address.
        ip: IpAddr,
        /// `aa:bb:cc:dd:ee:ff`, or null when unknown.
        mac: Option<String>,
        /// `arp`, `icmp`, `tcp`, `onvif`.
        flags: Vec<&'static str>,
        /// Open candidate ports.
        ports: Vec<u16>,
    },
    /// A service.
    Service {
        /// See [`type_name`].
        #[serde(rename = "type")]
        service_type: String,
        /// The host's address.
        ip: IpAddr,
        /// The port.
        port: u16,
        /// The stream's path (empty when none).
        path: String,
        /// The host's MAC, or null when unknown.
        mac: Option<String>,
    },
}

/// Everything one scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// The hosts, by address.
    pub hosts: Vec<FoundHost>,
    /// The services, by address and port.
    pub services: Vec<FoundService>,
    /// What could not run (no ICMP permission, no multicast route) or was cut short.
    pub warnings: Vec<String>,
    /// The whole-scan deadline ended it before every probe was done.
    pub cut_short: bool,
}

impl ScanResult {
    /// One line per host, then one per service.
    pub fn lines(&self) -> Vec<ScanLine> {
        let mac = |m: Option<MacAddr>| m.map(|m| m.to_string());
        let hosts = self.hosts.iter().map(|h| ScanLine::Host {
            ip: IpAddr::V4(h.ip),
            mac: mac(h.mac),
            flags: h.found_by.names(),
            ports: h.ports.clone(),
        });
        let services = self.services.iter().map(|s| ScanLine::Service {
            service_type: type_name(s.service_type),
            ip: s.addr.ip(),
            port: s.addr.port(),
            path: s.path.clone(),
            mac: (s.mac.0 != [0; 6]).then(|| s.mac.to_string()),
        });
        hosts.chain(services).collect()
    }

    /// The SCAN_REPORT data answering GET_SCAN_REPORT `request_id`; services get the
    /// stable ids of [`crate::service_table`], from their real MAC.
    pub fn wire(&self, request_id: u16) -> arrow_codec::ScanReport {
        let hosts = self
            .hosts
            .iter()
            .map(|h| arrow_codec::HostRecord {
                flags: h.found_by.wire(),
                mac: h.mac.unwrap_or(MacAddr([0; 6])),
                ip: IpAddr::V4(h.ip),
                ports: h.ports.clone(),
            })
            .collect();
        arrow_codec::ScanReport {
            request_id,
            hosts,
            services: crate::service_table::discovered_records(&self.services),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> ScanResult {
        let mac = MacAddr([2, 0, 0x0a, 0x63, 0, 0x0a]);
        ScanResult {
            hosts: vec![FoundHost {
                ip: Ipv4Addr::new(10, 99, 0, 10),
                mac: Some(mac),
                found_by: FoundBy {
                    arp: true,
                    tcp: true,
                    onvif: true,
                    ..FoundBy::default()
                },
                ports: vec![80, 554],
            }],
            services: vec![
                FoundService {
                    service_type: ServiceType::Rtsp,
                    addr: "10.99.0.10:554".parse().unwrap(),
                    path: "/live.sdp".into(),
                    mac,
                },
                FoundService {
                    service_type: ServiceType::LockedMjpeg,
                    addr: "10.99.0.10:80".parse().unwrap(),
                    path: "/mjpg/video.mjpg".into(),
                    mac,
                },
            ],
            ..ScanResult::default()
        }
    }

    #[test]
    fn json_lines_are_one_per_host_then_one_per_service() {
        let lines: Vec<String> = result()
            .lines()
            .iter()
            .map(|l| serde_json::to_string(l).unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                r#"{"kind":"host","ip":"10.99.0.10","mac":"02:00:0a:63:00:0a","flags":["arp","tcp","onvif"],"ports":[80,554]}"#,
                r#"{"kind":"service","type":"rtsp","ip":"10.99.0.10","port":554,"path":"/live.sdp","mac":"02:00:0a:63:00:0a"}"#,
                r#"{"kind":"service","type":"locked_mjpeg","ip":"10.99.0.10","port":80,"path":"/mjpg/video.mjpg","mac":"02:00:0a:63:00:0a"}"#,
            ]
        );
    }

    #[test]
    fn every_scanner_type_has_its_json_name() {
        let cases = [
            (ServiceType::Rtsp, "rtsp"),
            (ServiceType::LockedRtsp, "locked_rtsp"),
            (ServiceType::UnknownRtsp, "unknown_rtsp"),
            (ServiceType::UnsupportedRtsp, "unsupported_rtsp"),
            (ServiceType::Http, "http"),
            (ServiceType::Mjpeg, "mjpeg"),
            (ServiceType::LockedMjpeg, "locked_mjpeg"),
        ];
        for (t, want) in cases {
            assert_eq!(type_name(t), want);
        }
    }

    #[test]
    fn the_wire_report_keeps_only_the_protocols_flags_and_gives_stable_ids() {
        let report = result().wire(7);
        assert_eq!(report.request_id, 7);
        assert_eq!(
            report.hosts[0].flags,
            HostFlags::ARP,
            "tcp and onvif have no bit"
        );
        assert_eq!(report.services.len(), 2);
        assert!(report.services.iter().all(|s| s.svc_id != 0));
        assert_eq!(report, result().wire(7), "ids are stable");
        let mut buf = bytes::BytesMut::new();
        arrow_codec::ControlMessage::new(1, arrow_codec::ControlBody::ScanReport(report))
            .encode(&mut buf)
            .unwrap();
    }
}
