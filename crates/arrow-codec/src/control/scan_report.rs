//! SCAN_REPORT (client to service): the answer to GET_SCAN_REPORT.
//!
//! ```text
//! +----------------+----------------+--------+-----+--------+---------------+
//! | request_id u16 | host_count u32 | host_1 | ... | host_n | service table |
//! +----------------+----------------+--------+-----+--------+---------------+
//!
//! host record:
//! +----------+--------+------------+--------------+----------------+----------+-----+
//! | flags u8 | mac(6) | ip_version | ip_addr (16) | port_count u16 | port u16 | ... |
//! +----------+--------+------------+--------------+----------------+----------+-----+
//! ```
//!
//! Counts are checked against the bytes left before anything is allocated.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::multi::count;
use nom::number::complete::{be_u8, be_u16};

use crate::error::{DecodeError, EncodeError};
use crate::flags::HostFlags;
use crate::mac::MacAddr;
use crate::parse::{PResult, count_u16, count_u32, field, ip_addr, mac_addr, run_complete};
use crate::service::{Service, put_ip, put_table, service_table, table_len, validate_table};

const NAME: &str = "SCAN_REPORT";

/// Bytes of a host record without its ports.
pub const HOST_RECORD_FIXED_LEN: usize = 26;

/// One host the scanner found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct HostRecord {
    /// How the host was found.
    pub flags: HostFlags,
    /// The host's MAC address.
    pub mac: MacAddr,
    /// The host's address.
    pub ip: IpAddr,
    /// Its open ports.
    pub ports: Vec<u16>,
}

impl HostRecord {
    /// Bytes this record takes on the wire.
    pub fn encoded_len(&self) -> usize {
        HOST_RECORD_FIXED_LEN + 2 * self.ports.len()
    }
}

/// SCAN_REPORT data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanReport {
    /// The msg_id of the GET_SCAN_REPORT this answers.
    pub request_id: u16,
    /// The hosts found.
    pub hosts: Vec<HostRecord>,
    /// The services found (terminator not included).
    pub services: Vec<Service>,
}

impl ScanReport {
    /// An empty report: no hosts, no services.
    pub fn empty(request_id: u16) -> Self {
        ScanReport {
            request_id,
            hosts: Vec::new(),
            services: Vec::new(),
        }
    }

    /// Bytes of the data on the wire.
    pub fn encoded_len(&self) -> usize {
        6 + self
            .hosts
            .iter()
            .map(HostRecord::encoded_len)
            .sum::<usize>()
            + table_len(&self.services)
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        if u32::try_from(self.hosts.len()).is_err() {
            return Err(EncodeError::TooMany {
                message: NAME,
                field: "host_count",
                count: self.hosts.len(),
                max: u64::from(u32::MAX),
            });
        }
        for host in &self.hosts {
            if u16::try_from(host.ports.len()).is_err() {
                return Err(EncodeError::TooMany {
                    message: NAME,
                    field: "port_count",
                    count: host.ports.len(),
                    max: u64::from(u16::MAX),
                });
            }
        }
        validate_table(NAME, &self.services)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_u16(self.request_id);
        // Counts were validated to fit.
        dst.put_u32(self.hosts.len() as u32);
        for host in &self.hosts {
            dst.put_u8(host.flags.0);
            dst.put_slice(&host.mac.0);
            put_ip(&host.ip, dst);
            dst.put_u16(host.ports.len() as u16);
            for port in &host.ports {
                dst.put_u16(*port);
            }
        }
        put_table(&self.services, dst);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        run_complete(NAME, data, base, |i| {
            let (i, request_id) = field("request_id", be_u16).parse(i)?;
            let (i, host_count) = count_u32("host_count", HOST_RECORD_FIXED_LEN)(i)?;
            let (i, hosts) = count(host_record, host_count).parse(i)?;
            let (i, services) = service_table(i)?;
            Ok((
                i,
                ScanReport {
                    request_id,
                    hosts,
                    services,
                },
            ))
        })
    }
}

fn host_record(i: &[u8]) -> PResult<'_, HostRecord> {
    let (i, flags) = field("host flags", be_u8).parse(i)?;
    let (i, mac) = mac_addr(i)?;
    let (i, ip) = ip_addr(i)?;
    let (i, port_count) = count_u16("port_count", 2)(i)?;
    let (i, ports) = count(field("port", be_u16), port_count).parse(i)?;
    Ok((
        i,
        HostRecord {
            flags: HostFlags(flags),
            mac,
            ip,
            ports,
        },
    ))
}
