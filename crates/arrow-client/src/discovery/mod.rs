//! Finding the cameras on the local network: a scanner that works without privileges.
//!
//! # Network safety
//!
//! A scan sends traffic to every address of a subnet. Discovery is off unless the user
//! switches it on (`arrow run --discovery`, or `arrow scan`), it never leaves the subnets
//! of the allowed interfaces or the explicit targets, and it refuses networks larger than
//! [`ScanConfig::max_hosts`] (a /22 by default). This project's own tests, demo and
//! benchmarks scan only loopback or networks they make inside a network namespace of their
//! own.
//!
//! # How
//!
//! - Hosts ([`scanner`]): a TCP connect sweep of the candidate ports ([`ports`]) at a bounded
//!   rate, a datagram to each address so that the kernel resolves it with ARP (the
//!   neighbour table then gives MACs: [`neighbours`]), unprivileged ICMP echo where the
//!   system allows it, and ONVIF WS-Discovery ([`onvif`]). None of these needs root or
//!   CAP_NET_RAW. With CAP_NET_RAW an ARP sweep of our own ([`arp_sweep`]) goes out as
//!   well; without it the scan warns and goes on.
//! - Services: what answers on a candidate port is asked, as Angelcam's own client asks,
//!   for each path of a list ([`paths`], replaceable by files): RTSP with OPTIONS and
//!   DESCRIBE ([`rtsp_probe`]), HTTP and MJPEG with GET ([`http_probe`]). The probing and
//!   the classification are sans-IO: they take response bytes and return decisions.
//! - Results ([`report`]): hosts (address, MAC, how found, open ports) and typed services
//!   (RTSP, Locked/Unknown/Unsupported RTSP, HTTP, MJPEG, Locked MJPEG), as JSON lines and
//!   as the SCAN_REPORT the Arrow Service asks for.

pub mod arp_sweep;
pub mod http_probe;
pub mod neighbours;
pub mod onvif;
pub mod paths;
pub mod ports;
pub mod report;
pub mod rtsp_probe;
pub mod scanner;
pub mod scope;
pub mod sightings;

use std::time::Duration;

use ipnet::Ipv4Net;

pub use report::{FoundBy, FoundHost, FoundService, ScanLine, ScanResult};
pub use scanner::{probe_stream, scan, scan_until};

/// What a scan covers and how hard it may push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanConfig {
    /// Interfaces whose IPv4 subnets are swept; empty for every non-loopback one.
    pub interfaces: Vec<String>,
    /// Explicit networks (a single address is a /32); when given, the interfaces' subnets
    /// are not swept.
    pub targets: Vec<Ipv4Net>,
    /// The most addresses one scan may sweep.
    pub max_hosts: usize,
    /// RTSP candidate ports, in order.
    pub rtsp_ports: Vec<u16>,
    /// HTTP candidate ports, in order.
    pub http_ports: Vec<u16>,
    /// RTSP paths to DESCRIBE, in order.
    pub rtsp_paths: Vec<String>,
    /// MJPEG paths to GET, in order.
    pub mjpeg_paths: Vec<String>,
    /// Connections open at once.
    pub concurrency: usize,
    /// New connections a second.
    pub rate: u32,
    /// How long one connect or one request may take.
    pub probe_timeout: Duration,
    /// How long the whole scan may take.
    pub deadline: Duration,
    /// Send an ONVIF WS-Discovery probe.
    pub onvif: bool,
    /// How long to listen for ONVIF answers.
    pub onvif_wait: Duration,
}

impl Default for ScanConfig {
    /// The reference client's ports and paths, 64 connections at once, 500 new ones a
    /// second, 2 s per probe, 2 minutes per scan, ONVIF on.
    fn default() -> Self {
        ScanConfig {
            interfaces: Vec::new(),
            targets: Vec::new(),
            max_hosts: scope::DEFAULT_MAX_HOSTS,
            rtsp_ports: ports::RTSP_PORTS.to_vec(),
            http_ports: ports::HTTP_PORTS.to_vec(),
            rtsp_paths: paths::built_in(paths::RTSP_PATHS),
            mjpeg_paths: paths::built_in(paths::MJPEG_PATHS),
            concurrency: 64,
            rate: 500,
            probe_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(120),
            onvif: true,
            onvif_wait: Duration::from_secs(2),
        }
    }
}

impl ScanConfig {
    /// Every candidate port once, RTSP's order first.
    pub fn candidate_ports(&self) -> Vec<u16> {
        let mut all = self.rtsp_ports.clone();
        for port in &self.http_ports {
            if !all.contains(port) {
                all.push(*port);
            }
        }
        all
    }
}

/// How far a scan is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanProgress {
    /// Sweeping addresses: `done` of `total` addresses swept.
    Sweeping {
        /// Addresses done.
        done: usize,
        /// Addresses in all.
        total: usize,
    },
    /// Probing hosts with open ports: `done` of `total`.
    Probing {
        /// Hosts done.
        done: usize,
        /// Hosts in all.
        total: usize,
    },
}
