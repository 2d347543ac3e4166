//! Hostile peers against the built-in servers and the Arrow client, with the bounds they
//! hold measured:
//! `cargo xtask bench hostile [--seconds N]` (part of `cargo xtask bench`, 60 s a flood)
//! writes a markdown note for docs/benchmarks.md; `cargo xtask ci` runs the short form
//! (a few seconds a flood, on the debug binary) and fails when a bound does not hold.
//!
//! Each flood starts a fresh server process on 127.0.0.1 (never anything else), attacks it
//! from a few client threads until the time is up, samples the process's open descriptors
//! while it runs, and reads its peak resident memory (VmHWM) at the end. Then a
//! well-behaved client must still be served, and the server must stop in order on SIGTERM.
//!
//! The attacks are plain TCP with bounded reads and timeouts on every socket: a server that
//! stalls them cannot stall the benchmark.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Result, cargo, root};

/// Client threads per flood.
const WORKERS: usize = 4;
/// Every socket operation of an attacker gives up after this.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Connections one "held connections" attacker opens at most.
const HELD_PER_WORKER: usize = 200;

/// In the short form (CI), a flood fails when the server ends above these.
const SHORT_MAX_RSS_KIB: u64 = 256 * 1024;
/// Descriptors a process may hold beyond what its limits allow its peers (its listener,
/// stdio, the runtime's own, logs).
pub(crate) const FD_SLACK: usize = 32;
/// A simulator's descriptor bound: its default connection cap, and the slack.
const SIMULATOR_FDS: usize = 64 + FD_SLACK;

/// One attack: run by each worker in a loop until `stop`; returns how many hostile
/// messages or connections it made in one round.
type Attack = fn(SocketAddr, &AtomicBool) -> u64;

struct Flood {
    name: &'static str,
    attack: Attack,
}

/// A server to attack: how to start it and how to check it still serves.
struct Peer {
    name: &'static str,
    args: &'static [&'static str],
    serves: fn(SocketAddr) -> bool,
    floods: &'static [Flood],
}

pub(crate) struct Outcome {
    pub(crate) peer: &'static str,
    pub(crate) flood: &'static str,
    pub(crate) seconds: f64,
    pub(crate) sent: u64,
    /// Before the attack (`None` for a client, flooded as soon as it registers).
    pub(crate) idle_rss_kib: Option<u64>,
    pub(crate) peak_rss_kib: u64,
    pub(crate) peak_fds: usize,
    /// What the process's default limits allow it (the short form fails above it).
    pub(crate) fd_bound: usize,
    pub(crate) still_serves: bool,
    pub(crate) stopped_in_order: bool,
}

const PEERS: &[Peer] = &[
    Peer {
        name: "arkeo serve --multichannel",
        args: &[
            "--json",
            "arkeo",
            "serve",
            "--multichannel",
            "--bind",
            "127.0.0.1:0",
        ],
        serves: arkeo_serves,
        floods: &[
            Flood {
                name: "oversized frame announcements",
                attack: arkeo_oversized,
            },
            Flood {
                name: "700,000 repeated indices (2 MB requests)",
                attack: arkeo_repeated_indices,
            },
            Flood {
                name: "requests never read",
                attack: arkeo_never_reads,
            },
            Flood {
                name: "half frames, then silence",
                attack: arkeo_half_frame,
            },
            Flood {
                name: "held connections",
                attack: hold_connections,
            },
        ],
    },
    Peer {
        name: "arkeo serve (All-in-One)",
        args: &["--json", "arkeo", "serve", "--bind", "127.0.0.1:0"],
        serves: arkeo_all_in_one_serves,
        floods: &[Flood {
            name: "garbage and oversized JSON",
            attack: arkeo_garbage,
        }],
    },
    Peer {
        name: "arctop serve --rate 0",
        args: &[
            "--json",
            "arctop",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--api-key",
            "bench-key",
            "--rate",
            "0",
        ],
        serves: arctop_serves,
        floods: &[
            Flood {
                name: "sessions never read",
                attack: arctop_never_reads,
            },
            Flood {
                name: "garbage and oversized frames",
                attack: arctop_garbage,
            },
            Flood {
                name: "held connections, no auth",
                attack: hold_connections,
            },
        ],
    },
];

/// `cargo xtask bench hostile [--seconds N]`, or its part of `cargo xtask bench`: release
/// binary, full length, note written to `target/bench-notes/hostile.md` (and printed with
/// `print`).
pub(crate) fn bench(seconds: u64, print: bool) -> Result {
    crate::run(
        "protoctl (release) for the hostile-peer benchmark",
        cargo().args(["build", "--release", "-p", "protoctl"]),
    )?;
    let protoctl = cargo_target().join("release/protoctl");
    let tools = crate::hostile_arrow::Tools::build(true)?;
    let outcomes = run_all(&protoctl, &tools, Duration::from_secs(seconds))?;
    let note = render(&outcomes, seconds);
    let dir = root().join("target/bench-notes");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("hostile.md");
    std::fs::write(&path, &note).map_err(|e| format!("{}: {e}", path.display()))?;
    if print {
        print!("{note}");
    }
    Ok(())
}

/// The short form for `cargo xtask ci`: the debug binary the tests built, a few seconds a
/// flood, and a failure when a server stops serving, does not stop in order, or ends above
/// the short form's bounds.
pub(crate) fn short() -> Result {
    crate::run(
        "protoctl (debug) for the hostile-peer suite",
        cargo().args(["build", "-p", "protoctl"]),
    )?;
    let protoctl = cargo_target().join("debug/protoctl");
    let tools = crate::hostile_arrow::Tools::build(false)?;
    let outcomes = run_all(&protoctl, &tools, Duration::from_secs(2))?;
    eprint!("{}", render(&outcomes, 2));
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| {
            !o.still_serves
                || !o.stopped_in_order
                || o.peak_rss_kib > SHORT_MAX_RSS_KIB
                || o.peak_fds > o.fd_bound
        })
        .map(|o| format!("{} under {}", o.peer, o.flood))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "hostile peers: a bound did not hold for {}",
            failed.join("; ")
        ))
    }
}

/// Where cargo puts what it builds (CARGO_TARGET_DIR, else `target/`).
pub(crate) fn cargo_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn run_all(
    protoctl: &Path,
    tools: &crate::hostile_arrow::Tools,
    length: Duration,
) -> Result<Vec<Outcome>> {
    let mut outcomes = crate::hostile_arrow::run_all(protoctl, tools, length)?;
    for peer in PEERS {
        for flood in peer.floods {
            eprintln!(
                "xtask: == {} under {} for {length:?}",
                peer.name, flood.name
            );
            outcomes.push(one_flood(protoctl, peer, flood, length)?);
        }
    }
    Ok(outcomes)
}

fn one_flood(protoctl: &Path, peer: &Peer, flood: &Flood, length: Duration) -> Result<Outcome> {
    let mut server = Server::start(protoctl, peer.args)?;
    let addr = server.addr;
    let idle_rss_kib = Some(server.process.peak_rss_kib());
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (stop, sent, attack) = (stop.clone(), sent.clone(), flood.attack);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    sent.fetch_add(attack(addr, &stop), Ordering::Relaxed);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut peak_fds = server.process.open_fds();
    while started.elapsed() < length {
        std::thread::sleep(Duration::from_millis(50)); // the sampling period, nothing waits on it
        peak_fds = peak_fds.max(server.process.open_fds());
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak_rss_kib = server.process.peak_rss_kib();
    let still_serves = (peer.serves)(addr);
    let stopped_in_order = server.process.stop();
    Ok(Outcome {
        peer: peer.name,
        flood: flood.name,
        seconds,
        sent: sent.load(Ordering::Relaxed),
        idle_rss_kib,
        peak_rss_kib,
        peak_fds,
        fd_bound: SIMULATOR_FDS,
        still_serves,
        stopped_in_order,
    })
}

/// A process under test (or helping one), killed and reaped on drop if it did not stop.
pub(crate) struct Process(Child);

impl Process {
    pub(crate) fn new(child: Child) -> Self {
        Process(child)
    }

    /// Its peak resident memory so far (VmHWM), KiB.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// The descriptors it has open now.
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.0.id()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Its stdout, once it has exited (`None` while it runs).
    pub(crate) fn try_finish(&mut self) -> Option<String> {
        match self.0.try_wait() {
            Ok(Some(_)) => {
                let mut text = String::new();
                if let Some(mut out) = self.0.stdout.take() {
                    let _ = out.read_to_string(&mut text);
                }
                Some(text)
            }
            Ok(None) => None,
            Err(_) => Some(String::new()),
        }
    }

    /// SIGTERM, then exit 0 within 10 s: it stopped in order.
    pub(crate) fn stop(&mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent && Instant::now() < deadline {
            match self.0.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A built-in server, started with `--json` so its first line says where it listens.
pub(crate) struct Server {
    pub(crate) process: Process,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn start(protoctl: &Path, args: &[&str]) -> Result<Server> {
        let mut child = Command::new(protoctl)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", protoctl.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout"));
        let process = Process::new(child);
        // The `listening` line (after a few others at most, e.g. `self_signed`).
        let mut addr = None;
        for _ in 0..4 {
            let mut line = String::new();
            lines
                .read_line(&mut line)
                .map_err(|e| format!("{args:?}: {e}"))?;
            let event: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| format!("{args:?}: {e}: {line:?}"))?;
            if event["event"] == "listening" {
                addr = event["addr"].as_str().and_then(|a| a.parse().ok());
                break;
            }
        }
        // Later lines (one per client) are read and dropped: a full pipe would stall it.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let addr = addr.ok_or_else(|| format!("{args:?} did not say where it listens"))?;
        Ok(Server { process, addr })
    }
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).ok()?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).ok()?;
    stream.set_write_timeout(Some(IO_TIMEOUT)).ok()?;
    Some(stream)
}

fn frame32(payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(payload);
    out
}

fn frame16(payload: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(payload.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(payload);
    out
}

/// Reads until the peer closes or goes quiet, keeping at most 64 KiB: how much came back.
fn drain(stream: &mut TcpStream) -> usize {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    while total < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    total
}

/// Reads one whole 4-byte-prefixed frame (up to 16 MiB).
fn read_frame32(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes(head) as usize;
    if len > 16 << 20 {
        return None;
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).ok()?;
    Some(payload)
}

// ---- ARKEO

fn arkeo_serves(addr: SocketAddr) -> bool {
    let Some(mut s) = connect(addr) else {
        return false;
    };
    let request = frame32(br#"{"command":"GetChannelState","indices":[0]}"#);
    s.write_all(&request).is_ok() && read_frame32(&mut s).is_some_and(|r| r.contains(&b'{'))
}

fn arkeo_all_in_one_serves(addr: SocketAddr) -> bool {
    let Some(mut s) = connect(addr) else {
        return false;
    };
    let request = frame32(br#"{"target":"DEVICE","command":"GetDeviceInfo","request_id":1}"#);
    s.write_all(&request).is_ok() && read_frame32(&mut s).is_some_and(|r| r.contains(&b'{'))
}

fn arkeo_oversized(addr: SocketAddr, _stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    let _ = s.write_all(&[0x7f, 0xff, 0xff, 0xff, b'{']);
    drain(&mut s);
    1
}

fn arkeo_repeated_indices(addr: SocketAddr, _stop: &AtomicBool) -> u64 {
    static REQUEST: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let request = REQUEST.get_or_init(|| {
        let mut json = String::from(r#"{"command":"GetChannelState","indices":["#);
        json.push_str(&vec!["0"; 700_000].join(","));
        json.push_str("]}");
        frame32(json.as_bytes())
    });
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    if s.write_all(request).is_err() {
        return 0;
    }
    drain(&mut s);
    1
}

fn arkeo_never_reads(addr: SocketAddr, stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    let request = frame32(br#"{"command":"GetChannelState","indices":[0,1,2,3]}"#);
    let mut sent = 0;
    // Until the server stops reading us (the write times out) or the flood ends.
    while !stop.load(Ordering::Relaxed) && sent < 1_000_000 {
        if s.write_all(&request).is_err() {
            break;
        }
        sent += 1;
    }
    hold(stop, Duration::from_secs(5));
    sent
}

fn arkeo_half_frame(addr: SocketAddr, stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    let _ = s.write_all(&[0, 0, 0, 100, b'{', b'"']);
    hold(stop, Duration::from_secs(5));
    1
}

fn arkeo_garbage(addr: SocketAddr, _stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    let mut bytes = frame32(&[0xff; 1000]);
    bytes.extend(frame32(
        b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    ));
    let mut deep = vec![b'['; 100_000];
    deep.extend(vec![b']'; 100_000]);
    bytes.extend(frame32(&deep));
    let _ = s.write_all(&bytes);
    drain(&mut s);
    3
}

// ---- Arctop

fn arctop_auth() -> Vec<u8> {
    frame16(br#"{"command":"auth","apiKey":"bench-key"}"#)
}

fn arctop_serves(addr: SocketAddr) -> bool {
    let Some(mut s) = connect(addr) else {
        return false;
    };
    if s.write_all(&arctop_auth()).is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // auth-success, then at least one value.
    for _ in 0..100 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&got);
        if text.contains("auth-success") && text.contains("valueChange") {
            return true;
        }
    }
    false
}

fn arctop_never_reads(addr: SocketAddr, stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    if s.write_all(&arctop_auth()).is_err() {
        return 0;
    }
    // Authenticated, then never read: the server streams as fast as it may.
    hold(stop, Duration::from_secs(5));
    1
}

fn arctop_garbage(addr: SocketAddr, _stop: &AtomicBool) -> u64 {
    let Some(mut s) = connect(addr) else {
        return 0;
    };
    let mut bytes = frame16(&[0xc0; 1000]);
    bytes.extend(frame16(b"{\"command\":\"auth\",\"apiKey\":\"wrong\"}"));
    bytes.extend([0xff, 0xff]);
    bytes.extend(vec![b'{'; 40_000]);
    let _ = s.write_all(&bytes);
    drain(&mut s);
    3
}

// ---- shared

/// Opens connections and holds them (sending nothing) for a while.
fn hold_connections(addr: SocketAddr, stop: &AtomicBool) -> u64 {
    let held: Vec<TcpStream> = (0..HELD_PER_WORKER)
        .map_while(|_| {
            (!stop.load(Ordering::Relaxed))
                .then(|| connect(addr))
                .flatten()
        })
        .collect();
    hold(stop, Duration::from_secs(5));
    held.len() as u64
}

/// Waits until the flood ends, at most `at_most`.
fn hold(stop: &AtomicBool, at_most: Duration) {
    let until = Instant::now() + at_most;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn render(outcomes: &[Outcome], seconds: u64) -> String {
    let mut note = format!(
        "### Hostile peers ({seconds} s a flood)\n\n\
         Measured by `cargo xtask bench hostile` (and `cargo xtask bench`), all on 127.0.0.1, \
         each row with fresh processes. `arrow run` is flooded by a hostile Arrow Service (the \
         arrow-client example `flood_service`) while exposing an echo server; the count is \
         the flood messages sent, and \"still serves\" means the service's echo through a \
         session came back after the flood. `arrow serve` takes {} clients in one process \
         (the example `register_storm`) registering {} services each (every one a listening \
         port), for the length of a flood; the count is the registrations, and \"still \
         serves\" means a fresh `arrow run --once` registered afterwards. The simulators are \
         attacked from {WORKERS} client threads, and a well-behaved client must be served \
         afterwards. Peak memory is the process's VmHWM; descriptors are sampled every 50 ms; \
         SIGTERM must end the process with exit 0. `cargo xtask ci` runs the same for 2 s \
         each and fails above {} of memory or above the descriptor bound: what the \
         process's default limits allow (a simulator's 64 connections, `arrow run`'s 256 \
         sessions, `arrow serve`'s 512 ports and 64 clients), plus {FD_SLACK}.\n\n\
         | Process | Flood | Hostile messages, connections or registrations | Idle memory | Peak memory | Peak descriptors (bound) | Still serves | Stops in order |\n\
         |---|---|---|---|---|---|---|---|\n",
        crate::hostile_arrow::STORM_CLIENTS,
        crate::hostile_arrow::STORM_SERVICES,
        mib(SHORT_MAX_RSS_KIB)
    );
    for o in outcomes {
        note.push_str(&format!(
            "| `{}` | {} | {} in {:.0} s | {} | {} | {} ({}) | {} | {} |\n",
            o.peer,
            o.flood,
            o.sent,
            o.seconds,
            o.idle_rss_kib.map_or_else(|| "-".to_string(), mib),
            mib(o.peak_rss_kib),
            o.peak_fds,
            o.fd_bound,
            if o.still_serves { "yes" } else { "**no**" },
            if o.stopped_in_order { "yes" } else { "**no**" },
        ));
    }
    note.push('\n');
    note
}
