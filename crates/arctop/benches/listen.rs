//! Messages per second through the `listen --json` pipeline, beside a plain decode loop of
//! the same bytes.
//!
//! Group `arctop/listen-json` (throughput in messages):
//! - `simulator-to-json-lines`: the simulator streaming at full speed (`--rate 0`) on
//!   127.0.0.1 and a client doing what `protoctl arctop listen --json > /dev/null` does:
//!   frames off the socket, modified UTF-8, JSON, typed message, the object written back as
//!   a JSON line into a 64 KiB buffered writer over a sink, flushed whenever the stream
//!   has nothing ready. In process, so neither process start-up nor clap is measured: a
//!   criterion bench of another crate cannot locate the `protoctl` binary reliably.
//! - `session-in-memory`: the same bytes, captured from the simulator once, through the
//!   frame codec, the session and the JSON-line writer, without a socket.
//! - `baseline-decode`: the same bytes through the frame codec and `serde_json` into a
//!   `Value` per frame: the floor of any client.

use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use arctop::session::{Session, Step};
use arctop::simulator::{RunningSimulator, Simulator, SimulatorConfig};
use arctop::{ApiKey, ClientConfig, Event, Target};
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{FutureExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;

/// Values per session; sessions also carry a few qa and connection messages.
const VALUES: u64 = 10_000;
const KEY: &str = "bench-key";

fn simulator(runtime: &tokio::runtime::Runtime) -> RunningSimulator {
    runtime.block_on(async {
        let mut config = SimulatorConfig::new(ApiKey::new(KEY));
        config.rate = 0.0;
        config.count = Some(VALUES);
        Simulator::bind("127.0.0.1:0", config)
            .await
            .unwrap()
            .spawn()
            .unwrap()
    })
}

/// The bytes one session puts on the wire after the auth reply, captured once.
fn capture(runtime: &tokio::runtime::Runtime, sim: &RunningSimulator) -> Vec<u8> {
    runtime.block_on(async {
        let mut socket = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let mut auth = BytesMut::new();
        Session::auth_request(&ApiKey::new(KEY), &mut auth).unwrap();
        socket.write_all(&auth).await.unwrap();
        let mut bytes = Vec::new();
        socket.read_to_end(&mut bytes).await.unwrap();
        bytes
    })
}

/// One whole session through the client, each message written as a JSON line.
async fn listen_json(addr: std::net::SocketAddr) -> u64 {
    let config = ClientConfig::new(Target::Addr(addr.to_string()), ApiKey::new(KEY));
    let mut events = arctop::connect(config);
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::sink());
    let mut messages = 0;
    loop {
        let event = match events.next().now_or_never() {
            Some(event) => event,
            None => {
                out.flush().unwrap();
                events.next().await
            }
        };
        match event {
            None => break,
            Some(Ok(Event::Message(received))) => {
                serde_json::to_writer(&mut out, &received.object).unwrap();
                out.write_all(b"\n").unwrap();
                messages += 1;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("{e}"),
        }
    }
    out.flush().unwrap();
    messages
}

fn session_in_memory(bytes: &[u8]) -> u64 {
    let mut session = Session::new(Instant::now(), Duration::from_secs(10));
    let mut codec = arctop::frame::codec();
    let mut buf = BytesMut::from(bytes);
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::sink());
    let mut messages = 0;
    while let Some(payload) = codec.decode(&mut buf).unwrap() {
        if let Step::Message(received) = session.handle_frame(&payload).unwrap() {
            serde_json::to_writer(&mut out, &received.object).unwrap();
            out.write_all(b"\n").unwrap();
            messages += 1;
        }
    }
    out.flush().unwrap();
    messages
}

fn baseline_decode(bytes: &[u8]) -> u64 {
    let mut codec = arctop::frame::codec();
    let mut buf = BytesMut::from(bytes);
    let mut frames = 0;
    while let Some(payload) = codec.decode(&mut buf).unwrap() {
        let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        black_box(value);
        frames += 1;
    }
    frames
}

fn listen(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = simulator(&runtime);
    let bytes = capture(&runtime, &sim);
    // The stream messages of a session (the auth-success frame is not one).
    let messages = baseline_decode(&bytes) - 1;
    assert_eq!(session_in_memory(&bytes), messages);
    assert_eq!(runtime.block_on(listen_json(sim.addr())), messages);

    let mut group = c.benchmark_group("arctop/listen-json");
    group.throughput(Throughput::Elements(messages));
    group.sample_size(10);
    group.bench_function("simulator-to-json-lines", |b| {
        b.iter(|| runtime.block_on(listen_json(sim.addr())));
    });
    group.bench_function("session-in-memory", |b| {
        b.iter(|| session_in_memory(black_box(&bytes)));
    });
    group.bench_function("baseline-decode", |b| {
        b.iter(|| baseline_decode(black_box(&bytes)));
    });
    group.finish();
    runtime.block_on(sim.stop()).unwrap();
}

criterion_group!(benches, listen);
criterion_main!(benches);
