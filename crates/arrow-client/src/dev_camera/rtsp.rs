//! One RTSP connection of the fake camera as a state machine (sans-IO): request bytes in,
//! response bytes and streaming decisions out; RTP frames pulled on the clip's clock.
//!
//! Messages are parsed with `rtsp-types`; each is bounded by [`MAX_MESSAGE`] before
//! anything is allocated for it. What the camera answers (RTSP/1.0, `CSeq` echoed):
//!
//! | request | rtsp-h264 / rtsp-audio-only | rtsp-locked |
//! | --- | --- | --- |
//! | OPTIONS, any URL | 200, `Public` | 200, `Public` |
//! | DESCRIBE the stream path | 200, `application/sdp` | 401, `WWW-Authenticate: Basic` |
//! | DESCRIBE another path | 404 | 404 |
//! | SETUP under the stream path, TCP interleaved | 200, `Transport`, `Session` | 401 |
//! | SETUP asking for UDP only | 461 | 401 |
//! | PLAY with the session | 200, `RTP-Info`; RTP follows | 401 |
//! | PAUSE / TEARDOWN with the session | 200; RTP stops | 401 |
//! | GET_PARAMETER (keep-alive) | 200 | 401 |
//! | a session id that is not ours | 454 | 401 |
//! | PLAY before SETUP | 455 | 401 |
//! | any other method | 501 | 501 |
//! | not RTSP, RTSP/2.0, oversized | 400 / 505, then the connection closes | same |
//!
//! Interleaved frames from the client (RTCP receiver reports) are read and dropped.

use std::net::IpAddr;
use std::time::Duration;

use rtsp_types::headers::{self, Transport, Transports};
use rtsp_types::{Message, Method, ParseError, Request, Response, StatusCode, Version};

use super::clip::{CLOCK_RATE, Clip, FRAME_RATE};
use super::rtp::{self, H264_PAYLOAD_TYPE, PCMA_PAYLOAD_TYPE, PCMA_SAMPLES_PER_PACKET, RtpStream};
use super::sdp::{self, TRACK_CONTROL, Track};
use super::{CameraKind, SERVER};

/// The largest RTSP message (request line, headers and body) the camera reads; a client
/// that sends more without completing a message gets 400 and the connection closes.
pub(crate) const MAX_MESSAGE: usize = 16 * 1024;

/// The methods OPTIONS lists.
const PUBLIC: &str = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER";

/// Seconds a session may idle, as announced in the `Session` header.
const SESSION_TIMEOUT_SECS: u32 = 60;

/// The random numbers of one connection, drawn by the caller so that this module stays
/// deterministic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RtspSeeds {
    /// The session id SETUP gives.
    pub(crate) session: u64,
    /// The RTP stream's SSRC.
    pub(crate) ssrc: u32,
    /// The first RTP sequence number.
    pub(crate) sequence: u16,
    /// The first RTP timestamp.
    pub(crate) timestamp: u32,
}

/// What one call to [`RtspConnection::receive`] found at the front of the input.
#[derive(Debug)]
pub(crate) enum RtspStep {
    /// No whole message yet: read more (the input is below [`MAX_MESSAGE`]).
    NeedMore,
    /// An interleaved frame from the client (RTCP): `consumed` bytes, nothing to answer.
    Skipped {
        /// Bytes to drop from the input.
        consumed: usize,
    },
    /// A request and its answer.
    Answered {
        /// Bytes to drop from the input.
        consumed: usize,
        /// The request, the answer and what it changes.
        exchange: RtspExchange,
    },
    /// The input is not RTSP the camera speaks: send `response`, then close.
    Rejected {
        /// The status sent.
        status: u16,
        /// The bytes to send.
        response: Vec<u8>,
    },
}

/// A request and its answer.
#[derive(Debug)]
pub(crate) struct RtspExchange {
    /// The method as sent (`OPTIONS`, `DESCRIBE`, ...).
    pub(crate) method: String,
    /// The request URL's path and query, or `*`.
    pub(crate) path: String,
    /// The status answered.
    pub(crate) status: u16,
    /// The response bytes.
    pub(crate) response: Vec<u8>,
    /// Whether RTP starts or stops after the response.
    pub(crate) streaming: StreamChange,
}

/// What a request does to the RTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamChange {
    /// Nothing.
    None,
    /// PLAY: pull frames with [`RtspConnection::next_frame`] every
    /// [`RtspConnection::frame_interval`] from now on.
    Start,
    /// PAUSE or TEARDOWN: no more frames.
    Stop,
}

/// Where a connection stands (RFC 2326 appendix A.2, one stream).
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Init,
    Ready { channel: u8, track_url: String },
    Playing { channel: u8, track_url: String },
}

/// The RTP stream of a playing connection.
#[derive(Debug)]
struct Streamer {
    rtp: RtpStream,
    timestamp: u32,
    next_unit: usize,
}

/// One RTSP connection of an RTSP camera.
#[derive(Debug)]
pub(crate) struct RtspConnection {
    kind: CameraKind,
    path: String,
    /// The address the client reached, for the SDP's origin.
    local_ip: IpAddr,
    session: String,
    seeds: RtspSeeds,
    state: State,
    streamer: Streamer,
    frames: u64,
}

impl RtspConnection {
    /// A connection to a camera of `kind` (one of the RTSP kinds) streaming on `path`.
    pub(crate) fn new(kind: CameraKind, path: &str, local_ip: IpAddr, seeds: RtspSeeds) -> Self {
        let payload_type = match track_of(kind) {
            Some(Track::PcmaAudio) => PCMA_PAYLOAD_TYPE,
            _ => H264_PAYLOAD_TYPE,
        };
        RtspConnection {
            kind,
            path: path.to_string(),
            local_ip,
            session: format!("{:016X}", seeds.session),
            seeds,
            state: State::Init,
            streamer: Streamer {
                rtp: RtpStream::new(seeds.ssrc, payload_type, seeds.sequence),
                timestamp: seeds.timestamp,
                next_unit: 0,
            },
            frames: 0,
        }
    }

    /// True while PLAY is in effect.
    pub(crate) fn is_playing(&self) -> bool {
        matches!(self.state, State::Playing { .. })
    }

    /// Frames (H.264 access units or audio packets) sent so far.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// The media name of the stream (`h264` or `pcma`).
    pub(crate) fn media(&self) -> &'static str {
        match track_of(self.kind) {
            Some(Track::PcmaAudio) => "pcma",
            _ => "h264",
        }
    }

    /// How often [`next_frame`](Self::next_frame) is due while playing.
    pub(crate) fn frame_interval(&self) -> Duration {
        match track_of(self.kind) {
            Some(Track::PcmaAudio) => {
                Duration::from_millis(u64::from(PCMA_SAMPLES_PER_PACKET) * 1000 / 8000)
            }
            _ => Duration::from_millis(1000 / u64::from(FRAME_RATE)),
        }
    }

    /// The next frame's RTP packets, `$`-framed, or nothing when not playing. The clip
    /// loops; timestamps keep counting across the loop.
    pub(crate) fn next_frame(&mut self) -> Vec<u8> {
        let State::Playing { channel, .. } = self.state else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let s = &mut self.streamer;
        match track_of(self.kind) {
            Some(Track::PcmaAudio) => {
                let packet = s.rtp.pcma_silence(s.timestamp);
                rtp::interleave(channel, &packet, &mut out);
                s.timestamp = s.timestamp.wrapping_add(PCMA_SAMPLES_PER_PACKET);
            }
            _ => {
                let units = Clip::builtin().access_units();
                if units.is_empty() {
                    return out;
                }
                let unit = &units[s.next_unit % units.len()];
                for packet in s.rtp.h264_access_unit(unit, s.timestamp, rtp::MAX_PAYLOAD) {
                    rtp::interleave(channel, &packet, &mut out);
                }
                s.next_unit = (s.next_unit + 1) % units.len();
                s.timestamp = s.timestamp.wrapping_add(CLOCK_RATE / FRAME_RATE);
            }
        }
        self.frames += 1;
        out
    }

    /// Looks at the front of `input` (what the client sent and was not consumed yet).
    pub(crate) fn receive(&mut self, input: &[u8]) -> RtspStep {
        if input.is_empty() {
            return RtspStep::NeedMore;
        }
        let bounded = &input[..input.len().min(MAX_MESSAGE)];
        match Message::<Vec<u8>>::parse(bounded) {
            Ok((Message::Request(request), consumed)) => RtspStep::Answered {
                consumed,
                exchange: self.answer(&request),
            },
            Ok((Message::Data(_), consumed)) => RtspStep::Skipped { consumed },
            Ok((Message::Response(_), _)) | Err(ParseError::Error) => reject(400),
            Err(ParseError::Incomplete(needed)) => {
                let wanted = bounded.len().saturating_add(needed.map_or(1, |n| n.get()));
                if wanted > MAX_MESSAGE {
                    reject(400)
                } else {
                    RtspStep::NeedMore
                }
            }
        }
    }

    fn answer(&mut self, request: &Request<Vec<u8>>) -> RtspExchange {
        let method: &str = request.method().into();
        let method = method.to_string();
        let path = request_path(request);
        let (status, mut builder, body, streaming) = self.route(request, &path);
        if let Some(cseq) = request.header(&headers::CSEQ) {
            builder = builder.header(headers::CSEQ, cseq.as_str());
        }
        let response = builder.header(headers::SERVER, SERVER).build(body);
        RtspExchange {
            method,
            path,
            status: u16::from(status),
            response: serialize(&response),
            streaming,
        }
    }

    /// The status, headers, body and stream change of a request.
    fn route(
        &mut self,
        request: &Request<Vec<u8>>,
        path: &str,
    ) -> (
        StatusCode,
        rtsp_types::ResponseBuilder,
        Vec<u8>,
        StreamChange,
    ) {
        let plain = |status| (status, builder(status), Vec::new(), StreamChange::None);
        if request.version() != Version::V1_0 {
            return plain(StatusCode::RTSPVersionNotSupported);
        }
        if *request.method() == Method::Options {
            let status = StatusCode::Ok;
            let b = builder(status).header(headers::PUBLIC, PUBLIC);
            return (status, b, Vec::new(), StreamChange::None);
        }
        let known = matches!(
            request.method(),
            Method::Describe
                | Method::Setup
                | Method::Play
                | Method::Pause
                | Method::Teardown
                | Method::GetParameter
        );
        if !known {
            return plain(StatusCode::NotImplemented);
        }
        let on_stream = path == "*" || self.is_stream(path) || self.is_under_stream(path);
        if !on_stream {
            return plain(StatusCode::NotFound);
        }
        let Some(track) = track_of(self.kind) else {
            let status = StatusCode::Unauthorized;
            let b = builder(status).header(
                headers::WWW_AUTHENTICATE,
                format!("Basic realm=\"{}\"", super::REALM),
            );
            return (status, b, Vec::new(), StreamChange::None);
        };
        match request.method() {
            Method::Describe if self.is_stream(path) => {
                let status = StatusCode::Ok;
                let base = request
                    .request_uri()
                    .map(|u| u.as_str().trim_end_matches('/').to_string())
                    .unwrap_or_default();
                let b = builder(status)
                    .header(headers::CONTENT_TYPE, "application/sdp")
                    .header(headers::CONTENT_BASE, format!("{base}/"));
                let body = sdp::describe(track, self.local_ip, self.seeds.session);
                (status, b, body, StreamChange::None)
            }
            Method::Describe => plain(StatusCode::NotFound),
            Method::Setup => self.setup(request),
            Method::Play => self.play(request),
            Method::Pause | Method::Teardown | Method::GetParameter => {
                if !self.session_matches(request) {
                    return plain(StatusCode::SessionNotFound);
                }
                let status = StatusCode::Ok;
                let b = builder(status).header(headers::SESSION, self.session.as_str());
                let change = match (request.method(), &self.state) {
                    (Method::GetParameter, _) => StreamChange::None,
                    (Method::Pause, State::Playing { channel, track_url }) => {
                        self.state = State::Ready {
                            channel: *channel,
                            track_url: track_url.clone(),
                        };
                        StreamChange::Stop
                    }
                    (Method::Pause, _) => StreamChange::None,
                    _ => {
                        let was_playing = self.is_playing();
                        self.state = State::Init;
                        if was_playing {
                            StreamChange::Stop
                        } else {
                            StreamChange::None
                        }
                    }
                };
                (status, b, Vec::new(), change)
            }
            _ => plain(StatusCode::NotImplemented),
        }
    }

    fn setup(
        &mut self,
        request: &Request<Vec<u8>>,
    ) -> (
        StatusCode,
        rtsp_types::ResponseBuilder,
        Vec<u8>,
        StreamChange,
    ) {
        let plain = |status| (status, builder(status), Vec::new(), StreamChange::None);
        if request.header(&headers::SESSION).is_some() && !self.session_matches(request) {
            return plain(StatusCode::SessionNotFound);
        }
        if self.is_playing() {
            return plain(StatusCode::MethodNotValidInThisState);
        }
        let Some(channel) = interleaved_channel(request) else {
            return plain(StatusCode::UnsupportedTransport);
        };
        let track_url = request
            .request_uri()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default();
        self.state = State::Ready { channel, track_url };
        let status = StatusCode::Ok;
        let transport = format!(
            "RTP/AVP/TCP;unicast;interleaved={}-{};ssrc={:08X};mode=\"PLAY\"",
            channel,
            channel.saturating_add(1),
            self.streamer.rtp.ssrc()
        );
        let b = builder(status)
            .header(headers::TRANSPORT, transport)
            .header(
                headers::SESSION,
                format!("{};timeout={SESSION_TIMEOUT_SECS}", self.session),
            );
        (status, b, Vec::new(), StreamChange::None)
    }

    fn play(
        &mut self,
        request: &Request<Vec<u8>>,
    ) -> (
        StatusCode,
        rtsp_types::ResponseBuilder,
        Vec<u8>,
        StreamChange,
    ) {
        let plain = |status| (status, builder(status), Vec::new(), StreamChange::None);
        if !self.session_matches(request) {
            return plain(StatusCode::SessionNotFound);
        }
        let (channel, track_url, change) = match &self.state {
            State::Init => return plain(StatusCode::MethodNotValidInThisState),
            State::Ready { channel, track_url } => {
                (*channel, track_url.clone(), StreamChange::Start)
            }
            State::Playing { channel, track_url } => {
                (*channel, track_url.clone(), StreamChange::None)
            }
        };
        let rtp_info = format!(
            "url={track_url};seq={};rtptime={}",
            self.streamer.rtp.next_sequence(),
            self.streamer.timestamp
        );
        self.state = State::Playing { channel, track_url };
        let status = StatusCode::Ok;
        let b = builder(status)
            .header(headers::SESSION, self.session.as_str())
            .header(headers::RANGE, "npt=0.000-")
            .header(headers::RTP_INFO, rtp_info);
        (status, b, Vec::new(), change)
    }

    /// The stream path itself (a trailing `/` allowed).
    fn is_stream(&self, path: &str) -> bool {
        path == self.path || path.strip_suffix('/') == Some(self.path.as_str())
    }

    /// A control URL below the stream path (`/live.sdp/trackID=0`).
    fn is_under_stream(&self, path: &str) -> bool {
        path.strip_prefix(self.path.as_str())
            .is_some_and(|rest| rest.starts_with('/') || self.path.ends_with('/'))
            && path.ends_with(TRACK_CONTROL)
    }

    /// The request carries our session id.
    fn session_matches(&self, request: &Request<Vec<u8>>) -> bool {
        request.header(&headers::SESSION).is_some_and(|value| {
            value.as_str().split(';').next().map(str::trim) == Some(self.session.as_str())
        })
    }
}

/// The stream an RTSP kind serves; `None` for the locked camera.
fn track_of(kind: CameraKind) -> Option<Track> {
    match kind {
        CameraKind::RtspAudioOnly => Some(Track::PcmaAudio),
        CameraKind::RtspLocked => None,
        _ => Some(Track::H264Video),
    }
}

/// The RTP channel of the first `RTP/AVP/TCP` transport offered (0 when it names none);
/// `None` when no TCP transport is offered.
fn interleaved_channel(request: &Request<Vec<u8>>) -> Option<u8> {
    let transports = request.typed_header::<Transports>().ok().flatten()?;
    transports.iter().find_map(|t| match t {
        Transport::Rtp(rtp)
            if rtp.lower_transport == Some(headers::transport::RtpLowerTransport::Tcp) =>
        {
            Some(rtp.params.interleaved.map_or(0, |(first, _)| first))
        }
        _ => None,
    })
}

/// The request URL's path with its query, or `*`.
fn request_path(request: &Request<Vec<u8>>) -> String {
    match request.request_uri() {
        None => "*".to_string(),
        Some(url) => match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        },
    }
}

/// A response with the reason phrase RFC 2326 gives its status.
fn builder(status: StatusCode) -> rtsp_types::ResponseBuilder {
    let builder = Response::builder(Version::V1_0, status);
    let reason = match u16::from(status) {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        454 => "Session Not Found",
        455 => "Method Not Valid in This State",
        461 => "Unsupported Transport",
        501 => "Not Implemented",
        505 => "RTSP Version not supported",
        _ => return builder,
    };
    builder.reason_phrase(reason)
}

fn serialize<B: AsRef<[u8]>>(response: &Response<B>) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = response.write(&mut out);
    out
}

fn reject(status: u16) -> RtspStep {
    let code = StatusCode::from(status);
    let response = builder(code)
        .header(headers::SERVER, SERVER)
        .header(headers::CONNECTION, "close")
        .build(Vec::new());
    RtspStep::Rejected {
        status,
        response: serialize(&response),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev_camera::rtp::tests::{depacketize, parse};

    const SEEDS: RtspSeeds = RtspSeeds {
        session: 0xABCD,
        ssrc: 0x1122_3344,
        sequence: 100,
        timestamp: 5000,
    };

    fn camera(kind: CameraKind) -> RtspConnection {
        RtspConnection::new(
            kind,
            kind.default_path(),
            "127.0.0.1".parse().unwrap(),
            SEEDS,
        )
    }

    /// Sends one request; its status, its response as text and the stream change.
    fn ask(conn: &mut RtspConnection, request: &str) -> (u16, String, StreamChange) {
        match conn.receive(request.as_bytes()) {
            RtspStep::Answered { consumed, exchange } => {
                assert_eq!(consumed, request.len(), "{request}");
                let text = String::from_utf8(exchange.response).unwrap();
                (exchange.status, text, exchange.streaming)
            }
            other => panic!("{request}: {other:?}"),
        }
    }

    fn request(method: &str, url: &str, cseq: u32, extra: &str) -> String {
        format!("{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n{extra}\r\n")
    }

    const BASE: &str = "rtsp://127.0.0.1:8554";

    /// Kind, request (method and path), status, what the answer contains.
    type Case = (CameraKind, &'static str, u16, &'static [&'static str]);

    #[test]
    fn each_rtsp_kind_answers_the_scanners_requests_as_a_real_camera_would() {
        use CameraKind::*;
        const AUTH: &str = "WWW-Authenticate: Basic realm=\"";
        let cases: [Case; 14] = [
            (
                RtspH264,
                "OPTIONS /",
                200,
                &["Public: OPTIONS, DESCRIBE, SETUP, PLAY"],
            ),
            (
                RtspH264,
                "DESCRIBE /live.sdp",
                200,
                &[
                    "Content-Type: application/sdp",
                    "Content-Base: rtsp://127.0.0.1:8554/live.sdp/",
                    "a=rtpmap:96 H264/90000",
                    "sprop-parameter-sets=",
                ],
            ),
            (RtspH264, "DESCRIBE /Streaming/Channels/101", 404, &[]),
            (
                RtspH264,
                "DESCRIBE /live.sdp/",
                200,
                &["m=video 0 RTP/AVP 96"],
            ),
            (RtspH264, "ANNOUNCE /live.sdp", 501, &[]),
            (RtspAudioOnly, "OPTIONS /", 200, &["Public: "]),
            (
                RtspAudioOnly,
                "DESCRIBE /live.sdp",
                200,
                &["m=audio 0 RTP/AVP 8", "a=rtpmap:8 PCMA/8000"],
            ),
            (RtspAudioOnly, "DESCRIBE /h264", 404, &[]),
            (RtspLocked, "OPTIONS /", 200, &["Public: "]),
            (RtspLocked, "DESCRIBE /live.sdp", 401, &[AUTH]),
            (RtspLocked, "DESCRIBE /11", 404, &[]),
            (RtspLocked, "SETUP /live.sdp/trackID=0", 401, &[AUTH]),
            (RtspLocked, "PLAY /live.sdp", 401, &[AUTH]),
            (RtspLocked, "RECORD /live.sdp", 501, &[]),
        ];
        for (kind, line, status, wanted) in cases {
            let (method, path) = line.split_once(' ').unwrap();
            let mut conn = camera(kind);
            let (got, text, _) = ask(&mut conn, &request(method, &format!("{BASE}{path}"), 7, ""));
            assert_eq!(got, status, "{kind:?} {line}: {text}");
            assert!(text.starts_with(&format!("RTSP/1.0 {status} ")), "{text}");
            if status == 200 {
                assert!(text.starts_with("RTSP/1.0 200 OK\r\n"), "{text}");
            }
            assert!(text.contains("CSeq: 7\r\n"), "{kind:?} {line}: {text}");
            assert!(text.contains("Server: protoctl-fake-camera"), "{text}");
            for want in wanted {
                assert!(
                    text.contains(want),
                    "{kind:?} {line}: no {want:?} in {text}"
                );
            }
            assert!(!conn.is_playing());
        }
    }

    #[test]
    fn describe_body_length_matches_content_length() {
        let mut conn = camera(CameraKind::RtspH264);
        let (_, text, _) = ask(
            &mut conn,
            &request("DESCRIBE", &format!("{BASE}/live.sdp"), 2, ""),
        );
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len());
    }

    #[test]
    fn setup_play_teardown_drive_the_stream_and_check_the_session() {
        use StreamChange::{None as Same, Start, Stop};
        let mut conn = camera(CameraKind::RtspH264);
        let tcp = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n";
        let udp = "Transport: RTP/AVP;unicast;client_port=5000-5001\r\n";
        let ours = "Session: 000000000000ABCD\r\n";
        let tcp_ours = format!("{tcp}{ours}");
        let rtp_info =
            "RTP-Info: url=rtsp://127.0.0.1:8554/live.sdp/trackID=0;seq=100;rtptime=5000";
        // Request line, extra headers, status, stream change, what the answer contains.
        let steps: [(&str, &str, u16, StreamChange, &[&str]); 9] = [
            ("PLAY /live.sdp", "", 454, Same, &[]),
            ("SETUP /live.sdp/trackID=0", udp, 461, Same, &[]),
            (
                "SETUP /live.sdp/trackID=0",
                tcp,
                200,
                Same,
                &[
                    "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=11223344",
                    "Session: 000000000000ABCD;timeout=60",
                ],
            ),
            ("PLAY /live.sdp", "Session: 1234\r\n", 454, Same, &[]),
            (
                "PLAY /live.sdp/",
                ours,
                200,
                Start,
                &[rtp_info, "Range: npt=0.000-"],
            ),
            ("GET_PARAMETER /live.sdp", ours, 200, Same, &[]),
            ("SETUP /live.sdp/trackID=0", &tcp_ours, 455, Same, &[]),
            ("TEARDOWN /live.sdp", ours, 200, Stop, &[]),
            ("PLAY /live.sdp", ours, 455, Same, &[]),
        ];
        for (i, (line, extra, status, change, wanted)) in steps.into_iter().enumerate() {
            let (method, path) = line.split_once(' ').unwrap();
            let url = format!("{BASE}{path}");
            let (got, text, streaming) = ask(&mut conn, &request(method, &url, i as u32, extra));
            assert_eq!(got, status, "step {i} {line}: {text}");
            assert_eq!(streaming, change, "step {i} {line}");
            for want in wanted {
                assert!(
                    text.contains(want),
                    "step {i} {line}: no {want:?} in {text}"
                );
            }
            assert_eq!(conn.is_playing(), (4..7).contains(&i), "step {i} {line}");
        }
        assert!(conn.next_frame().is_empty(), "no RTP after TEARDOWN");
    }

    /// Splits `$`-framed bytes into (channel, packet) pairs.
    fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(bytes[0], b'$');
            let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
            out.push((bytes[1], bytes[4..4 + len].to_vec()));
            bytes = &bytes[4 + len..];
        }
        out
    }

    fn playing(kind: CameraKind, channel: u8) -> RtspConnection {
        let mut conn = camera(kind);
        let setup = request(
            "SETUP",
            &format!("{BASE}/live.sdp/trackID=0"),
            1,
            &format!(
                "Transport: RTP/AVP/TCP;unicast;interleaved={channel}-{}\r\n",
                channel + 1
            ),
        );
        assert_eq!(ask(&mut conn, &setup).0, 200);
        let play = request(
            "PLAY",
            &format!("{BASE}/live.sdp"),
            2,
            "Session: 000000000000ABCD\r\n",
        );
        assert_eq!(ask(&mut conn, &play).2, StreamChange::Start);
        conn
    }

    #[test]
    fn playing_loops_the_clip_with_90_khz_timestamps_on_the_setup_channel() {
        let mut conn = playing(CameraKind::RtspH264, 4);
        let clip = Clip::builtin();
        let units = clip.access_units().len();
        let mut sequence = SEEDS.sequence;
        for frame in 0..units + 2 {
            let packets = frames(&conn.next_frame());
            let mut payloads = Vec::new();
            for (i, (channel, packet)) in packets.iter().enumerate() {
                assert_eq!(*channel, 4);
                let p = parse(packet);
                assert_eq!(p.sequence, sequence);
                sequence = sequence.wrapping_add(1);
                assert_eq!(p.timestamp, SEEDS.timestamp + 9000 * frame as u32);
                assert_eq!(p.marker, i + 1 == packets.len(), "frame {frame} packet {i}");
                payloads.push(p.payload);
            }
            let want: Vec<Vec<u8>> = clip.access_units()[frame % units]
                .iter()
                .map(|n| n.to_vec())
                .collect();
            assert_eq!(depacketize(&payloads), want, "frame {frame}");
        }
        assert_eq!(conn.frames(), units as u64 + 2);
        assert_eq!(conn.frame_interval(), Duration::from_millis(100));
    }

    #[test]
    fn audio_only_plays_pcma_silence_every_20_ms() {
        let mut conn = playing(CameraKind::RtspAudioOnly, 0);
        let first = frames(&conn.next_frame());
        let second = frames(&conn.next_frame());
        let (a, b) = (parse(&first[0].1), parse(&second[0].1));
        assert_eq!((a.payload_type, a.payload.len()), (8, 160));
        assert_eq!(b.timestamp - a.timestamp, 160);
        assert_eq!(conn.frame_interval(), Duration::from_millis(20));
        assert_eq!(conn.media(), "pcma");
    }

    #[test]
    fn partial_oversized_and_foreign_input_is_bounded() {
        let mut conn = camera(CameraKind::RtspH264);
        let options = request("OPTIONS", "*", 1, "");
        let cases: [(&str, Vec<u8>, &str); 7] = [
            ("half a request", options.as_bytes()[..10].to_vec(), "more"),
            (
                "headers without end",
                b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".to_vec(),
                "more",
            ),
            ("HTTP", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "400"),
            (
                "huge body announced",
                b"DESCRIBE rtsp://h/live.sdp RTSP/1.0\r\nContent-Length: 999999999\r\n\r\n"
                    .to_vec(),
                "400",
            ),
            (
                "endless header",
                [
                    b"OPTIONS * RTSP/1.0\r\nX: ".as_slice(),
                    &[b'a'; MAX_MESSAGE],
                ]
                .concat(),
                "400",
            ),
            ("binary", vec![0xff; 64], "400"),
            ("RTCP from the client", vec![b'$', 1, 0, 2, 9, 9], "skip 6"),
        ];
        for (name, input, want) in cases {
            let got = match conn.receive(&input) {
                RtspStep::NeedMore => "more".to_string(),
                RtspStep::Skipped { consumed } => format!("skip {consumed}"),
                RtspStep::Rejected { status, response } => {
                    assert!(response.starts_with(format!("RTSP/1.0 {status} ").as_bytes()));
                    status.to_string()
                }
                RtspStep::Answered { exchange, .. } => exchange.status.to_string(),
            };
            assert_eq!(got, want, "{name}");
        }
        let (status, _, _) = ask(&mut conn, &options);
        assert_eq!(status, 200, "OPTIONS * still answered");
        let v2 = "OPTIONS * RTSP/2.0\r\nCSeq: 3\r\n\r\n";
        assert_eq!(ask(&mut conn, v2).0, 505);
    }
}
