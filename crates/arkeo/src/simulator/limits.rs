//! Every bound the simulator keeps, so no request can make it allocate without limit.

/// The largest request payload: 1 MiB. Checked from the length prefix, before reading it.
pub const MAX_REQUEST: usize = 1024 * 1024;
/// The largest reply payload: 16 MiB (the client's default reply limit). A longer reply
/// is replaced by error 101.
pub const MAX_REPLY: usize = 16 * 1024 * 1024;
/// Default cap on concurrent connections.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// The highest cap on concurrent connections a configuration may set.
pub(crate) const MAX_CONNECTIONS_CAP: usize = 4096;
/// Default idle timeout: a connection with no complete request for this long is closed.
pub(crate) const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);
/// Replies are written out once this many bytes wait, so a client pipelining requests
/// never makes the simulator buffer more than this plus one reply.
pub(crate) const WRITE_BUFFER: usize = 64 * 1024;
/// The first pause after a failed accept (out of descriptors, typically).
pub(crate) const ACCEPT_BACKOFF_MIN: std::time::Duration = std::time::Duration::from_millis(10);
/// The longest pause between failed accepts.
pub(crate) const ACCEPT_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(1);
/// The most channels a Multichannel simulator has (and indices a request may list).
pub(crate) const MAX_CHANNELS: usize = 64;
/// The largest stored settings object (a routine's, a channel's, day-night), as JSON bytes.
pub(crate) const MAX_SETTINGS_BYTES: usize = 64 * 1024;
/// The deepest nesting of a stored settings object.
pub(crate) const MAX_SETTINGS_DEPTH: usize = 8;
/// The longest key of a stored settings object, in bytes.
pub(crate) const MAX_KEY_BYTES: usize = 128;
/// The longest text value kept (user, device and environment names, addresses, notes).
pub(crate) const MAX_TEXT_BYTES: usize = 1024;
/// The most points of one JV scan.
pub(crate) const MAX_SCAN_POINTS: usize = 10_000;
/// Default number of received requests remembered.
pub(crate) const JOURNAL: usize = 1024;
/// The longest command or target name kept in the journal.
pub(crate) const JOURNAL_NAME_BYTES: usize = 64;
/// The most faults waiting to be injected.
pub(crate) const MAX_FAULTS: usize = 64;
