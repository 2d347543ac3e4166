//! The Angelcam Arrow v2 client runtime: everything a device needs to reach its cameras
//! through the Arrow Service (and, behind a feature, a development Arrow Service).
//!
//! An Arrow client sits inside a camera network and keeps one TLS connection to an Arrow
//! Service. The service opens *sessions* over it, each bridged by the client to a local TCP
//! service (RTSP, HTTP, ...), with per-session flow control:
//!
//! ```text
//!  user ──TCP──> Arrow Service ══════ TLS (one connection) ══════ Arrow client ──TCP──> camera
//!                 │  CONNECT svc 7, session 42  ─────────────────────>│ connect 10.0.0.5:554
//!                 │  [hdr svc 7 | sess 42 | len] bytes ──────────────>│ write
//!                 │<────────────── DATA_ACK 42, n  (after the write)  │
//!                 │<────────────── [hdr svc 7 | sess 42 | len] bytes  │ read (within window)
//!                 │<────────────── HUP 42, code 0                     │ local EOF
//! ```
//!
//! # Layers
//!
//! - [`connection::Connection`]: the sans-IO core. Handshake (REGISTER sent, only its ACK
//!   accepted), the control answers (PING, GET_STATUS, GET_SCAN_REPORT, unknown types get
//!   `UNSUPPORTED_METHOD`), the spec's session rules, flow control ([`flow`]), keepalive.
//!   It takes messages and `now` and returns messages, local-socket commands, events and
//!   a deadline. No socket, no clock, no task.
//! - [`wire`]: `arrow-codec` messages to and from the core's [`message`] types.
//! - [`reconnect`]: the sans-IO reconnect policy: backoff with full jitter, REDIRECT and
//!   its loops, pairing retries.
//! - [`client`]: the runtime, and the one way to run a client: [`client::Client::spawn`]
//!   with a [`client::ClientConfig`]. It locks the state directory ([`state_lock`]),
//!   loads or makes the identity and picks the MAC ([`identity`]), and on each attempt
//!   resolves the services' hosts ([`resolve`]), dials (TLS with rustls and ring, see
//!   [`tls`]), registers and serves, then reconnects per [`reconnect`]. It keeps
//!   `status.json` current ([`status`]; or hands it to a [`storage::StatusStore`]) and
//!   reports [`client::ClientEvent`]s (also JSON).
//!   One task drives each connection: reading never waits on writing, the same task polls
//!   every local socket (no task per socket), and DATA bodies go to TLS without a copy.
//! - [`settings`]: the options as a person gives them (flags, a config file), merged and
//!   checked into a [`client::ClientConfig`]; every default is defined once, in
//!   [`connection::ConnectionConfig::default`] and [`reconnect::ReconnectPolicy::default`].
//!   [`duration`] reads durations the same way everywhere.
//! - [`service_table`]: the services as configured ([`service_table::ServiceSpec`]) and as
//!   announced, with stable ids ([`service_table::ServiceTable`]).
//!
//! # Features
//!
//! No feature is on by default: a device that only runs the client needs neither. The
//! core, the runtime ([`client`]), settings from flags, TLS, discovery and scanning
//! ([`discovery`]) are always built.
//!
//! | feature | default | gates | pulls in |
//! | --- | --- | --- | --- |
//! | `config-file` | no | `settings::file` and `settings::Settings::load`: the TOML config file of `protoctl arrow run`, with errors that name the file, line, column and key | toml |
//! | `dev-service` | no | `dev_service`: the development Arrow Service (a real TLS server exposing each client service on a local port, its certificates, the hostile `dev_service::flood`); `dev_camera`: a fake IP camera (RTSP with an H.264 clip, MJPEG, HTTP, ONVIF WS-Discovery) for tests, demos and scanners without hardware; `fuzzing::dev_service_client_bytes`; the example `flood_service` | rcgen, base64, jpeg-encoder |
//!
//! ```toml
//! arrow-client = { version = "0.1", features = ["config-file"] }
//! ```
//!
//! Runnable examples are in `examples/`: `client` (what a device embeds, the shortest
//! useful program), `register_storm` (many clients against one service) and
//! `flood_service` (feature `dev-service`: a hostile service on 127.0.0.1).
//!
//! # Example: the core, driven by hand
//!
//! ```
//! use std::time::Instant;
//! use arrow_client::connection::{Connection, ConnectionConfig, LocalCommand};
//! use arrow_client::message::{ControlIn, Incoming, Outgoing};
//! use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
//!
//! let addr = "127.0.0.1:554".parse().unwrap();
//! let spec = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://127.0.0.1/live.sdp")?;
//! let table = ServiceTable::new(vec![(spec, addr)])?;
//! let svc_id = table.services()[0].id;
//! let mut conn = Connection::new(ConnectionConfig::default(), table);
//!
//! let now = Instant::now();
//! conn.start(now);
//! assert_eq!(conn.poll_transmit(), Some(Outgoing::Register { msg_id: 0 }));
//! conn.handle_incoming(now, Incoming::Control { msg_id: 0, body: ControlIn::Ack { code: 0 } });
//!
//! // The service opens a session: the driver is told to connect, with a full window.
//! conn.handle_incoming(now, Incoming::Control {
//!     msg_id: 1,
//!     body: ControlIn::Connect { svc_id, session: 42 },
//! });
//! let Some(LocalCommand::Open { handle, credit, .. }) = conn.poll_local() else { panic!() };
//! assert_eq!(credit, 65_536);
//!
//! // The local service answers; the bytes go out on session 42, then a clean close is a
//! // HUP with code 0.
//! conn.handle_local_data(handle, bytes::Bytes::from_static(b"RTSP/1.0 200 OK\r\n"))?;
//! conn.handle_local_closed(now, handle, true);
//! assert!(matches!(conn.poll_transmit(), Some(Outgoing::Data { session: 42, .. })));
//! assert!(matches!(conn.poll_transmit(), Some(Outgoing::Hup { session: 42, code: 0, .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "dev-service")]
mod accept_backoff;
pub mod client;
pub mod connection;
#[cfg(feature = "dev-service")]
pub mod dev_camera;
#[cfg(feature = "dev-service")]
pub mod dev_service;
pub mod discovery;
pub mod duration;
mod error;
pub mod flow;
pub mod fuzzing;
pub mod identity;
mod local_sockets;
pub mod message;
pub mod open_files;
mod outbox;
mod read_regions;
pub mod reconnect;
pub mod resolve;
pub mod service_table;
pub mod settings;
pub mod state_lock;
pub mod status;
mod status_coalescer;
mod status_file;
pub mod storage;
pub mod tls;
pub mod wire;

pub use error::{Error, ProtocolViolation};
