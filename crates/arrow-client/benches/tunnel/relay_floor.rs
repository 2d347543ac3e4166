//! The relay floor: the tunnel's hops ([`hops`]) with plain copy loops of `CHUNK` buffers and
//! no Arrow. No implementation of the tunnel can beat this on the same machine: it crosses
//! loopback as often, encrypts and decrypts the same bytes, and adds no framing, no window
//! and no multiplexing.

use std::net::SocketAddr;

use arrow_client::dev_service::DevCertificates;
use tokio::net::TcpStream;

use super::{CHUNK, Stream, hops};

/// Starts the two relays in front of `target`; returns the outer relay's address.
pub(crate) async fn serve(target: SocketAddr, certs: &DevCertificates) -> SocketAddr {
    hops::serve(target, certs, |local, link| Box::pin(copy(local, link))).await
}

async fn copy(mut local: TcpStream, mut link: Box<dyn Stream>) {
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut local, &mut link, CHUNK, CHUNK).await;
}
