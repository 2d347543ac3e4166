//! The client against scripted servers on 127.0.0.1: every edge of the wire.

use std::time::Duration;

use arctop::{Backoff, Error, Event, Message, MessageError, Reading, ValueKey};

use crate::support::{
    AUTH_SUCCESS, SESSION_COMPLETE, ScriptedPeer, Step, app_frame, collect, commands, raw_frame,
    run,
};

const VALUE: &str = r#"{"command":"valueChange","timestamp":1,"key":"focus","value":52.5}"#;

fn session_bytes() -> Vec<u8> {
    [
        AUTH_SUCCESS,
        VALUE,
        r#"{"command":"qa","passed":true}"#,
        SESSION_COMPLETE,
    ]
    .iter()
    .flat_map(|m| app_frame(m))
    .collect()
}

#[test]
fn byte_at_a_time_frames_are_reassembled() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![Step::Trickle(session_bytes())]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        assert!(matches!(events[0], Event::Connected { .. }));
        assert_eq!(commands(&events), ["valueChange", "qa", "sessionComplete"]);
    });
}

#[test]
fn coalesced_frames_in_one_write_are_all_delivered() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![Step::Write(session_bytes())]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(commands(&events), ["valueChange", "qa", "sessionComplete"]);
        let Event::Message(first) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(
            first.message,
            Message::ValueChange {
                timestamp: Some(1),
                key: ValueKey::Focus,
                value: Reading::Scalar(52.5)
            }
        );
    });
}

#[test]
fn auth_request_is_ascii_json_with_the_key() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![Step::Write(session_bytes())]]).await;
        let (_, error) = collect(peer.config("ключ-😀")).await;
        assert!(error.is_none());
        let auths = peer.auths().await;
        assert!(
            auths[0].is_ascii(),
            "{:?}",
            String::from_utf8_lossy(&auths[0])
        );
        let auth: serde_json::Value = serde_json::from_slice(&auths[0]).unwrap();
        assert_eq!(
            auth,
            serde_json::json!({"command": "auth", "apiKey": "ключ-😀"})
        );
    });
}

#[test]
fn modified_utf8_vectors_decode() {
    run(async {
        // An emoji as a surrogate pair (6 bytes) and NUL as C0 80, as Java's writeUTF does.
        let text =
            "{\"command\":\"error\",\"errorCode\":-3,\"message\":\"bad key 😀 \\u0000 \0 end\"}";
        let frame = app_frame(text);
        assert!(frame.windows(6).any(|w| w == b"\xED\xA0\xBD\xED\xB8\x80"));
        assert!(frame.windows(2).any(|w| w == b"\xC0\x80"));
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(frame);
        bytes.extend(app_frame(SESSION_COMPLETE));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        let Event::Message(received) = &events[1] else {
            panic!("{events:?}")
        };
        let Message::Error { message, .. } = &received.message else {
            panic!("{received:?}")
        };
        assert_eq!(message, "bad key 😀 \0 \0 end");
    });
}

#[test]
fn largest_frame_of_65535_bytes_is_delivered() {
    run(async {
        let head = r#"{"command":"bigThing","pad":""#;
        let tail = r#""}"#;
        let pad = "x".repeat(65_535 - head.len() - tail.len());
        let text = format!("{head}{pad}{tail}");
        assert_eq!(text.len(), 65_535);
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(app_frame(&text));
        bytes.extend(app_frame(SESSION_COMPLETE));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        let Event::Message(received) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(received.message.command(), "bigThing");
        assert_eq!(received.object["pad"].as_str().unwrap().len(), pad.len());
        assert_eq!(commands(&events), ["bigThing", "sessionComplete"]);
    });
}

#[test]
fn invalid_json_mid_stream_is_reported_and_skipped() {
    run(async {
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(app_frame(VALUE));
        bytes.extend(raw_frame(b"{\"command\":\"valueCh"));
        bytes.extend(raw_frame(b"\xFF\xFE not text"));
        bytes.extend(app_frame(VALUE));
        bytes.extend(app_frame(SESSION_COMPLETE));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(
            commands(&events),
            ["valueChange", "valueChange", "sessionComplete"]
        );
        let skipped: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Skipped { len, error } => Some((*len, error.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(skipped.len(), 2);
        assert!(matches!(skipped[0], (19, MessageError::Json { .. })));
        assert!(matches!(skipped[1], (11, MessageError::Encoding(_))));
    });
}

#[test]
fn drop_mid_frame_is_a_lost_connection_naming_the_frame() {
    run(async {
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(app_frame(VALUE));
        bytes.extend([0, 100]);
        bytes.extend([b'{'; 10]);
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert_eq!(commands(&events), ["valueChange"]);
        assert!(
            matches!(
                error,
                Some(Error::ConnectionLost {
                    during_auth: false,
                    inside_frame: Some((12, 102))
                })
            ),
            "{error:?}"
        );
    });
}

#[test]
fn drop_between_frames_before_session_complete_is_a_lost_connection() {
    run(async {
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(app_frame(VALUE));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (_, error) = collect(peer.config("k")).await;
        assert!(
            matches!(
                error,
                Some(Error::ConnectionLost {
                    during_auth: false,
                    inside_frame: None
                })
            ),
            "{error:?}"
        );
    });
}

#[test]
fn auth_failed_is_a_refusal_and_never_retried() {
    run(async {
        // One connection only: a retry would find nobody listening... or hang the script.
        let peer = ScriptedPeer::start(vec![vec![Step::Write(app_frame(
            r#"{"command":"auth-failed"}"#,
        ))]])
        .await;
        let mut config = peer.config("wrong");
        config.reconnect = Some(Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(1),
            max_attempts: None,
        });
        let (events, error) = collect(config).await;
        assert!(events.is_empty(), "{events:?}");
        assert!(matches!(error, Some(Error::AuthFailed)), "{error:?}");
        assert_eq!(peer.auths().await.len(), 1, "exactly one attempt");
    });
}

#[test]
fn no_auth_reply_within_the_timeout_is_an_auth_timeout() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![Step::HoldOpen]]).await;
        let mut config = peer.config("k");
        config.auth_timeout = Duration::from_millis(200);
        let (events, error) = collect(config).await;
        assert!(events.is_empty());
        assert!(
            matches!(error, Some(Error::AuthTimeout { after }) if after == Duration::from_millis(200)),
            "{error:?}"
        );
    });
}

#[test]
fn close_before_the_auth_reply_is_a_lost_connection_during_auth() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![]]).await;
        let (_, error) = collect(peer.config("k")).await;
        assert!(
            matches!(
                error,
                Some(Error::ConnectionLost {
                    during_auth: true,
                    ..
                })
            ),
            "{error:?}"
        );
    });
}

#[test]
fn data_before_the_auth_reply_is_a_protocol_error() {
    run(async {
        let peer = ScriptedPeer::start(vec![vec![Step::Write(app_frame(VALUE))]]).await;
        let (_, error) = collect(peer.config("k")).await;
        let error = error.unwrap();
        assert!(error.is_peer_fault(), "{error}");
    });
}

#[test]
fn challenge_before_the_auth_reply_is_tolerated() {
    run(async {
        let mut bytes = app_frame(r#"{"command":"challenge","challenge_data":"x"}"#);
        bytes.extend(session_bytes());
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let (events, error) = collect(peer.config("k")).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(commands(&events), ["valueChange", "qa", "sessionComplete"]);
    });
}

#[test]
fn oversize_frame_over_a_lower_limit_is_a_protocol_error() {
    run(async {
        let mut bytes = app_frame(AUTH_SUCCESS);
        bytes.extend(raw_frame(&[b' '; 200]));
        let peer = ScriptedPeer::start(vec![vec![Step::Write(bytes)]]).await;
        let mut config = peer.config("k");
        config.max_payload = 100;
        let (_, error) = collect(config).await;
        assert!(
            matches!(
                error,
                Some(Error::OversizeFrame {
                    announced: 200,
                    max: 100
                })
            ),
            "{error:?}"
        );
    });
}

#[test]
fn reconnect_after_a_drop_starts_a_new_session() {
    run(async {
        let mut first = app_frame(AUTH_SUCCESS);
        first.extend(app_frame(VALUE));
        let peer = ScriptedPeer::start(vec![
            vec![Step::Write(first)],
            vec![Step::Write(session_bytes())],
        ])
        .await;
        let mut config = peer.config("k");
        config.reconnect = Some(Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(10),
            max_attempts: Some(3),
        });
        let (events, error) = collect(config).await;
        assert!(error.is_none(), "{error:?}");
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                Event::Connected { .. } => "connected",
                Event::Message(_) => "message",
                Event::Reconnecting { .. } => "reconnecting",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "connected",
                "message",
                "reconnecting",
                "connected",
                "message",
                "message",
                "message"
            ]
        );
        assert!(matches!(
            &events[2],
            Event::Reconnecting {
                attempt: 1,
                cause: Error::ConnectionLost { .. },
                ..
            }
        ));
        assert_eq!(peer.auths().await.len(), 2);
    });
}

#[test]
fn reconnect_gives_up_after_max_attempts() {
    run(async {
        // A port nobody listens on: bind, note the port, close.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut config = arctop::ClientConfig::new(
            arctop::Target::Addr(addr.to_string()),
            arctop::ApiKey::new("k"),
        );
        config.reconnect = Some(Backoff {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
            max_attempts: Some(2),
        });
        let (events, error) = collect(config).await;
        let attempts: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                Event::Reconnecting { attempt, .. } => Some(*attempt),
                _ => None,
            })
            .collect();
        assert_eq!(attempts, [1, 2]);
        assert!(matches!(error, Some(Error::Connect { .. })), "{error:?}");
    });
}

#[test]
fn unresolvable_host_is_a_resolve_error() {
    run(async {
        let config = arctop::ClientConfig::new(
            arctop::Target::Addr("no-port-here".into()),
            arctop::ApiKey::new("k"),
        );
        let (_, error) = collect(config).await;
        assert!(matches!(error, Some(Error::Resolve { .. })), "{error:?}");
    });
}
