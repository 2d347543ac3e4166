//! `protoctl arrow ...`: the Angelcam Arrow v2 protocol.

mod camera;
mod decode;
mod encode;
mod identity;
mod run;
mod scan;
mod serve;
mod status;

use clap::Subcommand;

use crate::exit::CliError;
use crate::output::Output;

/// `protoctl arrow ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ArrowCommand {
    /// Decode a captured (decrypted) Arrow byte stream, one JSON line per message.
    ///
    /// Each line has the message's byte `offset` and `size` (header included), its `kind`
    /// (`control` or `data`), and its fields: for control messages `msg_id`, `type` and
    /// `data`; for data messages `svc_id`, `session_id` and the `body` as hex. A bad
    /// message is reported with its byte offset and exit code 4.
    Decode(decode::DecodeArgs),
    /// Turn JSON Lines (in the shape `arrow decode` prints) into Arrow messages.
    Encode(encode::EncodeArgs),
    /// Run an Arrow client: register with an Arrow Service and carry its sessions to local
    /// services, for months unattended.
    ///
    /// Reconnects with backoff and jitter (--reconnect-min/--reconnect-max), follows
    /// REDIRECT, keeps retrying while not paired (and says once which uuid/MAC to pair).
    /// SIGINT/SIGTERM: no new session, open ones hung up once their data is delivered, TLS
    /// closed, exit 0. SIGHUP: the services are read again and sent with UPDATE (other
    /// changed options are named: they wait for a restart). --once: register and exit (0
    /// registered, 1 refused, 3 unreachable, 4 protocol violation). status.json in the
    /// state directory tells where it stands. Service hosts are resolved on each attempt; one
    /// that does not resolve is retried with the same backoff (--once: exit 3). A second
    /// client on the same state directory exits 2. JSON lines: started,
    /// service_unresolved, connecting, connected,
    /// registered, disconnected, retrying, not_paired, redirect_ignored, session_opened,
    /// session_closed, session_refused, unsupported, reloaded, reload_failed,
    /// table_replaced, table_sent, events_dropped, events_suppressed,
    /// session_limit_lowered, stopping, stopped.
    Run(Box<run::RunArgs>),
    /// Scan for cameras once, as the client's discovery does: a TCP sweep of the candidate
    /// ports, the neighbour table for MACs, ICMP echo where allowed, ONVIF WS-Discovery,
    /// then RTSP and MJPEG probing over path lists. Needs no privileges.
    ///
    /// Covers the IPv4 subnets of the interfaces (--discovery-interface, default: every
    /// non-loopback one) or the --target networks, never more than --discovery-max-hosts
    /// addresses. Prints a table (--json: one line per host, then per service); exit 0 even
    /// when nothing is found.
    Scan(scan::ScanArgs),
    /// Run a development Arrow Service: accept clients over TLS and expose each of their
    /// services on a local port. One JSON line per event.
    ///
    /// Lines on stdin send requests to the clients: `scan_network`, `get_status`,
    /// `get_scan_report` or `reset_svc_table`, then a client number (from the events) or
    /// nothing for every client; the answers are printed as events.
    Serve(serve::ServeArgs),
    /// Run a fake IP camera that answers a scanner's probes as a real camera of its kind
    /// does and streams when a client goes on.
    ///
    /// Kinds: rtsp-h264 (RTSP with an H.264 clip, RTP over TCP interleaved after SETUP and
    /// PLAY), rtsp-audio-only (RTSP whose SDP has only PCMA audio), rtsp-locked (RTSP that
    /// answers DESCRIBE with 401), mjpeg (HTTP multipart/x-mixed-replace JPEG frames made on
    /// the fly), mjpeg-locked (HTTP 401 on the stream), http (a plain web page). --onvif
    /// also answers ONVIF WS-Discovery Probes. One JSON line per event: listening,
    /// client_connected, client_refused, request, bad_request, streaming, client_closed,
    /// onvif_probe, onvif_ignored, stopped. SIGINT/SIGTERM: every client closed, exit 0. A
    /// busy port exits 3.
    Camera(camera::CameraArgs),
    /// Print the client identity kept in a state directory (UUID and MAC, never the key),
    /// creating it on first use.
    Identity(identity::IdentityArgs),
    /// Print what a client last wrote to its status file: state, server, since when,
    /// sessions, bytes each way, last error, next attempt; says when the file is stale.
    /// Exit 2 when there is no status file.
    Status(status::StatusArgs),
}

pub(crate) async fn run(cmd: ArrowCommand, out: &mut Output) -> Result<(), CliError> {
    match cmd {
        ArrowCommand::Decode(args) => decode::run(args, out),
        ArrowCommand::Encode(args) => encode::run(args, out),
        ArrowCommand::Run(args) => run::run(*args, out).await,
        ArrowCommand::Scan(args) => scan::run(args, out).await,
        ArrowCommand::Serve(args) => serve::run(args, out).await,
        ArrowCommand::Camera(args) => camera::run(args, out).await,
        ArrowCommand::Identity(args) => identity::run(args, out),
        ArrowCommand::Status(args) => status::run(args, out),
    }
}
