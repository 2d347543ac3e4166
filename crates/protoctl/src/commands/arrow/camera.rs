//! `protoctl arrow camera`: a built-in fake IP camera.
//!
//! # Output
//!
//! JSON Lines whatever the mode, one per [`CameraLine`]: the command's own `listening`
//! and `stopped`, and between them the camera's events (their fields are documented on
//! [`CameraEvent`]):
//!
//! ```text
//! {"event":"listening","addr":"127.0.0.1:8554","kind":"rtsp-h264","url":"rtsp://127.0.0.1:8554/live.sdp","onvif":false}
//! {"event":"client_connected","client":1,"peer":"127.0.0.1:40312"}
//! {"event":"request","client":1,"method":"DESCRIBE","path":"/live.sdp","status":200}
//! {"event":"streaming","client":1,"media":"h264","path":"/live.sdp"}
//! {"event":"bad_request","client":2,"status":400}
//! {"event":"client_closed","client":1,"reason":"client_closed","frames":57}
//! {"event":"client_refused","peer":"127.0.0.1:40400"}
//! {"event":"onvif_probe","peer":"192.0.2.9:50123","message_id":"urn:uuid:…","answered":true}
//! {"event":"onvif_ignored","peer":"192.0.2.9:50123","reason":"not a WS-Discovery Probe"}
//! {"event":"stopped","signal":"SIGTERM"}
//! ```

use std::net::SocketAddr;

use arrow_client::dev_camera::{CameraConfig, CameraEvent, CameraKind, FakeCamera};
use clap::Args;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::exit::CliError;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// Arguments of `protoctl arrow camera`.
#[derive(Debug, Args)]
pub(crate) struct CameraArgs {
    /// Address to listen on (TCP), e.g. 127.0.0.1:8554; port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    bind: SocketAddr,
    /// What the camera is: rtsp-h264, rtsp-audio-only, rtsp-locked, mjpeg, mjpeg-locked
    /// or http.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    kind: CameraKind,
    /// The stream path [default: /live.sdp for RTSP, /mjpg/video.mjpg for MJPEG, / for
    /// http].
    #[arg(long, value_name = "P")]
    path: Option<String>,
    /// Also answer ONVIF WS-Discovery Probes (UDP 3702, group 239.255.255.250, joined on
    /// the interface of --bind, which must be one IPv4 address).
    #[arg(long)]
    onvif: bool,
}

fn parse_kind(text: &str) -> Result<CameraKind, String> {
    text.parse()
        .map_err(|e: arrow_client::dev_camera::UnknownCameraKind| e.to_string())
}

/// One line of `arrow camera`'s output.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum CameraLine {
    /// Answering on this address.
    Listening {
        /// The bound address (the real port when --bind asked for port 0).
        addr: SocketAddr,
        /// The camera's kind.
        kind: CameraKind,
        /// Its stream URL.
        url: String,
        /// Whether it answers ONVIF WS-Discovery.
        onvif: bool,
    },
    /// Stopped in order after a signal: every client closed.
    Stopped {
        /// The signal.
        signal: &'static str,
    },
    /// What the camera reported.
    #[serde(untagged)]
    Camera(CameraEvent),
}

pub(crate) async fn run(args: CameraArgs, out: &mut Output) -> Result<(), CliError> {
    let mut config = CameraConfig::new(args.kind);
    if let Some(path) = args.path {
        config.path = path;
    }
    config.onvif = args.onvif;
    // Signals first: from here on SIGTERM stops the camera in order.
    let mut signals = Signals::new()?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::local(format!("cannot listen on {}: {e}", args.bind)))?;
    let (tx, mut events) = mpsc::unbounded_channel();
    let camera = FakeCamera::spawn(listener, config, tx)?;
    out.json_line(&CameraLine::Listening {
        addr: camera.local_addr(),
        kind: args.kind,
        url: camera.url(),
        onvif: args.onvif,
    })?;
    let signal = loop {
        tokio::select! {
            Some(event) = events.recv() => out.json_line(&CameraLine::Camera(event))?,
            signal = signals.next() => match signal {
                Signal::Stop(name) => break name,
                Signal::Reload => {}
            },
        }
    };
    tracing::info!(signal, "stopping the camera");
    camera.stop().await;
    // The camera and its tasks are gone: what they reported last is all there.
    while let Ok(event) = events.try_recv() {
        out.json_line(&CameraLine::Camera(event))?;
    }
    out.json_line(&CameraLine::Stopped { signal })
}
