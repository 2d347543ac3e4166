//! The tunnel's hops, for the floors: a user's TCP connection reaches an outer relay, which
//! opens a TLS connection (the tunnel's rustls configurations) to an inner relay, which
//! connects to the local service. What the relays do with the bytes is the floor's.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use arrow_client::dev_service::DevCertificates;
use tokio::net::{TcpListener, TcpStream};

use super::{Stream, dial, dial_tls};

/// One relay: its local side (the user's or the local service's connection) and its link
/// (the TLS connection to the other relay).
pub(crate) type Relay = fn(TcpStream, Box<dyn Stream>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts both relays in front of `target`; returns the outer relay's address.
pub(crate) async fn serve(target: SocketAddr, certs: &DevCertificates, relay: Relay) -> SocketAddr {
    let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inner_addr = inner.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config().unwrap());
    tokio::spawn(async move {
        while let Ok((s, _)) = inner.accept().await {
            s.set_nodelay(true).unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    relay(dial(target.port()).await, Box::new(tls)).await;
                }
            });
        }
    });
    let outer = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outer_addr = outer.local_addr().unwrap();
    let certs = certs.clone();
    tokio::spawn(async move {
        while let Ok((user, _)) = outer.accept().await {
            user.set_nodelay(true).unwrap();
            let certs = certs.clone();
            tokio::spawn(async move {
                relay(user, Box::new(dial_tls(inner_addr, &certs).await)).await;
            });
        }
    });
    outer_addr
}
