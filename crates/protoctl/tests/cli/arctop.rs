//! `protoctl arctop listen | discover | serve | plot`: real processes, real sockets, every
//! exit code; LSL against a real pylsl inlet inside the private network namespace.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;

use crate::support::{
    Reaped, WAIT, assert_private_network_namespace, bounded, protoctl, python_with_pylsl, stderr,
    stdout_lines,
};

const KEY: &str = "cli-test-key";

/// `protoctl arctop serve` in the background; killed and reaped on drop.
struct Serve {
    child: Child,
    addr: SocketAddr,
    lines: mpsc::Receiver<Value>,
}

impl Serve {
    fn start(extra: &[&str]) -> Self {
        let mut child = protoctl()
            .args([
                "--json",
                "arctop",
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--api-key",
                KEY,
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn protoctl arctop serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx
                    .send(serde_json::from_str::<Value>(&line).unwrap())
                    .is_err()
                {
                    break;
                }
            }
        });
        let mut serve = Serve {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            lines,
        };
        let first = serve.next_line();
        assert_eq!(first["event"], "listening", "{first}");
        serve.addr = first["addr"].as_str().unwrap().parse().unwrap();
        serve
    }

    fn next_line(&self) -> Value {
        self.lines
            .recv_timeout(WAIT)
            .expect("a line from serve in time")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `protoctl [--json] arctop listen --addr ADDR ...`.
fn listen(addr: SocketAddr, json: bool, extra: &[&str]) -> Output {
    let mut cmd = protoctl();
    if json {
        cmd.arg("--json");
    }
    cmd.args(["arctop", "listen", "--addr", &addr.to_string()])
        .args(extra)
        .env_remove("ARCTOP_API_KEY");
    run_bounded(cmd)
}

/// The command exited with `code` and said `needle` on stderr.
#[track_caller]
fn assert_exit(output: &Output, code: i32, needle: &str) {
    let stderr = stderr(output);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.contains(needle),
        "expected {needle:?} on stderr: {stderr}"
    );
}

/// Runs a command to its end (stdin closed), killing it if it outlives the test bound.
fn run_bounded(mut cmd: Command) -> Output {
    bounded(&mut cmd, None)
}

fn frame(text: &str) -> Vec<u8> {
    let mut out = u16::try_from(text.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

const AUTH_SUCCESS: &str = r#"{"command":"auth-success"}"#;
const VALUE: &str =
    r#"{"command":"valueChange","timestamp":7,"key":"focus","value":50.5,"extra":"kept"}"#;
const END: &str = r#"{"command":"sessionComplete","timestamp":8}"#;

/// A one-connection server: reads the auth frame, writes `reply`, then closes (or, with
/// `hold`, waits for the client to close first).
fn scripted_peer(reply: Vec<u8>, hold: bool) -> (SocketAddr, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let task = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).unwrap();
        let mut auth = vec![0u8; usize::from(u16::from_be_bytes(head))];
        socket.read_exact(&mut auth).unwrap();
        socket.write_all(&reply).unwrap();
        if hold {
            let mut sink = [0u8; 16];
            while socket.read(&mut sink).is_ok_and(|n| n > 0) {}
        }
        auth
    });
    (addr, task)
}

#[test]
fn listen_idle_timeout_ends_a_silent_session_with_exit_3() {
    // auth-success, then nothing: the phone stays connected but silent.
    let (addr, peer) = scripted_peer(frame(AUTH_SUCCESS), true);
    let output = listen(addr, true, &["--api-key", KEY, "--idle-timeout", "300ms"]);
    assert_exit(&output, 3, "0.3");
    assert!(
        stderr(&output).contains("silent") || stderr(&output).contains("idle"),
        "{}",
        stderr(&output)
    );
    peer.join().unwrap();
}

#[test]
fn listen_to_the_wrong_kind_of_server_names_its_protocol_and_exits_4() {
    let cases: [(&[u8], &str); 3] = [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "speaks HTTP"),
        (&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28], "speaks TLS"),
        (b"SSH-2.0-OpenSSH_9.2p1\r\n", "speaks SSH"),
    ];
    for (reply, want) in cases {
        let (addr, peer) = scripted_peer(reply.to_vec(), false);
        // Also with --reconnect: a server of another protocol is not worth retrying.
        let output = listen(addr, true, &["--api-key", KEY, "--reconnect"]);
        assert_exit(&output, 4, want);
        assert!(
            stderr(&output).contains("check the host and port"),
            "{}",
            stderr(&output)
        );
        peer.join().unwrap();
    }
}

#[test]
fn listen_json_prints_every_message_as_received_and_exits_0() {
    let serve = Serve::start(&["--rate", "0", "--count", "40"]);
    let output = listen(serve.addr, true, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let values = lines
        .iter()
        .filter(|l| l["command"] == "valueChange")
        .count();
    assert_eq!(values, 40);
    assert_eq!(lines.last().unwrap()["command"], "sessionComplete");
    assert!(
        lines.iter().all(|l| l["command"] != "auth-success"),
        "only messages after auth"
    );
    let value = lines
        .iter()
        .find(|l| l["command"] == "valueChange")
        .unwrap();
    let fields: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        ["command", "timestamp", "key", "value"],
        "as received, in order"
    );
}

#[test]
fn listen_keeps_unknown_fields_and_skips_invalid_json() {
    let mut reply = frame(AUTH_SUCCESS);
    reply.extend(frame(VALUE));
    reply.extend(frame("{not json"));
    reply.extend(frame(r#"{"command":"brandNew","n":[1,2]}"#));
    reply.extend(frame(END));
    let (addr, peer) = scripted_peer(reply, false);
    let output = listen(addr, true, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], serde_json::from_str::<Value>(VALUE).unwrap());
    assert_eq!(lines[1]["n"], serde_json::json!([1, 2]));
    assert!(
        stderr(&output).contains("skipped a frame of 9 bytes"),
        "{}",
        stderr(&output)
    );
    let auth: Value = serde_json::from_slice(&peer.join().unwrap()).unwrap();
    assert_eq!(auth, serde_json::json!({"command": "auth", "apiKey": KEY}));
}

#[test]
fn listen_takes_the_key_from_the_environment_and_never_logs_it() {
    let serve = Serve::start(&["--rate", "0", "--count", "5"]);
    let mut cmd = protoctl();
    cmd.args([
        "-vvv",
        "arctop",
        "listen",
        "--addr",
        &serve.addr.to_string(),
    ])
    .env("ARCTOP_API_KEY", KEY);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).is_empty(), "trace logs were written");
    assert!(
        !stderr(&output).contains(KEY),
        "the key leaked into the logs"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(KEY));
}

#[test]
fn listen_text_and_csv_formats_with_a_keys_filter() {
    let serve = Serve::start(&["--rate", "0", "--count", "25"]);
    let output = listen(
        serve.addr,
        false,
        &[
            "--api-key",
            KEY,
            "--format",
            "csv",
            "--keys",
            "focus,heart_rate",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    let mut rows = text.lines();
    assert_eq!(rows.next(), Some("timestamp,key,value"));
    let rows: Vec<&str> = rows.collect();
    assert_eq!(
        rows.len(),
        10,
        "5 focus + 5 heart_rate of 25 values:\n{text}"
    );
    for row in rows {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), 3, "{row}");
        assert!(fields[0].parse::<i64>().is_ok(), "{row}");
        assert!(["focus", "heart_rate"].contains(&fields[1]), "{row}");
        assert!(fields[2].parse::<f64>().is_ok(), "{row}");
    }

    let output = listen(serve.addr, false, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.lines().next().unwrap().starts_with("connected to "),
        "{text}"
    );
    assert!(
        text.lines().last().unwrap().ends_with("session complete"),
        "{text}"
    );
    assert!(text.lines().any(|l| l.contains("zone_state")), "{text}");
}

#[test]
fn record_then_replay_gives_back_the_same_messages() {
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("session.jsonl");
    let serve = Serve::start(&["--rate", "0", "--count", "12"]);
    let recorded = listen(
        serve.addr,
        true,
        &[
            "--api-key",
            KEY,
            "--record",
            recording.to_str().unwrap(),
            "--keys",
            "focus",
        ],
    );
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));
    let file = std::fs::read_to_string(&recording).unwrap();
    assert_eq!(
        file.lines().filter(|l| l.contains("valueChange")).count(),
        12,
        "the record ignores --keys"
    );

    let replay = Serve::start(&["--replay", recording.to_str().unwrap()]);
    let replayed = listen(replay.addr, true, &["--api-key", KEY]);
    assert_eq!(replayed.status.code(), Some(0), "{}", stderr(&replayed));
    let want: Vec<Value> = file
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stdout_lines(&replayed), want);
}

#[test]
fn auth_failed_exits_1_with_a_clear_message() {
    let serve = Serve::start(&[]);
    let output = listen(serve.addr, false, &["--api-key", "wrong", "--reconnect"]);
    assert_exit(&output, 1, "authentication failed");
    assert!(
        !stderr(&output).contains("wrong"),
        "the key is never printed"
    );
}

#[test]
fn drop_before_session_complete_exits_3() {
    let mut reply = frame(AUTH_SUCCESS);
    reply.extend(frame(VALUE));
    reply.extend([0, 50, b'{']);
    let (addr, _peer) = scripted_peer(reply, false);
    let output = listen(addr, true, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output).len(),
        1,
        "the message before the drop is printed"
    );
    assert!(
        stderr(&output).contains("inside a frame (3 of 52 bytes"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn no_auth_reply_within_timeout_exits_3() {
    let (addr, _peer) = scripted_peer(Vec::new(), true);
    let output = listen(addr, false, &["--api-key", KEY, "--timeout", "0.3"]);
    assert_exit(&output, 3, "no auth reply within 0.3s");
}

#[test]
fn connection_refused_exits_3() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = listen(addr, false, &["--api-key", KEY]);
    assert_exit(&output, 3, "cannot connect");
}

#[test]
fn data_before_the_auth_reply_exits_4() {
    let (addr, _peer) = scripted_peer(frame(VALUE), true);
    let output = listen(addr, false, &["--api-key", KEY]);
    assert_exit(&output, 4, "before answering auth");
}

#[test]
fn serve_refuses_a_rate_it_cannot_keep_with_exit_2() {
    for rate in ["1e-300", "0.0001", "-1", "NaN", "inf", "2000000"] {
        let mut cmd = protoctl();
        cmd.args(["arctop", "serve", "--bind", "127.0.0.1:0", "--api-key", KEY])
            .arg(format!("--rate={rate}"));
        let output = run_bounded(cmd);
        assert_exit(&output, 2, "is not a rate");
    }
}

#[test]
fn usage_errors_exit_2() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let cases: [(&[&str], bool); 4] = [
        (&[], false),                                               // no key at all
        (&["--api-key", KEY, "--format", "csv"], true),             // --json and csv
        (&["--api-key", KEY, "--timeout", "0"], false),             // no such timeout
        (&["--api-key", KEY, "--record", "/nonexistent/x"], false), // unwritable record
    ];
    for (extra, json) in cases {
        let output = listen(addr, json, extra);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{extra:?}: {}",
            stderr(&output)
        );
    }
    // The Stream Server has no default port: an address without one is a usage error.
    let mut cmd = protoctl();
    cmd.args(["arctop", "listen", "--api-key", KEY, "--addr", "127.0.0.1"]);
    let output = run_bounded(cmd);
    assert_exit(&output, 2, "no default port");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"command\":\"qa\"}\nnot json\n").unwrap();
    let mut cmd = protoctl();
    cmd.args([
        "arctop",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--api-key",
        KEY,
        "--replay",
    ])
    .arg(&bad);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("line 2"), "{}", stderr(&output));
}

#[test]
fn serve_reports_sessions_as_json_lines() {
    let serve = Serve::start(&["--rate", "0", "--count", "3"]);
    let output = listen(serve.addr, true, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(0));
    let events: Vec<String> = (0..3)
        .map(|_| serve.next_line()["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(events, ["connected", "auth_accepted", "session_complete"]);
}

// ---- mDNS: only inside the private network namespace `cargo xtask ci` makes.

/// The namespace's loopback is shared by the tests of this binary: one multicast test (mDNS,
/// LSL) at a time.
static MDNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_discover_lists_the_advertising_simulator_and_listen_finds_it() {
    let _alone = MDNS.lock().unwrap_or_else(|p| p.into_inner());
    assert_private_network_namespace();
    let serve = Serve::start(&["--advertise", "--rate", "0", "--count", "5"]);
    let advertised = serve.next_line();
    assert_eq!(advertised["event"], "advertised", "{advertised}");

    let mut cmd = protoctl();
    cmd.args(["--json", "arctop", "discover", "--timeout", "3"]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let servers = stdout_lines(&output);
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0]["name"], "ArctopService");
    assert_eq!(servers[0]["port"], serve.addr.port());
    assert_eq!(servers[0]["addresses"], serde_json::json!(["127.0.0.1"]));

    let mut cmd = protoctl();
    cmd.args([
        "--json",
        "arctop",
        "listen",
        "--api-key",
        KEY,
        "--discover-timeout",
        "10",
    ]);
    cmd.args(["--expect-name", "ArctopService"]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output).last().unwrap()["command"],
        "sessionComplete"
    );
    // The server mDNS gave is named before the key goes to it.
    assert!(
        stderr(&output).contains("chose the Arctop server \"ArctopService\" (")
            && stderr(&output).contains(&format!(
                "{}) found by mDNS; sending the API key",
                serve.addr
            )),
        "{}",
        stderr(&output)
    );

    // Another name: this server is skipped, no key is sent to it, exit 3 naming it.
    let mut cmd = protoctl();
    cmd.args([
        "arctop",
        "listen",
        "--api-key",
        KEY,
        "--discover-timeout",
        "2",
    ])
    .args(["--expect-name", "Lab phone"]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains(r#"no Arctop server named "Lab phone""#) && err.contains("ArctopService"),
        "{err}"
    );
    assert!(!err.contains("sending the API key"), "{err}");
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_nothing_discovered_exits_3() {
    let _alone = MDNS.lock().unwrap_or_else(|p| p.into_inner());
    assert_private_network_namespace();
    let mut cmd = protoctl();
    cmd.args(["arctop", "discover", "--timeout", "0.5"]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let mut cmd = protoctl();
    cmd.args([
        "arctop",
        "listen",
        "--api-key",
        KEY,
        "--discover-timeout",
        "0.5",
    ]);
    let output = run_bounded(cmd);
    assert_exit(&output, 3, "no Arctop server found");
}

#[test]
fn demo_arctop_part_shows_a_refusal_then_a_whole_session() {
    let mut cmd = protoctl();
    cmd.args(["--json", "demo", "--only", "arctop"]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(
        events[..3],
        ["peer_listening", "auth_refused", "authenticated"],
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&"done"));
    let values = lines
        .iter()
        .filter(|l| l["event"] == "message" && l["message"]["command"] == "valueChange")
        .count();
    assert_eq!(values, 10);
    assert!(lines.iter().all(|l| l["demo"] == "arctop"));
}

#[test]
fn reconnect_after_a_drop_then_exit_0_at_session_complete() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = std::thread::spawn(move || {
        let replies = [
            [frame(AUTH_SUCCESS), frame(VALUE)].concat(),
            [frame(AUTH_SUCCESS), frame(VALUE), frame(END)].concat(),
        ];
        for reply in replies {
            let (mut socket, _) = listener.accept().unwrap();
            socket.set_read_timeout(Some(WAIT)).unwrap();
            let mut head = [0u8; 2];
            socket.read_exact(&mut head).unwrap();
            let mut auth = vec![0u8; usize::from(u16::from_be_bytes(head))];
            socket.read_exact(&mut auth).unwrap();
            socket.write_all(&reply).unwrap();
        }
    });
    let output = listen(addr, true, &["--api-key", KEY, "--reconnect"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout_lines(&output).len(),
        3,
        "two values, then sessionComplete"
    );
    assert!(
        stderr(&output).contains("reconnecting in"),
        "{}",
        stderr(&output)
    );
    peer.join().unwrap();

    // Without --reconnect the same drop is exit 3.
    let (addr, _peer) = scripted_peer([frame(AUTH_SUCCESS), frame(VALUE)].concat(), false);
    let output = listen(addr, true, &["--api-key", KEY]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
}

#[test]
fn a_stop_signal_during_listen_flushes_the_record_and_exits_0() {
    use std::os::unix::fs::PermissionsExt;
    let serve = Serve::start(&["--rate", "50"]);
    for signal in ["-INT", "-TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("partial.jsonl");
        // A recording may hold personal data: 0600 whatever the umask, also when the file
        // was there before with a looser mode.
        std::fs::write(&recording, "old").unwrap();
        std::fs::set_permissions(&recording, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut child = protoctl()
            .args([
                "--json",
                "arctop",
                "listen",
                "--addr",
                &serve.addr.to_string(),
            ])
            .args(["--api-key", KEY])
            .arg("--record")
            .arg(&recording)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for a few messages on stdout, then send the signal.
        let stdout = child.stdout.take().unwrap();
        let mut child = Reaped(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        for _ in 0..5 {
            rx.recv_timeout(WAIT).expect("messages on stdout");
        }
        let sent = Command::new("kill")
            .args([signal, &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // stdout closes when listen exits.
        loop {
            match rx.recv_timeout(WAIT) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("listen did not stop on {signal}"),
            }
        }
        let status = child.0.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{signal}");
        let mode = std::fs::metadata(&recording).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{signal}: the recording's mode is {mode:o}");
        let recorded = std::fs::read_to_string(&recording).unwrap();
        assert!(recorded.lines().count() >= 5, "{signal}: {recorded}");
        for line in recorded.lines() {
            serde_json::from_str::<Value>(line).expect("whole JSON lines only, the tail flushed");
        }
    }
}

#[test]
fn serve_closes_a_client_over_max_connections_and_serves_the_rest() {
    let serve = Serve::start(&["--rate", "1", "--max-connections", "1"]);
    let first = std::net::TcpStream::connect(serve.addr).unwrap();
    assert_eq!(serve.next_line()["event"], "connected");
    let mut second = std::net::TcpStream::connect(serve.addr).unwrap();
    let refused = serve.next_line();
    assert_eq!(refused["event"], "over_capacity", "{refused}");
    assert_eq!(refused["max"], 1);
    second.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(
        second.read(&mut [0u8; 16]).unwrap_or(0),
        0,
        "closed, unread"
    );
    drop(first);
}

#[test]
fn serve_stops_in_order_on_sigterm_and_sigint() {
    for signal in ["-TERM", "-INT"] {
        let mut serve = Serve::start(&["--rate", "50"]);
        let mut client = std::net::TcpStream::connect(serve.addr).unwrap();
        let auth = format!(r#"{{"command":"auth","apiKey":"{KEY}"}}"#);
        client.write_all(&frame(&auth)).unwrap();
        assert_eq!(serve.next_line()["event"], "connected");
        assert_eq!(serve.next_line()["event"], "auth_accepted");
        let sent = Command::new("kill")
            .args([signal, &serve.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // The open session ends with sessionComplete, then serve says it stopped.
        client.set_read_timeout(Some(WAIT)).unwrap();
        let mut received = Vec::new();
        let _ = client.read_to_end(&mut received);
        assert!(
            String::from_utf8_lossy(&received).contains("sessionComplete"),
            "{signal}: the client got no sessionComplete"
        );
        let stopped = (0..10)
            .map(|_| serve.next_line())
            .find(|line| line["event"] == "stopped")
            .expect("a stopped line");
        assert_eq!(
            stopped["signal"],
            if signal == "-TERM" {
                "SIGTERM"
            } else {
                "SIGINT"
            }
        );
        assert_eq!(serve.child.wait().unwrap().code(), Some(0), "{signal}");
    }
}

// ---- plot

/// Records a simulator session of `count` values with `listen --record`.
fn record_session(dir: &std::path::Path, count: &str) -> std::path::PathBuf {
    let recording = dir.join("session.jsonl");
    let serve = Serve::start(&["--rate", "0", "--count", count]);
    let output = listen(
        serve.addr,
        true,
        &["--api-key", KEY, "--record", recording.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    recording
}

fn plot(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = protoctl();
    cmd.args(["arctop", "plot"]).args(args);
    run_bounded(cmd)
}

/// Every `<text>` of an SVG document, trimmed.
fn svg_texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect()
}

#[test]
fn plot_draws_a_recorded_session_with_every_key_and_the_events() {
    let dir = tempfile::tempdir().unwrap();
    // 320 values: the opening connection and QA, QA verdicts every 40, a drop at 300.
    let recording = record_session(dir.path(), "320");
    // At full speed the session lasts a millisecond: space the messages 50 ms apart, so
    // the marks' labels have room.
    let spaced: Vec<String> = std::fs::read_to_string(&recording)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut message: Value = serde_json::from_str(line).unwrap();
            message["timestamp"] = (1_700_000_000_000_i64 + 50 * i as i64).into();
            message.to_string()
        })
        .collect();
    std::fs::write(&recording, spaced.join("\n")).unwrap();
    let messages: Vec<Value> = spaced
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let svg_path = dir.path().join("session.svg");
    let mut cmd = protoctl();
    cmd.args(["--json", "arctop", "plot"])
        .arg(&recording)
        .arg("-o")
        .arg(&svg_path);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = &stdout_lines(&output)[0];
    assert_eq!(summary["event"], "plotted");
    let keys = [
        "focus",
        "enjoyment",
        "zone_state",
        "heart_rate",
        "avg_motion",
    ];
    assert_eq!(summary["keys"], serde_json::json!(keys));
    assert_eq!(summary["values"], 320);
    assert_eq!(summary["complete"], true);

    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the plot is well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = svg_texts(&doc);
    let has = |prefix: &str| texts.iter().any(|t| t.starts_with(prefix));
    for caption in [
        "focus (score 0-100, 50 neutral)",
        "enjoyment (score 0-100, 50 neutral)",
        "zone_state (score 0-100, 50 neutral)",
        "heart_rate (bpm)",
        "avg_motion (level 1-4)",
        "CONNECTING",
        "CONNECTED",
        "DISCONNECTED",
        "start 2023-11-14 22:13:20.000 UTC",
        "end ",
    ] {
        assert!(has(caption), "{caption:?} not in {texts:?}");
    }
    // Each event is a line through each of the 5 panels, coloured by what it means.
    let lines_in = |stroke: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some(stroke))
            .count()
    };
    let count = |what: &dyn Fn(&Value) -> bool| messages.iter().filter(|m| what(m)).count();
    let connected = count(&|m| m["command"] == "connection" && m["current"].as_i64() < Some(3));
    let trouble = count(&|m| {
        (m["command"] == "connection" && m["current"].as_i64() >= Some(3))
            || (m["command"] == "qa" && m["passed"] == false)
    });
    assert_eq!(connected, 3, "connecting, connected, connected again");
    assert_eq!(lines_in("#2CA02C"), 5 * connected);
    assert_eq!(lines_in("#D62728"), 5 * trouble);
    assert_eq!(lines_in("#7F7F7F"), 5, "the end");
    // One line per panel at least, in the first series colour; each point a value.
    let points: usize = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#1F77B4"))
        .map(|n| n.attribute("points").unwrap().split_whitespace().count())
        .sum();
    let low_confidence = std::fs::read_to_string(&recording)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"value\":-1"))
        .count();
    assert_eq!(
        points + low_confidence,
        320,
        "every confident value is a point"
    );
}

#[test]
fn plot_keys_picks_panels_and_names_a_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    let recording = record_session(dir.path(), "20");
    let svg_path = dir.path().join("two.svg");
    let output = plot(&[
        recording.as_os_str(),
        "-o".as_ref(),
        svg_path.as_os_str(),
        "--keys".as_ref(),
        "heart_rate,focus".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("2 panels (heart_rate, focus)"), "{text}");
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts = svg_texts(&doc);
    assert!(texts.iter().any(|t| t == "heart_rate (bpm)"), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.starts_with("enjoyment")),
        "{texts:?}"
    );

    let output = plot(&[
        recording.as_os_str(),
        "-o".as_ref(),
        svg_path.as_os_str(),
        "--keys".as_ref(),
        "focus,calm".as_ref(),
    ]);
    assert_exit(
        &output,
        2,
        "has no values for calm (it has: focus, enjoyment",
    );
}

#[test]
fn plot_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.svg");
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, "{\"command\":\"qa\",\"passed\":true}\n{oops\n").unwrap();
    let no_values = dir.path().join("quiet.jsonl");
    std::fs::write(&no_values, "{\"command\":\"qa\",\"passed\":true}\n").unwrap();
    let missing = dir.path().join("missing.jsonl");
    let cases = [
        (broken.as_path(), "line 2: not JSON"),
        (no_values.as_path(), "no values to plot"),
        (missing.as_path(), "cannot read"),
    ];
    for (input, needle) in cases {
        let output = plot(&[input.as_os_str(), "-o".as_ref(), out.as_os_str()]);
        assert_exit(&output, 2, needle);
    }
    assert!(!out.exists(), "nothing written on an error");
}

// ---- the live view

#[test]
fn listen_tui_without_a_terminal_prints_text_with_a_warning() {
    let serve = Serve::start(&["--rate", "0", "--count", "5"]);
    let output = listen(serve.addr, false, &["--api-key", KEY, "--format", "tui"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--format tui needs a terminal on stdout; printing text"),
        "{}",
        stderr(&output)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("connected to "), "{text}");
    assert!(text.trim_end().ends_with("session complete"), "{text}");
    // With --json the view is a usage error, like any other --format.
    let output = listen(serve.addr, true, &["--api-key", KEY, "--format", "tui"]);
    assert_exit(&output, 2, "--json conflicts with --format tui");
}

// ---- Lab Streaming Layer: only inside the private network namespace.

/// A real inlet nobody here wrote (pylsl, with the liblsl its wheel ships) resolves the
/// outlets of `listen --lsl` by name and receives the simulator's values, with timestamps
/// in order, and QA markers; the metadata is what LSL users look for.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_lsl_pylsl_receives_the_simulator_values_in_order() {
    let _alone = MDNS.lock().unwrap_or_else(|p| p.into_inner());
    assert_private_network_namespace();
    let mut python = python_with_pylsl();
    let serve = Serve::start(&["--rate", "50"]);
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("lsl.jsonl");
    let log = std::fs::File::create(dir.path().join("listen.log")).unwrap();
    let listen = protoctl()
        .args(["-v", "arctop", "listen", "--addr", &serve.addr.to_string()])
        .args(["--api-key", KEY, "--lsl", "--format", "csv", "--record"])
        .arg(&recording)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn protoctl arctop listen --lsl");
    let mut listen = Reaped(listen);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/lsl_inlet.py");
    let inlet = bounded(python.arg(script).args(["20", "2"]), None);
    let listen_log = || std::fs::read_to_string(dir.path().join("listen.log")).unwrap();
    assert!(
        inlet.status.success(),
        "pylsl inlet failed: {}\nlisten's log:\n{}",
        stderr(&inlet),
        listen_log()
    );
    let report: Value = serde_json::from_slice(&inlet.stdout).unwrap();

    let stopped = Command::new("kill")
        .args(["-INT", &listen.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = listen.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", listen_log());

    // Every stream is on the network under a name starting with Arctop.
    let streams: Vec<&str> = report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for name in [
        "Arctop-Markers",
        "Arctop-avg_motion",
        "Arctop-enjoyment",
        "Arctop-focus",
        "Arctop-heart_rate",
        "Arctop-zone_state",
    ] {
        assert!(streams.contains(&name), "{name} not in {streams:?}");
    }
    // The metadata LSL users look for (pylsl: cf_float32 = 1, cf_string = 3).
    let focus = &report["focus"];
    assert_eq!(focus["type"], "Arctop");
    assert_eq!(focus["channel_format"], 1);
    assert_eq!(focus["nominal_srate"], 0.0, "irregular rate");
    assert_eq!(focus["source_id"], format!("{}/focus", serve.addr));
    assert_eq!(
        focus["channels"],
        serde_json::json!([{"label": "focus", "unit": "score", "type": "focus"}])
    );
    let markers = &report["markers"];
    assert_eq!(markers["type"], "Markers");
    assert_eq!(markers["channel_format"], 3);
    assert_eq!(markers["source_id"], format!("{}/markers", serve.addr));

    // The values are the simulator's, in order, with increasing timestamps.
    let samples = focus["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 20);
    let received: Vec<f32> = samples
        .iter()
        .map(|s| s[0].as_f64().unwrap() as f32)
        .collect();
    let stamps: Vec<f64> = samples.iter().map(|s| s[1].as_f64().unwrap()).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] < w[1]),
        "timestamps in order: {stamps:?}"
    );
    let recorded: Vec<f32> = std::fs::read_to_string(&recording)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|m| m["command"] == "valueChange" && m["key"] == "focus")
        .map(|m| m["value"].as_f64().unwrap() as f32)
        .collect();
    assert!(
        recorded.windows(received.len()).any(|w| w == received),
        "pylsl received {received:?}, not a run of the recorded focus values {recorded:?}"
    );
    // QA verdicts came as markers, in order.
    let marks = markers["samples"].as_array().unwrap();
    assert_eq!(marks.len(), 2);
    for mark in marks {
        let text = mark[0].as_str().unwrap();
        assert!(
            text.starts_with("qa:") || text.starts_with("connection:"),
            "{text}"
        );
    }
    assert!(marks[0][1].as_f64() <= marks[1][1].as_f64());
    let log = listen_log();
    assert!(log.contains("LSL: publishing Arctop-focus"), "{log}");
}
