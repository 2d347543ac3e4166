//! The codec under tokio-util `Framed` over a real TCP connection on 127.0.0.1.

use std::time::Duration;

use arrow_codec::{ArrowCodec, Message};
use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::cases;

#[tokio::test]
async fn framed_stream_over_loopback_carries_every_case() {
    let messages: Vec<Message> = cases::all().into_iter().flat_map(|(_, m)| m).collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let to_send = messages.clone();
    let writer = tokio::spawn(async move {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut sink = FramedWrite::new(stream, ArrowCodec::new());
        for m in to_send {
            sink.feed(m).await.unwrap();
        }
        SinkExt::<Message>::close(&mut sink).await.unwrap();
    });
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut read = FramedRead::new(stream, ArrowCodec::new());
        let mut out = Vec::new();
        while let Some(m) = read.next().await {
            out.push(m.unwrap());
        }
        out
    })
    .await
    .expect("the stream ends within 10 s");
    writer.await.unwrap();
    assert_eq!(received, messages);
}
