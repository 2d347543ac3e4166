//! Demo part `discovery`: fake cameras of several kinds on loopback addresses (127.0.0.x,
//! never another network), one scan of those addresses that types each of them, then an
//! Arrow client with discovery on, against the development service: the cameras it found
//! join its table, and an MJPEG stream goes through the tunnel.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use arrow_client::client::{Client, ClientConfig, ClientEvent, DEFAULT_EVENT_QUEUE, event_queue};
use arrow_client::dev_camera::{CameraConfig, CameraKind, FakeCamera};
use arrow_client::dev_service::{DevCertificates, DevService, ServiceConfig, ServiceEvent};
use arrow_client::discovery::{self, ScanConfig, report::type_name};
use arrow_client::identity::{Identity, MacAddr};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Reporter, first_event};
use crate::exit::CliError;

const WAIT: Duration = Duration::from_secs(20);

/// The cameras: a loopback address each, RTSP kinds on one port, HTTP kinds on another.
const CAMERAS: [(u8, CameraKind); 4] = [
    (61, CameraKind::RtspH264),
    (62, CameraKind::RtspLocked),
    (63, CameraKind::Mjpeg),
    (64, CameraKind::Http),
];

fn local(what: &str) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::local(format!("{what}: {e}"))
}

/// A port free on the first camera's address (and, nearly always, on the others').
async fn free_port() -> Result<u16, CliError> {
    let probe = TcpListener::bind((Ipv4Addr::new(127, 0, 0, CAMERAS[0].0), 0))
        .await
        .map_err(local("bind 127.0.0.x"))?;
    Ok(probe.local_addr().map_err(local("bind"))?.port())
}

pub(crate) async fn run(report: &mut Reporter<'_>) -> Result<(), CliError> {
    let (rtsp_port, http_port) = (free_port().await?, free_port().await?);
    let mut cameras = Vec::new();
    for (host, kind) in CAMERAS {
        let port = if kind.is_rtsp() { rtsp_port } else { http_port };
        let addr = SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(local("bind a camera"))?;
        let (tx, _rx) = mpsc::unbounded_channel();
        let camera = FakeCamera::spawn(listener, CameraConfig::new(kind), tx)?;
        report.event(
            "camera",
            json!({ "kind": kind.name(), "url": camera.url() }),
            format_args!("fake camera {} at {}", kind.name(), camera.url()),
        )?;
        cameras.push(camera);
    }
    let first = CAMERAS[0].0;
    let last = CAMERAS[CAMERAS.len() - 1].0;
    let targets = (first..=last)
        .map(|host| ipnet::Ipv4Net::from(Ipv4Addr::new(127, 0, 0, host)))
        .collect();
    // Loopback only, and no multicast: the demo never touches another network.
    let scan = ScanConfig {
        targets,
        rtsp_ports: vec![rtsp_port],
        http_ports: vec![http_port],
        onvif: false,
        ..ScanConfig::default()
    };
    let result = discovery::scan(&scan, &|_| {}).await?;
    for service in &result.services {
        let kind = type_name(service.service_type);
        report.event(
            "found",
            json!({ "type": kind, "addr": service.addr.to_string(), "path": service.path }),
            format_args!(
                "scan found {kind} at {}{}",
                service.addr,
                if service.path.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", service.path)
                }
            ),
        )?;
    }

    // A client with discovery on: what it finds joins its table, the service exposes it.
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()])?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(local("bind 127.0.0.1"))?;
    let (service_tx, mut service_events) = mpsc::unbounded_channel();
    let service = DevService::spawn(
        listener,
        ServiceConfig::new(certs.server_config()?),
        service_tx,
    )?;
    let mut config = ClientConfig::new(service.local_addr().to_string(), certs.client_config()?);
    config.identity = Some(Identity::generate());
    config.mac = Some(MacAddr([0x02, 0, 0, 0, 0, 0x02]));
    config.discovery = Some(scan);
    let (client_tx, mut client_events) = event_queue(DEFAULT_EVENT_QUEUE);
    let client = Client::spawn(config, client_tx)?;
    let handle = client.handle();
    let client = tokio::spawn(client.join());

    let result = async {
        let (services, cut_short) =
            first_event(WAIT, "the client's scan", &mut client_events, |e| match e {
                ClientEvent::ScanFinished {
                    services,
                    cut_short,
                    ..
                } => Some((services, cut_short)),
                _ => None,
            })
            .await?;
        report.event(
            "client_scan",
            json!({ "services": services, "cut_short": cut_short }),
            format_args!("the client's own scan found {services} service(s); they join its table"),
        )?;
        let mjpeg = SocketAddr::from((Ipv4Addr::new(127, 0, 0, CAMERAS[2].0), http_port));
        let port = first_event(
            WAIT,
            "the MJPEG camera's port on the service",
            &mut service_events,
            |e| match e {
                ServiceEvent::PortExposed { service, .. }
                    if service.target.starts_with(&format!("{mjpeg}/")) =>
                {
                    Some(service.port)
                }
                _ => None,
            },
        )
        .await?;
        report.event(
            "port_exposed",
            json!({ "port": port, "target": mjpeg.to_string() }),
            format_args!("the service exposes the MJPEG camera {mjpeg} on 127.0.0.1:{port}"),
        )?;
        let frame = first_jpeg(port).await?;
        report.event(
            "stream",
            json!({ "bytes": frame }),
            format_args!("MJPEG through the tunnel: a whole JPEG frame of {frame} bytes"),
        )
    }
    .await;

    handle.shutdown();
    let _ = client.await;
    service.stop().await;
    for camera in cameras {
        camera.stop().await;
    }
    result?;
    report.event("done", json!({}), "cameras, service and client stopped")
}

/// GETs the MJPEG stream through the tunnel and reads until the first whole JPEG (from
/// SOI to EOI); its size.
async fn first_jpeg(port: u16) -> Result<usize, CliError> {
    let transport =
        |what: &'static str| move |e: std::io::Error| CliError::transport(format!("{what}: {e}"));
    let mut socket = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(transport("connect to the exposed port"))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n",
        CameraKind::Mjpeg.default_path()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(transport("send the request"))?;
    let mut seen = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    tokio::time::timeout(WAIT, async {
        while seen.len() < 4 * 1024 * 1024 {
            let n = socket
                .read(&mut chunk)
                .await
                .map_err(transport("read the stream"))?;
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&chunk[..n]);
            let start = seen.windows(2).position(|w| w == [0xff, 0xd8]);
            if let Some(start) = start
                && let Some(end) = seen[start..].windows(2).position(|w| w == [0xff, 0xd9])
            {
                return Ok(end + 2);
            }
        }
        Err(CliError::protocol(
            "the stream ended before a whole JPEG frame",
        ))
    })
    .await
    .map_err(|_| CliError::transport("timed out reading the stream"))?
}
