//! REDIRECT (service to client): connect to another service instead.
//!
//! ```text
//! +----------------------------+
//! | "host:port" (UTF-8) + NUL  |
//! +----------------------------+
//! ```

use bytes::BytesMut;

use crate::error::{DecodeError, EncodeError};
use crate::parse::{cstring, run_complete};
use crate::service::{check_cstring, put_cstring};

const NAME: &str = "REDIRECT";

/// REDIRECT data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Redirect {
    /// Where to go, as `host:port` (not checked here: the runtime resolves it).
    pub target: String,
}

impl Redirect {
    /// Bytes of the data on the wire.
    pub fn encoded_len(&self) -> usize {
        self.target.len() + 1
    }

    pub(crate) fn validate(&self) -> Result<(), EncodeError> {
        check_cstring(NAME, "target", &self.target)
    }

    pub(crate) fn put(&self, dst: &mut BytesMut) {
        put_cstring(&self.target, dst);
    }

    pub(crate) fn parse(data: &[u8], base: usize) -> Result<Self, DecodeError> {
        run_complete(NAME, data, base, |i| {
            let (i, target) = cstring("target")(i)?;
            Ok((
                i,
                Redirect {
                    target: target.to_owned(),
                },
            ))
        })
    }
}
