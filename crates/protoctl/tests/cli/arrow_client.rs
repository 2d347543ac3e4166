//! `protoctl arrow run|serve|identity` and the Arrow demo part, as real processes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::{protoctl, stderr, stdout_lines};

const WAIT: Duration = Duration::from_secs(20);

/// A running protoctl process whose stdout lines arrive on a channel; killed and reaped
/// when dropped.
pub(crate) struct Running {
    child: Child,
    lines: mpsc::Receiver<Value>,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn start(args: &[&str]) -> Self {
        Running::spawn(protoctl().args(args))
    }

    /// Runs `cmd` (stdout: JSON lines on a channel; stderr: collected for [`Self::logs`]).
    pub(crate) fn spawn(cmd: &mut std::process::Command) -> Self {
        Running::spawn_with_stdin(cmd, Stdio::null())
    }

    /// [`Self::spawn`] with stdin a pipe: the process and the pipe's write end (`arrow
    /// serve` reads its requests there).
    pub(crate) fn spawn_fed(cmd: &mut std::process::Command) -> (Self, std::process::ChildStdin) {
        let mut running = Running::spawn_with_stdin(cmd, Stdio::piped());
        let stdin = running.child.stdin.take().unwrap();
        (running, stdin)
    }

    fn spawn_with_stdin(cmd: &mut std::process::Command, stdin: Stdio) -> Self {
        let mut child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn protoctl");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut logs = sink.lock().unwrap_or_else(|e| e.into_inner());
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            logs,
            stderr_reader: Some(stderr_reader),
        }
    }

    /// The next line, whatever its event; `None` when none comes within `wait`.
    pub(crate) fn next_line(&self, wait: Duration) -> Option<Value> {
        self.lines.recv_timeout(wait).ok()
    }

    /// The next line whose `event` is `event`.
    pub(crate) fn wait_event(&self, event: &str) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {event:?} line in time"));
            if line["event"] == event {
                return line;
            }
        }
    }

    /// SIGINT, then the exit code.
    fn interrupt(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("protoctl did not stop on SIGINT within 10 s");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An echo server on a plain thread for one connection; its `HOST:PORT`.
fn echo_once() -> String {
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = echo.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((mut socket, _)) = echo.accept() {
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.read(&mut buf) {
                if n == 0 || socket.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

#[test]
fn arrow_identity_is_created_once_and_never_shows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let first = protoctl()
        .args(["--json", "arrow", "identity", "--state-dir", state])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let first = stdout_lines(&first);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["created"], true);
    let second = protoctl()
        .args(["--json", "arrow", "identity", "--state-dir", state])
        .output()
        .unwrap();
    let second = stdout_lines(&second);
    assert_eq!(second[0]["created"], false);
    assert_eq!(first[0]["uuid"], second[0]["uuid"]);
    assert!(second[0]["mac"].as_str().unwrap().len() == 17);

    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("state/identity.json")).unwrap(),
    )
    .unwrap();
    let key = file["key"].as_str().unwrap();
    let human = protoctl()
        .args(["arrow", "identity", "--state-dir", state])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&human.stdout).contains(key));
    assert!(!second[0].to_string().contains(key));
}

#[test]
fn arrow_identity_in_an_unusable_directory_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = protoctl()
        .args(["arrow", "identity", "--state-dir", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn arrow_run_bad_configuration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let ca = ca.to_str().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let base = [
        "arrow",
        "run",
        "--server",
        "localhost:1",
        "--state-dir",
        state,
    ];
    let cases: Vec<Vec<&str>> = vec![
        vec!["--ca", ca],
        vec!["--ca", "/nonexistent/ca.pem"],
        vec!["--ca", ca, "--window", "0"],
        vec!["--ca", ca, "--window", "65537"],
        vec!["--ca", ca, "--max-sessions", "0"],
        vec!["--ca", ca, "--max-sessions", "16385"],
        vec!["--ca", ca, "--mac", "nope"],
        vec!["--ca", ca, "--tcp", "no-port"],
        vec!["--ca", ca, "--rtsp", "http://wrong-scheme/x"],
        vec![],
    ];
    for extra in cases {
        let out = protoctl().args(base).args(&extra).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
}

/// A reused key file that group or others can read is refused (exit 2), naming the file,
/// its mode and the fix; never put back into service.
#[cfg(unix)]
#[test]
fn arrow_serve_refuses_a_self_signed_key_readable_by_others_exits_2() {
    use std::os::unix::fs::PermissionsExt;
    for file in ["server.key", "ca.key"] {
        let dir = tempfile::tempdir().unwrap();
        drop(dev_service(dir.path(), &[]));
        let certs = dir.path().join("certs");
        let key = certs.join(file);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = crate::support::bounded(
            protoctl()
                .args(["arrow", "serve", "--bind", "127.0.0.1:0", "--self-signed"])
                .arg(&certs),
            None,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        for want in [
            key.display().to_string(),
            "mode 0644".to_string(),
            format!("chmod 600 {}", key.display()),
        ] {
            assert!(err.contains(&want), "{file}: {err} lacks {want}");
        }
    }
}

#[test]
fn arrow_serve_needs_a_certificate_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "x").unwrap();
    let cert = cert.to_str().unwrap();
    for extra in [
        vec![],
        vec!["--cert", cert],
        vec!["--cert", cert, "--key", cert],
    ] {
        let out = protoctl()
            .args(["arrow", "serve", "--bind", "127.0.0.1:0"])
            .args(&extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
}

#[test]
fn arrow_serve_on_a_busy_port_exits_2_like_every_other_server() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = protoctl()
        .args(["arrow", "serve", "--bind", &addr, "--self-signed"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot listen on"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn arrow_serve_and_run_carry_a_session_and_stop_on_sigint_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    // The local service: an echo server on a plain thread.
    let echo_addr = echo_once();

    let (service, server, ca) = dev_service(dir.path(), &[]);
    let client = run_client(
        &server,
        &ca,
        &state,
        &["--tcp", &echo_addr, "--window", "4096"],
    );
    client.wait_event("registered");
    let registered = service.wait_event("client_registered");
    assert_eq!(registered["window"], 4096);
    assert_eq!(
        registered["extended_info"]["client"]["id"],
        "protoctl-arrow-client"
    );
    let exposed = service.wait_event("port_exposed");
    assert_eq!(exposed["svc_type"], "TCP");
    let port = exposed["port"].as_u64().unwrap() as u16;

    let mut user = TcpStream::connect(("127.0.0.1", port)).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    let message = vec![b'a'; 10_000];
    user.write_all(&message).unwrap();
    let mut back = vec![0u8; message.len()];
    user.read_exact(&mut back).unwrap();
    assert_eq!(back, message);
    drop(user);
    let closed = client.wait_event("session_closed");
    assert_eq!(closed["bytes_up"], 10_000);
    assert_eq!(closed["reason"], "service_hup");

    assert_eq!(client.interrupt(), Some(0));
    assert_eq!(service.interrupt(), Some(0));
}

#[test]
fn demo_arrow_part_sends_a_request_through_the_tunnel() {
    let output = protoctl()
        .args(["--json", "demo", "--only", "arrow"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let response = lines
        .iter()
        .find(|l| l["event"] == "response")
        .expect("a response line");
    assert_eq!(response["status"], "HTTP/1.1 200 OK");
    assert!(lines.iter().all(|l| l["demo"] == "arrow"));
    assert_eq!(lines.last().unwrap()["event"], "done");
}

impl Running {
    /// Sends a signal (`TERM`, `HUP`, ...).
    pub(crate) fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit; its exit code.
    pub(crate) fn wait_exit(mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + WAIT;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("protoctl did not exit within {WAIT:?}");
    }

    /// Waits (bounded) for the process to exit: its exit code and everything it logged.
    pub(crate) fn wait_exit_logs(mut self) -> (Option<i32>, String) {
        let reader = self.stderr_reader.take();
        let logs = self.logs.clone();
        let code = self.wait_exit();
        // The process is gone, so its stderr is at EOF: the reader ends.
        if let Some(reader) = reader {
            let _ = reader.join();
        }
        let logs = logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (code, logs)
    }
}

/// `arrow serve --self-signed` on a free port: the process, `localhost:PORT` and the CA.
pub(crate) fn dev_service(dir: &std::path::Path, extra: &[&str]) -> (Running, String, String) {
    let certs = dir.join("certs");
    let mut args = vec![
        "arrow",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--self-signed",
        certs.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let service = Running::start(&args);
    let trust = service.wait_event("self_signed");
    assert_eq!(
        trust["created"], true,
        "a fresh --self-signed DIR gets a new CA"
    );
    let listening = service.wait_event("listening");
    let port = listening["addr"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    let ca = certs.join("ca.pem").to_str().unwrap().to_string();
    (service, format!("localhost:{port}"), ca)
}

/// `protoctl --json arrow run --server SERVER --ca CA --state-dir STATE`, then `extra`.
fn run_client(server: &str, ca: &str, state: &std::path::Path, extra: &[&str]) -> Running {
    let mut args = vec![
        "--json",
        "arrow",
        "run",
        "--server",
        server,
        "--ca",
        ca,
        "--state-dir",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Running::start(&args)
}

fn read_status(state: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(state.join("status.json")).unwrap()).unwrap()
}

#[test]
fn arrow_run_sigterm_with_a_session_open_delivers_its_data_and_exits_0_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, server, ca) = dev_service(dir.path(), &[]);

    // The local service: sends a greeting, then counts what it receives until EOF.
    const GREETING: usize = 200_000;
    let local = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let local_addr = local.local_addr().unwrap().to_string();
    let (first_tx, first_rx) = mpsc::channel();
    let (count_tx, count_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut socket, _)) = local.accept() else {
            return;
        };
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let _ = socket.write_all(&vec![b'g'; GREETING]);
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = socket.read(&mut buf) {
            if n == 0 {
                break;
            }
            if total == 0 {
                let _ = first_tx.send(());
            }
            total += n;
        }
        let _ = count_tx.send(total);
    });

    let client = run_client(&server, &ca, &state, &["--tcp", &local_addr]);
    client.wait_event("registered");
    let exposed = service.wait_event("port_exposed");
    let port = exposed["port"].as_u64().unwrap() as u16;

    // The user streams far more than can pass before the shutdown, and reads to the end.
    let user = TcpStream::connect(("127.0.0.1", port)).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    let mut user_reader = user.try_clone().unwrap();
    let mut user_writer = user;
    std::thread::spawn(move || {
        let block = vec![b'u'; 64 * 1024];
        for _ in 0..1024 {
            if user_writer.write_all(&block).is_err() {
                break;
            }
        }
    });
    let reader = std::thread::spawn(move || {
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = user_reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    });
    client.wait_event("session_opened");
    first_rx
        .recv_timeout(WAIT)
        .expect("data reaches the local service");

    client.signal("TERM");
    client.wait_event("stopping");
    let closed = client.wait_event("session_closed");
    assert_eq!(closed["reason"], "shutdown");
    client.wait_event("stopped");
    assert_eq!(client.wait_exit(), Some(0));

    // Every byte the client took from the service reached the local service, and every
    // byte it read locally reached the user.
    let local_got = count_rx.recv_timeout(WAIT).expect("the local side closes");
    assert_eq!(local_got as u64, closed["bytes_down"].as_u64().unwrap());
    assert!(local_got > 0);
    let user_got = reader.join().unwrap();
    assert_eq!(user_got as u64, closed["bytes_up"].as_u64().unwrap());

    let status = read_status(&state);
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["active_sessions"], 0);
    assert!(status["bytes_down"].as_u64().unwrap() >= local_got as u64);
    drop(service);
}

#[test]
fn arrow_run_sighup_reloads_the_services_and_sends_update() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let client = run_client(&server, &ca, &state, &["--tcp", "127.0.0.1:9"]);
    client.wait_event("registered");
    client.signal("HUP");
    let reloaded = client.wait_event("reloaded");
    assert_eq!(reloaded["services"].as_array().unwrap().len(), 1);
    client.wait_event("table_replaced");
    let sent = client.wait_event("table_sent");
    assert_eq!(sent["reset"], false);
    assert_eq!(client.interrupt(), Some(0));
    assert_eq!(read_status(&state)["state"], "stopped");
}

#[test]
fn arrow_run_once_exits_0_registered_1_refused_3_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let once = |server: &str, ca: &str, state: &std::path::Path| {
        crate::support::bounded(
            protoctl().args([
                "--json",
                "arrow",
                "run",
                "--once",
                "--server",
                server,
                "--ca",
                ca,
                "--state-dir",
                state.to_str().unwrap(),
            ]),
            None,
        )
    };

    let state = dir.path().join("ok");
    let out = once(&server, &ca, &state);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l["event"] == "registered")
    );
    assert_eq!(read_status(&state)["state"], "stopped");

    // A service that only knows another uuid: UNAUTHORIZED, exit 1.
    let other = dir.path().join("other");
    let (_strict, strict_server, strict_ca) =
        dev_service(&other, &["--allow", "00000000-0000-4000-8000-000000000001"]);
    let state = dir.path().join("refused");
    let out = crate::support::bounded(
        protoctl().args([
            "-vvv",
            "--log-format",
            "json",
            "arrow",
            "run",
            "--once",
            "--server",
            &strict_server,
            "--ca",
            &strict_ca,
            "--state-dir",
            state.to_str().unwrap(),
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let logs = stderr(&out);
    assert!(logs.contains("UNAUTHORIZED"), "{logs}");
    // What to do, with the uuid to pair, and never the key, even at trace level.
    let identity: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("identity.json")).unwrap())
            .unwrap();
    let uuid = identity["uuid"].as_str().unwrap();
    let key = identity["key"].as_str().unwrap();
    assert!(logs.contains("not paired") && logs.contains(uuid), "{logs}");
    assert!(
        !logs.to_lowercase().contains(&key.to_lowercase()),
        "the key leaked: {logs}"
    );
    assert!(
        logs.contains("arrow_connection"),
        "a span per connection: {logs}"
    );

    // A certificate from another CA: a TLS failure, exit 3.
    let out = once(&server, &strict_ca, &dir.path().join("tls"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));

    // Nothing listening: exit 3.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let out = once(&format!("localhost:{port}"), &ca, &dir.path().join("none"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn arrow_run_without_gateway_warns_and_refuses_sessions_to_other_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let (service, server, ca) = dev_service(dir.path(), &[]);
    // A documentation address (TEST-NET-1): never dialled, the core refuses first.
    let remote = "192.0.2.1:9";
    let state = dir.path().join("state");
    let out = crate::support::bounded(
        protoctl().args([
            "--json",
            "arrow",
            "run",
            "--once",
            "--server",
            &server,
            "--ca",
            &ca,
            "--state-dir",
            state.to_str().unwrap(),
            "--tcp",
            remote,
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let logs = stderr(&out);
    assert!(
        logs.contains("gateway mode is off") && logs.contains(remote),
        "a warning at start lists the service: {logs}"
    );
    assert_eq!(stdout_lines(&out)[0]["gateway"], false);

    let client = run_client(&server, &ca, &state, &["--tcp", remote]);
    client.wait_event("registered");
    // The once-run above registered first; take this client's port.
    let mut port = 0;
    for _ in 0..2 {
        let exposed = service.wait_event("port_exposed");
        port = exposed["port"].as_u64().unwrap() as u16;
    }
    let mut user = TcpStream::connect(("127.0.0.1", port)).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    let refused = client.wait_event("session_refused");
    assert!(
        refused["reason"].as_str().unwrap().contains("gateway"),
        "{refused}"
    );
    // The service hangs up on the user.
    let mut buf = [0u8; 16];
    assert!(matches!(user.read(&mut buf), Ok(0) | Err(_)));
    assert_eq!(client.interrupt(), Some(0));
}

/// What a [`ScriptedService`] saw from its one client.
#[derive(Debug, PartialEq)]
enum Seen {
    /// REGISTER, with the services as (type, port).
    Register(Vec<(String, u16)>),
    /// UPDATE, with the services as (type, port).
    Update(Vec<(String, u16)>),
    /// The connection ended.
    Closed,
}

fn services(list: &[(&str, u16)]) -> Vec<(String, u16)> {
    list.iter().map(|(t, p)| (t.to_string(), *p)).collect()
}

/// An Arrow Service playing a script on a thread of its own: it accepts ONE client (a
/// reconnect would find nobody, so everything it sees came on one connection), answers
/// REGISTER and PING with ACK 0, reports REGISTER and UPDATE on a channel, and sends
/// RESET_SVC_TABLE when told to.
struct ScriptedService {
    server: String,
    seen: mpsc::Receiver<Seen>,
    reset: tokio::sync::mpsc::UnboundedSender<()>,
}

impl ScriptedService {
    /// Starts it; the CA that signed its certificate goes to `ca`.
    fn start(ca: &std::path::Path) -> Self {
        let certs = arrow_client::dev_service::DevCertificates::generate(&[
            "localhost".into(),
            "127.0.0.1".into(),
        ])
        .unwrap();
        std::fs::write(ca, &certs.ca_pem).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let server = format!("localhost:{}", listener.local_addr().unwrap().port());
        let (tx, seen) = mpsc::channel();
        let (reset, resets) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // Bounded like every wait here: a test that fails early ends it anyway.
            runtime.block_on(async move {
                let script = Self::script(listener, certs, tx, resets);
                let _ = tokio::time::timeout(Duration::from_secs(60), script).await;
            });
        });
        ScriptedService {
            server,
            seen,
            reset,
        }
    }

    async fn script(
        listener: std::net::TcpListener,
        certs: arrow_client::dev_service::DevCertificates,
        tx: mpsc::Sender<Seen>,
        mut resets: tokio::sync::mpsc::UnboundedReceiver<()>,
    ) {
        use arrow_codec::{ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let table = |services: &[arrow_codec::Service]| -> Vec<(String, u16)> {
            services
                .iter()
                .map(|s| (s.svc_type.to_string(), s.port))
                .collect()
        };
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let config = certs.server_config().unwrap();
        let tls = arrow_client::tls::accept(config, tcp).await.unwrap();
        let (mut reader, mut writer) = tokio::io::split(tls);
        let mut codec = ArrowCodec::new();
        let mut input = bytes::BytesMut::new();
        let mut next_id = 0u16;
        loop {
            while let Some(message) = codec.decode_message(&mut input).unwrap() {
                let Message::Control(ControlMessage { msg_id, body }) = message else {
                    continue;
                };
                let (ack, report) = match body {
                    ControlBody::Register(r) => (true, Some(Seen::Register(table(&r.services)))),
                    ControlBody::Update(u) => (false, Some(Seen::Update(table(&u.services)))),
                    ControlBody::Ping => (true, None),
                    _ => (false, None),
                };
                if ack {
                    let mut out = bytes::BytesMut::new();
                    ControlMessage::ack(msg_id, ErrorCode::NoError)
                        .encode(&mut out)
                        .unwrap();
                    writer.write_all(&out).await.unwrap();
                }
                if let Some(report) = report
                    && tx.send(report).is_err()
                {
                    return;
                }
            }
            tokio::select! {
                read = reader.read_buf(&mut input) => {
                    if !matches!(read, Ok(n) if n > 0) {
                        let _ = tx.send(Seen::Closed);
                        return;
                    }
                }
                Some(()) = resets.recv() => {
                    next_id = next_id.wrapping_add(1);
                    let mut out = bytes::BytesMut::new();
                    ControlMessage::new(next_id, ControlBody::ResetSvcTable)
                        .encode(&mut out)
                        .unwrap();
                    writer.write_all(&out).await.unwrap();
                }
            }
        }
    }

    /// The next REGISTER or UPDATE (or the end), within the test bound.
    fn next(&self) -> Seen {
        self.seen
            .recv_timeout(WAIT)
            .expect("the scripted service saw nothing in time")
    }

    /// Sends RESET_SVC_TABLE: the client answers with UPDATE and the table it runs.
    fn reset_table(&self) {
        self.reset.send(()).unwrap();
    }
}

/// `arrow status --json` until its state is `state` (the status file is written by a task
/// of its own, just after the event that announces the change): the last status read.
fn wait_status(state_dir: &std::path::Path, state: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    let mut last = Value::Null;
    while std::time::Instant::now() < deadline {
        let out = crate::support::bounded(
            protoctl().args([
                "--json",
                "arrow",
                "status",
                "--state-dir",
                state_dir.to_str().unwrap(),
            ]),
            None,
        );
        if out.status.code() == Some(0) {
            last = stdout_lines(&out).remove(0);
            if last["state"] == state {
                return last;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("arrow status never said {state:?}; last: {last}");
}

#[test]
fn arrow_run_config_sighup_sends_update_and_a_broken_file_keeps_table_and_connection() {
    let dir = tempfile::tempdir().unwrap();
    let service = ScriptedService::start(&dir.path().join("ca.pem"));
    let config = dir.path().join("arrow.toml");
    // Relative paths in the file are taken from the file's directory.
    let base = format!(
        "server = \"{}\"\nca = \"ca.pem\"\nstate_dir = \"state\"\n",
        service.server
    );
    let tcp = "[[service]]\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\n";
    let http = "[[service]]\ntype = \"http\"\naddress = \"127.0.0.1:80\"\n";
    std::fs::write(&config, format!("{base}{tcp}")).unwrap();
    let client = Running::start(&[
        "--json",
        "arrow",
        "run",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(service.next(), Seen::Register(services(&[("TCP", 9)])));
    client.wait_event("registered");

    // A service added to the file: SIGHUP, and the service hears UPDATE with both.
    std::fs::write(&config, format!("{base}{tcp}{http}")).unwrap();
    client.signal("HUP");
    let reloaded = client.wait_event("reloaded");
    assert_eq!(reloaded["restart_needed"], serde_json::json!([]));
    let both = services(&[("TCP", 9), ("HTTP", 80)]);
    assert_eq!(service.next(), Seen::Update(both.clone()));

    // An unknown key: the error names it (file, line, key), nothing is sent, the table
    // and the connection stay.
    std::fs::write(&config, format!("{base}bogus_key = 1\n{tcp}")).unwrap();
    client.signal("HUP");
    let failed = client.wait_event("reload_failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("arrow.toml:4:1") && error.contains("unknown field `bogus_key`"),
        "{error}"
    );
    // RESET_SVC_TABLE asks the client for the table it runs: still both services.
    service.reset_table();
    assert_eq!(service.next(), Seen::Update(both));
    assert_eq!(
        wait_status(&dir.path().join("state"), "connected")["server"],
        service.server
    );

    // A good file again, with an option only a restart applies: named in a warning.
    std::fs::write(&config, format!("{base}window = 4096\n{tcp}")).unwrap();
    client.signal("HUP");
    let reloaded = client.wait_event("reloaded");
    assert_eq!(reloaded["restart_needed"], serde_json::json!(["window"]));
    assert_eq!(service.next(), Seen::Update(services(&[("TCP", 9)])));

    client.signal("TERM");
    let (code, logs) = client.wait_exit_logs();
    assert_eq!(code, Some(0), "{logs}");
    assert_eq!(service.next(), Seen::Closed);
    assert!(
        logs.contains("reload failed") && logs.contains("unknown field `bogus_key`"),
        "the failed reload is logged with the key: {logs}"
    );
    assert!(
        logs.contains("next restart") && logs.contains("window"),
        "{logs}"
    );
    assert_eq!(
        wait_status(&dir.path().join("state"), "stopped")["active_sessions"],
        0
    );
}

#[test]
fn arrow_run_system_roots_trusts_ssl_cert_file_without_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let other = tempfile::tempdir().unwrap();
    let (_other_service, _, other_ca) = dev_service(other.path(), &[]);
    // rustls-native-certs reads SSL_CERT_FILE (and SSL_CERT_DIR) instead of the platform
    // store when set: the platform's roots are then exactly that file.
    let once = |cert_file: &str, state: &str| {
        crate::support::bounded(
            protoctl()
                .env("SSL_CERT_FILE", cert_file)
                .env_remove("SSL_CERT_DIR")
                .args(["--json", "arrow", "run", "--once", "--system-roots"])
                .args(["--server", &server, "--state-dir"])
                .arg(dir.path().join(state)),
            None,
        )
    };
    let out = once(&ca, "trusted");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l["event"] == "registered")
    );
    // The control: the platform roots are another CA, so the handshake fails, exit 3.
    let out = once(&other_ca, "untrusted");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
}

#[test]
fn arrow_status_follows_a_live_client_connected_then_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let client = run_client(&server, &ca, &state, &[]);
    client.wait_event("registered");
    let status = wait_status(&state, "connected");
    assert_eq!(status["server"], server.as_str());
    assert_eq!(status["stale"], false);
    assert_eq!(status["last_error"], Value::Null);
    let human = crate::support::bounded(
        protoctl().args(["arrow", "status", "--state-dir", state.to_str().unwrap()]),
        None,
    );
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.starts_with("state         connected since "), "{text}");

    client.signal("TERM");
    assert_eq!(client.wait_exit(), Some(0));
    // `stopped` is written before the process exits: no wait needed.
    let out = crate::support::bounded(
        protoctl().args([
            "--json",
            "arrow",
            "status",
            "--state-dir",
            state.to_str().unwrap(),
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status = &stdout_lines(&out)[0];
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["stale"], false);
}

#[test]
fn arrow_status_says_unauthorized_while_a_refused_client_retries_and_it_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, server, ca) = dev_service(
        dir.path(),
        &["--allow", "00000000-0000-4000-8000-000000000001"],
    );
    // Each refusal leaves the status at "unauthorized" for the wait before the next try:
    // at least a second, so a poll of `arrow status` on a loaded machine sees it.
    let client = run_client(
        &server,
        &ca,
        &state,
        &["--reconnect-min", "1s", "--reconnect-max", "2s"],
    );
    let not_paired = client.wait_event("not_paired");
    let status = wait_status(&state, "unauthorized");
    assert_eq!(status["uuid"], not_paired["uuid"]);
    assert_eq!(status["mac"], not_paired["mac"]);
    assert!(status["next_attempt"].is_string(), "{status}");
    let human = crate::support::bounded(
        protoctl().args(["arrow", "status", "--state-dir", state.to_str().unwrap()]),
        None,
    );
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains(not_paired["uuid"].as_str().unwrap()) && text.contains("pair"),
        "{text}"
    );
    // Three refusals in a row, and still one message about pairing.
    for _ in 0..3 {
        service.wait_event("client_refused");
    }
    client.signal("TERM");
    let (code, logs) = client.wait_exit_logs();
    assert_eq!(code, Some(0), "{logs}");
    assert_eq!(
        logs.matches("not paired yet").count(),
        1,
        "the pairing message is said once: {logs}"
    );
}

#[test]
fn arrow_run_once_through_config_exits_0_registered_1_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let strict = dir.path().join("strict");
    let (_strict, strict_server, strict_ca) = dev_service(
        &strict,
        &["--allow", "00000000-0000-4000-8000-000000000001"],
    );
    let once = |name: &str, server: &str, ca: &str| {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "server = \"{server}\"\nca = \"{ca}\"\nstate_dir = \"{name}-state\"\n\
                 [[service]]\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\n"
            ),
        )
        .unwrap();
        crate::support::bounded(
            protoctl()
                .args(["--json", "arrow", "run", "--once", "--config"])
                .arg(&config),
            None,
        )
    };
    let out = once("ok", &server, &ca);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    assert_eq!(lines[0]["services"].as_array().unwrap().len(), 1);
    assert!(lines.iter().any(|l| l["event"] == "registered"));
    assert_eq!(
        read_status(&dir.path().join("ok-state"))["state"],
        "stopped"
    );

    let out = once("refused", &strict_server, &strict_ca);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("not paired yet"), "{}", stderr(&out));
}

/// Lines from `pipe` on a channel, read by a thread of their own (which ends at EOF).
fn lines_of(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Receives `lines` until one contains `want` (bounded by [`WAIT`]); every line seen.
fn wait_line(lines: &mpsc::Receiver<String>, want: &str) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = String::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(want) {
                    return seen;
                }
            }
            Err(e) => panic!("no line with {want:?} ({e:?}); seen:\n{seen}"),
        }
    }
}

#[test]
fn arrow_run_keeps_running_when_stdout_is_closed_and_stops_in_order_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let echo_addr = echo_once();
    let (service, server, ca) = dev_service(dir.path(), &[]);
    let mut client = crate::support::Reaped(
        protoctl()
            .args(["--json", "arrow", "run", "--server", &server, "--ca", &ca])
            .arg("--state-dir")
            .arg(&state)
            .args(["--tcp", &echo_addr])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn protoctl"),
    );
    let logs = lines_of(client.0.stderr.take().unwrap());
    // The reader of stdout (`| head`): reads up to `registered`, then goes away (the
    // thread ends, closing the pipe's read end, before it says so).
    let stdout = client.0.stdout.take().unwrap();
    let (closed_tx, closed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let registered = lines.any(|l| l.is_ok_and(|l| l.contains("\"registered\"")));
        drop(lines);
        let _ = closed_tx.send(registered);
    });
    assert_eq!(closed.recv_timeout(WAIT), Ok(true), "no registered line");
    // A SIGHUP makes the client write (`reloaded`) to the closed pipe.
    let kill = |signal: &str, pid: u32| {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    let pid = client.0.id();
    kill("HUP", pid);
    wait_line(&logs, "stdout was closed by its reader");

    // Still running, and still carrying sessions.
    let port = service.wait_event("port_exposed")["port"].as_u64().unwrap() as u16;
    let mut user = TcpStream::connect(("127.0.0.1", port)).unwrap();
    user.set_read_timeout(Some(WAIT)).unwrap();
    user.write_all(b"still here").unwrap();
    let mut back = [0u8; 10];
    user.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still here");
    drop(user);

    // SIGTERM: the orderly stop, exit 0, `stopped` in the status file.
    kill("TERM", pid);
    let deadline = std::time::Instant::now() + WAIT;
    let mut rest = String::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match logs.recv_timeout(left) {
            Ok(line) => rest.push_str(&line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("protoctl did not stop on SIGTERM ({e:?}): {rest}"),
        }
    }
    // stderr is at EOF: the process is gone, so this wait returns at once.
    let code = client.0.wait().unwrap().code();
    assert_eq!(code, Some(0), "{rest}");
    assert!(
        !rest.contains("stdout was closed"),
        "one warning only: {rest}"
    );
    assert_eq!(read_status(&state)["state"], "stopped");
}

/// A camera whose host never resolves: RFC 6761 reserves `.invalid`, and `arrow run` fails
/// such names itself, so no query leaves the machine.
const UNRESOLVABLE: &str = "rtsp://cam.invalid/live";

#[test]
fn arrow_run_once_with_a_service_host_that_does_not_resolve_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    // The brief's case (nothing listens on port 1) and a live service: the lookup decides.
    for server in ["localhost:1", server.as_str()] {
        let out = crate::support::bounded(
            protoctl()
                .args(["--json", "arrow", "run", "--once", "--server", server])
                .args(["--ca", &ca, "--rtsp", UNRESOLVABLE, "--state-dir"])
                .arg(dir.path().join("state")),
            None,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{server}: {err}");
        assert!(
            err.contains("cannot resolve service") && err.contains("cam.invalid"),
            "{err}"
        );
    }
}

#[test]
fn arrow_run_retries_a_service_host_that_does_not_resolve_and_stops_on_a_signal_with_0() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let (_service, server, ca) = dev_service(dir.path(), &[]);
        let state = dir.path().join("state");
        let client = run_client(
            &server,
            &ca,
            &state,
            &[
                "--rtsp",
                UNRESOLVABLE,
                "--reconnect-min",
                "100ms",
                "--reconnect-max",
                "200ms",
            ],
        );
        // Tried again, with the backoff's waits.
        for _ in 0..2 {
            let waiting = client.wait_event("service_unresolved");
            assert_eq!(waiting["host"], "cam.invalid");
            let delay = waiting["delay_ms"].as_u64().unwrap();
            assert!((100..=200).contains(&delay), "{waiting}");
        }
        // The status file says so (written before each `service_unresolved` line).
        let status = read_status(&state);
        assert_eq!(status["state"], "disconnected", "{status}");
        assert!(
            status["last_error"]
                .as_str()
                .unwrap()
                .contains("cam.invalid"),
            "{status}"
        );
        assert!(status["next_attempt"].is_string(), "{status}");
        client.signal(signal);
        let (code, logs) = client.wait_exit_logs();
        assert_eq!(code, Some(0), "SIG{signal}: {logs}");
        assert_eq!(read_status(&state)["state"], "stopped");
        assert!(
            logs.contains("does not resolve") && logs.contains("cam.invalid"),
            "a warning names the host: {logs}"
        );
    }
}

#[test]
fn arrow_run_config_sighup_while_a_service_host_does_not_resolve_starts_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let (service, server, ca) = dev_service(dir.path(), &[]);
    let config = dir.path().join("arrow.toml");
    let base = format!("server = \"{server}\"\nca = \"{ca}\"\nstate_dir = \"state\"\n");
    std::fs::write(
        &config,
        format!("{base}[[service]]\ntype = \"rtsp\"\nurl = \"{UNRESOLVABLE}\"\n"),
    )
    .unwrap();
    let client = Running::start(&[
        "--json",
        "arrow",
        "run",
        "--config",
        config.to_str().unwrap(),
    ]);
    client.wait_event("service_unresolved");

    // A file that does not load changes nothing: still waiting.
    std::fs::write(&config, format!("{base}bogus_key = 1\n")).unwrap();
    client.signal("HUP");
    let failed = client.wait_event("reload_failed");
    assert!(
        failed["error"].as_str().unwrap().contains("bogus_key"),
        "{failed}"
    );

    // The camera's address fixed in the file: SIGHUP, and the client starts at once.
    std::fs::write(
        &config,
        format!("{base}[[service]]\ntype = \"tcp\"\naddress = \"127.0.0.1:9\"\n"),
    )
    .unwrap();
    client.signal("HUP");
    let started = client.wait_event("started");
    assert_eq!(started["services"][0]["type"], "tcp", "{started}");
    client.wait_event("registered");
    assert_eq!(service.wait_event("port_exposed")["svc_type"], "TCP");
    client.signal("TERM");
    let (code, logs) = client.wait_exit_logs();
    assert_eq!(code, Some(0), "{logs}");
}

#[test]
fn arrow_run_takes_bare_seconds_and_units_for_every_duration() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let state = dir.path().join("state");
    let out = crate::support::bounded(
        protoctl()
            .args([
                "--json", "arrow", "run", "--once", "--server", &server, "--ca", &ca,
            ])
            .args([
                "--ping-interval",
                "1",
                "--ping-timeout",
                "2",
                "--reconnect-min",
                "0.5",
            ])
            .args(["--reconnect-max", "2m", "--state-dir"])
            .arg(&state),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout_lines(&out)
            .iter()
            .any(|l| l["event"] == "registered")
    );

    // A bad one names the flag and the forms it takes: exit 2, nothing started.
    let out = crate::support::bounded(
        protoctl()
            .args(["arrow", "run", "--once", "--server", &server, "--ca", &ca])
            .args(["--ping-interval", "soon", "--state-dir"])
            .arg(&state),
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--ping-interval <DURATION>") && err.contains("500ms, 15s, 2m"),
        "{err}"
    );
}

#[test]
fn a_second_arrow_run_on_a_locked_state_directory_exits_2_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let state = dir.path().join("state");
    let first = run_client(&server, &ca, &state, &["--tcp", &echo_once()]);
    first.wait_event("registered");
    let pid = first.child.id();
    for extra in [&[][..], &["--once"][..]] {
        let out = crate::support::bounded(
            protoctl()
                .args([
                    "arrow",
                    "run",
                    "--server",
                    &server,
                    "--ca",
                    &ca,
                    "--state-dir",
                ])
                .arg(&state)
                .args(extra),
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&state.display().to_string()) && err.contains(&format!("pid {pid}")),
            "{err}"
        );
        assert!(err.contains("in use by another Arrow client"), "{err}");
    }
    // The first one is untouched: still connected, and its status file is its own.
    assert_eq!(read_status(&state)["pid"], pid);
    assert_eq!(read_status(&state)["state"], "connected");
    first.signal("TERM");
    let (code, logs) = first.wait_exit_logs();
    assert_eq!(code, Some(0), "{logs}");
}

/// Sessions and a reserve of descriptors must fit in the open-file limit: under
/// `ulimit -n 200` a limit of 1000 sessions is lowered to 136 (64 spare), and said so.
#[test]
fn arrow_run_lowers_the_session_limit_to_fit_the_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (_service, server, ca) = dev_service(dir.path(), &[]);
    let program = protoctl().get_program().to_owned();
    let mut cmd = std::process::Command::new("sh");
    cmd.env_remove("RUST_LOG")
        .arg("-c")
        .arg("ulimit -n 200 && exec \"$0\" \"$@\"")
        .arg(program)
        .args(["--json", "arrow", "run", "--server", &server, "--ca", &ca])
        .args([
            "--state-dir",
            state.to_str().unwrap(),
            "--max-sessions",
            "1000",
        ]);
    let client = Running::spawn(&mut cmd);
    let lowered = client.wait_event("session_limit_lowered");
    assert_eq!(lowered["requested"], 1000);
    assert_eq!(lowered["allowed"], 136);
    assert_eq!(lowered["open_files"], 200);
    client.wait_event("registered");
    assert_eq!(client.interrupt(), Some(0));
}
