//! Sequential request/reply round trips on one connection, beside raw TCP.
//!
//! Group `arkeo/round-trip`: `all-in-one` is the [`arkeo::Client`] asking the simulator
//! for `GetActiveRoutine` (request_id generation, encoding, framing, the reply's NaN
//! pre-pass, JSON parsing and classification, the simulator's own parse and reply).
//! `baseline-raw-tcp` sends the very same request bytes over a plain socket to a server that
//! reads one frame and writes back the very same reply bytes: no JSON anywhere. Both run on
//! the same single-threaded tokio runtime over 127.0.0.1; the ratio is the cost of the
//! protocol layers over the network floor.
//!
//! Latency percentiles, which criterion does not report, go to
//! `target/bench-notes/arkeo.md`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arkeo::all_in_one::main;
use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
use arkeo::{Client, Dialect};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// The request frame the client sends, and the reply frame the simulator answers with.
async fn sample_bytes(sim: SocketAddr) -> (Vec<u8>, Vec<u8>) {
    let request = main::get_active_routine()
        .request_id(1)
        .encode(Dialect::AllInOne, Some(1))
        .expect("encodes");
    let request = frame(&serde_json::to_vec(&request).expect("serializes"));
    let mut s = TcpStream::connect(sim).await.expect("connects");
    s.write_all(&request).await.expect("writes");
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.expect("reads");
    let mut payload = vec![0u8; u32::from_be_bytes(head) as usize];
    s.read_exact(&mut payload).await.expect("reads");
    (request, frame(&payload))
}

/// A server that reads one frame and answers with `reply`, for ever.
async fn raw_server(reply: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                s.set_nodelay(true).expect("nodelay");
                let mut head = [0u8; 4];
                let mut payload = Vec::new();
                while s.read_exact(&mut head).await.is_ok() {
                    payload.resize(u32::from_be_bytes(head) as usize, 0);
                    if s.read_exact(&mut payload).await.is_err()
                        || s.write_all(&reply).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn round_trip(c: &mut Criterion) {
    let rt = runtime();
    let (sim, mut client, request, reply, mut raw) = rt.block_on(async {
        let config = SimulatorConfig::new(Dialect::AllInOne).timing(Timing::fast());
        let sim = Simulator::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
            .await
            .expect("simulator");
        let client = Client::connect(&sim.local_addr().to_string(), Dialect::AllInOne)
            .await
            .expect("client");
        let (request, reply) = sample_bytes(sim.local_addr()).await;
        let raw_addr = raw_server(reply.clone()).await;
        let raw = TcpStream::connect(raw_addr).await.expect("raw client");
        raw.set_nodelay(true).expect("nodelay");
        (sim, client, request, reply, raw)
    });
    let request_get = main::get_active_routine();

    let mut group = c.benchmark_group("arkeo/round-trip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("all-in-one", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    client.request(&request_get).await.expect("reply");
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("baseline-raw-tcp", |b| {
        let mut buf = vec![0u8; reply.len()];
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    raw.write_all(&request).await.expect("write");
                    raw.read_exact(&mut buf).await.expect("read");
                }
                start.elapsed()
            })
        })
    });
    group.finish();

    // Latency percentiles over 20,000 round trips each.
    let (arkeo_lat, raw_lat) = rt.block_on(async {
        let mut a = Vec::with_capacity(20_000);
        let mut r = Vec::with_capacity(20_000);
        let mut buf = vec![0u8; reply.len()];
        for _ in 0..20_000 {
            let t = Instant::now();
            client.request(&request_get).await.expect("reply");
            a.push(t.elapsed());
            let t = Instant::now();
            raw.write_all(&request).await.expect("write");
            raw.read_exact(&mut buf).await.expect("read");
            r.push(t.elapsed());
        }
        a.sort();
        r.sort();
        (a, r)
    });
    let mut note = String::from(
        "## arkeo/round-trip latency\n\n20,000 sequential round trips on one connection \
         over 127.0.0.1 (`cargo bench -p arkeo`), GetActiveRoutine against the simulator \
         beside raw TCP with the same bytes.\n\n| path | p50 | p90 | p99 | p99.9 |\n| --- | --- | --- | --- | --- |\n",
    );
    for (name, lat) in [("all-in-one", &arkeo_lat), ("baseline-raw-tcp", &raw_lat)] {
        note.push_str(&format!(
            "| {name} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |\n",
            percentile(lat, 0.5).as_secs_f64() * 1e6,
            percentile(lat, 0.9).as_secs_f64() * 1e6,
            percentile(lat, 0.99).as_secs_f64() * 1e6,
            percentile(lat, 0.999).as_secs_f64() * 1e6,
        ));
    }
    // Interleaved, so both paths see the same machine load: the fairest ratio on a busy box.
    let (a50, r50) = (percentile(&arkeo_lat, 0.5), percentile(&raw_lat, 0.5));
    note.push_str(&format!(
        "\nMedian rate ratio (interleaved): {:.0}% of raw TCP ({:.0} vs {:.0} round trips/s).\n",
        100.0 * r50.as_secs_f64() / a50.as_secs_f64(),
        1.0 / a50.as_secs_f64(),
        1.0 / r50.as_secs_f64(),
    ));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-notes");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join("arkeo.md"), note);
    }
    drop(client);
    rt.block_on(sim.shutdown());
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
