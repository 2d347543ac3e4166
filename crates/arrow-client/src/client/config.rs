//! Everything a client needs to run, in one type.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::probing::DEFAULT_PROBE_TIMEOUT;
use crate::connection::ConnectionConfig;
use crate::discovery::ScanConfig;
use crate::identity::{Identity, MacAddr};
use crate::reconnect::ReconnectPolicy;
use crate::resolve::{DEFAULT_RESOLVE_TIMEOUT, Resolve, SystemResolver};
use crate::service_table::ServiceSpec;
use crate::storage::StatusStore;

use super::registration::default_extended_info;

/// Everything a client needs to run. [`ClientConfig::new`] fills in every default; the
/// defaults are defined once, here and in [`ConnectionConfig::default`] and
/// [`ReconnectPolicy::default`].
#[derive(Clone)]
pub struct ClientConfig {
    /// The Arrow Service, `HOST:PORT`; HOST is also the name its certificate must carry.
    pub server: String,
    /// TLS settings (trusted CAs), see [`crate::tls`].
    pub tls: Arc<rustls::ClientConfig>,
    /// The state directory: the identity (`identity.json`, made on first start unless
    /// [`identity`](Self::identity) is given), the status file (`status.json`) and the
    /// lock that keeps a second client off it. `None`: no status file, no lock, and an
    /// identity must be given.
    pub state_dir: Option<PathBuf>,
    /// The UUID and key; `None` to load (or create) them in the state directory.
    pub identity: Option<Identity>,
    /// Takes the status documents instead of the state directory's `status.json`
    /// ([`crate::storage`]); `None` for the file (when there is a state directory).
    pub status_store: Option<Arc<dyn StatusStore>>,
    /// The MAC sent in REGISTER; `None` for [`crate::identity::default_mac`] (the first
    /// network card's, else one derived from the UUID).
    pub mac: Option<MacAddr>,
    /// The services. Host names are resolved again on each connection attempt.
    pub services: Vec<ServiceSpec>,
    /// Window, timers, limits, gateway mode (REGISTER flag 0x1 follows
    /// [`ConnectionConfig::gateway`]).
    pub connection: ConnectionConfig,
    /// Backoff bounds.
    pub reconnect: ReconnectPolicy,
    /// REGISTER's extended_info JSON.
    pub extended_info: String,
    /// Register once and stop: [`Client::join`](super::Client::join) returns `Ok` once the
    /// service accepted REGISTER, and an error for a refusal, an unreachable service or a
    /// service host that does not resolve, instead of retrying.
    pub once: bool,
    /// Discovery: scan the LAN for cameras at start, every 5 minutes and on each
    /// SCAN_NETWORK, and answer GET_SCAN_REPORT with what the last scan found. `None`
    /// (the default): off, SCAN_NETWORK is ignored.
    pub discovery: Option<ScanConfig>,
    /// Looks service host names up.
    pub resolver: Arc<dyn Resolve>,
    /// How long one service host lookup may take.
    pub resolve_timeout: Duration,
    /// How long probing one configured stream that named no path may take, all its
    /// requests together. A camera still not done by then (one that answers OPTIONS and
    /// then stalls, say) is announced with its configured type and path `/` and asked
    /// again later, so that it cannot hold up the connection to the service. Streams
    /// are probed side by side.
    pub probe_timeout: Duration,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("server", &self.server)
            .field("state_dir", &self.state_dir)
            .field("identity", &self.identity)
            .field("status_store", &self.status_store.is_some())
            .field("mac", &self.mac)
            .field("services", &self.services)
            .field("connection", &self.connection)
            .field("reconnect", &self.reconnect)
            .field("once", &self.once)
            .field("discovery", &self.discovery)
            .field("resolve_timeout", &self.resolve_timeout)
            .field("probe_timeout", &self.probe_timeout)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration with the defaults: no state directory yet, no services, window
    /// 65,536, PING every 20 s with a 15 s timeout, no gateway mode, backoff 1 s to 60 s,
    /// this crate's extended_info, the system's resolver with a 10 s timeout, 15 s to
    /// probe a stream that named no path.
    pub fn new(server: impl Into<String>, tls: Arc<rustls::ClientConfig>) -> Self {
        ClientConfig {
            server: server.into(),
            tls,
            state_dir: None,
            identity: None,
            status_store: None,
            mac: None,
            services: Vec::new(),
            connection: ConnectionConfig::default(),
            reconnect: ReconnectPolicy::default(),
            extended_info: default_extended_info(),
            once: false,
            discovery: None,
            resolver: Arc::new(SystemResolver),
            resolve_timeout: DEFAULT_RESOLVE_TIMEOUT,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}
