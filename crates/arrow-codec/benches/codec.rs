//! Arrow codec throughput beside a plain copy of the same bytes.
//!
//! Group `arrow/control-messages`: a mix of 1,000 control messages (PING, ACK, DATA_ACK,
//! HUP, STATUS, CONNECT), decoded and encoded, reported in messages/s.
//! Group `arrow/data-16k`: 64 data messages of 16 KiB, decoded (body handed out without a
//! copy) and encoded, reported in bytes/s.
//! In each group `baseline-copy` copies the same encoded stream into a buffer, the floor a
//! decoder cannot beat; `cargo xtask bench` prints the ratio.

use std::hint::black_box;

use arrow_codec::{ArrowCodec, ControlMessage, ErrorCode, StatusFlags, encode_data};
use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::Decoder;

fn control_messages(count: usize) -> Vec<ControlMessage> {
    (0..count)
        .map(|i| {
            let id = i as u16;
            let session = (i as u32 * 7919) & 0xff_ffff;
            match i % 6 {
                0 => ControlMessage::ping(id),
                1 => ControlMessage::ack(id, ErrorCode::NoError),
                2 => ControlMessage::data_ack(id, session, 16384),
                3 => ControlMessage::hup(id, session, ErrorCode::ConnectionError),
                4 => ControlMessage::status(id, id, StatusFlags::default(), 3),
                _ => ControlMessage::connect(id, 1, session),
            }
        })
        .collect()
}

/// `baseline-copy`: the encoded stream copied into a reused buffer, nothing decoded.
fn baseline_copy(group: &mut BenchmarkGroup<'_, WallTime>, bytes: &[u8]) {
    group.bench_function("baseline-copy", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(bytes));
            black_box(&buf).len()
        });
    });
}

/// Decodes the whole stream, feeding it as one buffer (the copy into it is included, as in
/// the baseline).
fn bench_decode(group: &mut BenchmarkGroup<'_, WallTime>, bytes: &[u8]) {
    group.bench_function("decode", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            let mut codec = ArrowCodec::new();
            buf.clear();
            buf.extend_from_slice(bytes);
            let mut n = 0usize;
            while let Some(msg) = codec.decode(&mut buf).unwrap() {
                black_box(&msg);
                n += 1;
            }
            n
        });
    });
}

fn bench_control(c: &mut Criterion) {
    let messages = control_messages(1000);
    let mut stream = BytesMut::new();
    for m in &messages {
        m.encode(&mut stream).unwrap();
    }
    let bytes = stream.to_vec();
    let mut group = c.benchmark_group("arrow/control-messages");
    group.throughput(Throughput::Elements(messages.len() as u64));
    bench_decode(&mut group, &bytes);
    group.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            buf.clear();
            for m in &messages {
                m.encode(&mut buf).unwrap();
            }
            black_box(&buf).len()
        });
    });
    baseline_copy(&mut group, &bytes);
    group.finish();
}

fn bench_data(c: &mut Criterion) {
    const BODY: usize = 16 * 1024;
    const COUNT: usize = 64;
    let body: Vec<u8> = (0..BODY).map(|i| (i % 251) as u8).collect();
    let mut stream = BytesMut::new();
    for i in 0..COUNT {
        encode_data(1, i as u32, &body, &mut stream).unwrap();
    }
    let bytes = stream.to_vec();
    let mut group = c.benchmark_group("arrow/data-16k");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    bench_decode(&mut group, &bytes);
    group.bench_function("encode", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            buf.clear();
            for i in 0..COUNT {
                encode_data(1, i as u32, black_box(&body), &mut buf).unwrap();
            }
            black_box(&buf).len()
        });
    });
    baseline_copy(&mut group, &bytes);
    group.finish();
}

criterion_group!(benches, bench_control, bench_data);
criterion_main!(benches);
