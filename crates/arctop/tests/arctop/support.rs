//! Shared helpers: a scripted server on 127.0.0.1, and a client run to its end.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use arctop::{ApiKey, ClientConfig, Event, Target};
use bytes::BytesMut;
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Every test's async body gets this long before it fails rather than hangs.
pub(crate) const TEST_BOUND: Duration = Duration::from_secs(20);

pub(crate) fn run<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(TEST_BOUND, body)
                .await
                .expect("test finished in time");
        });
}

/// A frame as the app writes it (modified UTF-8).
pub(crate) fn app_frame(text: &str) -> Vec<u8> {
    let mut buf = BytesMut::new();
    arctop::frame::encode_modified(text, &mut buf).unwrap();
    buf.to_vec()
}

/// A frame holding these exact payload bytes.
pub(crate) fn raw_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

pub(crate) const AUTH_SUCCESS: &str = r#"{"command":"auth-success"}"#;
pub(crate) const SESSION_COMPLETE: &str = r#"{"command":"sessionComplete","timestamp":9}"#;

/// What a scripted peer does on one connection, after reading the client's auth frame.
#[derive(Clone)]
pub(crate) enum Step {
    /// Write these bytes in one call.
    Write(Vec<u8>),
    /// Write these bytes one at a time, yielding in between.
    Trickle(Vec<u8>),
    /// Wait until the client closes (or the test bound passes).
    HoldOpen,
}

/// A server on 127.0.0.1 that plays one script per accepted connection, in order, and
/// returns the auth payloads it received.
pub(crate) struct ScriptedPeer {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<Vec<Vec<u8>>>,
}

impl ScriptedPeer {
    pub(crate) async fn start(scripts: Vec<Vec<Step>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut auths = Vec::new();
            for script in scripts {
                let (mut socket, _) = listener.accept().await.unwrap();
                socket.set_nodelay(true).unwrap();
                auths.push(read_frame(&mut socket).await);
                for step in script {
                    match step {
                        Step::Write(bytes) => {
                            let _ = socket.write_all(&bytes).await;
                        }
                        Step::Trickle(bytes) => {
                            for b in bytes {
                                let _ = socket.write_all(&[b]).await;
                                tokio::task::yield_now().await;
                            }
                        }
                        Step::HoldOpen => {
                            let mut sink = [0u8; 64];
                            while socket.read(&mut sink).await.is_ok_and(|n| n > 0) {}
                        }
                    }
                }
                // Dropping the socket closes the connection.
            }
            auths
        });
        ScriptedPeer { addr, task }
    }

    /// The auth payloads received, one per connection the script served.
    pub(crate) async fn auths(self) -> Vec<Vec<u8>> {
        self.task.await.unwrap()
    }

    pub(crate) fn config(&self, key: &str) -> ClientConfig {
        let mut config = ClientConfig::new(Target::Addr(self.addr.to_string()), ApiKey::new(key));
        config.auth_timeout = Duration::from_secs(5);
        config
    }
}

async fn read_frame(socket: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 2];
    socket.read_exact(&mut head).await.unwrap();
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(head))];
    socket.read_exact(&mut payload).await.unwrap();
    payload
}

/// Runs a client to its end: every event, and the error that ended it, if any.
pub(crate) async fn collect(config: ClientConfig) -> (Vec<Event>, Option<arctop::Error>) {
    let mut events = arctop::connect(config);
    let mut seen = Vec::new();
    while let Some(item) = events.next().await {
        match item {
            Ok(event) => seen.push(event),
            Err(e) => {
                assert!(events.next().await.is_none(), "an error is the last item");
                return (seen, Some(e));
            }
        }
    }
    (seen, None)
}

/// The `command` of every message event, in order.
pub(crate) fn commands(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(r) => Some(r.message.command().to_string()),
            _ => None,
        })
        .collect()
}

/// Panics unless this process runs in a network namespace of its own (only loopback, and
/// not the namespace of PID 1): every multicast test calls this before it sends anything.
#[track_caller]
pub(crate) fn assert_private_network_namespace() {
    let dev = std::fs::read_to_string("/proc/net/dev").expect("read /proc/net/dev");
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to run: this network namespace has other interfaces than loopback \
         (run it through `cargo xtask ci`, which makes a private namespace)"
    );
    let own = std::fs::read_link("/proc/self/ns/net").expect("read /proc/self/ns/net");
    if let Ok(init) = std::fs::read_link("/proc/1/ns/net") {
        assert_ne!(
            own, init,
            "refusing to run: this is the network namespace of PID 1"
        );
    }
}
