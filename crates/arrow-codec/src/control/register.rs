//! REGISTER (client to service): credentials, extended info and the service table.
//!
//! ```text
//!  0          16         32         38            40      44
//! +----------+----------+----------+-------------+-------+----------------------+-----------+
//! | uuid(16) | key(16)  | mac(6)   | window_size | flags | extended_info + NUL  | svc_table |
//! |          |          |          | u16         | u32   | (UTF-8 JSON or empty)|           |
//! +----------+----------+----------+-------------+-------+----------------------+-----------+
//! ```

use std::fmt;

use bytes::{BufMut, BytesMut};
use nom::Parser;
use nom::number::complete::{be_u16, be_u32};
use uuid::Uuid;

use crate::error::{DecodeError, EncodeError};
use crate::flags::RegisterFlags;
use crate::mac::MacAddr;
use crate::parse::{array, cstring, field, mac_addr, run_complete};
use crate::service::{
    Service, check_cstring, put_cstring, put_table, service_table, table_len, validate_table,
};

const NAME: &str = "REGISTER";

/// Bytes of REGISTER data before `extended_info`.
pub const REGISTER_FIXED_LEN: usize = 44;

/// The 16-byte key a client proves its identity with. Its `Debug` output hides the bytes;
/// it serializes as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClientKey(pub [u8; 16]);

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientKey(..)")
    }
}

impl serde::Serialize for ClientKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for ClientKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut key = [0u8; 16];
        hex::decode_to_slice(text.as_bytes(), &mut key).map_err(serde::de::Error::custom)?;
        Ok(ClientKey(key))
    }
}

/// REGISTER data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Register {
    /// The client's UUID (v4).
    pub uuid: Uuid,
    /// The client's key.
    pub key: ClientKey,
    /// MAC address of the client's network interface.
    pub mac: MacAddr,
    /// Session capacity minus 1 (65535 means 65,536 bytes in flight per session).
    pub window_size: u16,
    /// Client flags.
    pub flags: RegisterFlags,
    /// Extended info: compact JSON, or empty for none. Written with a terminating NUL.
    pub extended_info: String,
    /// The client's service table (terminator not included).
    pub services: Vec<Service>,
}

impl Register {
    /// A registration as the real client sends it: window 65535, gateway flag on, no
    /// extended info, no services.
    pub fn new(uuid: Uuid, key: ClientKey, mac: MacAddr) -> Self {
        Register {
            uuid,
            key,
            mac,
            window_size: u16::MAX,
            flags: RegisterFlags::GATEWAY,
            extended_info: String::new(),
            services: Vec::new(),
        }
    }

    /// Bytes of the data on the wire.
    pub fn encoded_len(&self) -> usize {
        REGISTER_FIXED_LEN + self.extended_info.len() + 1 + table_len(&self.services)
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        check_cstring(NAME, "extended_info", &self.extended_info)?;
        validate_table(NAME, &self.services)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        dst.put_slice(self.uuid.as_bytes());
        dst.put_slice(&self.key.0);
        dst.put_slice(&self.mac.0);
        dst.put_u16(self.window_size);
        dst.put_u32(self.flags.0);
        put_cstring(&self.extended_info, dst);
        put_table(&self.services, dst);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        run_complete(NAME, data, base, |i| {
            let (i, uuid) = field("uuid", array::<16>).parse(i)?;
            let (i, key) = field("key", array::<16>).parse(i)?;
            let (i, mac) = mac_addr(i)?;
            let (i, window_size) = field("window_size", be_u16).parse(i)?;
            let (i, flags) = field("flags", be_u32).parse(i)?;
            let (i, extended_info) = cstring("extended_info")(i)?;
            let (i, services) = service_table(i)?;
            Ok((
                i,
                Register {
                    uuid: Uuid::from_bytes(uuid),
                    key: ClientKey(key),
                    mac,
                    window_size,
                    flags: RegisterFlags(flags),
                    extended_info: extended_info.to_owned(),
                    services,
                },
            ))
        })
    }
}
