//! Tests that need a private network namespace. `cargo xtask ci` runs them inside
//! `unshare -n` with loopback up and multicast on; plain `cargo test` lists them as ignored.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

/// mDNS discovery relies on multicast over loopback inside the namespace.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_loopback_carries_multicast() {
    crate::support::assert_private_network_namespace();
    let group = Ipv4Addr::new(224, 0, 0, 251);
    let receiver = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    receiver
        .join_multicast_v4(&group, &Ipv4Addr::LOCALHOST)
        .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let port = receiver.local_addr().unwrap().port();

    let sender = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    sender.set_multicast_loop_v4(true).unwrap();
    sender
        .send_to(b"ping", SocketAddrV4::new(group, port))
        .unwrap();

    let mut buf = [0u8; 16];
    let (n, _) = receiver
        .recv_from(&mut buf)
        .expect("multicast datagram on loopback");
    assert_eq!(&buf[..n], b"ping");
}

/// The multicast tests (mDNS, LSL) share the namespace's one loopback: run them one at a
/// time, so one test's advertisements are gone (goodbye packets sent) before the next
/// browses.
pub(crate) static MULTICAST: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs an async test body on a fresh runtime with an overall bound, alone.
fn run<F: std::future::Future<Output = ()>>(body: F) {
    let _alone = MULTICAST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    crate::support::assert_private_network_namespace();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(60), body)
                .await
                .expect("test finished within 60 s");
        });
}

/// The simulator advertises itself as `ArctopService`; a browse finds it with its port and
/// address, and a client given no address discovers it and reads a whole session.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_simulator_is_discovered_and_streams() {
    use arctop::simulator::{Simulator, SimulatorConfig};
    use arctop::{ApiKey, ClientConfig, Event, Message, Target};
    use futures::StreamExt;

    run(async {
        let mut config = SimulatorConfig::new(ApiKey::new("k")).advertised();
        config.rate = 0.0;
        config.count = Some(25);
        let sim = Simulator::bind("127.0.0.1:0", config)
            .await
            .unwrap()
            .spawn()
            .unwrap();

        let server = arctop::discovery::discover_first(Duration::from_secs(20))
            .await
            .expect("the simulator is found");
        assert_eq!(server.name, "ArctopService");
        assert_eq!(server.port, sim.addr().port());
        assert!(server.addresses.contains(&sim.addr().ip()), "{server:?}");

        let mut client = ClientConfig::new(Target::Discover, ApiKey::new("k"));
        client.discover_timeout = Duration::from_secs(20);
        let mut events = arctop::connect(client);
        let (mut connected, mut values, mut complete) = (None, 0, false);
        while let Some(event) = events.next().await {
            match event.unwrap() {
                Event::Connected { addr, server } => {
                    assert_eq!(addr, sim.addr());
                    connected = server;
                }
                Event::Message(r) => match r.message {
                    Message::ValueChange { .. } => values += 1,
                    Message::SessionComplete { .. } => complete = true,
                    _ => {}
                },
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(connected.map(|s| s.name).as_deref(), Some("ArctopService"));
        assert_eq!((values, complete), (25, true));
        sim.stop().await.unwrap();
    });
}

/// Browsing reports every Arctop instance (current, renamed, legacy) with its addresses and
/// port, and ignores other `_http._tcp` services.
///
/// Linux does not loop IPv6 multicast back on `lo`, so IPv6 announcements cannot cross the
/// namespace's loopback; the conversion of IPv6 (and scoped link-local) answers is a unit
/// test in `discovery.rs`, and clients connecting over IPv6 are tested on `[::1]`.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_discovery_reports_every_instance_and_ignores_others() {
    use arctop::discovery::Advertisement;
    use std::net::IpAddr;

    run(async {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let _a = Advertisement::publish("ArctopService (2)", 4001, &[v4]).unwrap();
        let _b = Advertisement::publish("NeuosService", 4002, &[v4]).unwrap();
        let _c = Advertisement::publish("LabPrinter", 4003, &[v4]).unwrap();

        // Bounded: stop as soon as both are found, fail after the timeout.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let mut browser = arctop::discovery::Browser::start().unwrap();
        let mut found = std::collections::BTreeMap::new();
        while found.len() < 2 {
            let server = browser
                .next_until(deadline)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("only found {found:?}"));
            assert_ne!(server.name, "LabPrinter");
            found.insert(server.name.clone(), server);
        }
        let renamed = &found["ArctopService (2)"];
        assert_eq!(renamed.port, 4001);
        assert_eq!(renamed.addresses, vec![v4]);
        assert!(renamed.host.ends_with(".local."), "{}", renamed.host);
        assert_eq!(found["NeuosService"].port, 4002);
        assert_eq!(found["NeuosService"].addresses, vec![v4]);
    });
}

/// With `--reconnect` and an expected name, a dropped client browses afresh: the phone
/// (first a scripted server on 127.0.0.1) comes back as the simulator on another address
/// (127.0.0.2) and port, and the client finds it there, never the decoy with another name.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_reconnect_finds_the_server_on_its_new_address_and_port() {
    use arctop::discovery::Advertisement;
    use arctop::simulator::{Simulator, SimulatorConfig};
    use arctop::{ApiKey, Backoff, ClientConfig, Error, Event, Message, Target};
    use futures::StreamExt;
    use std::net::IpAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    run(async {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let decoy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _decoy_ad = Advertisement::publish(
            "ArctopService (2)",
            decoy.local_addr().unwrap().port(),
            &[v4],
        )
        .unwrap();

        // The phone, first life: authenticates, sends one value, then drops when told.
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let first_addr = first.local_addr().unwrap();
        let first_ad = Advertisement::publish("ArctopService", first_addr.port(), &[v4]).unwrap();
        let (drop_tx, drop_rx) = tokio::sync::oneshot::channel::<()>();
        let phone = tokio::spawn(async move {
            let (mut socket, _) = first.accept().await.unwrap();
            let mut auth = [0u8; 256];
            let _ = socket.read(&mut auth).await.unwrap();
            let mut out = crate::support::app_frame(crate::support::AUTH_SUCCESS);
            out.extend(crate::support::app_frame(
                r#"{"command":"valueChange","key":"focus","value":50}"#,
            ));
            socket.write_all(&out).await.unwrap();
            let _ = drop_rx.await;
        });

        let mut config = ClientConfig::new(Target::Discover, ApiKey::new("k"));
        config.discover_timeout = Duration::from_secs(20);
        config.expect_name = Some("ArctopService".into());
        config.announce_target = true;
        config.reconnect = Some(Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
            max_attempts: Some(20),
        });
        let mut events = arctop::connect(config);
        let mut connected = Vec::new();
        let mut sim = None;
        let mut drop_tx = Some(drop_tx);
        let mut first_ad = Some(first_ad);
        let mut values = 0;
        while let Some(event) = events.next().await {
            match event.unwrap() {
                Event::Connecting { server, .. } => {
                    assert_eq!(server.map(|s| s.name).as_deref(), Some("ArctopService"));
                }
                Event::ServerSkipped { server } => assert_eq!(server.name, "ArctopService (2)"),
                Event::Connected { addr, .. } => connected.push(addr),
                Event::Message(r) => match r.message {
                    Message::ValueChange { .. } if sim.is_none() => {
                        // The phone goes away and comes back elsewhere; then the drop.
                        drop(first_ad.take());
                        let mut sim_config = SimulatorConfig::new(ApiKey::new("k")).advertised();
                        sim_config.rate = 0.0;
                        sim_config.count = Some(5);
                        let running = Simulator::bind("127.0.0.2:0", sim_config)
                            .await
                            .unwrap()
                            .spawn()
                            .unwrap();
                        sim = Some(running);
                        drop_tx.take().unwrap().send(()).unwrap();
                    }
                    Message::ValueChange { .. } => values += 1,
                    _ => {}
                },
                Event::Reconnecting { cause, .. } => {
                    assert!(!matches!(cause, Error::AuthFailed), "{cause}");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let sim = sim.expect("the first phone streamed");
        assert_eq!(connected.first(), Some(&first_addr));
        assert_eq!(connected.last(), Some(&sim.addr()), "{connected:?}");
        assert_ne!(sim.addr().port(), first_addr.port());
        assert_eq!(values, 5);
        phone.await.unwrap();
        sim.stop().await.unwrap();
    });
}

/// With an expected name, only that instance is taken: when only others answer, the
/// error names what was found and skipped.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_expect_name_skips_other_instances_and_names_them() {
    use arctop::discovery::{Advertisement, discover_first_matching};
    use std::net::IpAddr;

    run(async {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let _other = Advertisement::publish("ArctopService (2)", 4011, &[v4]).unwrap();
        let err = discover_first_matching(Duration::from_secs(3), Some("ArctopService"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, arctop::Error::ExpectedServerNotFound { expected, found, .. }
                if expected == "ArctopService" && found == &["ArctopService (2)"]),
            "{err:?}"
        );
        let chosen = discover_first_matching(Duration::from_secs(20), Some("ArctopService (2)"))
            .await
            .unwrap();
        assert_eq!((chosen.server.port, chosen.skipped.len()), (4011, 0));
    });
}
