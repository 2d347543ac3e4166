//! Real peers for the tests: an echo server, the development service, a running client.

use std::net::SocketAddr;
use std::time::Duration;

use arrow_client::client::{ClientConfig, ClientEvent};
use arrow_client::connection::ConnectionConfig;
use arrow_client::dev_service::DevCertificates;
use arrow_client::dev_service::{DevService, ServiceConfig, ServiceEvent};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::reconnect::ReconnectPolicy;
use arrow_client::service_table::{ServiceKind, ServiceSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The event queue of the clients in these tests: bounded like every client's, and large
/// enough that no test that reads its events loses one.
pub(crate) const TEST_EVENT_QUEUE: usize = 64 * 1024;

/// A receiver of the events the tests wait for: the client's bounded queue, the
/// development service's and the fake camera's channels.
pub(crate) trait EventStream<T> {
    /// The next item; `None` once the sender is gone.
    fn next_item(&mut self) -> impl std::future::Future<Output = Option<T>>;
}

impl<T> EventStream<T> for mpsc::UnboundedReceiver<T> {
    fn next_item(&mut self) -> impl std::future::Future<Output = Option<T>> {
        self.recv()
    }
}

impl<T> EventStream<T> for mpsc::Receiver<T> {
    fn next_item(&mut self) -> impl std::future::Future<Output = Option<T>> {
        self.recv()
    }
}

/// Every wait in these tests is bounded by this.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) fn certs() -> DevCertificates {
    DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap()
}

/// Aborts a task when dropped, so no test leaves one behind.
pub(crate) struct Guard<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for Guard<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An echo server: every connection gets its bytes back, then an orderly close.
pub(crate) async fn echo_server() -> (SocketAddr, Guard<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = socket.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    (addr, Guard(task))
}

pub(crate) struct Service {
    pub(crate) service: Option<DevService>,
    pub(crate) events: mpsc::UnboundedReceiver<ServiceEvent>,
    pub(crate) addr: SocketAddr,
}

pub(crate) async fn start_service(certs: &DevCertificates) -> Service {
    start_service_on("127.0.0.1:0".parse().unwrap(), certs).await
}

pub(crate) async fn start_service_on(addr: SocketAddr, certs: &DevCertificates) -> Service {
    let listener = TcpListener::bind(addr).await.unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    let service = DevService::spawn(
        listener,
        ServiceConfig::new(certs.server_config().unwrap()),
        tx,
    )
    .unwrap();
    let addr = service.local_addr();
    Service {
        service: Some(service),
        events,
        addr,
    }
}

impl Service {
    /// Waits for the port exposing the first service of a client.
    pub(crate) async fn exposed_port(&mut self) -> u16 {
        let event = wait_for(&mut self.events, |e| {
            matches!(e, ServiceEvent::PortExposed { .. })
        })
        .await;
        match event {
            ServiceEvent::PortExposed { service, .. } => service.port,
            _ => unreachable!(),
        }
    }

    pub(crate) async fn stop(&mut self) {
        if let Some(s) = self.service.take() {
            s.stop().await;
        }
    }
}

pub(crate) struct Client {
    pub(crate) events: mpsc::Receiver<ClientEvent>,
    handle: arrow_client::client::ClientHandle,
    _task: Guard<Result<(), arrow_client::Error>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

pub(crate) fn client_config(
    server: SocketAddr,
    certs: &DevCertificates,
    tcp: &[SocketAddr],
) -> ClientConfig {
    let mut config = ClientConfig::new(server.to_string(), certs.client_config().unwrap());
    config.identity = Some(Identity::generate());
    config.mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
    config.services = tcp.iter().map(|a| tcp_service(*a)).collect();
    config.reconnect = ReconnectPolicy::new(Duration::ZERO, Duration::from_millis(100));
    config.connection = ConnectionConfig {
        max_sessions: ConnectionConfig::MAX_SESSIONS,
        ..ConnectionConfig::default()
    };
    config
}

/// A plain TCP service at `addr`.
pub(crate) fn tcp_service(addr: SocketAddr) -> ServiceSpec {
    ServiceSpec::host_port(ServiceKind::Tcp, &addr.to_string()).unwrap()
}

/// The UUID `config` registers with.
pub(crate) fn uuid_of(config: &ClientConfig) -> uuid::Uuid {
    config.identity.as_ref().expect("an identity").uuid
}

/// Registers once and stops (`ClientConfig::once`): what `arrow run --once` does.
pub(crate) async fn register_once(
    mut config: ClientConfig,
    events: arrow_client::client::EventSender,
) -> Result<(), arrow_client::Error> {
    config.once = true;
    arrow_client::client::Client::spawn(config, events)?
        .join()
        .await
}

pub(crate) fn start_client(config: ClientConfig) -> Client {
    let (tx, events) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);
    let client = arrow_client::client::Client::spawn(config, tx).unwrap();
    let handle = client.handle();
    let task = tokio::spawn(client.join());
    Client {
        events,
        handle,
        _task: Guard(task),
    }
}

/// The next item matching `pred`, skipping others; fails the test after [`WAIT`].
pub(crate) async fn wait_for<T: std::fmt::Debug>(
    rx: &mut impl EventStream<T>,
    mut pred: impl FnMut(&T) -> bool,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let item = rx.next_item().await.expect("event stream ended");
            if pred(&item) {
                return item;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

/// Connects to the exposed port, sends `data` and reads until as many bytes came back or
/// the tunnel closed the connection. (Arrow has no half-close: a user that shut down its
/// writing side would end the session before the answer came back.)
pub(crate) async fn echo_through(port: u16, data: &[u8]) -> Vec<u8> {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket.set_nodelay(true).unwrap();
    let (mut r, mut w) = socket.split();
    tokio::time::timeout(WAIT, async {
        let write = async {
            // The far end may be gone already (a refusing local service): that is for the
            // caller to see in what comes back.
            let _ = w.write_all(data).await;
        };
        let read = async {
            let mut back = Vec::with_capacity(data.len());
            let mut chunk = vec![0u8; 64 * 1024];
            while back.len() < data.len() {
                match r.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => back.extend_from_slice(&chunk[..n]),
                }
            }
            back
        };
        tokio::join!(write, read).1
    })
    .await
    .expect("echo timed out")
}

/// A client started with [`arrow_client::client::Client::spawn`]; shut down when dropped.
pub(crate) struct Spawned {
    pub(crate) client: Option<arrow_client::client::Client>,
    pub(crate) handle: arrow_client::client::ClientHandle,
    pub(crate) events: mpsc::Receiver<ClientEvent>,
}

impl Spawned {
    pub(crate) fn start(config: ClientConfig) -> Self {
        let (tx, events) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);
        let client = arrow_client::client::Client::spawn(config, tx).unwrap();
        Spawned {
            handle: client.handle(),
            client: Some(client),
            events,
        }
    }

    /// Shuts down and waits (bounded) for the client to stop.
    pub(crate) async fn stop(&mut self) -> Result<(), arrow_client::Error> {
        let client = self.client.take().expect("running");
        client.shutdown();
        tokio::time::timeout(WAIT, client.join())
            .await
            .expect("the client stops in time")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Polls `status.json` in `dir` until `pred` holds; fails the test after [`WAIT`]. The file
/// is written by a task of its own, so there is no event to wait on.
pub(crate) async fn wait_status(
    dir: &std::path::Path,
    mut pred: impl FnMut(&arrow_client::status::Status) -> bool,
) -> arrow_client::status::Status {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(status)) = arrow_client::status::Status::read(dir) {
            if pred(&status) {
                return status;
            }
            last = Some(status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("status file never matched; last: {last:?}");
}
