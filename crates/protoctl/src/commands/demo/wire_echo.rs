//! Demo part `wire`: a JSON echo peer over 4-byte frames, and a client sending to it.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use wire::{JsonCodec, PrefixWidth};

use super::Reporter;
use crate::exit::CliError;

type JsonFramed = Framed<TcpStream, JsonCodec<Value>>;

pub(crate) async fn run(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| CliError::transport(format!("cannot bind 127.0.0.1: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::transport(e.to_string()))?;
    let peer = tokio::spawn(async move {
        let (socket, _) = listener.accept().await?;
        let mut framed: JsonFramed = Framed::new(socket, JsonCodec::new(PrefixWidth::U32));
        while let Some(message) = framed.next().await {
            framed.send(message?).await?;
        }
        Ok::<(), wire::JsonFrameError>(())
    });
    report.event(
        "peer_listening",
        json!({ "addr": addr.to_string() }),
        format_args!("echo peer listening on {addr}"),
    )?;

    let socket = TcpStream::connect(addr)
        .await
        .map_err(|e| CliError::transport(format!("cannot connect to {addr}: {e}")))?;
    let mut client: JsonFramed = Framed::new(socket, JsonCodec::new(PrefixWidth::U32));
    let messages = [
        json!({ "hello": "protoctl" }),
        json!({ "values": [1, 2.5, -3], "nested": { "ok": true } }),
        json!({ "text": "ünïcödé ✓" }),
    ];
    for message in messages {
        client.send(message.clone()).await?;
        let echoed = client
            .next()
            .await
            .ok_or_else(|| CliError::transport("echo peer closed the connection"))??;
        if echoed != message {
            return Err(CliError::protocol(format!(
                "echo differs: sent {message}, got {echoed}"
            )));
        }
        report.event(
            "echoed",
            json!({ "message": echoed }),
            format_args!("sent and received back {echoed}"),
        )?;
    }
    drop(client);
    peer.await
        .map_err(|e| CliError::local(format!("echo peer task failed: {e}")))??;
    report.event("done", json!({}), "echo peer closed cleanly")
}
