//! The client runtime: everything a device needs, behind one entry point,
//! [`Client::spawn`] with one [`ClientConfig`].
//!
//! A spawned client locks its state directory (a second client on it fails at once with
//! [`Error::StateLocked`]), loads or creates its identity there, settles its MAC (the
//! configured one, else [`default_mac`](crate::identity::default_mac)), and then runs the
//! reconnect loop on a task: on each attempt it resolves the services' host names, dials
//! the Arrow Service (TCP, TLS with rustls and ring), registers and serves sessions until
//! the connection ends, then waits out the backoff ([`crate::reconnect`], full jitter from
//! a real RNG) and tries again. It keeps `status.json` current in the state directory
//! ([`crate::status`]) and reports what happens as [`ClientEvent`]s.
//!
//! The [`Client`] and any [`ClientHandle`] replace the services
//! ([`update_services`](ClientHandle::update_services): resolved, then UPDATE on the live
//! connection and the new table in every later REGISTER) and stop it
//! ([`shutdown`](ClientHandle::shutdown): no new session, open sessions hung up once what
//! they hold is delivered, TLS closed with close_notify, status `stopped`). A handle also
//! reads the status ([`status`](ClientHandle::status)) and the service table announced
//! ([`services`](ClientHandle::services)) as they are now, and asks for a scan of the LAN
//! ([`scan_now`](ClientHandle::scan_now), discovery on). With
//! [`ClientConfig::once`] the client registers and stops: install scripts and health
//! checks.
//!
//! ```no_run
//! # async fn example(tls: std::sync::Arc<rustls::ClientConfig>) -> Result<(), arrow_client::Error> {
//! use arrow_client::client::{Client, ClientConfig};
//! use arrow_client::service_table::{ServiceKind, ServiceSpec};
//!
//! let mut config = ClientConfig::new("arrow.example.com:8900", tls);
//! config.state_dir = Some("/var/lib/arrow".into());
//! config.services = vec![ServiceSpec::url(ServiceKind::Rtsp, "rtsp://cam.lan/live")?];
//! // Events go through a bounded queue: a user that stops reading loses events (and is
//! // told how many), the client never waits for it.
//! let (events, mut rx) = arrow_client::client::event_queue(arrow_client::client::DEFAULT_EVENT_QUEUE);
//! let client = Client::spawn(config, events)?;
//! let handle = client.handle();
//! tokio::spawn(async move { while let Some(event) = rx.recv().await { println!("{event}"); } });
//! // Later: another camera, then an orderly stop.
//! handle
//!     .update_services(vec![ServiceSpec::url(ServiceKind::Rtsp, "rtsp://cam2.lan/live")?])
//!     .await?;
//! handle.shutdown();
//! client.join().await
//! # }
//! ```

mod config;
mod control;
mod dial;
mod driver;
mod event;
mod event_queue;
mod event_throttle;
mod probing;
mod registration;
mod runtime;
mod scanning;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use config::ClientConfig;
pub use driver::CLOSE_TIMEOUT;
pub use event::ClientEvent;
pub use event_queue::{DEFAULT_EVENT_QUEUE, EventSender, event_queue};
pub use registration::{Registration, default_extended_info};

use crate::Error;
use crate::discovery::sightings::{SIGHTINGS_FILE, Sightings};
use crate::identity::{self, Identity, MacAddr};
use crate::resolve::{Resolve, resolve_specs};
use crate::service_table::{ServiceSpec, ServiceTable};
use crate::state_lock::StateLock;
use crate::status::Status;
use crate::status_file::StatusFile;
use control::{Command, Control};
use probing::ProbeCache;
use runtime::Runtime;

/// Tells a running client what to do; cheap to clone.
#[derive(Clone)]
pub struct ClientHandle {
    commands: mpsc::UnboundedSender<Command>,
    resolver: Arc<dyn Resolve>,
    resolve_timeout: Duration,
    probes: ProbeCache,
    status: StatusFile,
    table: watch::Receiver<ServiceTable>,
    discovery: bool,
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientHandle").finish_non_exhaustive()
    }
}

impl ClientHandle {
    /// Replaces the services: resolves them now (with the client's resolver) and probes a
    /// stream whose URL names no path (a path found before for it is kept), then sends
    /// UPDATE on the live connection and uses them in every later REGISTER (resolved again
    /// on each attempt). Open sessions keep running. A host that does not resolve, or the
    /// same service twice, is the error, and nothing changes. Returns the table sent.
    pub async fn update_services(&self, services: Vec<ServiceSpec>) -> Result<ServiceTable, Error> {
        let resolved =
            resolve_specs(self.resolver.as_ref(), self.resolve_timeout, &services).await?;
        let table = self.probes.table(resolved).await?;
        let _ = self.commands.send(Command::UpdateServices {
            specs: services,
            table: table.clone(),
        });
        Ok(table)
    }

    /// Starts an orderly shutdown.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown);
    }

    /// Asks for a scan of the LAN now, as the service's SCAN_NETWORK does: it starts at
    /// once when none runs, else right after the running one, and scans asked for start
    /// at most once every 30 seconds. Its end is a
    /// [`ScanFinished`](ClientEvent::ScanFinished) event, and the services it found join
    /// the table announced. An [`Error::Config`] when discovery is off
    /// ([`ClientConfig::discovery`]).
    pub fn scan_now(&self) -> Result<(), Error> {
        if !self.discovery {
            return Err(Error::Config(
                "a scan was asked for, but discovery is off".into(),
            ));
        }
        let _ = self.commands.send(Command::ScanNow);
        Ok(())
    }

    /// The status as it stands: what `status.json` would hold now (the link state, the
    /// server, open sessions, byte counters, the last error).
    pub fn status(&self) -> Status {
        self.status.snapshot()
    }

    /// The service table announced now: the configured services, resolved, and the ones
    /// discovery found that are still visible. Empty until the services first resolved.
    pub fn services(&self) -> ServiceTable {
        self.table.borrow().clone()
    }
}

/// Lowers the session limit when it and a reserve of descriptors do not fit in the
/// open-file limit, and says so: reconnecting must never fail for want of a descriptor.
fn fit_open_files(config: &mut ClientConfig, events: &EventSender) {
    let requested = config.connection.max_sessions;
    let Some(open_files) = crate::open_files::soft_limit() else {
        return;
    };
    let allowed = crate::open_files::session_limit(requested, Some(open_files));
    if allowed < requested {
        tracing::warn!(
            requested,
            allowed,
            open_files,
            "the session limit is lowered to fit the open-file limit (RLIMIT_NOFILE) with {} \
             descriptors kept for reconnecting; raise `ulimit -n` for more sessions",
            crate::open_files::FD_RESERVE
        );
        events.send(ClientEvent::SessionLimitLowered {
            requested,
            allowed,
            open_files,
        });
        config.connection.max_sessions = allowed;
    }
}

/// A client running on its own task.
#[derive(Debug)]
pub struct Client {
    handle: ClientHandle,
    task: tokio::task::JoinHandle<Result<(), Error>>,
    identity: Identity,
    mac: MacAddr,
    identity_created: bool,
}

impl Client {
    /// Starts a client on the current tokio runtime; events go to `events`, the sending
    /// side of an [`event_queue`] (bounded: the client never waits for its user, see
    /// there).
    ///
    /// Fails at once, before anything goes on the network, when the state directory is
    /// unusable or locked by another client, when the identity cannot be read or made,
    /// or when there is neither a state directory nor an identity. Everything later (a
    /// service host that does not resolve, an unreachable service) is retried, and shown
    /// in events and the status file.
    pub fn spawn(mut config: ClientConfig, events: EventSender) -> Result<Self, Error> {
        config.connection.discovery = config.discovery.is_some();
        fit_open_files(&mut config, &events);
        let lock = match &config.state_dir {
            Some(dir) => Some(StateLock::acquire(dir)?),
            None => None,
        };
        let (identity, identity_created) = match (&config.identity, &config.state_dir) {
            (Some(identity), _) => (identity.clone(), false),
            (None, Some(dir)) => Identity::load_or_create(dir)?,
            (None, None) => {
                return Err(Error::Config(
                    "a client needs a state directory or an identity".into(),
                ));
            }
        };
        let mac = config
            .mac
            .unwrap_or_else(|| identity::default_mac(&identity));
        let registration = Registration {
            identity: identity.clone(),
            mac,
            capacity: config.connection.capacity,
            gateway: config.connection.gateway,
            extended_info: config.extended_info.clone(),
        };
        let sightings_file = config
            .discovery
            .as_ref()
            .and(config.state_dir.as_ref())
            .map(|dir| dir.join(SIGHTINGS_FILE));
        let (tx, rx) = mpsc::unbounded_channel();
        let status = StatusFile::new(
            config.state_dir.clone(),
            config.status_store.clone(),
            &config.server,
            identity.uuid,
            mac.to_string(),
        );
        let (table_watch, table) = watch::channel(ServiceTable::default());
        let handle = ClientHandle {
            commands: tx,
            resolver: config.resolver.clone(),
            resolve_timeout: config.resolve_timeout,
            probes: ProbeCache::new(config.probe_timeout),
            status: status.clone(),
            table,
            discovery: config.discovery.is_some(),
        };
        let control = Control {
            commands: rx,
            specs: config.services.clone(),
            static_table: ServiceTable::default(),
            table: ServiceTable::default(),
            table_watch,
            sightings: match (&config.discovery, &sightings_file) {
                (Some(_), Some(path)) => std::fs::read_to_string(path)
                    .map(|text| Sightings::from_json(&text))
                    .unwrap_or_default(),
                _ => Sightings::default(),
            },
            sightings_file: sightings_file.clone(),
            sightings_saved: None,
            scans_taken: 0,
            stopping: false,
            once: config.once,
            status,
            scanner: config
                .discovery
                .clone()
                .map(|scan| scanning::Scanner::spawn(scan, events.clone())),
            gateway: config.connection.gateway,
            warned_no_gateway: false,
            events,
            registered_at: None,
        };
        let probes = handle.probes.clone();
        let runtime = Runtime::new(
            config,
            registration,
            identity_created,
            control,
            lock,
            probes,
        );
        let task = tokio::spawn(runtime.run());
        Ok(Client {
            handle,
            task,
            identity,
            mac,
            identity_created,
        })
    }

    /// A handle for other tasks.
    pub fn handle(&self) -> ClientHandle {
        self.handle.clone()
    }

    /// The client's UUID.
    pub fn uuid(&self) -> uuid::Uuid {
        self.identity.uuid
    }

    /// The MAC it registers with.
    pub fn mac(&self) -> MacAddr {
        self.mac
    }

    /// The identity was created by this start (a new client to pair).
    pub fn identity_created(&self) -> bool {
        self.identity_created
    }

    /// See [`ClientHandle::update_services`].
    pub async fn update_services(&self, services: Vec<ServiceSpec>) -> Result<ServiceTable, Error> {
        self.handle.update_services(services).await
    }

    /// See [`ClientHandle::shutdown`].
    pub fn shutdown(&self) {
        self.handle.shutdown();
    }

    /// Waits for the client to stop: `Ok` after a shutdown (or, with
    /// [`ClientConfig::once`], once registered), `Err` for what retrying cannot fix
    /// (configuration, state directory, an unsupported protocol version), and with `once`
    /// for any failure. Dropping the [`Client`] and every [`ClientHandle`] shuts the
    /// client down too.
    pub async fn join(self) -> Result<(), Error> {
        let Client { handle, task, .. } = self;
        let result = task.await;
        drop(handle);
        match result {
            Ok(result) => result,
            Err(e) => Err(Error::Internal(format!("the client task failed: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;
    use crate::dev_service::{DevCertificates, DevService, ServiceConfig};
    use crate::discovery::ScanConfig;
    use crate::service_table::ServiceKind;
    use crate::status::LinkState;

    const WAIT: Duration = Duration::from_secs(20);

    /// The next event `pred` accepts, within [`WAIT`].
    async fn next(rx: &mut mpsc::Receiver<ClientEvent>, pred: impl Fn(&ClientEvent) -> bool) {
        tokio::time::timeout(WAIT, async {
            while let Some(event) = rx.recv().await {
                if pred(&event) {
                    return;
                }
            }
            panic!("the client stopped");
        })
        .await
        .expect("no such event in time");
    }

    /// A client of a development service on 127.0.0.1, with one TCP service and discovery
    /// of 127.0.0.2 only when `discovery`.
    async fn client(discovery: bool) -> (DevService, Client, mpsc::Receiver<ClientEvent>) {
        let certs = DevCertificates::generate(&["127.0.0.1".into()]).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, _service_events) = mpsc::unbounded_channel();
        let service = DevService::spawn(
            listener,
            ServiceConfig::new(certs.server_config().unwrap()),
            tx,
        )
        .unwrap();
        let mut config = ClientConfig::new(
            service.local_addr().to_string(),
            certs.client_config().unwrap(),
        );
        config.identity = Some(Identity::generate());
        config.services = vec![ServiceSpec::host_port(ServiceKind::Tcp, "127.0.0.1:7").unwrap()];
        config.discovery = discovery.then(|| ScanConfig {
            targets: vec!["127.0.0.2/32".parse().unwrap()],
            rtsp_ports: vec![1],
            http_ports: vec![1],
            onvif: false,
            ..ScanConfig::default()
        });
        let (events, rx) = event_queue(DEFAULT_EVENT_QUEUE);
        (service, Client::spawn(config, events).unwrap(), rx)
    }

    #[tokio::test]
    async fn a_handle_reads_the_status_and_the_table_as_they_are_now() {
        let (service, client, mut rx) = client(false).await;
        let handle = client.handle();
        next(&mut rx, |e| *e == ClientEvent::Registered).await;
        assert_eq!(handle.status().state, LinkState::Connected);
        assert_eq!(handle.status().uuid, client.uuid());
        let table = handle.services();
        assert_eq!(table.len(), 1);
        assert_eq!(table.services()[0].addr, "127.0.0.1:7".parse().unwrap());
        assert!(
            matches!(handle.scan_now(), Err(Error::Config(why)) if why.contains("discovery is off"))
        );
        handle.shutdown();
        client.join().await.unwrap();
        assert_eq!(handle.status().state, LinkState::Stopped);
        service.stop().await;
    }

    #[tokio::test]
    async fn scan_now_starts_another_scan() {
        let (service, client, mut rx) = client(true).await;
        let handle = client.handle();
        next(&mut rx, |e| matches!(e, ClientEvent::ScanFinished { .. })).await;
        handle.scan_now().unwrap();
        next(&mut rx, |e| *e == ClientEvent::ScanStarted).await;
        next(&mut rx, |e| matches!(e, ClientEvent::ScanFinished { .. })).await;
        handle.shutdown();
        client.join().await.unwrap();
        service.stop().await;
    }
}
