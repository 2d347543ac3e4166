//! Service records and the service table (REGISTER, UPDATE, SCAN_REPORT).
//!
//! ```text
//!  0        2          4                10           11                27     29
//! +--------+----------+----------------+------------+-----------------+------+------------+
//! | svc_id | svc_type | mac_addr (6)   | ip_version | ip_addr (16)    | port | path + NUL |
//! +--------+----------+----------------+------------+-----------------+------+------------+
//! ```
//!
//! A table is a run of records ended by a terminator record with id 0 and type 0. We write
//! the terminator as the real client does, a full 30-byte record (ip_version 4, everything
//! else zero, empty path); on receipt only its id and type count, the rest is skipped.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::number::complete::{be_u8, be_u16};

use crate::codes::ServiceType;
use crate::error::EncodeError;
use crate::mac::MacAddr;
use crate::parse::{PErr, PKind, PResult, array, cstring, field, ip_addr, mac_addr, skip_cstring};

/// Bytes of a service record without its path and NUL.
pub const SERVICE_RECORD_FIXED_LEN: usize = 29;

/// The terminator record exactly as a real v2 peer writes it.
pub const TABLE_TERMINATOR: [u8; 30] = {
    let mut record = [0u8; 30];
    record[10] = 4;
    record
};

/// One service a client offers (or its scanner found).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Service {
    /// Service id, used by CONNECT and in data message headers. Never 0 together with
    /// `svc_type` 0 (that pair is the table terminator).
    pub svc_id: u16,
    /// What kind of service it is.
    pub svc_type: ServiceType,
    /// MAC address of the service host ([`MacAddr::ZERO`] when unknown).
    pub mac: MacAddr,
    /// IPv4 or IPv6 address of the service host.
    pub ip: IpAddr,
    /// Service port.
    pub port: u16,
    /// URL path (e.g. `/stream.sdp?x=1`); empty for services other than RTSP and MJPEG.
    pub path: String,
}

impl Service {
    /// A service with an unknown MAC and an empty path.
    pub fn new(svc_id: u16, svc_type: ServiceType, ip: IpAddr, port: u16) -> Self {
        Service {
            svc_id,
            svc_type,
            mac: MacAddr::ZERO,
            ip,
            port,
            path: String::new(),
        }
    }

    /// Sets the MAC address.
    #[must_use]
    pub fn with_mac(mut self, mac: MacAddr) -> Self {
        self.mac = mac;
        self
    }

    /// Sets the URL path.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Bytes this record takes on the wire.
    pub fn encoded_len(&self) -> usize {
        SERVICE_RECORD_FIXED_LEN + self.path.len() + 1
    }
}

/// Bytes a table of these services takes, terminator included.
pub(crate) fn table_len(services: &[Service]) -> usize {
    services.iter().map(Service::encoded_len).sum::<usize>() + TABLE_TERMINATOR.len()
}

/// Checks that the table can be written and read back as it is.
pub(crate) fn validate_table(
    message: &'static str,
    services: &[Service],
) -> Result<(), EncodeError> {
    for (index, service) in services.iter().enumerate() {
        if service.svc_id == 0 && service.svc_type == ServiceType::ControlProtocol {
            return Err(EncodeError::TerminatorInTable { message, index });
        }
        check_cstring(message, "path", &service.path)?;
    }
    Ok(())
}

/// Strings go on the wire NUL-terminated, so they cannot hold a NUL.
pub(crate) fn check_cstring(
    message: &'static str,
    field: &'static str,
    text: &str,
) -> Result<(), EncodeError> {
    if text.as_bytes().contains(&0) {
        Err(EncodeError::InteriorNul { message, field })
    } else {
        Ok(())
    }
}

pub(crate) fn put_cstring(text: &str, dst: &mut BytesMut) {
    dst.put_slice(text.as_bytes());
    dst.put_u8(0);
}

/// `ip_version` and the 16 left-aligned address octets.
pub(crate) fn put_ip(ip: &IpAddr, dst: &mut BytesMut) {
    match ip {
        IpAddr::V4(v4) => {
            dst.put_u8(4);
            dst.put_slice(&v4.octets());
            dst.put_bytes(0, 12);
        }
        IpAddr::V6(v6) => {
            dst.put_u8(6);
            dst.put_slice(&v6.octets());
        }
    }
}

/// Writes the records and the terminator (validated beforehand).
pub(crate) fn put_table(services: &[Service], dst: &mut BytesMut) {
    for service in services {
        dst.put_u16(service.svc_id);
        dst.put_u16(service.svc_type.code());
        dst.put_slice(&service.mac.0);
        put_ip(&service.ip, dst);
        dst.put_u16(service.port);
        put_cstring(&service.path, dst);
    }
    dst.put_slice(&TABLE_TERMINATOR);
}

/// Reads records up to and including the terminator.
pub(crate) fn service_table(mut input: &[u8]) -> PResult<'_, Vec<Service>> {
    let mut services = Vec::new();
    loop {
        if input.is_empty() {
            return PErr::fail(input, PKind::MissingTerminator);
        }
        let (rest, record) = service_record(input)?;
        input = rest;
        match record {
            Some(service) => services.push(service),
            None => return Ok((input, services)),
        }
    }
}

/// One record; `None` for the terminator (whose other fields are read past, not checked).
fn service_record(input: &[u8]) -> PResult<'_, Option<Service>> {
    let (i, svc_id) = field("svc_id", be_u16).parse(input)?;
    let (i, svc_type) = field("svc_type", be_u16).parse(i)?;
    let (i, mac) = mac_addr(i)?;
    if svc_id == 0 && svc_type == 0 {
        let (i, _) = field("ip_version", be_u8).parse(i)?;
        let (i, _) = field("ip_addr", array::<16>).parse(i)?;
        let (i, _) = field("port", be_u16).parse(i)?;
        let (i, ()) = skip_cstring("path")(i)?;
        return Ok((i, None));
    }
    let (i, ip) = ip_addr(i)?;
    let (i, port) = field("port", be_u16).parse(i)?;
    let (i, path) = cstring("path")(i)?;
    Ok((
        i,
        Some(Service {
            svc_id,
            svc_type: ServiceType::from(svc_type),
            mac,
            ip,
            port,
            path: path.to_owned(),
        }),
    ))
}
