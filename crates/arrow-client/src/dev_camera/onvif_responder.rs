//! The fake camera's ONVIF WS-Discovery responder: the UDP socket on port 3702 in the
//! group 239.255.255.250, joined on the interface of the camera's address, answering each
//! matching Probe ([`onvif`](super::onvif)) unicast to its sender.
//!
//! The socket is bound with `SO_REUSEADDR`, so several fake cameras (and a real
//! WS-Discovery daemon) on one host each get every Probe and each answer for itself.
//! Nothing is ever multicast by the camera: it only answers.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::onvif::{self, Device, GROUP, MAX_DATAGRAM, PORT};
use super::{CameraConfig, CameraEvent};
use crate::Error;

/// A bound WS-Discovery socket and what the camera says about itself.
#[derive(Debug)]
pub(super) struct OnvifResponder {
    socket: UdpSocket,
    endpoint: String,
    xaddr: String,
    scopes: Vec<String>,
}

impl OnvifResponder {
    /// Binds UDP 3702 and joins the group on the interface of `ip`; the camera's device
    /// service URL is `http://ip:port/onvif/device_service`.
    pub(super) fn bind(ip: Ipv4Addr, port: u16, config: &CameraConfig) -> Result<Self, Error> {
        let context = |what: &str| format!("ONVIF WS-Discovery on UDP {PORT}: {what}");
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| Error::io(context("socket"), e))?;
        socket
            .set_reuse_address(true)
            .map_err(|e| Error::io(context("SO_REUSEADDR"), e))?;
        socket
            .bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT).into())
            .map_err(|e| Error::io(context("bind"), e))?;
        socket
            .join_multicast_v4(&GROUP, &ip)
            .map_err(|e| Error::io(context(&format!("joining {GROUP} on {ip}")), e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| Error::io(context("non-blocking"), e))?;
        let socket = UdpSocket::from_std(socket.into())
            .map_err(|e| Error::io(context("registering with tokio"), e))?;
        Ok(OnvifResponder {
            socket,
            endpoint: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            xaddr: format!("http://{ip}:{port}/onvif/device_service"),
            scopes: onvif::scopes(&config.hardware, &config.name),
        })
    }

    /// Answers Probes until the camera stops; dropping the socket leaves the group.
    pub(super) async fn run(
        self,
        events: mpsc::UnboundedSender<CameraEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut datagram = vec![0u8; MAX_DATAGRAM];
        loop {
            let received = tokio::select! {
                received = self.socket.recv_from(&mut datagram) => received,
                _ = stop.wait_for(|s| *s) => break,
            };
            match received {
                Ok((len, peer)) => {
                    let event = self
                        .answer(&datagram[..len], len == datagram.len(), peer)
                        .await;
                    let _ = events.send(event);
                }
                // An ICMP error for an earlier answer: not this socket's problem.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "fake camera: WS-Discovery socket failed; no more ONVIF answers"
                    );
                    break;
                }
            }
        }
    }

    /// Reads one datagram and answers it when it is a Probe for this camera.
    async fn answer(&self, datagram: &[u8], truncated: bool, peer: SocketAddr) -> CameraEvent {
        if truncated {
            return CameraEvent::OnvifIgnored {
                peer,
                reason: format!("a datagram of {MAX_DATAGRAM} bytes or more"),
            };
        }
        let probe = match onvif::parse_probe(datagram) {
            Ok(probe) => probe,
            Err(e) => {
                return CameraEvent::OnvifIgnored {
                    peer,
                    reason: e.to_string(),
                };
            }
        };
        let answered = probe.matches(&self.scopes);
        if answered {
            let device = Device {
                endpoint: &self.endpoint,
                xaddr: &self.xaddr,
                scopes: &self.scopes,
            };
            let message_id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
            let xml = onvif::probe_matches(&probe.message_id, &message_id, &device);
            if let Err(e) = self.socket.send_to(xml.as_bytes(), peer).await {
                tracing::warn!(error = %e, %peer, "fake camera: cannot answer a Probe");
            }
        }
        CameraEvent::OnvifProbe {
            peer,
            message_id: probe.message_id,
            answered,
        }
    }
}
