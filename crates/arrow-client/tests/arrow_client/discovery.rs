//! The scanner against scripted cameras on loopback addresses (127.0.0.x, never another
//! network): every host found with its open ports, every service with the type and path
//! the reference's rules give, and the deadline honoured.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use arrow_client::discovery::{self, FoundService, ScanConfig, ScanProgress};
use arrow_codec::ServiceType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::Guard;

const H264_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n\
    m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
const AUDIO_SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n\
    m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";

/// How a scripted camera answers a request line.
type Answer = fn(&str) -> String;

fn rtsp(status: &str, cseq: &str, body: &str) -> String {
    format!(
        "RTSP/1.0 {status}\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn h264_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        Some("DESCRIBE") if head.contains("/live.sdp ") => rtsp("200 OK", &cseq, H264_SDP),
        _ => rtsp("404 Not Found", &cseq, ""),
    }
}

fn locked_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        _ => {
            "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n"
                .replace("CSeq: 1", &format!("CSeq: {cseq}"))
        }
    }
}

fn audio_camera(head: &str) -> String {
    let cseq = cseq(head);
    match head.split_whitespace().next() {
        Some("OPTIONS") => rtsp("200 OK", &cseq, ""),
        Some("DESCRIBE") if head.contains("/h264 ") => rtsp("200 OK", &cseq, AUDIO_SDP),
        _ => rtsp("404 Not Found", &cseq, ""),
    }
}

fn mjpeg_camera(head: &str) -> String {
    if head.starts_with("GET /mjpg/video.mjpg ") {
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n--frame\r\n"
            .into()
    } else if head.starts_with("GET / ") {
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi".into()
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    }
}

fn web_server(head: &str) -> String {
    if head.starts_with("GET / ") {
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi".into()
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".into()
    }
}

fn cseq(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("CSeq: "))
        .unwrap_or("0")
        .trim()
        .to_string()
}

/// A server on `addr` answering each request with `answer`, then closing.
async fn camera(addr: SocketAddr, answer: Answer) -> Guard<()> {
    let listener = TcpListener::bind(addr).await.unwrap();
    Guard(tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    match socket.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let reply = answer(&String::from_utf8_lossy(&head));
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    }))
}

/// A free port on 127.0.0.2 (and, nearly always, on the other loopback addresses too).
async fn free_port() -> u16 {
    TcpListener::bind("127.0.0.2:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn at(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), port))
}

fn config(rtsp_port: u16, http_port: u16) -> ScanConfig {
    ScanConfig {
        targets: vec![
            "127.0.0.2/31".parse().unwrap(),
            "127.0.0.4/31".parse().unwrap(),
        ],
        rtsp_ports: vec![rtsp_port],
        http_ports: vec![http_port],
        rtsp_paths: ["/11", "/live.sdp", "/h264"].map(String::from).to_vec(),
        // Multicast would go out on lo only, but these tests need none.
        onvif: false,
        probe_timeout: Duration::from_secs(2),
        ..ScanConfig::default()
    }
}

fn service(found: &[FoundService], addr: SocketAddr) -> Option<(ServiceType, String)> {
    found
        .iter()
        .find(|s| s.addr == addr)
        .map(|s| (s.service_type, s.path.clone()))
}

#[tokio::test]
async fn a_scan_of_loopback_cameras_types_every_service_like_the_reference() {
    let (rtsp_port, http_port) = (free_port().await, free_port().await);
    let _cams = [
        camera(at(2, rtsp_port), h264_camera).await,
        camera(at(2, http_port), mjpeg_camera).await,
        camera(at(3, rtsp_port), locked_camera).await,
        camera(at(4, rtsp_port), audio_camera).await,
        camera(at(4, http_port), web_server).await,
    ];
    let seen = std::sync::Mutex::new(Vec::new());
    let result = discovery::scan(&config(rtsp_port, http_port), &|p| {
        seen.lock().unwrap().push(p)
    })
    .await
    .unwrap();

    let hosts: Vec<(Ipv4Addr, Vec<u16>)> = result
        .hosts
        .iter()
        .map(|h| (h.ip, h.ports.clone()))
        .collect();
    assert!(
        hosts.contains(&(Ipv4Addr::new(127, 0, 0, 2), vec![rtsp_port, http_port])),
        "{hosts:?}"
    );
    assert!(
        hosts.contains(&(Ipv4Addr::new(127, 0, 0, 3), vec![rtsp_port])),
        "{hosts:?}"
    );
    assert!(
        result.hosts.iter().all(|h| h.found_by.tcp),
        "refused connects count too"
    );
    let cases = [
        (
            at(2, rtsp_port),
            Some((ServiceType::Rtsp, "/live.sdp".to_string())),
        ),
        (
            at(2, http_port),
            Some((ServiceType::Mjpeg, "/mjpg/video.mjpg".to_string())),
        ),
        (
            at(3, rtsp_port),
            Some((ServiceType::LockedRtsp, String::new())),
        ),
        (
            at(4, rtsp_port),
            Some((ServiceType::UnsupportedRtsp, "/h264".to_string())),
        ),
        (at(4, http_port), Some((ServiceType::Http, String::new()))),
        (at(5, rtsp_port), None),
    ];
    for (addr, want) in cases {
        assert_eq!(service(&result.services, addr), want, "{addr}");
    }
    assert!(!result.cut_short);
    let seen = seen.lock().unwrap();
    assert!(
        seen.contains(&ScanProgress::Sweeping { done: 4, total: 4 }),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|p| matches!(p, ScanProgress::Probing { done, total } if done == total))
    );
    // The report for the service carries the same services with non-zero ids.
    let wire = result.wire(3);
    assert_eq!(wire.services.len(), result.services.len());
}

#[tokio::test]
async fn a_silent_network_ends_within_the_deadline_with_what_it_has() {
    // 127.0.0.0/24 minus ours: a sweep of 254 addresses on a port nothing listens on, with a
    // deadline shorter than the sweep can take at 20 connects a second.
    let port = free_port().await;
    let config = ScanConfig {
        targets: vec!["127.0.99.0/24".parse().unwrap()],
        rtsp_ports: vec![port],
        http_ports: vec![],
        rate: 20,
        deadline: Duration::from_millis(500),
        onvif: false,
        ..ScanConfig::default()
    };
    let result = discovery::scan(&config, &|_| {}).await.unwrap();
    assert!(result.cut_short);
    assert!(
        result.warnings.iter().any(|w| w.contains("deadline")),
        "{:?}",
        result.warnings
    );
    assert!(result.hosts.len() < 254, "cut short before the sweep ended");
}

#[tokio::test]
async fn a_network_over_the_limit_is_refused_before_any_packet() {
    let config = ScanConfig {
        targets: vec!["127.0.0.0/16".parse().unwrap()],
        onvif: false,
        ..ScanConfig::default()
    };
    let err = discovery::scan(&config, &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");
}
