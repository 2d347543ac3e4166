//! Bit-flag fields: REGISTER flags, STATUS flags, scan-report host flags. Each keeps every
//! bit it was given, known or not.

/// The `flags` field of REGISTER.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct RegisterFlags(pub u32);

impl RegisterFlags {
    /// `0x0001`: the client accepts connection requests for non-localhost services too.
    /// The real client sets it by default.
    pub const GATEWAY: RegisterFlags = RegisterFlags(0x0001);

    /// True when the gateway bit is set.
    pub fn is_gateway(self) -> bool {
        self.0 & Self::GATEWAY.0 != 0
    }
}

/// The `status_flags` field of STATUS.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StatusFlags(pub u32);

impl StatusFlags {
    /// Bit 0: the network scanner is running.
    pub const SCANNING: StatusFlags = StatusFlags(0x0000_0001);

    /// True when the scanner-running bit is set.
    pub fn is_scanning(self) -> bool {
        self.0 & Self::SCANNING.0 != 0
    }
}

/// The `flags` field of a scan-report host record.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct HostFlags(pub u8);

impl HostFlags {
    /// `0x01`: discovered using an ARP scan.
    pub const ARP: HostFlags = HostFlags(0x01);
    /// `0x02`: discovered using an ICMP echo scan.
    pub const ICMP: HostFlags = HostFlags(0x02);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: HostFlags) -> bool {
        self.0 & other.0 == other.0
    }
}
