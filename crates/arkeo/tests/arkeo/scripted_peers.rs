//! Scripted peers on 127.0.0.1 for every malformed case a real instrument can produce.

use arkeo::nonfinite::as_f64;
use arkeo::{Client, Dialect, Error, ProtocolError, Reply, Request};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::support::{connect_short, frame, read_request, scripted, within, write};

fn get() -> Request {
    Request::new("MAIN", "GetActiveRoutine")
}

/// A peer reads one request, writes `answer` (any bytes, maybe none) and closes: what the
/// client makes of it.
async fn answered_with(
    dialect: Dialect,
    request: Request,
    answer: Vec<u8>,
) -> Result<Reply, Error> {
    let (addr, peer) = scripted(move |mut s| async move {
        read_request(&mut s).await;
        write(&mut s, &answer).await;
    })
    .await;
    let mut c = connect_short(addr, dialect).await;
    let result = c.request(&request).await;
    peer.await.unwrap();
    result
}

/// A peer that reads one request and never answers, holding the connection open until
/// `done` is sent.
async fn silent_peer() -> (SocketAddr, oneshot::Sender<()>, JoinHandle<()>) {
    let (done, done_rx) = oneshot::channel::<()>();
    let (addr, peer) = scripted(move |mut s| async move {
        read_request(&mut s).await;
        let _ = done_rx.await;
    })
    .await;
    (addr, done, peer)
}

#[tokio::test]
async fn reply_fragmented_into_single_bytes() {
    within(async {
        let (addr, peer) = scripted(|mut s| async move {
            read_request(&mut s).await;
            let bytes = frame(br#"{"status":"OK","data":{"routine":null},"request_id":1}"#);
            s.set_nodelay(true).unwrap();
            for b in bytes {
                s.write_all(&[b]).await.unwrap();
                s.flush().await.unwrap();
            }
        })
        .await;
        let mut c = connect_short(addr, Dialect::AllInOne).await;
        let reply = c.request(&get()).await.unwrap();
        assert_eq!(reply.request_id(), Some(1));
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn two_mib_reply_arrives_whole() {
    within(async {
        let big = "x".repeat(2 * 1024 * 1024);
        let payload = format!(r#"{{"status":"OK","data":{{"blob":"{big}"}},"request_id":1}}"#);
        let (addr, peer) = scripted(move |mut s| async move {
            read_request(&mut s).await;
            write(&mut s, &frame(payload.as_bytes())).await;
        })
        .await;
        let mut c = Client::connect(&addr.to_string(), Dialect::AllInOne)
            .await
            .unwrap();
        let reply = c.request(&get()).await.unwrap();
        assert_eq!(
            reply.data().unwrap()["blob"].as_str().unwrap().len(),
            2 * 1024 * 1024
        );
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn connection_closed_mid_reply_is_transport() {
    within(async {
        let mut bytes = frame(br#"{"status":"OK","data":{},"request_id":1}"#);
        bytes.truncate(12);
        let err = answered_with(Dialect::AllInOne, get(), bytes)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Closed { received: 12, .. }), "{err}");
        assert!(err.is_transport());
    })
    .await;
}

#[tokio::test]
async fn connection_closed_before_reply_is_transport() {
    within(async {
        let err = answered_with(Dialect::AllInOne, get(), Vec::new())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Closed {
                    received: 0,
                    expected: 0
                }
            ),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn no_reply_times_out_and_spoils_the_connection() {
    within(async {
        let (addr, done, peer) = silent_peer().await;
        let mut c = connect_short(addr, Dialect::AllInOne).await;
        let err = c.request(&get()).await.unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("GetActiveRoutine"), "{err}");
        let again = c.request(&get()).await.unwrap_err();
        assert!(matches!(again, Error::Unusable { .. }), "{again}");
        done.send(()).unwrap();
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_request_cancelled_by_the_caller_spoils_the_connection() {
    within(async {
        let (addr, done, peer) = silent_peer().await;
        let mut c = Client::connect(&addr.to_string(), Dialect::AllInOne)
            .await
            .unwrap();
        // The caller's own, shorter timeout drops the request future mid-way.
        let cancelled = tokio::time::timeout(Duration::from_millis(50), c.request(&get())).await;
        assert!(cancelled.is_err(), "the peer never answers");
        let err = c.request(&get()).await.unwrap_err();
        assert!(matches!(err, Error::Unusable { .. }), "{err}");
        assert!(err.is_transport(), "{err}");
        done.send(()).unwrap();
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn oversize_prefix_is_a_protocol_error() {
    within(async {
        let answer = vec![0xff, 0xff, 0xff, 0xff, b'{'];
        let err = answered_with(Dialect::AllInOne, get(), answer)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::Frame(_))),
            "{err}"
        );
        assert!(err.to_string().contains("4294967295"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn non_json_reply_is_a_protocol_error() {
    within(async {
        let answer = frame(b"Not a valid command");
        let err = answered_with(Dialect::Multichannel, Request::command("X"), answer)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::NotJson { len: 19, .. })),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn pre_v05_multichannel_reply_names_the_cause() {
    within(async {
        let request = Request::command("StartMeasurement");
        let err = answered_with(Dialect::Multichannel, request, frame(b"\"OK\""))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("older than API v0.5"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn nan_and_infinity_in_data_are_accepted() {
    within(async {
        let (addr, peer) = scripted(|mut s| async move {
            let request = read_request(&mut s).await;
            let id = request["request_id"].as_u64().unwrap();
            let reply = format!(
                r#"{{"status":"ok","data":{{"FF":NaN,"Rsh":Infinity,"v":[-Infinity,0.5]}},"request_id":{id}}}"#
            );
            write(&mut s, &frame(reply.as_bytes())).await;
        })
        .await;
        let mut c = connect_short(addr, Dialect::AllInOne).await;
        let reply = c.request(&get()).await.unwrap();
        let data = reply.data().unwrap();
        assert!(as_f64(&data["FF"]).unwrap().is_nan());
        assert_eq!(as_f64(&data["Rsh"]), Some(f64::INFINITY));
        assert_eq!(as_f64(&data["v"][0]), Some(f64::NEG_INFINITY));
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn mismatched_request_id_is_a_protocol_error() {
    within(async {
        let answer = frame(br#"{"status":"OK","data":{},"request_id":77}"#);
        let err = answered_with(Dialect::AllInOne, get(), answer)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Protocol(ProtocolError::RequestIdMismatch { sent: 1, .. })
            ),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn requests_on_the_wire_follow_each_dialect() {
    within(async {
        let (addr, peer) = scripted(|mut s| async move {
            let aio = read_request(&mut s).await;
            assert_eq!(
                aio,
                serde_json::json!({"target":"MAIN","command":"GetActiveRoutine","parameter":{},"request_id":1})
            );
            write(&mut s, &frame(br#"{"status":"OK","data":{},"request_id":1}"#)).await;
        })
        .await;
        let mut c = connect_short(addr, Dialect::AllInOne).await;
        c.request(&get()).await.unwrap();
        peer.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    within(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Client::connect(&addr.to_string(), Dialect::AllInOne)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert!(err.is_transport());
    })
    .await;
}
