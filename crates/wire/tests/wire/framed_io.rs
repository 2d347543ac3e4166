//! The codecs under tokio-util `Framed`, over an in-memory duplex pipe.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Framed, FramedRead};
use wire::{FrameCodec, FrameError, JsonCodec, PrefixWidth};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn framed_json_request_reply() {
    runtime().block_on(async {
        let (a, b) = tokio::io::duplex(64);
        let mut client: Framed<_, JsonCodec<serde_json::Value>> =
            Framed::new(a, JsonCodec::new(PrefixWidth::U32));
        let mut server: Framed<_, JsonCodec<serde_json::Value>> =
            Framed::new(b, JsonCodec::new(PrefixWidth::U32));
        let request = serde_json::json!({"command": "GET_STATUS", "payload": "x".repeat(500)});
        // The pipe holds 64 bytes: sending and receiving must run together.
        let (sent, got) = tokio::join!(client.send(request.clone()), server.next());
        sent.unwrap();
        assert_eq!(got.unwrap().unwrap(), request);
    });
}

#[test]
fn framed_eof_mid_frame_differs_from_clean_eof() {
    runtime().block_on(async {
        // Clean: one whole frame, then EOF.
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(&[0, 2, b'o', b'k']).await.unwrap();
        drop(tx);
        let mut reader = FramedRead::new(rx, FrameCodec::new(PrefixWidth::U16));
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Bytes::from_static(b"ok")
        );
        assert!(reader.next().await.is_none(), "clean end of stream");

        // Cut: the prefix promises five bytes, two arrive.
        let (mut tx, rx) = tokio::io::duplex(64);
        tx.write_all(&[0, 5, b'o', b'k']).await.unwrap();
        drop(tx);
        let mut reader = FramedRead::new(rx, FrameCodec::new(PrefixWidth::U16));
        let err = reader.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::EofMidFrame {
                    received: 4,
                    expected: 7
                }
            ),
            "{err:?}"
        );
    });
}
