//! The relay floor: the tunnel's hops without Arrow.

use std::net::SocketAddr;

use arrow_client::tls::DevCertificates;
use tokio::net::TcpListener;

use super::{CHUNK, dial, dial_tls};

/// The floor: the tunnel's hops without Arrow. A user's TCP connection reaches an outer
/// relay, which opens a TLS connection (same rustls configurations) to an inner relay, which
/// connects to the local service; both relays are plain copy loops with `CHUNK` buffers.
/// No implementation of the tunnel can beat this on the same machine: it crosses loopback
/// as often, encrypts and decrypts the same bytes, and adds no framing, no window and no
/// multiplexing.
pub(crate) async fn serve(target: SocketAddr, certs: &DevCertificates) -> SocketAddr {
    let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inner_addr = inner.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = inner.accept().await {
            s.set_nodelay(true).unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                let mut local = dial(target.port()).await;
                let _ =
                    tokio::io::copy_bidirectional_with_sizes(&mut tls, &mut local, CHUNK, CHUNK)
                        .await;
            });
        }
    });
    let outer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outer_addr = outer.local_addr().unwrap();
    let certs = certs.clone();
    tokio::spawn(async move {
        while let Ok((mut user, _)) = outer.accept().await {
            user.set_nodelay(true).unwrap();
            let certs = certs.clone();
            tokio::spawn(async move {
                let mut tls = dial_tls(inner_addr, &certs).await;
                let _ = tokio::io::copy_bidirectional_with_sizes(&mut user, &mut tls, CHUNK, CHUNK)
                    .await;
            });
        }
    });
    outer_addr
}
