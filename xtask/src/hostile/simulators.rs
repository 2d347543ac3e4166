//! The built-in servers under attack: `arkeo serve` (both instruments) and `arctop serve`,
//! each flood from a few client threads with plain TCP, bounded reads and timeouts on every
//! socket (a server that stalls them cannot stall the benchmark).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::process::{FD_SLACK, Outcome, Server};
use crate::Result;

/// Client threads per flood.
pub(super) const WORKERS: usize = 4;
/// Every socket operation of an attacker gives up after this.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Connections one "held connections" attacker opens at most.
const HELD_PER_WORKER: usize = 200;

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

/// Every flood against every simulator.
pub(super) fn run_all(protoctl: &Path, length: Duration) -> Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
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
