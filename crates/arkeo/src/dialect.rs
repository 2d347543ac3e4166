//! The two ARKEO APIs: same framing, different envelopes.

use std::fmt;

/// Which ARKEO API a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The All-in-One API (port 6360): `target`, `command`, `parameter`, `request_id`;
    /// replies carry `status`, `data` or `error`, and echo `request_id`.
    AllInOne,
    /// The Multichannel API (port 6340, v0.5 and later): `command`, `indices`, `parameter`;
    /// replies carry `status` and a domain key (`channels`, `sensors`, ...) or `error`.
    Multichannel,
}

impl Dialect {
    /// The vendor's default TCP port.
    pub const fn default_port(self) -> u16 {
        match self {
            Dialect::AllInOne => 6360,
            Dialect::Multichannel => 6340,
        }
    }

    /// A short name for logs and messages.
    pub const fn name(self) -> &'static str {
        match self {
            Dialect::AllInOne => "All-in-One",
            Dialect::Multichannel => "Multichannel",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
