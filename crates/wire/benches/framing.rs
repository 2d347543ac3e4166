//! Framing throughput beside a plain copy of the same bytes.
//!
//! Group `wire/small-frames`: ~100-byte frames, reported in frames/s.
//! Group `wire/large-frames`: ~60 KB frames, reported in bytes/s.
//! In each group `baseline-copy` copies the same encoded stream into a buffer, the floor a
//! framing decoder cannot beat; `cargo xtask bench` prints the ratio.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wire::{FrameCodec, PrefixWidth};

fn stream(width: PrefixWidth, payload_len: usize, count: usize) -> Vec<u8> {
    let codec = FrameCodec::new(width).with_max_payload(1 << 20);
    let payload: Vec<u8> = (0..payload_len).map(|i| b'a' + (i % 26) as u8).collect();
    let mut buf = BytesMut::new();
    for _ in 0..count {
        codec.encode_payload(&payload, &mut buf).unwrap();
    }
    buf.to_vec()
}

fn bench_group(
    c: &mut Criterion,
    name: &str,
    width: PrefixWidth,
    len: usize,
    count: usize,
    by_bytes: bool,
) {
    let bytes = stream(width, len, count);
    let mut group = c.benchmark_group(name);
    group.throughput(if by_bytes {
        Throughput::Bytes(bytes.len() as u64)
    } else {
        Throughput::Elements(count as u64)
    });
    group.bench_function("decode", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            let mut codec = FrameCodec::new(width).with_max_payload(1 << 20);
            buf.clear();
            buf.extend_from_slice(&bytes);
            let mut n = 0usize;
            while let Some(frame) = codec.decode_frame(&mut buf).unwrap() {
                n += black_box(frame).len();
            }
            n
        });
    });
    group.bench_function("baseline-copy", |b| {
        let mut buf = BytesMut::with_capacity(bytes.len());
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&bytes));
            black_box(&buf).len()
        });
    });
    group.finish();
}

fn framing(c: &mut Criterion) {
    bench_group(
        c,
        "wire/small-frames-u16",
        PrefixWidth::U16,
        100,
        1000,
        false,
    );
    bench_group(
        c,
        "wire/small-frames-u32",
        PrefixWidth::U32,
        100,
        1000,
        false,
    );
    bench_group(
        c,
        "wire/large-frames-u32",
        PrefixWidth::U32,
        60_000,
        64,
        true,
    );
}

criterion_group!(benches, framing);
criterion_main!(benches);
