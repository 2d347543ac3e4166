//! `protoctl arrow camera`, as a real process on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::arrow_client::Running;
use crate::support::{WAIT, assert_private_network_namespace, bounded, protoctl, stderr};

/// Sends `request` on a fresh connection and reads until the camera closes it or the
/// status line is in; the first line of the answer.
fn status_line(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n") {
        assert_eq!(
            stream.read(&mut byte).unwrap(),
            1,
            "closed before a status line"
        );
        answer.push(byte[0]);
    }
    String::from_utf8_lossy(&answer).trim_end().to_string()
}

#[test]
fn arrow_camera_answers_as_its_kind_and_stops_on_a_signal_with_0() {
    let cases = [
        (
            "rtsp-h264",
            "DESCRIBE",
            "/live.sdp",
            "RTSP/1.0 200 OK",
            "TERM",
            "SIGTERM",
        ),
        (
            "rtsp-locked",
            "DESCRIBE",
            "/live.sdp",
            "RTSP/1.0 401 Unauthorized",
            "INT",
            "SIGINT",
        ),
        (
            "mjpeg-locked",
            "GET",
            "/mjpg/video.mjpg",
            "HTTP/1.1 401 Unauthorized",
            "TERM",
            "SIGTERM",
        ),
        ("http", "GET", "/", "HTTP/1.1 200 OK", "TERM", "SIGTERM"),
    ];
    for (kind, method, path, want, signal, name) in cases {
        let camera = Running::start(&["arrow", "camera", "--bind", "127.0.0.1:0", "--kind", kind]);
        let listening = camera.wait_event("listening");
        assert_eq!(listening["kind"], kind);
        assert_eq!(listening["onvif"], false);
        let addr = listening["addr"].as_str().unwrap().to_string();
        let scheme = if kind.starts_with("rtsp") {
            "rtsp"
        } else {
            "http"
        };
        assert_eq!(listening["url"], format!("{scheme}://{addr}{path}"));
        let request = if scheme == "rtsp" {
            format!("{method} rtsp://{addr}{path} RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        } else {
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        };
        assert_eq!(status_line(&addr, &request), want, "{kind}");
        let line = camera.wait_event("request");
        assert_eq!(line["method"], method);
        assert_eq!(line["path"], path);
        assert_eq!(line["client"], 1);
        camera.signal(signal);
        let stopped = camera.wait_event("stopped");
        assert_eq!(stopped["signal"], name);
        assert_eq!(camera.wait_exit(), Some(0), "{kind} on {name}");
    }
}

#[test]
fn arrow_camera_streaming_client_is_closed_in_order_on_sigterm() {
    let camera = Running::start(&[
        "arrow",
        "camera",
        "--bind",
        "127.0.0.1:0",
        "--kind",
        "mjpeg",
        "--path",
        "/video.cgi",
    ]);
    let addr = camera.wait_event("listening")["addr"]
        .as_str()
        .unwrap()
        .to_string();
    let mut viewer = TcpStream::connect(&addr).unwrap();
    viewer.set_read_timeout(Some(WAIT)).unwrap();
    viewer
        .write_all(format!("GET /video.cgi HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .unwrap();
    let streaming = camera.wait_event("streaming");
    assert_eq!(streaming["media"], "mjpeg");
    assert_eq!(streaming["path"], "/video.cgi");
    camera.signal("TERM");
    let closed = camera.wait_event("client_closed");
    assert_eq!(closed["reason"], "stopped");
    camera.wait_event("stopped");
    assert_eq!(camera.wait_exit(), Some(0));
    // The viewer got a stream, then the end of it.
    let mut seen = Vec::new();
    viewer.read_to_end(&mut seen).unwrap();
    assert!(seen.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn arrow_camera_on_a_busy_port_exits_2() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = bounded(
        protoctl().args(["arrow", "camera", "--bind", &addr, "--kind", "http"]),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot listen on"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn arrow_camera_bad_flags_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["--bind", "127.0.0.1:0", "--kind", "rtsp"],
            "unknown camera kind",
        ),
        (&["--kind", "http"], "--bind"),
        (&["--bind", "127.0.0.1:0"], "--kind"),
        (
            &[
                "--bind",
                "127.0.0.1:0",
                "--kind",
                "http",
                "--path",
                "index.html",
            ],
            "must start with /",
        ),
        // Refused before any socket is made: no group is joined.
        (
            &["--bind", "0.0.0.0:0", "--kind", "rtsp-h264", "--onvif"],
            "one IPv4 address",
        ),
    ];
    for (args, message) in cases {
        let out = bounded(protoctl().args(["arrow", "camera"]).args(args), None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_arrow_camera_onvif_answers_a_probe_with_its_device_service() {
    assert_private_network_namespace();
    use std::net::{Ipv4Addr, UdpSocket};
    let camera = Running::start(&[
        "arrow",
        "camera",
        "--bind",
        "127.0.0.1:0",
        "--kind",
        "mjpeg",
        "--onvif",
    ]);
    let listening = camera.wait_event("listening");
    assert_eq!(listening["onvif"], true);
    let addr = listening["addr"].as_str().unwrap().to_string();
    let prober = UdpSocket::bind("127.0.0.1:0").unwrap();
    prober.set_multicast_loop_v4(true).unwrap();
    prober.set_read_timeout(Some(WAIT)).unwrap();
    let probe = "<?xml version=\"1.0\"?>\
        <s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
        xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
        xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
        xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">\
        <s:Header><a:MessageID>urn:uuid:cli-probe</a:MessageID></s:Header>\
        <s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>\
        </s:Envelope>";
    prober
        .send_to(probe.as_bytes(), (Ipv4Addr::new(239, 255, 255, 250), 3702))
        .unwrap();
    let mut answer = [0u8; 16 * 1024];
    let (len, _) = prober
        .recv_from(&mut answer)
        .expect("a ProbeMatches in time");
    let xml = String::from_utf8_lossy(&answer[..len]).into_owned();
    assert!(
        xml.contains("<a:RelatesTo>urn:uuid:cli-probe</a:RelatesTo>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<d:XAddrs>http://{addr}/onvif/device_service</d:XAddrs>"
        )),
        "{xml}"
    );
    let line = camera.wait_event("onvif_probe");
    assert_eq!(line["message_id"], "urn:uuid:cli-probe");
    assert_eq!(line["answered"], true);
    camera.signal("TERM");
    camera.wait_event("stopped");
    assert_eq!(camera.wait_exit(), Some(0));
}
