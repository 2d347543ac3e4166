//! Service host names are resolved on each connection attempt, inside the reconnect loop:
//! a host that resolves only later is used without a restart, a host that moves is
//! registered at its new address, and with `once` a host that does not resolve is a
//! transport error at once.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arrow_client::client::ClientEvent;
use arrow_client::resolve::Resolve;
use arrow_client::service_table::{ServiceKind, ServiceSpec};
use arrow_client::status::LinkState;
use arrow_codec::{ControlMessage, ErrorCode};
use futures::future::BoxFuture;

use crate::malicious::Scripted;
use crate::support::*;

/// A DNS the test controls: `cam.test` resolves to the address set last, or not at all.
#[derive(Clone, Default)]
struct Dns {
    answer: Arc<Mutex<Option<SocketAddr>>>,
}

impl Dns {
    fn set(&self, addr: Option<SocketAddr>) {
        *self.answer.lock().unwrap() = addr;
    }
}

impl Resolve for Dns {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        let answer = *self.answer.lock().unwrap();
        Box::pin(async move {
            match answer {
                Some(addr) if host == "cam.test" => Ok(vec![SocketAddr::new(addr.ip(), port)]),
                _ => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no such host (yet)",
                )),
            }
        })
    }
}

fn camera(port: u16) -> ServiceSpec {
    ServiceSpec::host_port(ServiceKind::Tcp, &format!("cam.test:{port}")).unwrap()
}

#[tokio::test]
async fn a_host_that_starts_resolving_later_is_used_without_a_restart() {
    let certs = certs();
    let (echo, _echo) = echo_server().await;
    let mut service = start_service(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let dns = Dns::default();
    let mut config = client_config(service.addr, &certs, &[]);
    config.services = vec![camera(echo.port())];
    config.resolver = Arc::new(dns.clone());
    config.state_dir = Some(state.path().to_path_buf());
    let mut client = Spawned::start(config);

    // Not resolvable: each attempt says so and the status file tells why; nothing dials.
    for _ in 0..2 {
        let event = wait_for(&mut client.events, |e| {
            matches!(
                e,
                ClientEvent::ServiceUnresolved { .. } | ClientEvent::Connecting { .. }
            )
        })
        .await;
        let ClientEvent::ServiceUnresolved { host, error, .. } = event else {
            panic!("dialed before the services resolved: {event:?}");
        };
        assert_eq!(host, "cam.test");
        assert!(error.contains("cannot resolve service cam.test"), "{error}");
    }
    let status = wait_status(state.path(), |s| s.last_error.is_some()).await;
    assert_eq!(status.state, LinkState::Disconnected);
    assert!(status.next_attempt.is_some());

    // DNS comes up: the next attempt resolves, starts, registers, and sessions reach it.
    dns.set(Some(echo));
    let started = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Started { .. })
    })
    .await;
    let ClientEvent::Started { services, .. } = started else {
        unreachable!()
    };
    assert_eq!(services[0].addr, echo);
    wait_for(&mut client.events, |e| *e == ClientEvent::Registered).await;
    let port = service.exposed_port().await;
    assert_eq!(echo_through(port, b"resolved late").await, b"resolved late");
    client.stop().await.unwrap();
    service.stop().await;
}

#[tokio::test]
async fn each_attempt_resolves_again_and_registers_the_new_address() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let dns = Dns::default();
    let (first, second): (SocketAddr, SocketAddr) = (
        "127.0.0.7:554".parse().unwrap(),
        "127.0.0.8:554".parse().unwrap(),
    );
    dns.set(Some(first));
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.services = vec![camera(554)];
    config.resolver = Arc::new(dns.clone());
    let mut client = Spawned::start(config);

    let (mut peer, register) = scripted.accept_register().await;
    assert_eq!(register.services[0].ip, first.ip());
    peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
    wait_for(&mut client.events, |e| *e == ClientEvent::Registered).await;

    // The camera moves; the connection drops; the next REGISTER carries the new address.
    dns.set(Some(second));
    drop(peer);
    let (_peer, register) = scripted.accept_register().await;
    assert_eq!(register.services[0].ip, second.ip());
    assert_eq!(register.services[0].port, 554);
    // `started` is said once, for the first resolution (it would come before the dial).
    while let Ok(event) = client.events.try_recv() {
        assert!(!matches!(event, ClientEvent::Started { .. }), "{event:?}");
    }
}

#[tokio::test]
async fn with_once_a_host_that_does_not_resolve_fails_at_once_as_a_transport_error() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.services = vec![camera(554)];
    config.resolver = Arc::new(Dns::default());
    let (tx, _rx) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);
    let err = tokio::time::timeout(WAIT, register_once(config, tx))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, arrow_client::Error::Unresolved { host, .. } if host == "cam.test"),
        "{err:?}"
    );
    assert!(
        !err.is_fatal(),
        "DNS may come up later: not a configuration error"
    );
}
