//! The client alone: its CPU time per gigabyte, up and down, with the client on a thread
//! of its own (every other party runs on the shared runtime), beside one end of a direct
//! TLS pipe measured the same way; and against a service that acknowledges each DATA
//! message as it arrives ([`super::ack_each`]), the size of the client's upstream DATA
//! messages.

use std::sync::Arc;
use std::time::Duration;

use arrow_client::client::Client;
use arrow_client::dev_service::DevCertificates;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

use super::ack_each::{AckEach, Upstream};
use super::{
    CHUNK, DedicatedThread, MIB, Role, TunnelOptions, client_for, delay_line, dial, dial_tls, pull,
    push, serve_tcp, serve_tls, spawn_client, start_tunnel,
};

/// Bytes per run, and runs (the best counts: other load only ever adds).
const BYTES: usize = 256 * MIB;
const ROUNDS: usize = 3;
/// The round trip of the delay line for the upstream message sizes over a WAN.
const WAN_RTT: Duration = Duration::from_millis(20);

fn per_gb(cpu: Duration) -> f64 {
    cpu.as_secs_f64() / (BYTES as f64 / 1e9)
}

/// Down (user to local sink) and up (local source to user) through the development
/// service, the client on its own thread.
async fn via_dev_service(certs: &DevCertificates) -> (f64, f64) {
    let sink = serve_tcp(Role::Sink).await;
    let source = serve_tcp(Role::Source).await;
    let options = TunnelOptions {
        own_thread: true,
        ..TunnelOptions::default()
    };
    let tunnel = start_tunnel(certs, &[sink, source], options).await;
    let thread = tunnel.client_thread.as_ref().unwrap();
    let block = Arc::new(vec![0x5au8; CHUNK]);
    let (mut down, mut up) = (f64::INFINITY, f64::INFINITY);
    let mut user_down = dial(tunnel.ports[0]).await;
    let mut user_up = dial(tunnel.ports[1]).await;
    let mut buf = vec![0u8; CHUNK];
    for _ in 0..ROUNDS {
        let start = thread.cpu();
        push(&mut user_down, &block, BYTES).await;
        down = down.min(per_gb(thread.cpu() - start));
        let start = thread.cpu();
        for _ in 0..BYTES / (64 * CHUNK) {
            pull(&mut user_up, &mut buf, 64).await;
        }
        up = up.min(per_gb(thread.cpu() - start));
    }
    (down, up)
}

/// A client on its own thread registered with a service acknowledging each DATA message,
/// through a delay line of `delay` when there is one; the ids of the sink and the source.
async fn ack_each_client(
    certs: &DevCertificates,
    delay: Option<Duration>,
) -> (AckEach, Client, DedicatedThread, [u16; 2]) {
    let sink = serve_tcp(Role::Sink).await;
    let source = serve_tcp(Role::Source).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = match delay {
        Some(rtt) => delay_line::serve(listener.local_addr().unwrap(), rtt),
        None => listener.local_addr().unwrap(),
    };
    let (config, ids) = client_for(certs, server, &[sink, source]);
    let thread = DedicatedThread::start();
    let client = spawn_client(config, Some(&thread)).await;
    let service = AckEach::accept(&listener, certs).await;
    (service, client, thread, [ids[0], ids[1]])
}

/// Down and up against a service that acknowledges each DATA message, on loopback; with
/// the average upstream DATA message.
async fn via_ack_each(certs: &DevCertificates) -> (f64, f64, f64) {
    let (mut service, _client, thread, [sink, source]) = ack_each_client(certs, None).await;
    let mut cpu_down = f64::INFINITY;
    for _ in 0..ROUNDS {
        let start = thread.cpu();
        service.downstream(sink, BYTES as u64).await;
        cpu_down = cpu_down.min(per_gb(thread.cpu() - start));
    }
    let mut cpu_up = f64::INFINITY;
    let (mut messages, mut bytes) = (0, 0);
    for _ in 0..ROUNDS {
        let start = thread.cpu();
        let run = service.upstream(source, BYTES as u64).await;
        cpu_up = cpu_up.min(per_gb(thread.cpu() - start));
        messages += run.messages;
        bytes += run.bytes;
    }
    (cpu_down, cpu_up, bytes as f64 / messages.max(1) as f64)
}

/// The average upstream DATA message when the link is the bottleneck: the same service
/// behind a delay line of [`WAN_RTT`], 4 MiB up.
async fn ack_each_over_wan(certs: &DevCertificates) -> Upstream {
    let (mut service, _client, _thread, [_, source]) = ack_each_client(certs, Some(WAN_RTT)).await;
    service.upstream(source, 4 * MIB as u64).await
}

/// One end of a direct TLS pipe on its own thread: receiving (down) and sending (up) the
/// same bytes, to the bench's TLS source and sink.
async fn tls_end(certs: &DevCertificates) -> (f64, f64) {
    let source = serve_tls(Role::Source, certs).await;
    let sink = serve_tls(Role::Sink, certs).await;
    let thread = DedicatedThread::start();
    let (a, b) = (certs.clone(), certs.clone());
    let mut receiving = thread
        .spawn(async move { dial_tls(source, &a).await })
        .await
        .unwrap();
    let mut sending = thread
        .spawn(async move { dial_tls(sink, &b).await })
        .await
        .unwrap();
    let mut down = f64::INFINITY;
    let mut up = f64::INFINITY;
    for _ in 0..ROUNDS {
        let start = thread.cpu();
        receiving = thread
            .spawn(async move {
                let mut buf = vec![0u8; CHUNK];
                for _ in 0..BYTES / (64 * CHUNK) {
                    pull(&mut receiving, &mut buf, 64).await;
                }
                receiving
            })
            .await
            .unwrap();
        down = down.min(per_gb(thread.cpu() - start));
        let start = thread.cpu();
        sending = thread
            .spawn(async move {
                let block = vec![0x5au8; CHUNK];
                push(&mut sending, &block, BYTES).await;
                sending
            })
            .await
            .unwrap();
        up = up.min(per_gb(thread.cpu() - start));
    }
    (down, up)
}

/// The WAN part alone: messages and bytes (for working on it).
pub(crate) fn wan_sizes(rt: &Runtime) -> String {
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let wan = rt.block_on(ack_each_over_wan(&certs));
    format!("{} messages, {} bytes", wan.messages, wan.bytes)
}

pub(crate) fn note(rt: &Runtime) -> String {
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (dev_down, dev_up) = rt.block_on(via_dev_service(&certs));
    let (each_down, each_up, each_size) = rt.block_on(via_ack_each(&certs));
    let wan = rt.block_on(ack_each_over_wan(&certs));
    let wan_size = wan.bytes as f64 / wan.messages.max(1) as f64;
    let (tls_down, tls_up) = rt.block_on(tls_end(&certs));
    format!(
        "### Arrow client alone: CPU time per gigabyte\n\n\
         The client on a thread of its own (a current-thread runtime: its connection, its \
         local sockets), every other party on the shared runtime; CPU time of that thread \
         alone (the scheduler's count, `/proc/self/task/<tid>/schedstat`), best of {ROUNDS} \
         runs of {} MiB. Down: service to local sink; up: local source to service. Beside \
         it, one end of a direct TLS pipe on a thread of its own, receiving (down) or \
         sending (up) the same bytes: the TLS work any client must do, without Arrow and \
         without the local socket.\n\n\
         | service | down | up | up / down |\n\
         | --- | ---: | ---: | ---: |\n\
         | development service (DATA_ACKs coalesced to 8 KiB, a burst's tail at once) | {dev_down:.2} s/GB | {dev_up:.2} s/GB | {:.2} |\n\
         | a service acknowledging each DATA message as it arrives | {each_down:.2} s/GB | {each_up:.2} s/GB | {:.2} |\n\
         | one end of a direct TLS pipe | {tls_down:.2} s/GB | {tls_up:.2} s/GB | {:.2} |\n\n\
         Against the service acknowledging each message, the client's upstream DATA \
         messages averaged **{:.1} KiB** through a delay line of {} ms round trip, where \
         the local source is faster than the link ({} messages for {} MiB; aim: at least \
         16 KiB; a lone session reads at most 32 KiB at a time), and {:.1} KiB on \
         loopback, where the source and the service take turns \
         on 2 cores and a read often finds less than a window's worth waiting (a smaller \
         message then is what the source had: sending it at once is the rule). Upstream \
         CPU per GB was {:.2}x downstream (aim: at most 1.3x).\n",
        BYTES / MIB,
        dev_up / dev_down,
        each_up / each_down,
        tls_up / tls_down,
        wan_size / 1024.0,
        WAN_RTT.as_millis(),
        wan.messages,
        wan.bytes / MIB as u64,
        each_size / 1024.0,
        each_up / each_down,
    )
}
