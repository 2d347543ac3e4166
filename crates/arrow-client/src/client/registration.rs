//! The REGISTER message a client sends: its identity, MAC, window, flags and services.

use arrow_codec::{ClientKey, Register, RegisterFlags};

use crate::identity::{Identity, MacAddr};
use crate::service_table::ServiceTable;

/// What a client says about itself in REGISTER, apart from its services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// UUID and key.
    pub identity: Identity,
    /// The MAC it registers with.
    pub mac: MacAddr,
    /// Session capacity in bytes (REGISTER carries it minus 1).
    pub capacity: u32,
    /// Gateway mode: flag 0x1.
    pub gateway: bool,
    /// The extended_info JSON.
    pub extended_info: String,
}

impl Registration {
    /// The REGISTER message announcing `table`.
    pub fn register(&self, table: &ServiceTable) -> Register {
        let mut register =
            Register::new(self.identity.uuid, ClientKey(self.identity.key), self.mac);
        register.window_size = u16::try_from(self.capacity.saturating_sub(1)).unwrap_or(u16::MAX);
        register.flags = if self.gateway {
            RegisterFlags::GATEWAY
        } else {
            RegisterFlags::default()
        };
        register.extended_info = self.extended_info.clone();
        register.services = table.records();
        register
    }
}

/// The extended_info this client sends: `{"client":{...},"device":{...}}`, compact.
pub fn default_extended_info() -> String {
    serde_json::json!({
        "client": {
            "id": "protoctl-arrow-client",
            "version": env!("CARGO_PKG_VERSION"),
            "vendor": "protoctl",
        },
        "device": { "category": null, "type": null, "vendor": null },
    })
    .to_string()
}
