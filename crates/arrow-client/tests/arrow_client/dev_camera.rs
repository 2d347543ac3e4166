//! The fake camera over real sockets on 127.0.0.1: each kind as a scanner sees it (the
//! rules of shared/reference/arrow-discovery.md, applied here by a small test-side
//! classifier), an RTSP client that plays the H.264 clip, an MJPEG client that reads whole
//! JPEG frames, an orderly stop; and, in a private network namespace only, ONVIF
//! WS-Discovery.

use std::net::SocketAddr;

use arrow_client::dev_camera::{CameraConfig, CameraEvent, CameraKind, FakeCamera};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::support::{WAIT, wait_for};

/// The clip the camera streams, read here straight from the fixture.
const CLIP: &[u8] = include_bytes!("../../../../fixtures/arrow/camera/clip.h264");

/// The largest response head or body these tests read.
const MAX_READ: usize = 256 * 1024;

async fn start(config: CameraConfig) -> (FakeCamera, mpsc::UnboundedReceiver<CameraEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, events) = mpsc::unbounded_channel();
    let camera = FakeCamera::spawn(listener, config, tx).unwrap();
    (camera, events)
}

/// A response: status line, headers (lower-case names), body.
#[derive(Debug)]
struct Response {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The status code, when the status line is `protocol/x.y NNN ...`.
    fn status(&self, protocol: &str) -> Option<u16> {
        let rest = self.status_line.strip_prefix(protocol)?;
        rest.split(' ').nth(1)?.parse().ok()
    }
}

/// Reads one response head (and its Content-Length body) from `stream`, skipping any
/// interleaved `$` frames before it; `None` when the peer closes first.
async fn read_response<R: AsyncRead + Unpin>(stream: &mut R) -> Option<Response> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < MAX_READ, "endless head");
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        if head.is_empty() && byte[0] == b'$' {
            let mut frame = [0u8; 3];
            stream.read_exact(&mut frame).await.ok()?;
            let mut skip = vec![0u8; usize::from(u16::from_be_bytes([frame[1], frame[2]]))];
            stream.read_exact(&mut skip).await.ok()?;
            continue;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    assert!(length < MAX_READ, "huge body");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(Response {
        status_line,
        headers,
        body,
    })
}

/// One request on a fresh connection; its response (`None`: closed without one).
async fn exchange(addr: SocketAddr, request: String) -> Option<Response> {
    tokio::time::timeout(WAIT, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        read_response(&mut stream).await
    })
    .await
    .expect("an answer in time")
}

fn rtsp(method: &str, addr: SocketAddr, path: &str, cseq: u32, extra: &str) -> String {
    format!("{method} rtsp://{addr}{path} RTSP/1.0\r\nCSeq: {cseq}\r\n{extra}\r\n")
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
}

/// A scanner's path lists, shortened: some vendors' paths before the camera's own.
const RTSP_PATHS: [&str; 4] = ["/Streaming/Channels/101", "/h264", "/live.sdp", "/11"];
const MJPEG_PATHS: [&str; 3] = ["/video.cgi", "/mjpg/video.mjpg", "/?action=stream"];

/// What a scanner following the reference makes of a camera: its service type and path.
async fn classify(addr: SocketAddr) -> (String, String) {
    let options = exchange(addr, rtsp("OPTIONS", addr, "/", 1, "")).await;
    let is_rtsp = options.is_some_and(|r| r.status("RTSP/1.0").is_some());
    if is_rtsp {
        let mut unsupported = None;
        for path in RTSP_PATHS {
            let Some(answer) = exchange(addr, rtsp("DESCRIBE", addr, path, 2, "")).await else {
                continue;
            };
            match answer.status("RTSP/1.0") {
                Some(200) => {
                    let sdp = String::from_utf8_lossy(&answer.body).into_owned();
                    if has_supported_video(&sdp) {
                        return ("rtsp".into(), path.into());
                    }
                    unsupported.get_or_insert(path);
                }
                Some(401) => return ("locked_rtsp".into(), path.into()),
                _ => {}
            }
        }
        return match unsupported {
            Some(path) => ("unsupported_rtsp".into(), path.into()),
            None => ("unknown_rtsp".into(), String::new()),
        };
    }
    let home = exchange(addr, http_get(addr, "/")).await;
    assert!(
        home.is_some_and(|r| r.status("HTTP/1.1").is_some()),
        "neither RTSP nor HTTP"
    );
    for path in MJPEG_PATHS {
        let Some(answer) = exchange(addr, http_get(addr, path)).await else {
            continue;
        };
        let content_type = answer.header("content-type").unwrap_or_default();
        match answer.status("HTTP/1.1") {
            Some(200)
                if ["multipart/x-mixed-replace", "image/jpeg", "image/jpg"]
                    .iter()
                    .any(|t| content_type.starts_with(t)) =>
            {
                return ("mjpeg".into(), path.into());
            }
            Some(401) => return ("locked_mjpeg".into(), path.into()),
            _ => {}
        }
    }
    ("http".into(), String::new())
}

/// The reference's check: a video stream whose rtpmap encoding is H.264 or MPEG-4.
fn has_supported_video(sdp: &str) -> bool {
    let mut in_video = false;
    for line in sdp.lines() {
        if let Some(media) = line.strip_prefix("m=") {
            in_video = media.starts_with("video ");
        } else if in_video && let Some(map) = line.strip_prefix("a=rtpmap:") {
            let encoding = map
                .split_whitespace()
                .nth(1)
                .and_then(|e| e.split('/').next())
                .unwrap_or_default()
                .to_ascii_uppercase();
            if ["H264", "H264-RCDO", "H264-SVC", "MP4V-ES", "MPEG4-GENERIC"]
                .contains(&encoding.as_str())
            {
                return true;
            }
        }
    }
    false
}

#[tokio::test]
async fn each_kind_is_typed_by_a_scanner_as_the_camera_it_plays() {
    let cases = [
        (CameraKind::RtspH264, None, "rtsp", "/live.sdp"),
        (
            CameraKind::RtspAudioOnly,
            None,
            "unsupported_rtsp",
            "/live.sdp",
        ),
        (CameraKind::RtspLocked, None, "locked_rtsp", "/live.sdp"),
        (CameraKind::RtspH264, Some("/11"), "rtsp", "/11"),
        (
            CameraKind::RtspH264,
            Some("/not/listed"),
            "unknown_rtsp",
            "",
        ),
        (CameraKind::Mjpeg, None, "mjpeg", "/mjpg/video.mjpg"),
        (
            CameraKind::Mjpeg,
            Some("/?action=stream"),
            "mjpeg",
            "/?action=stream",
        ),
        (
            CameraKind::MjpegLocked,
            None,
            "locked_mjpeg",
            "/mjpg/video.mjpg",
        ),
        (CameraKind::Http, None, "http", ""),
    ];
    for (kind, path, want_type, want_path) in cases {
        let mut config = CameraConfig::new(kind);
        if let Some(path) = path {
            config.path = path.to_string();
        }
        let (camera, _events) = start(config).await;
        let got = classify(camera.local_addr()).await;
        assert_eq!(
            got,
            (want_type.to_string(), want_path.to_string()),
            "{kind} on {path:?}"
        );
        camera.stop().await;
    }
}

#[tokio::test]
async fn an_rtsp_camera_gives_http_no_http_answer_and_a_web_camera_gives_rtsp_none() {
    let cases = [
        (
            CameraKind::RtspH264,
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "RTSP/1.0 400 ",
        ),
        (
            CameraKind::Mjpeg,
            "OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
            "HTTP/1.1 400 ",
        ),
        (
            CameraKind::Http,
            "OPTIONS rtsp://x/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
            "HTTP/1.1 400 ",
        ),
    ];
    for (kind, request, want) in cases {
        let (camera, mut events) = start(CameraConfig::new(kind)).await;
        let answer = exchange(camera.local_addr(), request.to_string())
            .await
            .unwrap();
        assert!(answer.status_line.starts_with(want), "{kind}: {answer:?}");
        let closed = wait_for(&mut events, |e| {
            matches!(e, CameraEvent::ClientClosed { .. })
        })
        .await;
        assert!(
            matches!(&closed, CameraEvent::ClientClosed { reason, .. } if reason == "bad_request"),
            "{closed:?}"
        );
        camera.stop().await;
    }
}

/// The NAL units of an Annex B stream.
fn nal_units(annex_b: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(annex_b.len(), |next| next - 3);
        while end > start && annex_b[end - 1] == 0 {
            end -= 1;
        }
        nals.push(annex_b[start..end].to_vec());
    }
    nals
}

/// RTP payloads back to NAL units (single NAL unit packets and FU-A).
struct Depacketizer {
    partial: Option<Vec<u8>>,
    nals: Vec<Vec<u8>>,
}

impl Depacketizer {
    fn push(&mut self, payload: &[u8]) {
        match payload[0] & 0x1f {
            28 => {
                let (indicator, header) = (payload[0], payload[1]);
                if header & 0x80 != 0 {
                    self.partial = Some(vec![(indicator & 0xe0) | (header & 0x1f)]);
                }
                let nal = self.partial.as_mut().expect("FU-A start first");
                nal.extend_from_slice(&payload[2..]);
                if header & 0x40 != 0 {
                    self.nals.push(self.partial.take().unwrap());
                }
            }
            1..=23 => self.nals.push(payload.to_vec()),
            other => panic!("payload type {other}"),
        }
    }
}

#[tokio::test]
async fn an_rtsp_client_plays_rtp_that_reassembles_to_the_clips_nal_units() {
    let (camera, mut events) = start(CameraConfig::new(CameraKind::RtspH264)).await;
    let addr = camera.local_addr();
    let clip = nal_units(CLIP);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut ask = async |request: String| {
        stream.write_all(request.as_bytes()).await.unwrap();
        tokio::time::timeout(WAIT, read_response(&mut stream))
            .await
            .expect("an answer in time")
            .expect("an answer")
    };
    let options = ask(rtsp("OPTIONS", addr, "/live.sdp", 1, "")).await;
    assert_eq!(options.status("RTSP/1.0"), Some(200));
    let describe = ask(rtsp(
        "DESCRIBE",
        addr,
        "/live.sdp",
        2,
        "Accept: application/sdp\r\n",
    ))
    .await;
    assert_eq!(describe.status("RTSP/1.0"), Some(200));
    let base = describe.header("content-base").unwrap().to_string();
    let setup = ask(format!(
        "SETUP {base}trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\n\r\n"
    ))
    .await;
    assert_eq!(setup.status("RTSP/1.0"), Some(200), "{setup:?}");
    assert!(
        setup
            .header("transport")
            .unwrap()
            .contains("interleaved=2-3")
    );
    let session = setup
        .header("session")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let play = ask(rtsp(
        "PLAY",
        addr,
        "/live.sdp",
        4,
        &format!("Session: {session}\r\n"),
    ))
    .await;
    assert_eq!(play.status("RTSP/1.0"), Some(200));
    let rtp_info = play.header("rtp-info").unwrap().to_string();
    let first_seq: u16 = rtp_info
        .split(';')
        .find_map(|p| p.strip_prefix("seq="))
        .unwrap()
        .parse()
        .unwrap();

    // Three pictures: SPS, PPS, IDR (fragmented), then two slices.
    let mut depacketizer = Depacketizer {
        partial: None,
        nals: Vec::new(),
    };
    let mut expected_seq = first_seq;
    let mut timestamps = Vec::new();
    let mut pictures = 0;
    tokio::time::timeout(WAIT, async {
        while pictures < 3 {
            let mut frame = [0u8; 4];
            stream.read_exact(&mut frame).await.unwrap();
            assert_eq!((frame[0], frame[1]), (b'$', 2), "RTP on the SETUP channel");
            let mut packet = vec![0u8; usize::from(u16::from_be_bytes([frame[2], frame[3]]))];
            stream.read_exact(&mut packet).await.unwrap();
            assert_eq!(packet[0] >> 6, 2, "RTP version 2");
            assert_eq!(packet[1] & 0x7f, 96, "payload type 96");
            let seq = u16::from_be_bytes([packet[2], packet[3]]);
            assert_eq!(seq, expected_seq, "no gap");
            expected_seq = seq.wrapping_add(1);
            let timestamp = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
            if timestamps.last() != Some(&timestamp) {
                timestamps.push(timestamp);
            }
            depacketizer.push(&packet[12..]);
            if packet[1] & 0x80 != 0 {
                pictures += 1;
            }
        }
    })
    .await
    .expect("three pictures in time");
    assert_eq!(depacketizer.nals, clip[..5].to_vec(), "SPS, PPS, IDR, P, P");
    let steps: Vec<u32> = timestamps
        .windows(2)
        .map(|w| w[1].wrapping_sub(w[0]))
        .collect();
    assert_eq!(steps, [9000, 9000], "90 kHz at 10 frames per second");

    // TEARDOWN is answered even while frames are in flight.
    stream
        .write_all(
            rtsp(
                "TEARDOWN",
                addr,
                "/live.sdp",
                5,
                &format!("Session: {session}\r\n"),
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let teardown = tokio::time::timeout(WAIT, read_response(&mut stream))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(teardown.status("RTSP/1.0"), Some(200));
    assert_eq!(teardown.header("cseq"), Some("5"));
    drop(stream);

    let mut statuses = Vec::new();
    let closed = wait_for(&mut events, |e| {
        if let CameraEvent::Request { method, status, .. } = e {
            statuses.push((method.clone(), *status));
        }
        matches!(e, CameraEvent::ClientClosed { .. })
    })
    .await;
    let methods = ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "TEARDOWN"];
    let want: Vec<(String, u16)> = methods.iter().map(|m| (m.to_string(), 200)).collect();
    assert_eq!(statuses, want);
    let CameraEvent::ClientClosed { reason, frames, .. } = closed else {
        unreachable!()
    };
    assert_eq!(reason, "client_closed");
    assert!(frames >= 3, "{frames} frames");
    camera.stop().await;
}

/// Reads through `stream` up to and including `delimiter`; what came before it.
async fn read_until(stream: &mut TcpStream, delimiter: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut byte = [0u8; 1];
    while !data.ends_with(delimiter) {
        assert!(data.len() < MAX_READ, "no {delimiter:?}");
        assert_eq!(stream.read(&mut byte).await.unwrap(), 1, "closed early");
        data.push(byte[0]);
    }
    data.truncate(data.len() - delimiter.len());
    data
}

#[tokio::test]
async fn an_mjpeg_client_reads_whole_jpeg_frames_between_boundaries() {
    let (camera, mut events) = start(CameraConfig::new(CameraKind::Mjpeg)).await;
    let addr = camera.local_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(http_get(addr, "/mjpg/video.mjpg").as_bytes())
        .await
        .unwrap();
    let frames = tokio::time::timeout(WAIT, async {
        let head = String::from_utf8(read_until(&mut stream, b"\r\n\r\n").await).unwrap();
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        let boundary = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: multipart/x-mixed-replace; boundary="))
            .expect("a multipart stream")
            .to_string();
        let mut frames = Vec::new();
        while frames.len() < 2 {
            let delimiter = format!("--{boundary}\r\n");
            let before = read_until(&mut stream, delimiter.as_bytes()).await;
            assert!(before.is_empty(), "nothing between parts");
            let part_head = String::from_utf8(read_until(&mut stream, b"\r\n\r\n").await).unwrap();
            assert!(
                part_head.contains("Content-Type: image/jpeg"),
                "{part_head}"
            );
            let length: usize = part_head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            let mut jpeg = vec![0u8; length + 2];
            stream.read_exact(&mut jpeg).await.unwrap();
            assert_eq!(&jpeg[length..], b"\r\n");
            jpeg.truncate(length);
            frames.push(jpeg);
        }
        frames
    })
    .await
    .expect("two frames in time");
    for (i, jpeg) in frames.iter().enumerate() {
        assert_eq!(&jpeg[..2], [0xff, 0xd8], "frame {i}: SOI");
        assert_eq!(&jpeg[jpeg.len() - 2..], [0xff, 0xd9], "frame {i}: EOI");
    }
    assert_ne!(frames[0], frames[1], "the picture moves");
    drop(stream);
    let streaming = wait_for(&mut events, |e| matches!(e, CameraEvent::Streaming { .. })).await;
    assert_eq!(
        streaming,
        CameraEvent::Streaming {
            client: 1,
            media: "mjpeg".into(),
            path: "/mjpg/video.mjpg".into()
        }
    );
    let closed = wait_for(&mut events, |e| {
        matches!(e, CameraEvent::ClientClosed { .. })
    })
    .await;
    assert!(
        matches!(&closed, CameraEvent::ClientClosed { reason, frames, .. } if reason == "client_closed" && *frames >= 2),
        "{closed:?}"
    );
    camera.stop().await;
}

#[tokio::test]
async fn stop_closes_streaming_and_idle_clients_and_reports_each() {
    let (camera, mut events) = start(CameraConfig::new(CameraKind::Mjpeg)).await;
    let addr = camera.local_addr();
    let mut watching = TcpStream::connect(addr).await.unwrap();
    watching
        .write_all(http_get(addr, "/mjpg/video.mjpg").as_bytes())
        .await
        .unwrap();
    wait_for(&mut events, |e| matches!(e, CameraEvent::Streaming { .. })).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    wait_for(&mut events, |e| {
        matches!(e, CameraEvent::ClientConnected { client: 2, .. })
    })
    .await;
    camera.stop().await;
    let mut reasons = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let CameraEvent::ClientClosed { client, reason, .. } = event {
            reasons.push((client, reason));
        }
    }
    reasons.sort();
    assert_eq!(
        reasons,
        [(1, "stopped".to_string()), (2, "stopped".to_string())]
    );
    assert!(
        events.recv().await.is_none(),
        "the camera dropped its event sender"
    );
    for stream in [&mut watching, &mut idle] {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
        assert!(read.expect("closed in time").is_ok());
    }
}

/// Virtual time: the runtime skips ahead to the camera's 30 s deadline once every task
/// waits.
#[tokio::test(start_paused = true)]
async fn a_client_that_sends_no_request_is_closed_as_idle() {
    let (camera, mut events) = start(CameraConfig::new(CameraKind::RtspH264)).await;
    let mut silent = TcpStream::connect(camera.local_addr()).await.unwrap();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(600), async {
        loop {
            match events.recv().await.expect("events") {
                CameraEvent::ClientClosed { reason, .. } => return reason,
                _ => continue,
            }
        }
    })
    .await
    .expect("closed within 600 virtual seconds");
    assert_eq!(closed, "idle");
    let mut rest = Vec::new();
    assert_eq!(
        silent.read_to_end(&mut rest).await.unwrap(),
        0,
        "closed without a word"
    );
    camera.stop().await;
}

#[tokio::test]
async fn a_bad_configuration_is_refused_before_anything_runs() {
    let mut bad_path = CameraConfig::new(CameraKind::Http);
    bad_path.path = "index.html".into();
    let mut onvif_on_any = CameraConfig::new(CameraKind::RtspH264);
    onvif_on_any.onvif = true;
    let cases = [("0.0.0.0:0", bad_path), ("0.0.0.0:0", onvif_on_any)];
    for (bind, config) in cases {
        let listener = TcpListener::bind(bind).await.unwrap();
        let (tx, _events) = mpsc::unbounded_channel();
        let result = FakeCamera::spawn(listener, config.clone(), tx);
        assert!(
            matches!(result, Err(arrow_client::Error::Config(_))),
            "{config:?}: {result:?}"
        );
    }
}

/// Refuses to go on outside a network namespace of its own: multicast from a test must
/// never reach this machine's networks. Inside `cargo xtask ci`'s namespace the test
/// binary's network namespace differs from its parent's (xtask's) and only `lo` exists.
fn assert_private_network_namespace() {
    let ours = std::fs::read_link("/proc/self/ns/net").expect("own network namespace");
    let parent = std::os::unix::process::parent_id();
    let theirs = std::fs::read_link(format!("/proc/{parent}/ns/net"))
        .expect("the parent's network namespace (run by cargo xtask ci)");
    assert_ne!(
        ours, theirs,
        "refusing to send multicast: same network namespace as the parent; run by cargo xtask ci"
    );
    if let Ok(init) = std::fs::read_link("/proc/1/ns/net") {
        assert_ne!(
            ours, init,
            "refusing to send multicast in the machine's network namespace"
        );
    }
    let devices = std::fs::read_to_string("/proc/self/net/dev").expect("/proc/self/net/dev");
    let interfaces: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to send multicast: interfaces other than lo"
    );
}

#[tokio::test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
async fn netns_onvif_probe_is_answered_unicast_with_the_cameras_device_service() {
    assert_private_network_namespace();
    use std::net::{Ipv4Addr, SocketAddrV4};
    let mut config = CameraConfig::new(CameraKind::RtspH264);
    config.onvif = true;
    config.name = "netns cam".into();
    let (camera, mut events) = start(config).await;
    let xaddr = format!("http://{}/onvif/device_service", camera.local_addr());

    let prober = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    prober.set_multicast_loop_v4(true).unwrap();
    let socket = socket2::SockRef::from(&prober);
    socket.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    let group = SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 3702);
    let probe = |id: &str, types: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
             xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
             xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
             xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\" xmlns:p=\"urn:printers\">\
             <s:Header><a:MessageID>{id}</a:MessageID>\
             <a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>\
             <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>\
             </s:Header><s:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></s:Body>\
             </s:Envelope>"
        )
    };
    // A Probe for printers: seen, not answered.
    prober
        .send_to(probe("urn:uuid:printers", "p:Printer").as_bytes(), group)
        .await
        .unwrap();
    let ignored = wait_for(&mut events, |e| matches!(e, CameraEvent::OnvifProbe { .. })).await;
    assert!(
        matches!(&ignored, CameraEvent::OnvifProbe { message_id, answered: false, .. } if message_id == "urn:uuid:printers"),
        "{ignored:?}"
    );
    // A Probe for video transmitters: answered, unicast, to the prober.
    prober
        .send_to(
            probe("urn:uuid:cameras", "dn:NetworkVideoTransmitter").as_bytes(),
            group,
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 16 * 1024];
    let (len, from) = tokio::time::timeout(WAIT, prober.recv_from(&mut answer))
        .await
        .expect("a ProbeMatches in time")
        .unwrap();
    assert_eq!(from.port(), 3702);
    let xml = String::from_utf8_lossy(&answer[..len]).into_owned();
    for want in [
        "ProbeMatches</a:Action>",
        "<a:RelatesTo>urn:uuid:cameras</a:RelatesTo>",
        &format!("<d:XAddrs>{xaddr}</d:XAddrs>"),
        "dn:NetworkVideoTransmitter",
        "onvif://www.onvif.org/name/netns%20cam",
        "onvif://www.onvif.org/hardware/",
    ] {
        assert!(xml.contains(want), "no {want:?} in {xml}");
    }
    let answered = wait_for(&mut events, |e| matches!(e, CameraEvent::OnvifProbe { .. })).await;
    assert!(
        matches!(&answered, CameraEvent::OnvifProbe { answered: true, peer, .. } if *peer == prober.local_addr().unwrap()),
        "{answered:?}"
    );
    camera.stop().await;
}
