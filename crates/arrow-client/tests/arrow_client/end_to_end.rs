//! The client against the development service through real TLS.

use arrow_client::connection::{Event, SessionEnd};
use arrow_client::driver::ClientEvent;
use arrow_client::service::ServiceEvent;

use crate::support::*;

#[tokio::test]
async fn echo_through_the_tunnel() {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let mut client = start_client(client_config(service.addr, &certs, &[echo]));
    wait_for(&mut client.events, |e| *e == ClientEvent::Connection(Event::Registered)).await;
    let port = service.exposed_port().await;
    let back = echo_through(port, b"hello through the tunnel").await;
    assert_eq!(back, b"hello through the tunnel");
    let closed = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Connection(Event::SessionClosed { .. }))
    })
    .await;
    assert!(
        matches!(
            closed,
            ClientEvent::Connection(Event::SessionClosed { bytes_up: 24, bytes_down: 24, .. })
        ),
        "{closed:?}"
    );
    let _ = wait_for(&mut service.events, |e| matches!(e, ServiceEvent::SessionClosed { .. })).await;
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
    let closed = wait_for(&mut service.events, |e| matches!(e, ServiceEvent::SessionClosed { .. })).await;
    assert!(
        matches!(&closed, ServiceEvent::SessionClosed { reason, code: Some(3), .. } if reason == "client_hup"),
        "{closed:?}"
    );
    let end = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Connection(Event::SessionClosed { .. }))
    })
    .await;
    assert!(matches!(
        end,
        ClientEvent::Connection(Event::SessionClosed { end: SessionEnd::LocalFailed, .. })
    ));
}
