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
//!
//! When a release `protoctl` binary sits next to this bench's directory
//! (`target/release/protoctl`, from `cargo build --release -p protoctl`), the real commands
//! are measured too: `protoctl arctop serve --rate 0 --count N` and
//! `protoctl --json arctop listen > /dev/null`, wall time of the whole `listen` process
//! (start-up included), best of three, written to `target/bench-notes/arctop.md`.

#![allow(clippy::print_stderr)] // a bench reports to whoever runs it

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
    while let Some(payload) = codec.decode_frame(&mut buf).unwrap() {
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
    while let Some(payload) = codec.decode_frame(&mut buf).unwrap() {
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

/// The real binary end to end, when it has been built (see the module docs).
fn binary_note() {
    let Some(release) = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
    else {
        return;
    };
    let binary = release.join("protoctl");
    if !binary.exists() {
        eprintln!(
            "arctop bench: {} not built; binary measurement skipped",
            binary.display()
        );
        return;
    }
    const COUNT: &str = "200000";
    let mut serve = std::process::Command::new(&binary)
        .args([
            "--json",
            "arctop",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--api-key",
            KEY,
        ])
        .args(["--rate", "0", "--count", COUNT])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Keep draining serve's stdout: a closed pipe would end it.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(serve.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    std::thread::spawn(move || lines.for_each(drop));
    let listening: serde_json::Value = serde_json::from_str(&first).unwrap();
    let addr = listening["addr"].as_str().unwrap().to_string();
    let listen = |stdout: std::process::Stdio| {
        let started = Instant::now();
        let output = std::process::Command::new(&binary)
            .args([
                "--json",
                "arctop",
                "listen",
                "--addr",
                &addr,
                "--api-key",
                KEY,
            ])
            .stdout(stdout)
            .output()
            .unwrap();
        assert!(output.status.success());
        (started.elapsed(), output.stdout)
    };
    let (_, lines) = listen(std::process::Stdio::piped());
    let messages = lines.iter().filter(|&&b| b == b'\n').count() as f64;
    let best = (0..3)
        .map(|_| listen(std::fs::File::create("/dev/null").unwrap().into()).0)
        .min()
        .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    let rate = messages / best.as_secs_f64();
    let note = format!(
        "### arctop: `protoctl arctop listen --json > /dev/null`, real processes\n\n\
         Against `protoctl arctop serve --rate 0 --count {COUNT}` on 127.0.0.1 (release \
         binaries, both processes on this machine): {messages:.0} messages in {:.3} s, \
         **{:.0} messages/s** (whole `listen` process, start-up included, best of 3).\n",
        best.as_secs_f64(),
        rate
    );
    let dir = release.parent().unwrap().join("bench-notes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("arctop.md"), note).unwrap();
}

fn benches(c: &mut Criterion) {
    listen(c);
    binary_note();
}

criterion_group!(all, benches);
criterion_main!(all);
