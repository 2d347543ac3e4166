//! The client left alone for months, through real TLS on 127.0.0.1 against scripted
//! services: pairing retries, REDIRECT and its loops, keepalive, a certificate mismatch,
//! service-table updates, the status file, an orderly shutdown, `register_once`.

use std::time::Duration;

use arrow_client::client::ClientEvent;
use arrow_client::connection::{ConnectionConfig, Disconnect};
use arrow_client::reconnect::ReconnectPolicy;
use arrow_client::service_table::{ServiceKind, ServiceSpec, ServiceTable};
use arrow_client::status::LinkState;
use arrow_codec::{ControlBody, ControlMessage, ErrorCode, Message, Redirect};
use tokio::io::AsyncReadExt;

use crate::malicious::Scripted;
use crate::support::*;

fn redirect(to: std::net::SocketAddr) -> ControlMessage {
    ControlMessage::new(
        3,
        ControlBody::Redirect(Redirect {
            target: to.to_string(),
        }),
    )
}

/// Waits for the next attempt and returns the server it dials.
async fn next_connecting(events: &mut tokio::sync::mpsc::Receiver<ClientEvent>) -> String {
    match wait_for(events, |e| matches!(e, ClientEvent::Connecting { .. })).await {
        ClientEvent::Connecting { server } => server,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn unauthorized_is_retried_told_once_and_registers_once_paired() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.state_dir = Some(state.path().to_path_buf());
    let uuid = uuid_of(&config);
    let mut client = Spawned::start(config);

    // Three refusals: the client keeps coming back, and the status file says why.
    for attempt in 0..3 {
        let (mut peer, register) = scripted.accept_register().await;
        assert_eq!(register.uuid, uuid);
        peer.send(&ControlMessage::ack(0, ErrorCode::Unauthorized))
            .await;
        let status = wait_status(state.path(), |s| s.state == LinkState::Unauthorized).await;
        assert!(status.last_error.unwrap().contains("UNAUTHORIZED"));
        assert!(status.next_attempt.is_some(), "attempt {attempt}");
    }
    // Paired now.
    let (mut peer, _) = scripted.accept_register().await;
    peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(e) = client.events.recv().await {
            let done = e == ClientEvent::Registered;
            seen.push(e);
            if done {
                break;
            }
        }
    })
    .await
    .expect("registered in time");
    let told: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, ClientEvent::NotPaired { .. }))
        .collect();
    assert_eq!(told.len(), 1, "told once, not per attempt: {seen:?}");
    assert!(matches!(told[0], ClientEvent::NotPaired { uuid: u, .. } if *u == uuid));
    let retries = seen
        .iter()
        .filter(|e| {
            matches!(e, ClientEvent::Retrying { state, delay, .. }
                if *state == LinkState::Unauthorized && *delay >= arrow_client::reconnect::MIN_DELAY)
        })
        .count();
    assert_eq!(retries, 3);
    let status = wait_status(state.path(), |s| s.state == LinkState::Connected).await;
    assert_eq!(status.last_error, None);
    assert_eq!(status.uuid, uuid);
    assert!(client.stop().await.is_ok());
    let status = arrow_client::status::Status::read(state.path())
        .unwrap()
        .unwrap();
    assert_eq!(status.state, LinkState::Stopped);
}

#[tokio::test]
async fn redirect_is_followed_at_once_and_a_failing_target_sends_the_client_back() {
    let certs = certs();
    let home = Scripted::new(&certs).await;
    let away = Scripted::new(&certs).await;
    let mut client = Spawned::start(client_config(home.addr(), &certs, &[]));
    assert_eq!(
        next_connecting(&mut client.events).await,
        home.addr().to_string()
    );
    let (mut peer, _) = home.accept().await;
    peer.send(&redirect(away.addr())).await;
    assert_eq!(
        next_connecting(&mut client.events).await,
        away.addr().to_string()
    );
    // The redirected-to service drops the client before accepting it.
    let (peer_away, _) = away.accept_register().await;
    drop(peer_away);
    let retry = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Retrying { .. })
    })
    .await;
    assert!(
        matches!(&retry, ClientEvent::Retrying { server, .. } if *server == home.addr().to_string()),
        "{retry:?}"
    );
    assert_eq!(
        next_connecting(&mut client.events).await,
        home.addr().to_string()
    );
    let _ = home.accept().await;
}

#[tokio::test]
async fn a_redirect_loop_is_broken_and_the_client_backs_off_to_the_configured_server() {
    let certs = certs();
    let home = Scripted::new(&certs).await;
    let away = Scripted::new(&certs).await;
    let mut client = Spawned::start(client_config(home.addr(), &certs, &[]));
    let (mut peer, _) = home.accept().await;
    peer.send(&redirect(away.addr())).await;
    let (mut peer_away, _) = away.accept().await;
    peer_away.send(&redirect(home.addr())).await;
    let ignored = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::RedirectIgnored { .. })
    })
    .await;
    assert!(matches!(
        ignored,
        ClientEvent::RedirectIgnored {
            reason: "redirect loop",
            ..
        }
    ));
    let retry = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Retrying { .. })
    })
    .await;
    assert!(
        matches!(&retry, ClientEvent::Retrying { server, delay, .. }
            if *server == home.addr().to_string() && !delay.is_zero()),
        "{retry:?}"
    );
    let _ = home.accept().await;
}

#[tokio::test]
async fn a_silent_service_is_noticed_and_the_client_reconnects() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.connection = ConnectionConfig {
        ping_interval: Duration::from_millis(100),
        ping_timeout: Duration::from_millis(100),
        ..ConnectionConfig::default()
    };
    let mut client = Spawned::start(config);
    // Registered, then never a word: the PING goes unanswered.
    let (mut peer, _) = scripted.accept().await;
    let gone = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Disconnected { .. })
    })
    .await;
    assert!(
        matches!(&gone, ClientEvent::Disconnected { disconnect: Some(Disconnect::Timeout(what)), .. } if what.contains("PING")),
        "{gone:?}"
    );
    // The PING did arrive, then the client gave up on this connection.
    let mut pinged = false;
    while let Some(m) = peer.recv().await {
        pinged |= matches!(
            m,
            Message::Control(ControlMessage {
                body: ControlBody::Ping,
                ..
            })
        );
    }
    assert!(pinged);
    let _ = scripted.accept().await;
}

#[tokio::test]
async fn a_certificate_mismatch_is_a_tls_error_that_is_retried_and_reported() {
    let certs = certs();
    let other_ca = certs_other();
    let scripted = Scripted::new(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &other_ca, &[]);
    config.state_dir = Some(state.path().to_path_buf());
    // A long wait after the first failure, so the status file can be read meanwhile.
    config.reconnect = ReconnectPolicy::new(Duration::from_secs(30), Duration::from_secs(60));
    let mut client = Spawned::start(config);
    let accept = async {
        loop {
            if let Ok((tcp, _)) = scripted.listener.accept().await {
                drop(tcp);
            }
        }
    };
    let watch = async {
        let gone = wait_for(&mut client.events, |e| {
            matches!(e, ClientEvent::Disconnected { .. })
        })
        .await;
        assert!(format!("{gone:?}").contains("TLS"), "{gone:?}");
        let retry = wait_for(&mut client.events, |e| {
            matches!(e, ClientEvent::Retrying { .. })
        })
        .await;
        assert!(matches!(
            retry,
            ClientEvent::Retrying {
                state: LinkState::Disconnected,
                ..
            }
        ));
        let status = wait_status(state.path(), |s| s.state == LinkState::Disconnected).await;
        assert!(
            status.last_error.as_deref().unwrap().contains("TLS"),
            "{status:?}"
        );
        assert!(status.next_attempt.is_some());
    };
    tokio::select! {
        () = accept => unreachable!(),
        () = watch => {}
    }
    // A shutdown while waiting to retry stops at once.
    assert!(client.stop().await.is_ok());
    let status = arrow_client::status::Status::read(state.path())
        .unwrap()
        .unwrap();
    assert_eq!(status.state, LinkState::Stopped);
}

/// A CA that did not sign the scripted services' certificates.
fn certs_other() -> arrow_client::dev_service::DevCertificates {
    certs()
}

fn specs_of(addrs: &[&str]) -> Vec<ServiceSpec> {
    addrs
        .iter()
        .map(|a| ServiceSpec::host_port(ServiceKind::Tcp, a).unwrap())
        .collect()
}

fn table_of(addrs: &[&str]) -> ServiceTable {
    ServiceTable::new(
        addrs
            .iter()
            .map(|a| {
                (
                    ServiceSpec::host_port(ServiceKind::Tcp, a).unwrap(),
                    a.parse().unwrap(),
                )
            })
            .collect(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_new_table_goes_out_with_update_and_in_every_later_register() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut client = Spawned::start(client_config(
        scripted.addr(),
        &certs,
        &["127.0.0.1:7".parse().unwrap()],
    ));
    let (mut peer, _) = scripted.accept().await;
    let new = client
        .handle
        .update_services(specs_of(&["127.0.0.1:7", "127.0.0.1:8"]))
        .await
        .unwrap();
    assert_eq!(new, table_of(&["127.0.0.1:7", "127.0.0.1:8"]));
    let update = peer.recv_control().await.expect("UPDATE");
    match update.body {
        ControlBody::Update(u) => assert_eq!(u.services, new.records()),
        other => panic!("{other:?}"),
    }
    // The service answers RESET_SVC_TABLE: the client sends its table again.
    peer.send(&ControlMessage::new(9, ControlBody::ResetSvcTable))
        .await;
    let again = peer.recv_control().await.expect("UPDATE");
    assert!(matches!(again.body, ControlBody::Update(u) if u.services == new.records()));
    // The next connection registers with the new table.
    drop(peer);
    let (_peer, register) = scripted.accept_register().await;
    assert_eq!(register.services, new.records());
    wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::TableReplaced { services: 2 })
    })
    .await;
}

#[tokio::test]
async fn shutdown_delivers_what_it_holds_hangs_up_and_closes_tls_with_close_notify() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let (echo, _echo) = echo_server().await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &certs, &[echo]);
    config.state_dir = Some(state.path().to_path_buf());
    let mut client = Spawned::start(config);
    let (mut peer, svc) = scripted.accept().await;
    peer.send(&ControlMessage::connect(1, svc, 5)).await;
    let mut out = bytes::BytesMut::new();
    arrow_codec::encode_data(svc, 5, b"ping through the tunnel", &mut out).unwrap();
    peer.raw(&out).await;
    // The echo comes back: the session is live.
    let mut echoed = Vec::new();
    while echoed.len() < 23 {
        match peer.recv().await.expect("connected") {
            Message::Data(d) => echoed.extend_from_slice(&d.body),
            Message::Control(_) => {}
        }
    }
    assert_eq!(echoed, b"ping through the tunnel");
    wait_status(state.path(), |s| s.active_sessions == 1).await;

    client.handle.shutdown();
    // The open session ends with HUP 0 (it holds nothing undelivered), then TLS closes
    // cleanly. (A CONNECT while draining is refused: see the core's shutdown tests.)
    let mut hups = Vec::new();
    loop {
        match peer.recv().await {
            Some(Message::Control(ControlMessage {
                body: ControlBody::Hup(h),
                ..
            })) => {
                hups.push((h.session_id, h.error));
            }
            Some(_) => {}
            None => break,
        }
    }
    hups.sort_by_key(|h| h.0);
    assert_eq!(hups, vec![(5, ErrorCode::NoError)]);
    // `recv` ends on EOF or error; a close_notify makes the next read a clean 0.
    let mut rest = [0u8; 1];
    assert_eq!(
        peer.tls.read(&mut rest).await.unwrap(),
        0,
        "close_notify, not a reset"
    );
    assert!(client.stop().await.is_ok());
    let status = arrow_client::status::Status::read(state.path())
        .unwrap()
        .unwrap();
    assert_eq!(status.state, LinkState::Stopped);
    assert_eq!(status.active_sessions, 0);
    assert_eq!(status.bytes_up, 23);
    assert_eq!(status.bytes_down, 23);
}

#[tokio::test]
async fn register_once_says_registered_refused_or_unreachable() {
    let certs = certs();
    let (tx, _rx) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);

    let scripted = Scripted::new(&certs).await;
    let once = tokio::spawn(register_once(
        client_config(scripted.addr(), &certs, &[]),
        tx.clone(),
    ));
    let (mut peer, _) = scripted.accept().await;
    assert_eq!(peer.recv().await, None, "it leaves after the ACK");
    // The service closes its side too, so the client need not wait for it.
    drop(peer);
    assert!(
        tokio::time::timeout(WAIT, once)
            .await
            .unwrap()
            .unwrap()
            .is_ok()
    );

    for (code, expect_unsupported) in [
        (ErrorCode::Unauthorized, false),
        (ErrorCode::UnsupportedProtocolVersion, true),
    ] {
        let once = tokio::spawn(register_once(
            client_config(scripted.addr(), &certs, &[]),
            tx.clone(),
        ));
        let (mut peer, _) = scripted.accept_register().await;
        peer.send(&ControlMessage::ack(0, code)).await;
        let err = tokio::time::timeout(WAIT, once)
            .await
            .unwrap()
            .unwrap()
            .unwrap_err();
        if expect_unsupported {
            assert!(
                matches!(err, arrow_client::Error::UnsupportedVersion(_)),
                "{err}"
            );
            assert!(err.to_string().contains("protocol v2"), "{err}");
        } else {
            assert!(
                matches!(err, arrow_client::Error::Refused { code: 2, .. }),
                "{err}"
            );
        }
    }

    // Nothing listening.
    let addr = scripted.addr();
    drop(scripted);
    let err = tokio::time::timeout(WAIT, register_once(client_config(addr, &certs, &[]), tx))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, arrow_client::Error::Io { .. }), "{err}");
}

#[tokio::test]
async fn the_status_file_says_connected_only_after_the_register_ack() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.state_dir = Some(state.path().to_path_buf());
    let mut client = Spawned::start(config);
    let (mut peer, _) = scripted.accept_register().await;
    // REGISTER is in, no ACK yet: still connecting, whatever the writer does meanwhile.
    let status = wait_status(state.path(), |s| s.state == LinkState::Connecting).await;
    assert_eq!(status.server, scripted.addr().to_string());
    let connected = wait_for(&mut client.events, |e| {
        matches!(e, ClientEvent::Connected { .. })
    });
    tokio::time::timeout(WAIT, connected).await.unwrap();
    assert_eq!(
        arrow_client::status::Status::read(state.path())
            .unwrap()
            .unwrap()
            .state,
        LinkState::Connecting,
        "TLS up and REGISTER sent is not connected"
    );
    peer.send(&ControlMessage::ack(0, ErrorCode::NoError)).await;
    let status = wait_status(state.path(), |s| s.state == LinkState::Connected).await;
    assert_eq!(status.active_sessions, 0);
    assert!(client.stop().await.is_ok());
}

#[tokio::test]
async fn after_close_notify_the_client_reads_what_a_busy_service_still_sends() {
    use tokio::io::AsyncWriteExt;
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let mut client = Spawned::start(client_config(scripted.addr(), &certs, &[]));
    let (mut peer, _) = scripted.accept().await;
    wait_for(&mut client.events, |e| matches!(e, ClientEvent::Registered)).await;
    client.handle.shutdown();
    // No session open: the client closes TLS with close_notify at once.
    while peer.recv().await.is_some() {}
    let mut rest = [0u8; 1];
    assert_eq!(peer.tls.read(&mut rest).await.unwrap(), 0, "close_notify");
    // A service still writing: had the client closed its socket with these bytes unread,
    // the kernel would answer with a reset and these writes would fail (a real service
    // then loses whatever of ours it had not read yet). The client reads them and waits for
    // the service's close.
    let block = vec![0u8; 64 * 1024];
    for i in 0..16 {
        let written = tokio::time::timeout(WAIT, async {
            peer.tls.write_all(&block).await?;
            peer.tls.flush().await
        })
        .await
        .expect("the client reads in time");
        assert!(written.is_ok(), "block {i}: {written:?}");
    }
    drop(peer);
    assert!(client.stop().await.is_ok());
}

#[tokio::test]
async fn a_second_client_on_the_same_state_directory_fails_at_once_naming_the_holder() {
    let certs = certs();
    let scripted = Scripted::new(&certs).await;
    let state = tempfile::tempdir().unwrap();
    let mut config = client_config(scripted.addr(), &certs, &[]);
    config.identity = None;
    config.state_dir = Some(state.path().to_path_buf());
    let mut first = Spawned::start(config.clone());
    let (tx, _rx) = arrow_client::client::event_queue(TEST_EVENT_QUEUE);
    let err = arrow_client::client::Client::spawn(config.clone(), tx.clone()).unwrap_err();
    let arrow_client::Error::StateLocked { dir, pid } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(dir, state.path());
    assert_eq!(*pid, Some(std::process::id()));
    assert!(err.is_fatal());
    // The first one runs on, unharmed; once it stops, the directory is free again and the
    // next client has the same identity.
    let (_peer, register) = scripted.accept_register().await;
    first.stop().await.unwrap();
    let again = arrow_client::client::Client::spawn(config, tx).unwrap();
    assert_eq!(again.uuid(), register.uuid);
    assert!(!again.identity_created());
    again.shutdown();
    again.join().await.unwrap();
}
