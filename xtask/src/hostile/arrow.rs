//! The Arrow part of the hostile-peer benchmark: `protoctl arrow run` against the flood
//! service (`arrow_client::dev_service::flood`, run by the arrow-client example
//! `flood_service`), one kind of flood at a time, all on 127.0.0.1.
//!
//! For each kind: an echo server (the client's service), the flood service, and the client
//! exposing the echo server. The client's descriptors are sampled while the flood runs and
//! its peak memory read at the end; the flood service then checks that a session still
//! echoes through the tunnel; SIGTERM must end the client with exit 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::process::{FD_SLACK, Outcome, Process, Server, cargo_target};
use crate::Result;

/// The floods: the example's kind name, a description, and whether the client's stdout is
/// read (an unread stdout is a flood of its own: events must be dropped, not queued).
const FLOODS: [(&str, &str, bool); 5] = [
    ("unknown_control", "control messages of unknown types", true),
    ("refused_connect", "CONNECTs to unknown services", true),
    (
        "unknown_session_data",
        "DATA for sessions never opened",
        true,
    ),
    (
        "connect_hup_churn",
        "CONNECT/HUP churn beyond the session cap",
        true,
    ),
    (
        "refused_connect",
        "CONNECTs to unknown services, stdout never read",
        false,
    ),
];

/// Clients of the register storm against `arrow serve`, and services each announces.
pub(super) const STORM_CLIENTS: &str = "200";
pub(super) const STORM_SERVICES: &str = "8";

/// The arrow-client examples the benchmark drives (release or debug, like `protoctl`):
/// the flood service and the register storm.
pub(super) struct Tools {
    flood: PathBuf,
    storm: PathBuf,
}

impl Tools {
    pub(super) fn build(release: bool) -> Result<Tools> {
        let mut cmd = crate::cargo();
        cmd.args(["build", "-p", "arrow-client", "--features", "dev-service"])
            .args(["--example", "flood_service", "--example", "register_storm"]);
        if release {
            cmd.arg("--release");
        }
        crate::run(
            "the Arrow flood service and register storm (arrow-client examples)",
            &mut cmd,
        )?;
        let profile = if release { "release" } else { "debug" };
        let examples = cargo_target().join(profile).join("examples");
        Ok(Tools {
            flood: examples.join("flood_service"),
            storm: examples.join("register_storm"),
        })
    }
}

pub(super) fn run_all(protoctl: &Path, tools: &Tools, length: Duration) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for (kind, name, read_stdout) in FLOODS {
        eprintln!("xtask: == arrow run under {name} for {length:?}");
        outcomes.push(one(
            protoctl,
            &tools.flood,
            kind,
            name,
            read_stdout,
            length,
        )?);
    }
    eprintln!("xtask: == arrow serve under {STORM_CLIENTS} registering clients for {length:?}");
    outcomes.push(storm(protoctl, &tools.storm, length)?);
    Ok(outcomes)
}

/// `arrow serve` (default limits) while many clients register, each announcing services
/// (every one a listening port on the service); afterwards a fresh client must register.
fn storm(protoctl: &Path, storm: &Path, length: Duration) -> Result<Outcome> {
    let dir = scratch_dir("storm")?;
    let certs = dir.join("certs");
    let certs_arg = certs.to_string_lossy().into_owned();
    let mut server = Server::start(
        protoctl,
        &[
            "--json",
            "arrow",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--self-signed",
            &certs_arg,
        ],
    )?;
    let idle_rss_kib = Some(server.process.peak_rss_kib());
    let addr = format!("localhost:{}", server.addr.port());
    let ca = certs.join("ca.pem");
    let load = Command::new(storm)
        .args(["--server", &addr, "--ca"])
        .arg(&ca)
        .arg("--dir")
        .arg(dir.join("clients"))
        .args(["--clients", STORM_CLIENTS, "--services", STORM_SERVICES])
        .args(["--seconds", &length.as_secs().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", storm.display()))?;
    let mut load = Process::new(load);
    let started = Instant::now();
    let mut peak_fds = server.process.open_fds();
    let bound = length + Duration::from_secs(60);
    let report = loop {
        peak_fds = peak_fds.max(server.process.open_fds());
        match load.try_finish() {
            Some(stdout) => break serde_json::from_str::<serde_json::Value>(stdout.trim()).ok(),
            None if started.elapsed() < bound => std::thread::sleep(Duration::from_millis(50)),
            None => break None,
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = server.process.peak_rss_kib();
    // A fresh client still registers.
    let still_serves = Command::new(protoctl)
        .args(["arrow", "run", "--once", "--server", &addr, "--ca"])
        .arg(&ca)
        .arg("--state-dir")
        .arg(dir.join("fresh"))
        .args(["--tcp", "127.0.0.1:9"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let stopped_in_order = server.process.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let registered = report
        .as_ref()
        .and_then(|r| r["registered"].as_u64())
        .unwrap_or(0);
    Ok(Outcome {
        peer: "arrow serve",
        flood: "clients registering, 8 services each",
        seconds,
        sent: registered,
        idle_rss_kib,
        peak_rss_kib,
        peak_fds,
        fd_bound: 512 + 64 + FD_SLACK,
        still_serves,
        stopped_in_order,
    })
}

fn one(
    protoctl: &Path,
    flood: &Path,
    kind: &str,
    name: &'static str,
    read_stdout: bool,
    length: Duration,
) -> Result<Outcome> {
    let dir = scratch_dir(kind)?;
    let echo = echo_server()?;
    let mut service = Command::new(flood)
        .args([
            "--kind",
            kind,
            "--seconds",
            &length.as_secs().to_string(),
            "--dir",
        ])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", flood.display()))?;
    let service_out = service.stdout.take().expect("piped stdout");
    let mut service = Process::new(service);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(service_out).lines().map_while(|l| l.ok()) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait = length + Duration::from_secs(60);
    let first: serde_json::Value = lines
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .and_then(|l| serde_json::from_str(&l).ok())
        .ok_or("the flood service did not start")?;
    let addr = first["addr"]
        .as_str()
        .ok_or("the flood service gave no address")?;
    let ca = first["ca"].as_str().ok_or("the flood service gave no CA")?;
    let mut client = Command::new(protoctl);
    client
        .args([
            "--json",
            "arrow",
            "run",
            "--server",
            addr,
            "--ca",
            ca,
            "--state-dir",
        ])
        .arg(dir.join("state"))
        .args(["--tcp", &echo.to_string(), "--mac", "02:00:5e:00:53:01"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut client = client
        .spawn()
        .map_err(|e| format!("{}: {e}", protoctl.display()))?;
    let client_out = client.stdout.take().expect("piped stdout");
    // Held open but never read when the flood is about a stuck stdout.
    let _unread = if read_stdout {
        std::thread::spawn(move || std::io::copy(&mut { client_out }, &mut std::io::sink()));
        None
    } else {
        Some(client_out)
    };
    let mut client = Process::new(client);
    let started = Instant::now();
    let mut peak_fds = client.open_fds();
    let report = loop {
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => break serde_json::from_str::<serde_json::Value>(&line).ok(),
            Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() < wait => {
                peak_fds = peak_fds.max(client.open_fds());
            }
            Err(_) => break None,
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = client.peak_rss_kib();
    let stopped_in_order = client.stop();
    service.stop();
    let _ = std::fs::remove_dir_all(&dir);
    let report = report.unwrap_or_default();
    Ok(Outcome {
        peer: "arrow run",
        flood: name,
        seconds,
        sent: report["sent"].as_u64().unwrap_or(0),
        idle_rss_kib: None,
        peak_rss_kib,
        peak_fds,
        fd_bound: 256 + FD_SLACK,
        still_serves: report["echoed"].as_bool().unwrap_or(false),
        stopped_in_order,
    })
}

fn scratch_dir(kind: &str) -> Result<PathBuf> {
    let dir = cargo_target()
        .join("hostile-bench")
        .join(format!("{kind}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// A TCP echo server on 127.0.0.1 (a thread per connection, for the life of xtask).
fn echo_server() -> Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("echo server: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("echo server: {e}"))?;
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(|s| s.ok()) {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    Ok(addr)
}
