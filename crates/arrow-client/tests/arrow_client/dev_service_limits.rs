//! The development service's limits, with real sockets: connections at once, a
//! connection that never finishes its handshake, services per client, a client that
//! never reads.

use std::time::Duration;

use arrow_client::dev_service::{DevService, ServiceConfig, ServiceEvent};
use arrow_codec::{
    ClientKey, ControlBody, ControlMessage, MacAddr, Register, Service, ServiceType,
};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::support::*;

async fn service_with(
    certs: &arrow_client::dev_service::DevCertificates,
    tune: impl FnOnce(&mut ServiceConfig),
) -> (DevService, mpsc::UnboundedReceiver<ServiceEvent>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = ServiceConfig::new(certs.server_config().unwrap());
    tune(&mut config);
    let (tx, events) = mpsc::unbounded_channel();
    (DevService::spawn(listener, config, tx).unwrap(), events)
}

/// Reads until the peer closes (or resets) the connection; bounded by [`WAIT`].
async fn closed_by_peer(socket: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(WAIT, async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the service closes the connection");
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_and_a_silent_one_times_out() {
    let certs = certs();
    let (service, mut events) = service_with(&certs, |c| {
        c.max_clients = 1;
        c.handshake_timeout = Duration::from_millis(200);
    })
    .await;
    // A connection that never starts TLS holds the one slot...
    let mut silent = TcpStream::connect(service.local_addr()).await.unwrap();
    let reason = wait_for(&mut events, |_| true);
    // ...so the next one is closed at once (the first is not yet timed out: the service
    // has reported nothing about it).
    let mut extra = TcpStream::connect(service.local_addr()).await.unwrap();
    closed_by_peer(&mut extra).await;
    // The silent one is closed after the handshake timeout, and said why.
    closed_by_peer(&mut silent).await;
    let ServiceEvent::ClientDisconnected { reason, .. } = reason.await else {
        panic!("a disconnection first")
    };
    assert!(reason.contains("TLS handshake timed out"), "{reason}");
    // Its slot is free again: a real client registers.
    let (echo, _echo) = echo_server().await;
    let mut client = start_client(client_config(service.local_addr(), &certs, &[echo]));
    wait_for(&mut client.events, |e| {
        *e == arrow_client::client::ClientEvent::Registered
    })
    .await;
    service.stop().await;
}

#[tokio::test]
async fn a_client_announcing_more_services_than_allowed_is_disconnected() {
    let certs = certs();
    let (service, mut events) = service_with(&certs, |c| c.max_services = 2).await;
    let echoes = [
        echo_server().await,
        echo_server().await,
        echo_server().await,
    ];
    let addrs: Vec<_> = echoes.iter().map(|(a, _)| *a).collect();
    let _client = start_client(client_config(service.local_addr(), &certs, &addrs));
    let gone = wait_for(&mut events, |e| {
        matches!(e, ServiceEvent::ClientDisconnected { .. })
    })
    .await;
    let ServiceEvent::ClientDisconnected { reason, .. } = gone else {
        unreachable!()
    };
    assert!(
        reason.contains("announced 3 services, more than the 2 allowed"),
        "{reason}"
    );
    service.stop().await;
}

/// The ports of all clients together are capped: a client whose service would need one
/// more is disconnected, and once another client leaves, its ports are free again.
#[tokio::test]
async fn exposed_ports_of_all_clients_are_capped_and_freed_when_a_client_leaves() {
    let certs = certs();
    let (service, mut events) = service_with(&certs, |c| c.max_ports = 2).await;
    let (echo_a, _a) = echo_server().await;
    let (echo_b, _b) = echo_server().await;
    let first = start_client(client_config(
        service.local_addr(),
        &certs,
        &[echo_a, echo_b],
    ));
    let ServiceEvent::ClientRegistered { client: a, .. } = wait_for(&mut events, |e| {
        matches!(e, ServiceEvent::ClientRegistered { .. })
    })
    .await
    else {
        unreachable!()
    };
    for _ in 0..2 {
        wait_for(
            &mut events,
            |e| matches!(e, ServiceEvent::PortExposed { client, .. } if *client == a),
        )
        .await;
    }
    let mut second_config = client_config(service.local_addr(), &certs, &[echo_b]);
    second_config.mac = Some(MacAddr([2, 0, 0, 0, 0, 2]));
    let _second = start_client(second_config);
    let ServiceEvent::ClientDisconnected { reason, .. } = wait_for(
        &mut events,
        |e| matches!(e, ServiceEvent::ClientDisconnected { client, .. } if *client != a),
    )
    .await
    else {
        unreachable!()
    };
    assert!(
        reason.contains("already exposes 2 ports") && reason.contains("--max-ports"),
        "{reason}"
    );
    // The first client leaves: the second (reconnecting) gets a port.
    drop(first);
    wait_for(
        &mut events,
        |e| matches!(e, ServiceEvent::ClientDisconnected { client, .. } if *client == a),
    )
    .await;
    wait_for(
        &mut events,
        |e| matches!(e, ServiceEvent::PortExposed { client, .. } if *client != a),
    )
    .await;
    service.stop().await;
}

/// A client that registers and then never reads: the users' bytes for it pile up in the
/// service until the outbox limit, then the client is dropped (and its users with it).
#[tokio::test]
async fn a_client_that_never_reads_is_dropped_when_its_outbox_is_full() {
    let certs = certs();
    let (service, mut events) = service_with(&certs, |c| c.max_outbox = 256 * 1024).await;
    let tcp = TcpStream::connect(service.local_addr()).await.unwrap();
    // Small socket buffers, so the bytes pile up in the service rather than the kernel.
    socket2::SockRef::from(&tcp)
        .set_recv_buffer_size(4096)
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(certs.client_config().unwrap());
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    let mut register = Register::new(
        uuid::Uuid::new_v4(),
        ClientKey([7; 16]),
        MacAddr([2, 0, 0, 0, 0, 9]),
    );
    register.services = vec![Service::new(1, ServiceType::Tcp, [127, 0, 0, 1].into(), 9)];
    let mut out = BytesMut::new();
    ControlMessage::new(0, ControlBody::Register(register))
        .encode(&mut out)
        .unwrap();
    tls.write_all(&out).await.unwrap();
    tls.flush().await.unwrap();
    let port = match wait_for(&mut events, |e| {
        matches!(e, ServiceEvent::PortExposed { .. })
    })
    .await
    {
        ServiceEvent::PortExposed { service, .. } => service.port,
        _ => unreachable!(),
    };
    // Users write 64 KiB each (a full window per session): 160 of them, 10 MiB in all,
    // far beyond what the socket buffers hold.
    let mut users = Vec::new();
    for _ in 0..160 {
        // Once the client is dropped its port is gone: that is the end of it.
        let Ok(mut user) = TcpStream::connect(("127.0.0.1", port)).await else {
            break;
        };
        if user.write_all(&[0x55; 64 * 1024]).await.is_err() {
            break;
        }
        users.push(user);
    }
    let gone = wait_for(&mut events, |e| {
        matches!(e, ServiceEvent::ClientDisconnected { .. })
    })
    .await;
    let ServiceEvent::ClientDisconnected { reason, .. } = gone else {
        unreachable!()
    };
    assert!(reason.contains("the client does not read"), "{reason}");
    drop(tls);
    service.stop().await;
}
