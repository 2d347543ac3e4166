//! The Arrow tunnel beside a direct TLS pipe over loopback, with the same rustls setup.
//!
//! Groups (each with a `baseline-direct-tls` measured in the same run; `cargo xtask bench`
//! prints the ratio):
//! - `arrow/down-1-session`: 4 MiB from a user through the development service and the
//!   client to a local sink (which answers one byte per 64 KiB received).
//! - `arrow/up-1-session`: 4 MiB from a local source back to the user.
//! - `arrow/down-100-sessions`: 128 KiB on each of 100 sessions at once.
//! - `arrow/echo-64B`: a 64-byte round trip through the tunnel to a local echo service;
//!   baseline: the same round trip over direct TCP.
//!
//! The throughput groups also run two floors with the tunnel's hops: `relay-floor` (plain
//! copy loops, no Arrow: what the machine allows) and `window-floor` (the same plus Arrow's
//! 64 KiB per-session window: what the protocol allows). See `tunnel/relay_floor.rs` and
//! `tunnel/window_floor.rs`.
//!
//! `ARROW_BENCH_GROUPS_ONLY=1` skips the notes below (for profiling a group), and
//! `ARROW_BENCH_PROFILE=<function>` (`tunnel`, `window-floor`, ...) moves 1 GiB down that
//! one path (with `-up` appended, up; with `-100` appended, down 100 sessions) and exits
//! (for `perf stat` / `perf record`).
//!
//! Built with `RUSTFLAGS="--cfg tokio_unstable"`, `ARROW_BENCH_EAGER_HANDOFF=1` turns on
//! tokio's eager driver hand-off for the shared runtime: a worker about to run a task
//! wakes an idle one to wait in the I/O driver. Without it tokio may run a whole path on
//! one worker (docs/arrow-efficiency.md, "Where the time goes").
//!
//! Fairness: the baseline is a TLS connection made with the very same rustls client and
//! server configurations (`DevCertificates`), to servers that run the same sink, source
//! and echo code with the same buffer sizes, in the same tokio runtime as the tunnel: a
//! multi-thread runtime with 2 workers, shared by every party of every path (the user
//! side of each is driven from the bench thread with `block_on`). A thread per party was
//! tried and dropped: on 2 cores it runs the tunnel's four busy threads against the
//! baseline's two, which measures the core count rather than the tunnel. Each iteration moves
//! megabytes, so the window's ramp-up and the per-iteration wake-ups are a small part of
//! it.
//!
//! It also writes `target/bench-notes/arrow-client.md`: round-trip latency p50/p99 of the
//! tunnel, direct TCP and a bare wake-up, interleaved round by round (so the machine's
//! state falls on every path alike) with the spread over blocks; the CPU time each path
//! spends per gigabyte (a number the other load on the machine hardly moves, unlike
//! throughput); the client alone on a thread of its own, CPU per gigabyte up and down
//! beside one end of a direct TLS pipe, also against a service acknowledging each DATA
//! message, with the size of the client's upstream messages (`tunnel/client_cpu.rs`,
//! `tunnel/ack_each.rs`); one session through a userspace delay line at 20, 50 and 150 ms
//! as a fraction of 65,536 B per round trip (`tunnel/wan.rs`, `tunnel/delay_line.rs`);
//! and memory per idle session with 10,000 open sessions (the local service runs in a
//! child process so the descriptors fit). `ARROW_BENCH_NOTE=wan`, `client-cpu` or `latency`
//! runs one of those notes alone and prints it.

// The memory measurement's child process talks to its parent over stdout, and the notes
// are echoed there for whoever runs the bench by hand.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_client::client::{Client, ClientConfig};
use arrow_client::connection::ConnectionConfig;
use arrow_client::dev_service::DevCertificates;
use arrow_client::dev_service::{DevService, ServiceConfig, ServiceEvent};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use criterion::{Criterion, Throughput};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

#[path = "tunnel/ack_each.rs"]
mod ack_each;
#[path = "tunnel/client_cpu.rs"]
mod client_cpu;
#[path = "tunnel/dedicated_thread.rs"]
mod dedicated_thread;
#[path = "tunnel/delay_line.rs"]
mod delay_line;
#[path = "tunnel/hops.rs"]
mod hops;
#[path = "tunnel/interleaved.rs"]
mod interleaved;
#[path = "tunnel/relay_floor.rs"]
mod relay_floor;
#[path = "tunnel/wan.rs"]
mod wan;
#[path = "tunnel/window_floor.rs"]
mod window_floor;

use dedicated_thread::DedicatedThread;

const CHUNK: usize = 64 * 1024;
const MIB: usize = 1 << 20;
/// Bytes per iteration of the one-session groups.
const ONE_SESSION: usize = 4 * MIB;
/// `CHUNK`s per session per iteration of the 100-session group.
const PER_SESSION_CHUNKS: usize = 2;
const ROLE: &str = "ARROW_BENCH_ROLE";

/// Sink: reads forever, writes one byte per CHUNK received.
async fn sink<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = vec![0u8; CHUNK];
    let mut count = 0usize;
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                count += n;
                let acks = count / CHUNK;
                count %= CHUNK;
                // Over TLS a write may stay in the session's buffer: flush, or the sender
                // waits for an acknowledgement that never leaves.
                if acks > 0
                    && (s.write_all(&vec![1; acks]).await.is_err() || s.flush().await.is_err())
                {
                    return;
                }
            }
        }
    }
}

/// Source: for each request byte k, writes k * CHUNK bytes.
async fn source<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let block = vec![7u8; CHUNK];
    let mut req = [0u8; 1];
    while s.read_exact(&mut req).await.is_ok() {
        for _ in 0..req[0] {
            if s.write_all(&block).await.is_err() {
                return;
            }
        }
        if s.flush().await.is_err() {
            return;
        }
    }
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = vec![0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() || s.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Role {
    Sink,
    Source,
    Echo,
}

async fn serve_tcp(role: Role) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                match role {
                    Role::Sink => sink(s).await,
                    Role::Source => source(s).await,
                    Role::Echo => echo(s).await,
                }
            });
        }
    });
    addr
}

async fn serve_tls(role: Role, certs: &DevCertificates) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            s.set_nodelay(true).unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                match role {
                    Role::Sink => sink(tls).await,
                    Role::Source => source(tls).await,
                    Role::Echo => echo(tls).await,
                }
            });
        }
    });
    addr
}

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

/// A user's end of any of the paths.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

async fn dial_tls(addr: SocketAddr, certs: &DevCertificates) -> Tls {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let connector = tokio_rustls::TlsConnector::from(certs.client_config().unwrap());
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

async fn dial(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// Pushes one `CHUNK` through every stream at once, and hands the streams back.
async fn push_each<S>(streams: Vec<S>, block: &Arc<Vec<u8>>) -> Vec<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            let block = block.clone();
            tokio::spawn(async move {
                push(&mut stream, &block, PER_SESSION_CHUNKS * CHUNK).await;
                stream
            })
        })
        .collect();
    let mut back = Vec::with_capacity(tasks.len());
    for task in tasks {
        back.push(task.await.unwrap());
    }
    back
}

async fn push<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, block: &[u8], bytes: usize) {
    let acks = bytes / CHUNK;
    let mut sent = 0;
    let mut ack = vec![0u8; acks];
    let (mut r, mut w) = tokio::io::split(s);
    let write = async {
        while sent < bytes {
            let n = block.len().min(bytes - sent);
            w.write_all(&block[..n]).await.unwrap();
            sent += n;
        }
        w.flush().await.unwrap();
    };
    let read = r.read_exact(&mut ack);
    let (_, got) = tokio::join!(write, read);
    got.unwrap();
}

async fn pull<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, buf: &mut [u8], chunks: u8) {
    s.write_all(&[chunks]).await.unwrap();
    s.flush().await.unwrap();
    let mut left = chunks as usize * CHUNK;
    while left > 0 {
        let want = left.min(buf.len());
        let n = s.read(&mut buf[..want]).await.unwrap();
        assert!(n > 0);
        left -= n;
    }
}

async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, msg: &[u8], buf: &mut [u8]) {
    s.write_all(msg).await.unwrap();
    s.flush().await.unwrap();
    s.read_exact(&mut buf[..msg.len()]).await.unwrap();
}

struct Setup {
    certs: DevCertificates,
    _tunnel: Tunnel,
    /// Exposed ports by role.
    sink: u16,
    source: u16,
    echo: u16,
    tls_sink: SocketAddr,
    tls_source: SocketAddr,
    /// The relay floor's outer relays, in front of the sink and the source.
    relay_sink: u16,
    relay_source: u16,
    /// The window floor's outer relays, in front of the sink and the source.
    window_sink: u16,
    window_source: u16,
    tcp_echo: SocketAddr,
}

/// The tunnel between the user and local services: a development service and a client on
/// 127.0.0.1.
struct Tunnel {
    _service: DevService,
    /// Runs until dropped.
    _client: Client,
    /// The client's own thread, when it has one (dropped after the client).
    client_thread: Option<DedicatedThread>,
    /// The port the service exposes for each target, in order.
    ports: Vec<u16>,
}

/// How the tunnel is set up: a delay line between the client and the service (its round
/// trip), and the client on a thread of its own (to measure it alone).
#[derive(Default)]
struct TunnelOptions {
    delay: Option<Duration>,
    own_thread: bool,
}

/// A client of `server` exposing each of `targets`, and the id it gives each of them, in
/// their order (the table keeps its own).
fn client_for(
    certs: &DevCertificates,
    server: SocketAddr,
    targets: &[SocketAddr],
) -> (ClientConfig, Vec<u16>) {
    let mut specs = Vec::new();
    let mut resolved = Vec::new();
    for addr in targets {
        let spec = ServiceSpec::host_port(ServiceKind::Tcp, &addr.to_string()).unwrap();
        specs.push(spec.clone());
        resolved.push((spec, *addr));
    }
    let table = ServiceTable::new(resolved).unwrap();
    let ids = targets
        .iter()
        .map(|addr| {
            table
                .services()
                .iter()
                .find(|s| s.addr == *addr)
                .unwrap()
                .id
        })
        .collect();
    let mut config = ClientConfig::new(server.to_string(), certs.client_config().unwrap());
    config.identity = Some(Identity::generate());
    config.mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
    config.services = specs;
    config.connection = ConnectionConfig {
        max_sessions: 20_000,
        ..ConnectionConfig::default()
    };
    (config, ids)
}

/// Starts a client on the current runtime, or on `thread` (its tasks then live there).
async fn spawn_client(config: ClientConfig, thread: Option<&DedicatedThread>) -> Client {
    let spawn = move || {
        let (ctx, cevents) =
            arrow_client::client::event_queue(arrow_client::client::DEFAULT_EVENT_QUEUE);
        std::mem::forget(cevents);
        Client::spawn(config, ctx).unwrap()
    };
    match thread {
        Some(thread) => thread.spawn(async move { spawn() }).await.unwrap(),
        None => spawn(),
    }
}

/// Starts a tunnel exposing each of `targets`.
async fn start_tunnel(
    certs: &DevCertificates,
    targets: &[SocketAddr],
    options: TunnelOptions,
) -> Tunnel {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    let service = DevService::spawn(
        listener,
        ServiceConfig::new(certs.server_config().unwrap()),
        tx,
    )
    .unwrap();
    let server = match options.delay {
        Some(rtt) => delay_line::serve(service.local_addr(), rtt),
        None => service.local_addr(),
    };
    let (config, ids) = client_for(certs, server, targets);
    let client_thread = options.own_thread.then(DedicatedThread::start);
    let client = spawn_client(config, client_thread.as_ref()).await;
    let mut ports = vec![0u16; targets.len()];
    while ports.contains(&0) {
        if let Some(ServiceEvent::PortExposed { service, .. }) = events.recv().await
            && let Some(i) = ids.iter().position(|id| *id == service.svc_id)
        {
            ports[i] = service.port;
        }
    }
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    Tunnel {
        _service: service,
        _client: client,
        client_thread,
        ports,
    }
}

async fn setup() -> Setup {
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let sink_addr = serve_tcp(Role::Sink).await;
    let source_addr = serve_tcp(Role::Source).await;
    let echo_addr = serve_tcp(Role::Echo).await;
    let tunnel = start_tunnel(
        &certs,
        &[sink_addr, source_addr, echo_addr],
        TunnelOptions::default(),
    )
    .await;
    Setup {
        tls_sink: serve_tls(Role::Sink, &certs).await,
        tls_source: serve_tls(Role::Source, &certs).await,
        relay_sink: relay_floor::serve(sink_addr, &certs).await.port(),
        relay_source: relay_floor::serve(source_addr, &certs).await.port(),
        window_sink: window_floor::serve(sink_addr, &certs).await.port(),
        window_source: window_floor::serve(source_addr, &certs).await.port(),
        tcp_echo: serve_tcp(Role::Echo).await,
        certs,
        sink: tunnel.ports[0],
        source: tunnel.ports[1],
        echo: tunnel.ports[2],
        _tunnel: tunnel,
    }
}

/// The four paths of a group, in the order they run: each one's name and user connections.
type Paths = Vec<(&'static str, Vec<Box<dyn Stream>>)>;

/// `n` user connections on each path, to the sink (down) or to the source (up).
async fn dial_paths(s: &Setup, up: bool, n: usize) -> Paths {
    let (tunnel, direct, relay, window) = if up {
        (s.source, s.tls_source, s.relay_source, s.window_source)
    } else {
        (s.sink, s.tls_sink, s.relay_sink, s.window_sink)
    };
    let mut paths: Paths = [
        "tunnel",
        "baseline-direct-tls",
        "relay-floor",
        "window-floor",
    ]
    .map(|name| (name, Vec::new()))
    .into();
    for _ in 0..n {
        paths[0].1.push(Box::new(dial(tunnel).await));
        paths[1].1.push(Box::new(dial_tls(direct, &s.certs).await));
        paths[2].1.push(Box::new(dial(relay).await));
        paths[3].1.push(Box::new(dial(window).await));
    }
    paths
}

fn throughput(c: &mut Criterion, rt: &Runtime, s: &Setup) {
    let block = Arc::new(vec![0x5au8; CHUNK]);
    let mut group = c.benchmark_group("arrow/down-1-session");
    group.throughput(Throughput::Bytes(ONE_SESSION as u64));
    for (name, mut streams) in rt.block_on(dial_paths(s, false, 1)) {
        let stream = &mut streams[0];
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(push(stream, &block, ONE_SESSION)))
        });
    }
    group.finish();

    let mut buf = vec![0u8; CHUNK];
    let mut group = c.benchmark_group("arrow/up-1-session");
    group.throughput(Throughput::Bytes(ONE_SESSION as u64));
    let chunks = (ONE_SESSION / CHUNK) as u8;
    for (name, mut streams) in rt.block_on(dial_paths(s, true, 1)) {
        let stream = &mut streams[0];
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(pull(stream, &mut buf, chunks)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("arrow/down-100-sessions");
    group.throughput(Throughput::Bytes((100 * PER_SESSION_CHUNKS * CHUNK) as u64));
    group.sample_size(20);
    for (name, streams) in rt.block_on(dial_paths(s, false, 100)) {
        let mut streams = Some(streams);
        group.bench_function(name, |b| {
            b.iter(|| {
                let taken = streams.take().unwrap();
                streams = Some(rt.block_on(push_each(taken, &block)));
            })
        });
    }
    group.finish();
}

fn latency(c: &mut Criterion, rt: &Runtime, s: &Setup) -> String {
    let msg = [0x42u8; 64];
    let mut buf = [0u8; 64];
    let mut group = c.benchmark_group("arrow/echo-64B");
    let mut user = rt.block_on(dial(s.echo));
    group.bench_function("tunnel", |b| {
        b.iter(|| rt.block_on(round_trip(&mut user, &msg, &mut buf)))
    });
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut direct = rt.block_on(TcpStream::connect(s.tcp_echo)).unwrap();
    direct.set_nodelay(true).unwrap();
    group.bench_function("baseline-direct-tcp", |b| {
        b.iter(|| rt.block_on(round_trip(&mut direct, &msg, &mut buf)))
    });
    group.finish();

    // Interleaved, so that whatever the machine does meanwhile (frequency, other load,
    // where the scheduler puts the runtime's workers) falls on every path alike: each
    // round of a block takes one sample of each path, in an order that alternates.
    const BLOCKS: usize = 10;
    const ROUNDS: usize = 1_000;
    // A round trip between the bench thread and a task on the runtime over channels: the
    // wake-ups alone, without sockets or TLS.
    let (wake_tx, mut wake_rx) = mpsc::channel::<()>(1);
    let (back_tx, mut back_rx) = mpsc::channel::<()>(1);
    rt.spawn(async move {
        while wake_rx.recv().await.is_some() {
            if back_tx.send(()).await.is_err() {
                break;
            }
        }
    });
    let mut samples: [Vec<Duration>; 3] = Default::default();
    let mut added = Vec::with_capacity(BLOCKS);
    for _ in 0..BLOCKS {
        let mut block: [Vec<Duration>; 3] = Default::default();
        for round in 0..ROUNDS {
            let order = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
            for path in order {
                let start = Instant::now();
                match path {
                    0 => rt.block_on(round_trip(&mut user, &msg, &mut buf)),
                    1 => rt.block_on(round_trip(&mut direct, &msg, &mut buf)),
                    _ => rt.block_on(async {
                        wake_tx.send(()).await.unwrap();
                        back_rx.recv().await.unwrap();
                    }),
                }
                block[path].push(start.elapsed());
            }
        }
        for list in &mut block {
            list.sort();
        }
        added.push(us(block[0][ROUNDS / 2]) - us(block[1][ROUNDS / 2]));
        for (all, list) in samples.iter_mut().zip(block) {
            all.extend(list);
        }
    }
    for list in &mut samples {
        list.sort();
    }
    added.sort_by(f64::total_cmp);
    let p = |list: &[Duration], q: usize| us(list[list.len() * q / 100]);
    let [tunnel, direct, wake] = &samples;
    let added_p50 = added[BLOCKS / 2];
    format!(
        "### Arrow tunnel: round-trip latency of a 64-byte echo\n\n\
         {BLOCKS} blocks of {ROUNDS} rounds; each round takes one sample of each path, in \
         an order that alternates, so the paths share whatever else the machine does.\n\n\
         | path | p50 | p99 |\n| --- | ---: | ---: |\n\
         | user -> dev service -> TLS -> client -> local echo | {:.1} µs | {:.1} µs |\n\
         | direct TCP to the same kind of echo server | {:.1} µs | {:.1} µs |\n\
         | a wake-up round trip: bench thread to a runtime task and back, no socket | {:.1} µs | {:.1} µs |\n\n\
         Added by the tunnel at p50: **{added_p50:.1} µs** (median of the blocks; spread \
         {:.1} to {:.1} µs; aim: under 100 µs).\n\n\
         What dominates: the direct path is one wake-up round trip plus two loopback TCP \
         hops. The tunnel crosses three tasks more each way (the development service, the \
         client, and the TLS connection between them), each a wake-up and a system call or \
         two; the added {added_p50:.1} µs is about {:.1} wake-up round trips. The bytes' own \
         work (framing, TLS of 64 bytes) is small beside the hand-offs.\n",
        p(tunnel, 50),
        p(tunnel, 99),
        p(direct, 50),
        p(direct, 99),
        p(wake, 50),
        p(wake, 99),
        added[0],
        added[BLOCKS - 1],
        added_p50 / p(wake, 50),
    )
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        // Clock ticks are 1/100 s on Linux.
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}

/// CPU seconds per gigabyte of each path, every component of the path (user, development
/// service, client, local service; or the two TLS ends) being in this process.
fn cpu_cost(rt: &Runtime, s: &Setup) -> String {
    const BYTES: usize = 256 * MIB;
    const ROUNDS: usize = 3;
    let block = Arc::new(vec![0x5au8; CHUNK]);
    let mut buf = vec![0u8; CHUNK];
    let measure = |run: &mut dyn FnMut()| {
        let mut best = f64::INFINITY;
        for _ in 0..ROUNDS {
            let start = cpu_seconds();
            run();
            best = best.min((cpu_seconds() - start) / (BYTES as f64 / 1e9));
        }
        best
    };
    // Per path, in the order of `dial_paths`: tunnel, direct TLS, relay floor, window floor.
    let mut rows: Vec<(&str, Vec<f64>)> = Vec::new();
    let paths = rt.block_on(dial_paths(s, false, 1));
    let costs = paths
        .into_iter()
        .map(|(_, mut streams)| measure(&mut || rt.block_on(push(&mut streams[0], &block, BYTES))))
        .collect();
    rows.push(("down, 1 session", costs));
    let pulls = BYTES / (64 * CHUNK);
    let paths = rt.block_on(dial_paths(s, true, 1));
    let costs = paths
        .into_iter()
        .map(|(_, mut streams)| {
            measure(&mut || {
                rt.block_on(async {
                    for _ in 0..pulls {
                        pull(&mut streams[0], &mut buf, 64).await;
                    }
                })
            })
        })
        .collect();
    rows.push(("up, 1 session", costs));
    let rounds = BYTES / (100 * PER_SESSION_CHUNKS * CHUNK);
    let paths = rt.block_on(dial_paths(s, false, 100));
    let costs = paths
        .into_iter()
        .map(|(_, streams)| {
            let mut streams = Some(streams);
            measure(&mut || {
                for _ in 0..rounds {
                    streams = streams.take().map(|v| rt.block_on(push_each(v, &block)));
                }
            })
        })
        .collect();
    rows.push(("down, 100 sessions", costs));
    let mut note = String::from(
        "### Arrow tunnel: how the throughput groups are run\n\n\
         The baseline is a TLS connection made with the same rustls client and server \
         configurations as the tunnel's, to servers running the same sink, source and echo \
         code with the same buffer sizes, in the same tokio runtime: multi-thread with 2 \
         workers shared by every party of every path, the user side of each driven from \
         the bench thread (a thread per party was tried: on 2 cores it pits the tunnel's \
         four busy threads against the baseline's two). An iteration moves 4 MiB (one \
         session) or 100 x 128 KiB, so the window's ramp-up is a small part of it.\n\n\
         Two floors run beside them, to tell what the machine and the protocol allow from \
         what this implementation costs:\n\n\
         - *relay-floor*: the tunnel's hops (user, TCP, relay, TLS, relay, TCP, local \
         service) with plain copy loops and no Arrow at all, one TLS connection per user \
         connection. Nothing with these hops moves bytes faster on this machine.\n\
         - *window-floor*: the same hops, plus the one rule of Arrow that bounds a session: \
         at most 64 KiB (window_size 65535 + 1, the largest the u16 field allows) sent and \
         not yet acknowledged. A relay forwards what it reads as a 5-byte header and up to \
         32 KiB, the other writes it out and acknowledges it; no sessions, no control \
         messages. For one session this is the ceiling of any Arrow v2 tunnel here.\n\n\
         Reading the groups: a session can have only 64 KiB in flight, so one session moves \
         a window per round trip through both relays and both TLS ends, and on 2 cores \
         the parties take turns rather than overlap; the window floor shows that ceiling \
         for down and up. With 100 sessions the windows no longer bind and every party is \
         busy: throughput then follows CPU time per byte (the table below), and the relay \
         floor, which does the least work these hops allow, shows that ceiling.\n\n\
         ### Arrow tunnel: CPU time per gigabyte\n\n\
         CPU time (user + system) of the whole bench process per GB moved, best of 3 runs \
         of 256 MiB: the tunnel's four parties (user, development service, client, local \
         service) and the floors' four beside the direct TLS pipe's two. Unlike throughput, \
         the other load on the machine hardly moves it. The tunnel and the floors cross \
         loopback TCP three times where the direct pipe crosses it once; with 2 cores, \
         throughput follows CPU time per byte once both cores are busy.\n\n\
         | path | tunnel | window floor | relay floor | direct TLS |\n\
         | --- | ---: | ---: | ---: | ---: |\n",
    );
    for (name, costs) in rows {
        let [tunnel, direct, relay, window] = costs[..] else {
            continue;
        };
        note.push_str(&format!(
            "| {name} | {tunnel:.2} s/GB | {window:.2} s/GB | {relay:.2} s/GB | {direct:.2} s/GB |\n"
        ));
    }
    note
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Opens `n` idle sessions through a client whose local service is a child process, and
/// returns the growth of this process's resident memory per session.
fn idle_session_memory(rt: &Runtime, n: usize) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .env(ROLE, "idle-server")
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let local: SocketAddr = lines.next().unwrap().unwrap().parse().unwrap();

    let result = rt.block_on(async {
        let certs = DevCertificates::generate(&["localhost".into()]).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config().unwrap());
        let spec = ServiceSpec::host_port(ServiceKind::Tcp, &local.to_string()).unwrap();
        let table = ServiceTable::new(vec![(spec.clone(), local)]).unwrap();
        let svc = table.services()[0].id;
        let mut config = ClientConfig::new(
            format!("localhost:{}", server.port()),
            certs.client_config().unwrap(),
        );
        config.identity = Some(Identity::generate());
        config.mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
        config.services = vec![spec];
        config.connection = ConnectionConfig {
            max_sessions: n + 10,
            ..ConnectionConfig::default()
        };
        let (ctx, crx) =
            arrow_client::client::event_queue(arrow_client::client::DEFAULT_EVENT_QUEUE);
        drop(crx);
        let client = Client::spawn(config, ctx).unwrap();
        // A scripted service: register, then CONNECT n sessions.
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut codec = arrow_codec::ArrowCodec::new();
        let mut input = bytes::BytesMut::new();
        loop {
            if codec.decode_message(&mut input).unwrap().is_some() {
                break;
            }
            tls.read_buf(&mut input).await.unwrap();
        }
        let mut out = bytes::BytesMut::new();
        arrow_codec::ControlMessage::ack(0, arrow_codec::ErrorCode::NoError)
            .encode(&mut out)
            .unwrap();
        tls.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_bytes();
        out.clear();
        for i in 0..n {
            arrow_codec::ControlMessage::connect(i as u16, svc, i as u32 + 1)
                .encode(&mut out)
                .unwrap();
        }
        tls.write_all(&out).await.unwrap();
        tls.flush().await.unwrap();
        (tls, before, client)
    });
    let (tls, before, client) = result;
    // The child prints a line once it has accepted all n connections.
    let ready = lines.next().unwrap().unwrap();
    assert_eq!(ready, format!("accepted {n}"));
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_bytes();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    client.shutdown();
    drop(tls);
    let _ = child.kill();
    let _ = child.wait();
    format!(
        "### Arrow client: memory per idle session\n\n\
         {n} sessions opened by a scripted service over one TLS connection, each connected to \
         a local service in another process; growth of the client process's resident set \
         (sessions, their local sockets' tasks and buffers, the core's tables): \
         **{:.1} KiB per idle session** ({:.1} MiB for {n}; aim: at most 16 KiB).\n",
        per / 1024.0,
        (after.saturating_sub(before)) as f64 / MIB as f64
    )
}

/// The child process for the memory measurement: accepts and holds connections.
fn idle_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        let mut held = Vec::new();
        let target: usize = std::env::var("ARROW_BENCH_SESSIONS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000);
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
            if held.len() == target {
                println!("accepted {target}");
            }
        }
    });
}

/// Moves 1 GiB down one path (`tunnel`, `baseline-direct-tls`, `relay-floor` or
/// `window-floor`) and nothing else, for `perf stat` / `perf record`: with an `-up`
/// suffix up (`ARROW_BENCH_PROFILE=tunnel-up`), with `-100` down 100 sessions at once.
fn profile(rt: &Runtime, s: &Setup, path: &str) {
    let (name, sessions) = match path.strip_suffix("-100") {
        Some(name) => (name, 100),
        None => (path, 1),
    };
    let (name, up) = match name.strip_suffix("-up") {
        Some(name) => (name, true),
        None => (name, false),
    };
    let Some((_, mut streams)) = rt
        .block_on(dial_paths(s, up, sessions))
        .into_iter()
        .find(|(n, _)| *n == name)
    else {
        panic!("ARROW_BENCH_PROFILE: no path {name}");
    };
    assert!(
        sessions == 1 || !up,
        "ARROW_BENCH_PROFILE: 100 sessions run down only"
    );
    let start = Instant::now();
    let cpu = cpu_seconds();
    let block = Arc::new(vec![0x5au8; CHUNK]);
    let mut buf = vec![0u8; CHUNK];
    if sessions > 1 {
        let per_round = sessions * PER_SESSION_CHUNKS * CHUNK;
        for _ in 0..(1 << 30) / per_round {
            streams = rt.block_on(push_each(streams, &block));
        }
    } else if up {
        for _ in 0..(1 << 30) / (64 * CHUNK) {
            rt.block_on(pull(&mut streams[0], &mut buf, 64));
        }
    } else {
        rt.block_on(push(&mut streams[0], &block, 1 << 30));
    }
    println!(
        "{path}: 1 GiB in {:.2} s, {:.2} CPU s",
        start.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("idle-server") {
        idle_server();
        return;
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2).enable_all();
    // Built with `RUSTFLAGS="--cfg tokio_unstable"`: an idle worker always waits in the I/O
    // driver (see "Where the time goes" in docs/arrow-efficiency.md).
    #[cfg(tokio_unstable)]
    if std::env::var_os("ARROW_BENCH_EAGER_HANDOFF").is_some() {
        builder.enable_eager_driver_handoff();
    }
    let rt = builder.build().unwrap();
    // One note alone, printed (for working on it).
    match std::env::var("ARROW_BENCH_NOTE").as_deref() {
        Ok("wan") => return println!("{}", wan::note(&rt)),
        Ok("client-cpu") => return println!("{}", client_cpu::note(&rt)),
        Ok("ack-each-wan") => return println!("{}", client_cpu::wan_sizes(&rt)),
        Ok("latency" | "interleaved") => {}
        Ok(other) => {
            panic!("ARROW_BENCH_NOTE: no note {other} (wan, client-cpu, latency, interleaved)")
        }
        Err(_) => {}
    }
    let setup = rt.block_on(setup());
    if std::env::var("ARROW_BENCH_NOTE").as_deref() == Ok("interleaved") {
        return println!("{}", interleaved::note(&rt, &setup));
    }
    if std::env::var("ARROW_BENCH_NOTE").as_deref() == Ok("latency") {
        let mut c = Criterion::default()
            .warm_up_time(Duration::from_millis(200))
            .measurement_time(Duration::from_secs(1));
        return println!("{}", latency(&mut c, &rt, &setup));
    }
    if let Ok(path) = std::env::var("ARROW_BENCH_PROFILE") {
        profile(&rt, &setup, &path);
        return;
    }
    // Measured first: the later groups leave freed memory in the allocator that new
    // sessions would reuse, hiding their cost from the resident set.
    let groups_only = std::env::var_os("ARROW_BENCH_GROUPS_ONLY").is_some();
    let memory_note = if groups_only {
        String::new()
    } else {
        idle_session_memory(&rt, 10_000)
    };
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c, &rt, &setup);
    if groups_only {
        // For profiling one group: skip the notes (and their minutes of work).
        c.final_summary();
        return;
    }
    let latency_note = latency(&mut c, &rt, &setup);
    let interleaved_note = interleaved::note(&rt, &setup);
    let cpu_note = cpu_cost(&rt, &setup);
    c.final_summary();
    let client_cpu_note = client_cpu::note(&rt);
    let wan_note = wan::note(&rt);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-notes");
    let _ = std::fs::create_dir_all(&dir);
    let notes = format!(
        "{latency_note}\n{interleaved_note}\n{cpu_note}\n{client_cpu_note}\n{wan_note}\n{memory_note}"
    );
    let _ = std::fs::write(dir.join("arrow-client.md"), &notes);
    println!("{notes}");
}
