//! The client against the development service through real TLS.

use arrow_client::client::ClientEvent;
use arrow_client::connection::SessionEnd;
use arrow_client::dev_service::ServiceEvent;

use crate::support::*;

#[tokio::test]
async fn echo_through_the_tunnel() {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let mut client = start_client(client_config(service.addr, &certs, &[echo]));
    wait_for(&mut client.events, |e| *e == ClientEvent::Registered).await;
    let port = service.exposed_port().await;
    let back = echo_through(port, b"hello through the tunnel").await;
    assert_eq!(back, b"hello through the tunnel");
    let closed = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::SessionClosed { .. })
    })
    .await;
    assert!(
        matches!(
            closed,
            ClientEvent::SessionClosed {
                bytes_up: 24,
                bytes_down: 24,
                ..
            }
        ),
        "{closed:?}"
    );
    let _ = wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::SessionClosed { .. })
    })
    .await;
}

#[tokio::test]
async fn local_service_refusing_ends_the_session_with_hup_3() {
    let certs = certs();
    // A port nothing listens on: bind, learn it, close.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut service = start_service(&certs).await;
    let mut client = start_client(client_config(service.addr, &certs, &[dead]));
    let port = service.exposed_port().await;
    let back = echo_through(port, b"anyone?").await;
    assert!(back.is_empty());
    let closed = wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::SessionClosed { .. })
    })
    .await;
    assert!(
        matches!(&closed, ServiceEvent::SessionClosed { reason, code: Some(3), .. } if reason == "client_hup"),
        "{closed:?}"
    );
    let end = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::SessionClosed { .. })
    })
    .await;
    assert!(matches!(
        end,
        ClientEvent::SessionClosed {
            end: SessionEnd::LocalFailed,
            ..
        }
    ));
}

/// Sends `len` pseudo-random bytes through the tunnel to the echo service and checks the
/// SHA-256 of what comes back against what was sent, both streams running at once.
async fn transfer_verified(port: u16, len: usize) {
    use sha2::{Digest, Sha256};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    socket.set_nodelay(true).unwrap();
    let (mut r, mut w) = socket.split();
    let write = async {
        let mut hash = Sha256::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut block = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            for chunk in block.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            let n = block.len().min(len - sent);
            hash.update(&block[..n]);
            w.write_all(&block[..n]).await.unwrap();
            sent += n;
        }
        hash.finalize()
    };
    let read = async {
        let mut hash = Sha256::new();
        let mut got = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        while got < len {
            let n = r.read(&mut chunk).await.unwrap();
            assert!(n > 0, "tunnel closed after {got} of {len} bytes");
            hash.update(&chunk[..n]);
            got += n;
        }
        hash.finalize()
    };
    let (sent, received) = tokio::time::timeout(std::time::Duration::from_secs(600), async {
        tokio::join!(write, read)
    })
    .await
    .expect("transfer timed out");
    assert_eq!(sent, received, "SHA-256 of the bytes sent and echoed back");
}

async fn large_transfer(len: usize) {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let _client = start_client(client_config(service.addr, &certs, &[echo]));
    let port = service.exposed_port().await;
    transfer_verified(port, len).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_each_way_verified_by_sha256() {
    large_transfer(16 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "1 GiB each way takes minutes in a debug build: run with --release -- --ignored"]
async fn one_gib_each_way_verified_by_sha256() {
    large_transfer(1 << 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_sessions() {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let _client = start_client(client_config(service.addr, &certs, &[echo]));
    let port = service.exposed_port().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u32 {
        tasks.spawn(async move {
            let message: Vec<u8> = (0..1024u32)
                .map(|j| (i.wrapping_mul(31) ^ j) as u8)
                .collect();
            let back = echo_through(port, &message).await;
            assert_eq!(back, message, "session {i}");
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
        done += 1;
    }
    assert_eq!(done, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_restarted_mid_transfer_the_client_reconnects() {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let addr = service.addr;
    let mut client = start_client(client_config(addr, &certs, &[echo]));
    let port = service.exposed_port().await;

    // A transfer that is cut by the restart: the user keeps sending (far more than can
    // pass before the stop) and reads the echo until the tunnel drops the connection.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const TOTAL: usize = 256 << 20;
    let socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut r, mut w) = socket.into_split();
    let writer = Guard(tokio::spawn(async move {
        let block = vec![1u8; 64 * 1024];
        let mut sent = 0;
        while sent < TOTAL && w.write_all(&block).await.is_ok() {
            sent += block.len();
        }
    }));
    let mut first = [0u8; 1];
    r.read_exact(&mut first).await.unwrap();
    service.stop().await;
    let received = tokio::time::timeout(WAIT, async {
        let mut total = 1;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut chunk).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .expect("the restart closes the user's connection");
    assert!(received < TOTAL, "the restart cut the transfer");
    drop(writer);
    let ended = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::SessionClosed { .. })
    })
    .await;
    assert!(matches!(
        ended,
        ClientEvent::SessionClosed {
            end: SessionEnd::Disconnected,
            ..
        }
    ));
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;

    // The service comes back on the same address; the client registers again and the
    // tunnel works.
    let mut service = start_service_on(addr, &certs).await;
    wait_for(&mut client.events, |e| *e == ClientEvent::Registered).await;
    let port = service.exposed_port().await;
    transfer_verified(port, 1 << 20).await;
}

#[tokio::test]
async fn an_untrusted_service_certificate_is_refused() {
    let service_certs = certs();
    let other_ca = certs();
    let service = start_service(&service_certs).await;
    let mut client = start_client(client_config(service.addr, &other_ca, &[]));
    let gone = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let ClientEvent::Disconnected { reason, .. } = gone else {
        unreachable!()
    };
    assert!(reason.contains("TLS"), "{reason}");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    // The certificate names only "localhost"; the client dials 127.0.0.1.
    let certs =
        arrow_client::dev_service::DevCertificates::generate(&["localhost".into()]).unwrap();
    let service = start_service(&certs).await;
    let mut client = start_client(client_config(service.addr, &certs, &[]));
    let gone = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    let ClientEvent::Disconnected { reason, .. } = gone else {
        unreachable!()
    };
    assert!(
        reason.contains("TLS") && reason.contains("certificate"),
        "{reason}"
    );
}

#[tokio::test]
async fn the_service_refuses_a_uuid_outside_its_allow_list() {
    let certs = certs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut config = arrow_client::dev_service::ServiceConfig::new(certs.server_config().unwrap());
    config.allow = Some([uuid::Uuid::new_v4()].into_iter().collect());
    let service = arrow_client::dev_service::DevService::spawn(listener, config, tx).unwrap();
    let mut client = start_client(client_config(service.local_addr(), &certs, &[]));
    let gone = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    assert!(format!("{gone:?}").contains("UNAUTHORIZED"), "{gone:?}");
    wait_for(&mut events, |e| {
        matches!(e, ServiceEvent::ClientRefused { .. })
    })
    .await;
    service.stop().await;
}

#[tokio::test]
async fn an_update_exposes_a_new_service_and_closes_a_dropped_one_on_the_dev_service() {
    use arrow_client::client::Client;
    let certs = certs();
    let (first, _first) = echo_server().await;
    let (second, _second) = echo_server().await;
    let mut service = start_service(&certs).await;
    let (tx, _events) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);
    let client = Client::spawn(client_config(service.addr, &certs, &[first]), tx).unwrap();
    let first_port = service.exposed_port().await;

    let table = client
        .update_services(vec![tcp_service(second)])
        .await
        .unwrap();
    assert_eq!(table.services()[0].addr, second);
    let closed = wait_for(&mut service.events, |e| {
        matches!(e, ServiceEvent::PortClosed { .. })
    })
    .await;
    let ServiceEvent::PortClosed { port, .. } = closed else {
        unreachable!()
    };
    assert_eq!(port, first_port);
    let second_port = service.exposed_port().await;
    assert_ne!(second_port, first_port);
    let back = echo_through(second_port, b"after UPDATE").await;
    assert_eq!(back, b"after UPDATE");

    client.shutdown();
    client.join().await.unwrap();
    service.stop().await;
}
