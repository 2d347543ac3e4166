//! UPDATE (client to service): the service table changed. The data is the table alone.

use bytes::BytesMut;

use crate::error::{DecodeError, EncodeError};
use crate::parse::run_complete;
use crate::service::{Service, put_table, service_table, table_len, validate_table};

const NAME: &str = "UPDATE";

/// UPDATE data.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Update {
    /// The new service table (terminator not included).
    pub services: Vec<Service>,
}

impl Update {
    /// Bytes of the data on the wire.
    pub fn encoded_len(&self) -> usize {
        table_len(&self.services)
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        validate_table(NAME, &self.services)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        put_table(&self.services, dst);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        run_complete(NAME, data, base, |i| {
            let (i, services) = service_table(i)?;
            Ok((i, Update { services }))
        })
    }
}
