//! Demo part `arrow`: the development Arrow Service and an Arrow client on 127.0.0.1, real
//! TLS with a throwaway CA, and an HTTP request that goes through the tunnel to a small
//! local web server.

use std::net::SocketAddr;
use std::time::Duration;

use arrow_client::client::{Client, ClientConfig, ClientEvent, DEFAULT_EVENT_QUEUE, event_queue};
use arrow_client::dev_service::{DevCertificates, DevService, ServiceConfig, ServiceEvent};
use arrow_client::identity::{Identity, MacAddr};
use arrow_client::service_table::{ServiceKind, ServiceSpec};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Reporter, first_event};
use crate::exit::CliError;

const WAIT: Duration = Duration::from_secs(10);
const BODY: &str = "hello from behind the Arrow tunnel\n";

fn transport(what: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::transport(format!("{what}: {e}"))
}

/// A web server answering every request with [`BODY`].
async fn web_server() -> Result<(SocketAddr, tokio::task::JoinHandle<()>), CliError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(transport("bind 127.0.0.1"))?;
    let addr = listener.local_addr().map_err(transport("bind"))?;
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok((addr, task))
}

pub(crate) async fn run(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()])?;
    let (web, web_task) = web_server().await?;
    report.event(
        "web_server",
        json!({ "addr": web.to_string() }),
        format_args!("local web server on {web}"),
    )?;

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(transport("bind 127.0.0.1"))?;
    let (service_tx, mut service_events) = mpsc::unbounded_channel();
    let service = DevService::spawn(
        listener,
        ServiceConfig::new(certs.server_config()?),
        service_tx,
    )?;
    let server = service.local_addr();
    report.event(
        "service_listening",
        json!({ "addr": server.to_string() }),
        format_args!("development Arrow Service (TLS) on {server}"),
    )?;

    // A throwaway identity and no state directory: the demo leaves nothing behind.
    let mut config = ClientConfig::new(server.to_string(), certs.client_config()?);
    config.identity = Some(Identity::generate());
    config.mac = Some(MacAddr([0x02, 0, 0, 0, 0, 0x01]));
    config.services = vec![ServiceSpec::host_port(ServiceKind::Http, &web.to_string())?];
    let (client_tx, mut client_events) = event_queue(DEFAULT_EVENT_QUEUE);
    let client = Client::spawn(config, client_tx)?;
    let uuid = client.uuid();
    let handle = client.handle();
    let client = tokio::spawn(client.join());

    let result = async {
        first_event(
            WAIT,
            "the client to register",
            &mut client_events,
            |e| match e {
                ClientEvent::Registered => Some(()),
                ClientEvent::Disconnected { reason, .. } => {
                    tracing::warn!(%reason, "demo client disconnected");
                    None
                }
                _ => None,
            },
        )
        .await?;
        report.event(
            "client_registered",
            json!({ "uuid": uuid }),
            format_args!("client {uuid} registered over TLS"),
        )?;
        let port = first_event(WAIT, "the service port", &mut service_events, |e| match e {
            ServiceEvent::PortExposed { service, .. } => Some(service.port),
            _ => None,
        })
        .await?;
        report.event(
            "port_exposed",
            json!({ "port": port, "target": web.to_string() }),
            format_args!("the service exposes the client's HTTP service on 127.0.0.1:{port}"),
        )?;

        let mut socket = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(transport("connect to the exposed port"))?;
        let request =
            format!("GET / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n");
        socket
            .write_all(request.as_bytes())
            .await
            .map_err(transport("send the request"))?;
        let mut response = Vec::new();
        tokio::time::timeout(WAIT, socket.read_to_end(&mut response))
            .await
            .map_err(|_| CliError::transport("timed out reading the response"))?
            .map_err(transport("read the response"))?;
        let text = String::from_utf8_lossy(&response);
        let status = text.lines().next().unwrap_or_default().to_string();
        if !text.ends_with(BODY) {
            return Err(CliError::protocol(format!(
                "unexpected response through the tunnel: {text:?}"
            )));
        }
        report.event(
            "response",
            json!({ "status": status, "body": BODY.trim_end(), "bytes": response.len() }),
            format_args!("GET / through the tunnel: {status}, {:?}", BODY.trim_end()),
        )?;
        let closed = first_event(
            WAIT,
            "the session to close",
            &mut client_events,
            |e| match e {
                ClientEvent::SessionClosed {
                    bytes_up,
                    bytes_down,
                    ..
                } => Some((bytes_up, bytes_down)),
                _ => None,
            },
        )
        .await?;
        report.event(
            "session_closed",
            json!({ "bytes_up": closed.0, "bytes_down": closed.1 }),
            format_args!(
                "session closed: {} bytes up, {} bytes down",
                closed.0, closed.1
            ),
        )
    }
    .await;

    handle.shutdown();
    let _ = client.await;
    service.stop().await;
    web_task.abort();
    result?;
    report.event("done", json!({}), "service, client and web server stopped")
}
