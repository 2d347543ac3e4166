//! `protoctl arkeo send|run|measure|serve`: every exit code, against the simulator (run as
//! `protoctl arkeo serve`) and scripted peers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Reaped, bounded, protoctl, stderr, stdout_lines};

/// `protoctl arkeo serve` on an ephemeral port; killed and reaped on drop.
struct Served {
    child: Child,
    addr: String,
}

impl Served {
    fn start(multichannel: bool) -> Served {
        Served::start_with(multichannel, &[])
    }

    /// The simulator with more flags (`--speed 1000` for a quick instrument).
    fn start_with(multichannel: bool, extra: &[&str]) -> Served {
        let mut cmd = protoctl();
        cmd.args(["--json", "arkeo", "serve", "--bind", "127.0.0.1:0"]);
        if multichannel {
            cmd.arg("--multichannel");
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn protoctl arkeo serve");
        let stdout = child.stdout.take().unwrap();
        // The guard owns the child from here on: a failed assert still kills it.
        let mut served = Served {
            child,
            addr: String::new(),
        };
        // The first line is written as soon as the socket is bound; read it on a thread so
        // a serve that never prints fails the test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("serve prints its address in time");
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(event["event"], "listening");
        served.addr = event["addr"].as_str().unwrap().to_string();
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A peer that answers one request with `reply` (raw bytes, prefix included), then waits
/// for the client to close. Join it only after checking the client got that far: until a
/// client connects, it waits in accept.
fn scripted(reply: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut head = [0u8; 4];
        s.read_exact(&mut head).unwrap();
        let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
        s.read_exact(&mut payload).unwrap();
        let _ = s.write_all(&reply);
        // Until the client hangs up (or the read timeout ends the wait).
        let _ = s.read(&mut [0u8; 1]);
    });
    (addr, peer)
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

fn send(addr: &str, extra: &[&str]) -> std::process::Output {
    bounded(
        protoctl()
            .args(["--json", "arkeo", "send", "--addr", addr])
            .args(extra),
        None,
    )
}

#[test]
fn send_prints_the_reply_and_exits_0() {
    let sim = Served::start(false);
    let out = send(&sim.addr, &["--command", "GetAvailableRoutines"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 1, "one compact line with --json");
    assert_eq!(lines[0]["status"], "OK");
    assert_eq!(lines[0]["request_id"], 1);
    assert!(lines[0]["data"]["routines"].as_array().unwrap().len() > 5);
}

#[test]
fn send_params_request_id_and_human_output() {
    let sim = Served::start(false);
    let out = bounded(
        protoctl()
            .args(["arkeo", "send", "--addr", &sim.addr, "--target", "MAIN"])
            .args(["--command", "StartRoutine", "--param", "routine=Dark JV"])
            .args(["--request-id", "42"]),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\n  \"request_id\": 42"),
        "pretty JSON: {text}"
    );
    let out = send(&sim.addr, &["--command", "GetActiveRoutine"]);
    assert_eq!(stdout_lines(&out)[0]["data"]["routine"], "Dark JV");
}

#[test]
fn an_instruments_error_message_reaches_stderr_with_its_controls_escaped() {
    let (addr, peer) = scripted(frame(
        br#"{"status":"ERROR","error":{"code":4006,"message":"No\u001b[2J active\nprotoctl: error: forged"},"request_id":1}"#,
    ));
    let out = send(&addr.to_string(), &["--command", "GetTestStatus"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert_eq!(
        err.lines().count(),
        1,
        "the peer's line break is escaped: {err:?}"
    );
    assert!(err.contains(r"No\u{1b}[2J active\nprotoctl"), "{err:?}");
    peer.join().unwrap();
}

#[test]
fn send_error_reply_exits_1_with_code_on_stderr() {
    let sim = Served::start(false);
    let out = send(
        &sim.addr,
        &["--target", "ROUTINE", "--command", "GetTestStatus"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("4006") && err.contains("No active routine"),
        "{err}"
    );
    assert_eq!(
        stdout_lines(&out)[0]["error"]["code"],
        4006,
        "the reply is still printed"
    );
}

#[test]
fn send_multichannel_with_indices_and_parameter() {
    let sim = Served::start(true);
    let out = send(
        &sim.addr,
        &[
            "--multichannel",
            "--command",
            "SetChannelSettings",
            "--indices",
            "0,2",
            "--parameter",
            r#"{"settings":{"Enable":true}}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = send(
        &sim.addr,
        &[
            "--multichannel",
            "--command",
            "GetChannelState",
            "--indices",
            "2",
        ],
    );
    assert_eq!(
        stdout_lines(&out)[0]["channels"][0]["state"],
        "ready to start"
    );
    let out = send(
        &sim.addr,
        &[
            "--multichannel",
            "--command",
            "SetDeviceEnvironment",
            "--indices",
            "0",
            "--param",
            "environment=mars",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("5002"), "{}", stderr(&out));
}

#[test]
fn send_takes_its_timeout_in_seconds_or_with_a_unit() {
    let sim = Served::start(false);
    for timeout in ["2", "2s", "1.5", "1500ms"] {
        let out = send(
            &sim.addr,
            &["--command", "GetActiveRoutine", "--timeout", timeout],
        );
        assert_eq!(out.status.code(), Some(0), "{timeout}: {}", stderr(&out));
    }
}

#[test]
fn send_usage_errors_exit_2() {
    let cases: [&[&str]; 5] = [
        &["--command", "X", "--parameter", "{not json"],
        &["--command", "X", "--param", "novalue"],
        &["--command", "X", "--timeout", "0"],
        &["--command", "X", "--timeout", "1e19"],
        &["--command", "X", "--timeout", "2days"],
    ];
    for args in cases {
        let out = send("127.0.0.1:9", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn send_to_a_closed_port_exits_3() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = send(&port.to_string(), &["--command", "GetActiveRoutine"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
}

#[test]
fn send_without_reply_times_out_with_3() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // Accepted by the kernel's backlog, never answered.
    let out = send(
        &addr,
        &["--command", "GetActiveRoutine", "--timeout", "0.3"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    drop(listener);
}

#[test]
fn send_closed_mid_reply_exits_3() {
    let mut cut = frame(br#"{"status":"OK","data":{},"request_id":1}"#);
    cut.truncate(10);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        let _ = s.read(&mut buf);
        s.write_all(&cut).unwrap();
    });
    let out = send(&addr.to_string(), &["--command", "GetActiveRoutine"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("middle of a reply"),
        "{}",
        stderr(&out)
    );
    // Joined only once the client is known to have connected (else accept never returns).
    peer.join().unwrap();
}

#[test]
fn protocol_violations_exit_4() {
    let cases: [(Vec<u8>, bool, &str); 7] = [
        (frame(b"\"OK\""), true, "older than API v0.5"),
        // The wrong port: a web server, a TLS server's alert, an SSH server. The bytes
        // "HTTP" would announce a frame of 1,213,486,160 bytes; the protocol is named.
        (
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec(),
            false,
            "the peer speaks HTTP, not this length-prefixed protocol: check the host and port",
        ),
        (
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32],
            false,
            "speaks TLS",
        ),
        (b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec(), true, "speaks SSH"),
        (frame(b"Not a valid command"), true, "not JSON"),
        (
            frame(br#"{"status":"OK","request_id":5}"#),
            false,
            "request_id 5",
        ),
        (vec![0xff, 0xff, 0xff, 0xff], false, "over the limit"),
    ];
    for (reply, multichannel, want) in cases {
        let (addr, peer) = scripted(reply);
        let mut args = vec!["--command", "GetActiveRoutine"];
        if multichannel {
            args.push("--multichannel");
        }
        let out = send(&addr.to_string(), &args);
        assert_eq!(out.status.code(), Some(4), "{want}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{want}: {}", stderr(&out));
        peer.join().unwrap();
    }
}

#[test]
fn send_accepts_nan_in_replies() {
    let (addr, peer) = scripted(frame(
        br#"{"status":"OK","data":{"FF":NaN,"Rsh":Infinity},"request_id":1}"#,
    ));
    let out = send(
        &addr.to_string(),
        &["--command", "GetTestData", "--target", "ROUTINE"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out)[0]["data"]["FF"], "NaN");
    assert_eq!(stdout_lines(&out)[0]["data"]["Rsh"], "Infinity");
    peer.join().unwrap();
}

const RUN_LINES: &str = concat!(
    r#"{"target":"MAIN","command":"GetAvailableRoutines"}"#,
    "\n",
    r#"{"target":"ROUTINE","command":"GetTestStatus"}"#,
    "\n\n",
    r#"{"target":"MAIN","command":"StartRoutine","params":{"routine":"JV"}}"#,
    "\n"
);

#[test]
fn run_stops_at_the_first_error_reply() {
    let sim = Served::start(false);
    let out = bounded(
        protoctl().args(["arkeo", "run", "--addr", &sim.addr, "-"]),
        Some(RUN_LINES.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 2, "one reply line per request sent");
    assert_eq!(lines[1]["error"]["code"], 4006);
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
}

#[test]
fn run_keep_going_sends_everything_and_exits_with_the_worst() {
    let sim = Served::start(false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.jsonl");
    std::fs::write(&file, RUN_LINES).unwrap();
    let out = bounded(
        protoctl()
            .args(["arkeo", "run", "--keep-going", "--addr", &sim.addr])
            .arg(&file),
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["status"], "OK");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["request_id"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

#[test]
fn run_all_good_exits_0_and_bad_input_exits_2() {
    let sim = Served::start(true);
    let good = "{\"command\":\"GetSensorsInfo\"}\n{\"command\":\"GetEnvironments\"}\n";
    let out = bounded(
        protoctl().args(["arkeo", "run", "--multichannel", "--addr", &sim.addr, "-"]),
        Some(good.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out).len(), 2);
    for bad in ["not json\n", "{\"target\":\"MAIN\"}\n"] {
        let out = bounded(
            protoctl().args(["arkeo", "run", "--addr", &sim.addr, "-"]),
            Some(bad.as_bytes()),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
    }
    // A bad line in the middle: skipped with --keep-going, the rest is sent, exit 2.
    let mixed = "{\"command\":\"GetSensorsInfo\"}\nnot json\n{\"command\":\"GetEnvironments\"}\n";
    let out = bounded(
        protoctl().args([
            "arkeo",
            "run",
            "--multichannel",
            "--keep-going",
            "--addr",
            &sim.addr,
            "-",
        ]),
        Some(mixed.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout_lines(&out).len(), 2);
}

#[test]
fn run_protocol_violation_exits_4() {
    let (addr, peer) = scripted(frame(b"42"));
    let out = bounded(
        protoctl().args([
            "arkeo",
            "run",
            "--keep-going",
            "--multichannel",
            "--addr",
            &addr.to_string(),
            "-",
        ]),
        Some(b"{\"command\":\"A\"}\n{\"command\":\"B\"}\n"),
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    peer.join().unwrap();
}

/// Runs `protoctl arkeo measure --addr ADDR ...` to its end.
fn measure(addr: &str, extra: &[&str]) -> std::process::Output {
    bounded(
        protoctl()
            .args(["arkeo", "measure", "--addr", addr])
            .args(extra),
        None,
    )
}

#[test]
fn measure_writes_the_routine_data() {
    let sim = Served::start(false);
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    let data = dir.path().join("jv.json");
    std::fs::write(
        &settings,
        r#"{"scan_settings": {"scan": {"Start (V)": 0.0, "End (V)": 1.2, "Step (V)": 0.05, "Rate (V/s)": 1.0}}}"#,
    )
    .unwrap();
    let out = measure(
        &sim.addr,
        &[
            "--json",
            "--routine",
            "JV",
            "--settings",
            settings.to_str().unwrap(),
            "--out",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains('\r'),
        "no progress bar when stderr is not a terminal"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    assert_eq!(written["routine"], "JV");
    let scan = &written["data"]["scans"][0];
    assert_eq!(scan["data"].as_array().unwrap().len(), 25);
    assert_eq!(scan["parameters"]["voc"]["unit"], "V");
    assert_eq!(stdout_lines(&out)[0]["out"], data.display().to_string());
}

#[test]
fn measure_unknown_routine_exits_1_and_bad_settings_exit_2() {
    let sim = Served::start(false);
    let out = measure(&sim.addr, &["--routine", "Nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("101"), "{}", stderr(&out));
    let out = measure(
        &sim.addr,
        &["--routine", "JV", "--settings", "/nonexistent/s.json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn ctrl_c_during_measure_stops_and_closes_the_routine() {
    let sim = Served::start(false);
    let mut child = protoctl()
        .args([
            "-v",
            "arkeo",
            "measure",
            "--addr",
            &sim.addr,
            "--routine",
            "JV",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut measure = Reaped(child);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The simulator measures for 2.5 s after this line: interrupt in the middle.
    let wait = Duration::from_secs(20);
    while !lines
        .recv_timeout(wait)
        .expect("measure logs its progress")
        .contains("measurement started")
    {}
    let pid = measure.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut log = Vec::new();
    loop {
        match lines.recv_timeout(wait) {
            Ok(line) => log.push(line),
            // stderr closed: measure has exited.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("measure did not exit after SIGINT: {log:?}")
            }
        }
    }
    let status = measure.0.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.contains("interrupted: the routine was stopped and closed")),
        "{log:?}"
    );
    // The instrument is free again.
    let out = send(&sim.addr, &["--command", "GetActiveRoutine"]);
    assert_eq!(stdout_lines(&out)[0]["data"]["routine"], "");
}

#[test]
fn serve_on_a_busy_port_exits_2() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = bounded(
        protoctl()
            .args(["arkeo", "serve", "--bind", &addr])
            .stdin(Stdio::null()),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn serve_closes_a_client_over_max_connections_and_serves_the_rest() {
    let sim = Served::start_with(true, &["--max-connections", "1"]);
    let mut first = std::net::TcpStream::connect(&sim.addr).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The first is being served (it got a reply), so the second is over the cap.
    first
        .write_all(&frame(br#"{"command":"GetChannelState","indices":[0]}"#))
        .unwrap();
    let mut head = [0u8; 4];
    first.read_exact(&mut head).unwrap();
    let mut second = std::net::TcpStream::connect(&sim.addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(
        second.read(&mut [0u8; 16]).unwrap_or(0),
        0,
        "closed at once"
    );
}

#[test]
fn serve_talks_to_raw_clients() {
    let sim = Served::start(false);
    let mut s = TcpStream::connect(&sim.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&frame(
        br#"{"target":"MAIN","command":"GetActiveRoutine","parameter":{},"request_id":9}"#,
    ))
    .unwrap();
    let mut head = [0u8; 4];
    s.read_exact(&mut head).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
    s.read_exact(&mut payload).unwrap();
    let reply: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(reply["request_id"], 9);
}

#[test]
fn demo_arkeo_part_runs_the_workflow() {
    let out = bounded(protoctl().args(["--json", "demo", "--only", "arkeo"]), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert!(lines.iter().all(|l| l["demo"] == "arkeo"));
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    for want in [
        "routines",
        "progress",
        "jv_data",
        "error_reply",
        "channel_state",
        "live_iv",
    ] {
        assert!(events.contains(&want), "{want} missing from {events:?}");
    }
}

/// The data lines of an SVG plot: polylines drawn 2 px wide (grid lines are 1 px), read
/// with an XML parser; and every text in it.
fn svg_series_and_texts(path: &std::path::Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("not SVG: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let series = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke-width") == Some("2"))
        .count();
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(|t| t.trim().to_string()))
        .collect();
    (series, texts)
}

#[test]
fn measure_plots_the_jv_curves_and_records_setinfo() {
    let sim = Served::start_with(false, &["--speed", "1000"]);
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("jv.svg");
    let out = bounded(
        protoctl()
            .args([
                "--json",
                "arkeo",
                "measure",
                "--addr",
                &sim.addr,
                "--routine",
                "JV",
            ])
            .args([
                "--poll",
                "20ms",
                "--info",
                "user_name=ada,device_name=cell-7,device_area=0.1",
            ])
            .arg("--plot")
            .arg(&plot),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let record = &stdout_lines(&out)[0];
    assert_eq!(
        record["data"]["user"], "ada",
        "SetInfo before the measurement"
    );
    assert_eq!(record["data"]["device"], "cell-7");
    let (series, texts) = svg_series_and_texts(&plot);
    assert_eq!(series, 2, "forward and reverse");
    for want in ["forward", "reverse", "Voltage (V)"] {
        assert!(
            texts.iter().any(|t| t.contains(want)),
            "{want} in {texts:?}"
        );
    }
    for figure in ["Voc ", "Jsc ", "FF ", "PCE "] {
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with(figure) && !t.ends_with(" -")),
            "{figure} with a value in {texts:?}"
        );
    }
}

#[test]
fn measure_past_its_own_timeout_exits_3_and_leaves_no_routine_open() {
    // Real time: the JV sweep takes seconds, the measurement timeout is far shorter.
    let sim = Served::start(false);
    let out = measure(
        &sim.addr,
        &[
            "--routine",
            "JV",
            "--poll",
            "20ms",
            "--measurement-timeout",
            "50ms",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    let active = send(&sim.addr, &["--command", "GetActiveRoutine"]);
    assert_eq!(active.status.code(), Some(0), "{}", stderr(&active));
    assert_eq!(
        stdout_lines(&active)[0]["data"]["routine"],
        "",
        "StopMeasurement and CloseRoutine were sent"
    );
}

fn track_settings(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("settings.json");
    std::fs::write(
        &path,
        r#"{"User": "ada", "Device": "cell-7", "Tracking": {"jvInterval": {"Value": 2, "Unit": "min"}}}"#,
    )
    .unwrap();
    path
}

#[test]
fn track_runs_for_its_duration_writes_jv_and_iv_and_stops_every_channel() {
    let sim = Served::start_with(true, &["--speed", "1000"]);
    let dir = tempfile::tempdir().unwrap();
    let settings = track_settings(dir.path());
    let (out_dir, plot) = (dir.path().join("run"), dir.path().join("power.svg"));
    let out = bounded(
        protoctl()
            .args([
                "--json",
                "arkeo",
                "track",
                "--addr",
                &sim.addr,
                "--channels",
                "0,1",
            ])
            .arg("--settings")
            .arg(&settings)
            .args([
                "--duration",
                "2s",
                "--iv-interval",
                "500ms",
                "--poll",
                "50ms",
            ])
            .args(["--format", "csv", "--out"])
            .arg(&out_dir)
            .arg("--plot")
            .arg(&plot),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert!(events.contains(&"settings_applied") && events.contains(&"measurement_started"));
    let tracking = lines
        .iter()
        .any(|l| l["event"] == "channel" && l["measurement"] == "tracking");
    assert!(tracking, "channels reach tracking: {events:?}");
    let stopped = lines
        .iter()
        .find(|l| l["event"] == "stopped")
        .expect("stopped");
    assert_eq!(stopped["channels"].as_array().unwrap().len(), 2);
    let done = lines.last().unwrap();
    assert_eq!(
        (done["event"].as_str(), done["reason"].as_str()),
        (Some("done"), Some("duration"))
    );
    let jv = std::fs::read_to_string(out_dir.join("jv.csv")).unwrap();
    assert!(jv.starts_with("elapsed_s,channel,"), "{jv:.200}");
    assert!(jv.lines().count() > 2, "JV rows written: {jv}");
    let iv = std::fs::read_to_string(out_dir.join("iv.csv")).unwrap();
    assert!(iv.lines().count() > 2, "IV rows written: {iv}");
    // JSON Lines always: one whole JV object per line, the first measured in this run.
    let jsonl = std::fs::read_to_string(out_dir.join("jv.jsonl")).unwrap();
    let objects: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!objects.is_empty());
    for object in &objects {
        let scans = object["jv"]["scans"].as_array().unwrap();
        assert_eq!(scans.len(), 2, "complete: forward and reverse");
        assert!(
            scans
                .iter()
                .all(|s| s["data"].as_array().unwrap().len() > 1)
        );
    }
    assert!(out_dir.join("iv.jsonl").exists());
    let (series, texts) = svg_series_and_texts(&plot);
    assert_eq!(series, 2, "a line per channel");
    assert!(texts.iter().any(|t| t == "channel 1"), "{texts:?}");
}

#[test]
fn a_signal_stops_every_tracked_channel_and_exits_0() {
    for signal in ["INT", "TERM"] {
        let sim = Served::start_with(true, &["--speed", "1000"]);
        let dir = tempfile::tempdir().unwrap();
        let settings = track_settings(dir.path());
        let mut child = Reaped(
            protoctl()
                .args([
                    "--json",
                    "arkeo",
                    "track",
                    "--addr",
                    &sim.addr,
                    "--channels",
                    "0,1,2",
                ])
                .arg("--settings")
                .arg(&settings)
                .args(["--poll", "50ms"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel::<Value>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        let wait = Duration::from_secs(20);
        // Tracking runs: a JV object came in.
        loop {
            let line = lines.recv_timeout(wait).expect("a jv line in time");
            if line["event"] == "jv" {
                break;
            }
        }
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let stopped = loop {
            let line = lines.recv_timeout(wait).expect("a stopped line in time");
            if line["event"] == "stopped" {
                break line;
            }
        };
        let states: Vec<&str> = stopped["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["new_state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["stopped", "stopped", "stopped"], "SIG{signal}");
        let code = child.0.wait().unwrap().code();
        assert_eq!(code, Some(0), "SIG{signal}");
    }
}
