//! Shared helpers: simulators on loopback, scripted peers, and a bound on every test.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use arkeo::{Client, ClientOptions, Dialect};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Every test body runs within this, so a bug fails the test instead of hanging CI.
pub(crate) const TEST_LIMIT: Duration = Duration::from_secs(20);

pub(crate) async fn within<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_LIMIT, body)
        .await
        .expect("test exceeded its time limit")
}

pub(crate) async fn simulator(dialect: Dialect) -> Simulator {
    simulator_with(SimulatorConfig::new(dialect).timing(Timing::fast())).await
}

pub(crate) async fn simulator_with(config: SimulatorConfig) -> Simulator {
    Simulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
        .await
        .expect("simulator starts")
}

/// Instrument phases that take no time, at speed 1: a JV sweep still takes its documented
/// time (13.2 s for the defaults), so a measurement is reliably in progress.
pub(crate) fn instant_phases() -> Timing {
    Timing {
        initialize: Duration::ZERO,
        start: Duration::ZERO,
        measure: Duration::from_secs(3600),
        speed: 1.0,
    }
}

/// The commands the simulator received on `connection`, in order.
pub(crate) fn commands_on(sim: &Simulator, connection: u64) -> Vec<String> {
    sim.received()
        .into_iter()
        .filter(|r| r.connection == connection)
        .map(|r| r.command)
        .collect()
}

pub(crate) async fn client(sim: &Simulator, dialect: Dialect) -> Client {
    Client::connect(&sim.local_addr().to_string(), dialect)
        .await
        .expect("connects to the simulator")
}

/// A peer that accepts one connection and runs `script` on it.
pub(crate) async fn scripted<F, Fut>(script: F) -> (SocketAddr, JoinHandle<()>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        script(socket).await;
    });
    (addr, task)
}

/// Reads one request frame and returns its JSON.
pub(crate) async fn read_request(socket: &mut TcpStream) -> Value {
    let mut head = [0u8; 4];
    socket.read_exact(&mut head).await.unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
    socket.read_exact(&mut payload).await.unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// One frame: prefix and payload.
pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

pub(crate) async fn write(socket: &mut TcpStream, bytes: &[u8]) {
    socket.write_all(bytes).await.unwrap();
}

/// Connects a client with a short request timeout.
pub(crate) async fn connect_short(addr: SocketAddr, dialect: Dialect) -> Client {
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    };
    Client::connect_with(&addr.to_string(), dialect, options)
        .await
        .unwrap()
}
