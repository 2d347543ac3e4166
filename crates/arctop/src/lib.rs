//! Client, discovery and simulator for the Arctop Stream Server.
//!
//! The Arctop app on a phone serves a TCP stream on the local network, advertised by mDNS
//! as `ArctopService` under `_http._tcp.local.`. A client authenticates with an API key and
//! then receives JSON events until `sessionComplete`.
//!
//! ```text
//!  0      2                                   2+len
//!  +------+-----------------------------------+
//!  | len  | JSON object, Java modified UTF-8  |   len: u16 big-endian, 0..=65,535
//!  +------+-----------------------------------+
//!
//!  client                                   server (phone)
//!    | --- {"command":"auth","apiKey":"..."} --> |
//!    | <-- {"command":"auth-success"} ---------- |   (or auth-failed, then close)
//!    | <-- {"command":"valueChange","timestamp":..,"key":"focus","value":52.1}
//!    | <-- ... qa, connection, error, challenge, unknown ...
//!    | <-- {"command":"sessionComplete"} -------- |   then close
//! ```
//!
//! - [`message`]: the typed model ([`Message`]), lenient where real peers are loose.
//! - [`mutf8`] and [`ascii_json`]: the app writes Java modified UTF-8 (`C0 80` for NUL,
//!   surrogate pairs for emoji); we decode strict UTF-8 first, then modified UTF-8, and send
//!   ASCII-only JSON so the app's `readUTF` accepts anything we send.
//! - [`frame`]: the 2-byte frames, on [`wire::FrameCodec`].
//! - [`session`]: the client's protocol state machine, sans I/O.
//! - [`discovery`]: what a discovered [`Server`] is; browsing and advertising with mdns-sd
//!   need the feature `mdns`.
//! - `client` (feature `client`): the tokio driver, a `Stream` of `Event`s with optional
//!   reconnect and backoff.
//! - `simulator` (feature `simulator`): a real server that behaves like the app, for tests
//!   and demos.
//! - [`scale`]: what the known keys' numbers mean (range, neutral point, unit).
//! - [`recording`]: a recorded session (`listen --record`) read back as series and marks.
//! - `plot` (feature `plot`): a recording drawn as SVG, one panel per key.
//! - `lsl` (feature `lsl`): a session published as Lab Streaming Layer outlets.
//!
//! # Features
//!
//! The message model, the frames and the sans-IO [`session`] need no runtime: with
//! `default-features = false` the crate depends on wire, bytes, serde, serde_json and
//! thiserror only, and a program drives the session over any byte stream
//! (`examples/session_over_std.rs` uses a `std::net::TcpStream`).
//!
//! | feature | default | gates | pulls in |
//! | --- | --- | --- | --- |
//! | `client` | yes | `client`: `connect`, `ClientConfig`, `Event`, `Target`, `Backoff` | tokio, tokio-util, futures, socket2, rand, tracing, `wire/codec` |
//! | `mdns` | yes | `discovery::{discover, discover_first, discover_first_matching, Browser, Advertisement}`; `Target::Discover` in the client; `SimulatorConfig::advertise` in the simulator | mdns-sd, tokio, tracing |
//! | `simulator` | no | `simulator`: the built-in phone; `fuzzing::simulator_session` | tokio, tokio-util, futures, rand, tracing, `wire/codec` |
//! | `plot` | no | `plot`: a recording as SVG | plotters |
//! | `lsl` | no | `lsl`: Lab Streaming Layer outlets | labstream |
//!
//! Without `mdns`, a client given `Target::Discover` and a simulator asked to advertise
//! fail with [`Error::Config`].
//!
//! # Limits
//!
//! Peer input never panics and never makes memory grow without bound: every limit below
//! ends in a typed [`Error`] (client) or a closed connection reported as a
//! [`SimulatorEvent`](simulator::SimulatorEvent) (simulator).
//!
//! The client ([`ClientConfig`]):
//!
//! | limit | default | field | when exceeded |
//! | --- | --- | --- | --- |
//! | frame payload, checked from the 2-byte header before allocating | 65,535 bytes | `max_payload` | [`Error::OversizeFrame`] |
//! | TCP connect | 10 s | `connect_timeout` | [`Error::ConnectTimeout`] |
//! | auth reply | 10 s | `auth_timeout` | [`Error::AuthTimeout`] |
//! | no frame once authenticated (a silent phone) | none | `idle_timeout` | [`Error::IdleTimeout`] |
//! | mDNS browse | 5 s | `discover_timeout` | [`Error::NoServerFound`], [`Error::ExpectedServerNotFound`] |
//! | reconnect attempts and delays | off; 0.5 s doubling to 30 s, jittered | `reconnect` ([`Backoff`]) | the last error |
//!
//! The client keeps nothing per message: a flood of frames or unknown keys costs no
//! memory beyond the one frame being read.
//!
//! The simulator ([`SimulatorConfig`](simulator::SimulatorConfig); see [`simulator`]):
//!
//! | limit | default | field |
//! | --- | --- | --- |
//! | concurrent connections (one more is closed at once) | 64 | `max_connections` |
//! | time to send a whole `auth` frame | 10 s | `auth_timeout` |
//! | `auth` frame size, checked before allocating | 4,096 bytes | `max_auth_request` |
//! | a write waiting on a client that does not read | 30 s | `write_timeout` |
//! | pause after a failed `accept` | 10 ms doubling to 1 s | fixed ([`AcceptBackoff`](simulator::AcceptBackoff)) |
//!
//! A simulator session buffers at most 32 KiB plus one frame; in total about
//! `max_connections` × 100 KiB. Replayed recordings pause at most
//! [`MAX_GAP`](simulator::MAX_GAP) (60 s) between messages, whatever their timestamps.
//!
//! # Example
//!
//! A simulator on loopback and a client reading one session from it (features `client`
//! and `simulator`; more in `examples/`):
//!
//! ```
//! use futures::StreamExt;
//! use arctop::{ApiKey, ClientConfig, Event, Message, Target};
//! use arctop::simulator::{Simulator, SimulatorConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), arctop::Error> {
//! let mut sim = SimulatorConfig::new(ApiKey::new("demo-key"));
//! sim.rate = 0.0; // as fast as possible
//! sim.count = Some(20);
//! let server = Simulator::bind("127.0.0.1:0", sim).await?.spawn()?;
//!
//! let config = ClientConfig::new(Target::Addr(server.addr().to_string()), ApiKey::new("demo-key"));
//! let mut events = arctop::connect(config);
//! let mut values = 0;
//! while let Some(event) = events.next().await {
//!     if let Event::Message(received) = event? {
//!         if let Message::ValueChange { key, value, .. } = &received.message {
//!             values += 1;
//!             assert!(!key.as_str().is_empty(), "{value}");
//!         }
//!     }
//! }
//! assert_eq!(values, 20); // the stream ended at sessionComplete
//! # Ok(()) }
//! ```

pub mod ascii_json;
#[cfg(feature = "client")]
pub mod client;
mod deadline;
pub mod discovery;
mod error;
pub mod frame;
pub mod fuzzing;
#[cfg(feature = "lsl")]
pub mod lsl;
pub mod message;
pub mod mutf8;
#[cfg(feature = "plot")]
pub mod plot;
pub mod recording;
pub mod scale;
pub mod session;
#[cfg(feature = "simulator")]
pub mod simulator;

#[cfg(feature = "client")]
pub use client::{Backoff, ClientConfig, Event, EventStream, Target, connect};
pub use discovery::Server;
#[cfg(feature = "mdns")]
pub use discovery::discover;
pub use error::Error;
pub use message::{ApiKey, Message, MessageError, Reading, Received, ValueKey};
