//! A fake IP camera, for tests, demos and users without hardware: it answers a network
//! scanner's probes as a real camera of its [`CameraKind`] does, and streams when a client
//! goes on.
//!
//! | kind | protocol | answers | streams |
//! | --- | --- | --- | --- |
//! | `rtsp-h264` | RTSP/1.0 | OPTIONS 200; DESCRIBE of the path 200 with an H.264 SDP, other paths 404 | SETUP (TCP interleaved) and PLAY: the built-in H.264 clip in a loop, RTP over the RTSP connection |
//! | `rtsp-audio-only` | RTSP/1.0 | the same, but the SDP has only a PCMA audio stream (a scanner's Unsupported RTSP) | PCMA silence |
//! | `rtsp-locked` | RTSP/1.0 | OPTIONS 200; DESCRIBE of the path 401 with `WWW-Authenticate: Basic` | nothing |
//! | `mjpeg` | HTTP/1.1 | GET of the path 200 `multipart/x-mixed-replace`; `/` a page; others 404 | JPEG frames made on the fly until the client goes |
//! | `mjpeg-locked` | HTTP/1.1 | GET of the path 401 with `WWW-Authenticate: Basic`; `/` a page | nothing |
//! | `http` | HTTP/1.1 | GET `/` 200 `text/html`; others 404 | nothing |
//!
//! With [`CameraConfig::onvif`] it also answers ONVIF WS-Discovery Probes (UDP 3702,
//! group 239.255.255.250) with its device service URL and scopes.
//!
//! The protocol logic is sans-IO (request bytes in, response bytes out, frames pulled on
//! a clock): `rtsp`, `http`, `rtp`, `sdp`, `mjpeg`, `onvif`, `clip`. The tasks that move
//! bytes are `connection` (one per TCP client) and `onvif_responder`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), arrow_client::Error> {
//! use arrow_client::dev_camera::{CameraConfig, CameraKind, FakeCamera};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let (events, mut seen) = tokio::sync::mpsc::unbounded_channel();
//! let camera = FakeCamera::spawn(listener, CameraConfig::new(CameraKind::RtspH264), events)?;
//! println!("try: ffprobe -rtsp_transport tcp {}", camera.url());
//! while let Some(event) = seen.recv().await {
//!     println!("{}", serde_json::to_string(&event).unwrap());
//! }
//! camera.stop().await;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::Error;

mod clip;
mod connection;
mod http;
mod mjpeg;
mod onvif;
mod onvif_responder;
#[cfg(test)]
mod proptests;
mod rtp;
mod rtsp;
mod sdp;

/// The `Server` header of every answer. Not a Hipcam string, so a scanner applies no
/// quirk to the fake camera.
pub(crate) const SERVER: &str = concat!("protoctl-fake-camera/", env!("CARGO_PKG_VERSION"));

/// The realm of the locked kinds' `WWW-Authenticate: Basic` challenge.
pub(crate) const REALM: &str = "protoctl fake camera";

/// The most clients served at once; more are accepted and closed at once.
const MAX_CLIENTS: usize = 64;

/// The longest stream path accepted.
const MAX_PATH: usize = 1024;

/// What a fake camera is, as a scanner would type it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CameraKind {
    /// An RTSP camera with an H.264 video stream (a scanner's RTSP service).
    RtspH264,
    /// An RTSP camera whose only stream is PCMA audio (a scanner's Unsupported RTSP).
    RtspAudioOnly,
    /// An RTSP camera that wants a login for its stream (a scanner's Locked RTSP).
    RtspLocked,
    /// An HTTP camera streaming Motion JPEG (a scanner's MJPEG service).
    Mjpeg,
    /// An HTTP camera that wants a login for its MJPEG stream (Locked MJPEG).
    MjpegLocked,
    /// A plain web server (a scanner's HTTP service).
    Http,
}

impl CameraKind {
    /// Every kind, in the order of the table above.
    pub const ALL: [CameraKind; 6] = [
        CameraKind::RtspH264,
        CameraKind::RtspAudioOnly,
        CameraKind::RtspLocked,
        CameraKind::Mjpeg,
        CameraKind::MjpegLocked,
        CameraKind::Http,
    ];

    /// The kind's name: `rtsp-h264`, `rtsp-audio-only`, `rtsp-locked`, `mjpeg`,
    /// `mjpeg-locked` or `http`.
    pub fn name(self) -> &'static str {
        match self {
            CameraKind::RtspH264 => "rtsp-h264",
            CameraKind::RtspAudioOnly => "rtsp-audio-only",
            CameraKind::RtspLocked => "rtsp-locked",
            CameraKind::Mjpeg => "mjpeg",
            CameraKind::MjpegLocked => "mjpeg-locked",
            CameraKind::Http => "http",
        }
    }

    /// Where the stream is unless configured otherwise: `/live.sdp` for the RTSP kinds,
    /// `/mjpg/video.mjpg` for the MJPEG kinds, `/` for `http`. Each is on the path lists
    /// a scanner tries.
    pub fn default_path(self) -> &'static str {
        match self {
            CameraKind::RtspH264 | CameraKind::RtspAudioOnly | CameraKind::RtspLocked => {
                "/live.sdp"
            }
            CameraKind::Mjpeg | CameraKind::MjpegLocked => "/mjpg/video.mjpg",
            CameraKind::Http => "/",
        }
    }

    /// True for the RTSP kinds, false for the HTTP ones.
    pub fn is_rtsp(self) -> bool {
        matches!(
            self,
            CameraKind::RtspH264 | CameraKind::RtspAudioOnly | CameraKind::RtspLocked
        )
    }

    /// The URL scheme clients use: `rtsp` or `http`.
    pub fn scheme(self) -> &'static str {
        if self.is_rtsp() { "rtsp" } else { "http" }
    }
}

impl fmt::Display for CameraKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`CameraKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown camera kind {0:?} (expected rtsp-h264, rtsp-audio-only, rtsp-locked, mjpeg, \
     mjpeg-locked or http)"
)]
pub struct UnknownCameraKind(pub String);

impl FromStr for CameraKind {
    type Err = UnknownCameraKind;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CameraKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| UnknownCameraKind(text.to_string()))
    }
}

/// How a fake camera behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CameraConfig {
    /// What it is.
    pub kind: CameraKind,
    /// Its stream path, starting with `/` (may carry a query, like
    /// `/cam/realmonitor?channel=1&subtype=0`); for `http`, where its page also is.
    pub path: String,
    /// Answer ONVIF WS-Discovery Probes too. Needs the camera's listener bound to one
    /// IPv4 address (the group is joined on that address's interface).
    pub onvif: bool,
    /// Its name, in its ONVIF scopes.
    pub name: String,
    /// Its hardware, in its ONVIF scopes.
    pub hardware: String,
}

impl CameraConfig {
    /// A camera of `kind` on its [default path](CameraKind::default_path), without ONVIF.
    pub fn new(kind: CameraKind) -> Self {
        CameraConfig {
            kind,
            path: kind.default_path().to_string(),
            onvif: false,
            name: format!("protoctl {}", kind.name()),
            hardware: "protoctl fake camera".to_string(),
        }
    }

    /// Checks the path: `/` first, at most 1,024 visible ASCII characters.
    fn check(&self) -> Result<(), Error> {
        let visible = self.path.bytes().all(|b| b.is_ascii_graphic());
        if !self.path.starts_with('/') || !visible || self.path.len() > MAX_PATH {
            return Err(Error::Config(format!(
                "camera path {:?}: must start with / and be at most {MAX_PATH} visible ASCII \
                 characters (no spaces)",
                self.path
            )));
        }
        Ok(())
    }
}

/// What a fake camera reports: one JSON object each (`{"event":"request",...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CameraEvent {
    /// A client connected.
    ClientConnected {
        /// Connection number, from 1.
        client: u64,
        /// Its address.
        peer: SocketAddr,
    },
    /// A client was closed at once: the camera already serves as many as it can.
    ClientRefused {
        /// Its address.
        peer: SocketAddr,
    },
    /// A request and the status it was answered with.
    Request {
        /// Connection number.
        client: u64,
        /// The method as sent (`OPTIONS`, `DESCRIBE`, `GET`, ...).
        method: String,
        /// The request's path and query (`*` for `OPTIONS *`).
        path: String,
        /// The status answered.
        status: u16,
    },
    /// Bytes that are not a request the camera reads were answered with an error, and
    /// the connection closed.
    BadRequest {
        /// Connection number.
        client: u64,
        /// The status answered (400, 431, 505).
        status: u16,
    },
    /// Media started to flow to a client (after PLAY, or a GET of the MJPEG stream).
    Streaming {
        /// Connection number.
        client: u64,
        /// `h264`, `pcma` or `mjpeg`.
        media: String,
        /// The camera's stream path (as configured).
        path: String,
    },
    /// A client connection ended.
    ClientClosed {
        /// Connection number.
        client: u64,
        /// Why: `client_closed` (the client went), `answered` (HTTP: the answer is sent,
        /// `Connection: close`), `bad_request`, `idle` (no request for 30 s while
        /// nothing streams), `stalled` (took none of the bytes waiting for it for 30 s),
        /// `stopped` (the camera stopped), or the socket error.
        reason: String,
        /// Frames sent (H.264 pictures, audio packets or JPEGs).
        frames: u64,
    },
    /// An ONVIF WS-Discovery Probe arrived.
    OnvifProbe {
        /// Who sent it (the answer goes there, unicast).
        peer: SocketAddr,
        /// Its MessageID.
        message_id: String,
        /// Whether the camera answered: false when its Types or Scopes are not the
        /// camera's.
        answered: bool,
    },
    /// A datagram on the WS-Discovery port that is not a Probe (a Hello, a Bye, another
    /// device's ProbeMatches, garbage).
    OnvifIgnored {
        /// Who sent it.
        peer: SocketAddr,
        /// Why it was ignored.
        reason: String,
    },
}

/// A running fake camera.
#[derive(Debug)]
pub struct FakeCamera {
    addr: SocketAddr,
    kind: CameraKind,
    path: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeCamera {
    /// Starts answering on `listener` (and, with [`CameraConfig::onvif`], on UDP 3702);
    /// events go to `events`. Fails on a bad path ([`Error::Config`]), on ONVIF asked
    /// of a listener not bound to one IPv4 address ([`Error::Config`]), and when the
    /// WS-Discovery socket cannot be set up ([`Error::Io`]).
    pub fn spawn(
        listener: TcpListener,
        config: CameraConfig,
        events: mpsc::UnboundedSender<CameraEvent>,
    ) -> Result<Self, Error> {
        config.check()?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("listening", e))?;
        let responder = if config.onvif {
            let ip = match addr.ip() {
                IpAddr::V4(ip) if !ip.is_unspecified() => ip,
                other => {
                    return Err(Error::Config(format!(
                        "ONVIF discovery needs the camera bound to one IPv4 address, not {other}"
                    )));
                }
            };
            Some(onvif_responder::OnvifResponder::bind(
                ip,
                addr.port(),
                &config,
            )?)
        } else {
            None
        };
        let (stop, stop_rx) = watch::channel(false);
        let kind = config.kind;
        let path = config.path.clone();
        let task = tokio::spawn(run(listener, Arc::new(config), responder, events, stop_rx));
        Ok(FakeCamera {
            addr,
            kind,
            path,
            stop,
            task,
        })
    }

    /// The TCP listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The stream's URL, `rtsp://ADDR/PATH` or `http://ADDR/PATH`.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.kind.scheme(), self.addr, self.path)
    }

    /// Stops accepting, closes every client (each reports `client_closed` with reason
    /// `stopped`) and the WS-Discovery socket, and waits until all that is done.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The camera's task: the accept loop and the ONVIF responder, until stopped.
async fn run(
    listener: TcpListener,
    config: Arc<CameraConfig>,
    responder: Option<onvif_responder::OnvifResponder>,
    events: mpsc::UnboundedSender<CameraEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    if let Some(responder) = responder {
        tasks.spawn(responder.run(events.clone(), stop.clone()));
    }
    let mut clients = JoinSet::new();
    let mut next_client = 1u64;
    let client_stop = stop.clone();
    let mut backoff = crate::accept_backoff::AcceptBackoff::default();
    loop {
        tokio::select! {
            (stream, peer) = crate::accept_backoff::accept(&listener, &mut backoff, "the fake camera") => {
                if clients.len() >= MAX_CLIENTS {
                    drop(stream);
                    let _ = events.send(CameraEvent::ClientRefused { peer });
                    continue;
                }
                let client = next_client;
                next_client += 1;
                let _ = events.send(CameraEvent::ClientConnected { client, peer });
                clients.spawn(connection::serve(
                    client,
                    stream,
                    config.clone(),
                    events.clone(),
                    client_stop.clone(),
                ));
            }
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    drop(listener);
    // Each connection and the responder see the stop too, and end by themselves.
    while clients.join_next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_names_and_have_scanner_paths() {
        let cases = [
            ("rtsp-h264", CameraKind::RtspH264, "/live.sdp", "rtsp"),
            (
                "rtsp-audio-only",
                CameraKind::RtspAudioOnly,
                "/live.sdp",
                "rtsp",
            ),
            ("rtsp-locked", CameraKind::RtspLocked, "/live.sdp", "rtsp"),
            ("mjpeg", CameraKind::Mjpeg, "/mjpg/video.mjpg", "http"),
            (
                "mjpeg-locked",
                CameraKind::MjpegLocked,
                "/mjpg/video.mjpg",
                "http",
            ),
            ("http", CameraKind::Http, "/", "http"),
        ];
        assert_eq!(cases.len(), CameraKind::ALL.len());
        for (name, kind, path, scheme) in cases {
            assert_eq!(name.parse::<CameraKind>(), Ok(kind));
            assert_eq!(kind.name(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(kind.default_path(), path);
            assert_eq!(kind.scheme(), scheme);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        let wrong = "rtsp".parse::<CameraKind>().unwrap_err();
        assert!(wrong.to_string().contains("rtsp-h264"), "{wrong}");
    }

    #[test]
    fn a_path_must_be_absolute_visible_ascii_and_short() {
        let cases = [
            ("/live.sdp", true),
            ("/cam/realmonitor?channel=1&subtype=0", true),
            ("/?action=stream", true),
            ("live.sdp", false),
            ("/with space", false),
            ("/caf\u{e9}", false),
            ("", false),
        ];
        for (path, ok) in cases {
            let mut config = CameraConfig::new(CameraKind::Mjpeg);
            config.path = path.to_string();
            assert_eq!(config.check().is_ok(), ok, "{path:?}");
        }
        let mut long = CameraConfig::new(CameraKind::Http);
        long.path = format!("/{}", "a".repeat(MAX_PATH));
        assert!(long.check().is_err());
    }

    #[test]
    fn events_are_json_objects_tagged_by_event() {
        let event = CameraEvent::Request {
            client: 1,
            method: "DESCRIBE".into(),
            path: "/live.sdp".into(),
            status: 200,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"event":"request","client":1,"method":"DESCRIBE","path":"/live.sdp","status":200}"#
        );
    }
}
