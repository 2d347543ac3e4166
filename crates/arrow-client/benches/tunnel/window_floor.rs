//! The window floor: the tunnel's hops and the Arrow window, and nothing else.
//!
//! On the tunnel's hops ([`hops`]), each relay forwards what it reads from its local side
//! as `[0][len u32][bytes]` and may have at most [`WINDOW`] bytes unacknowledged, like one
//! Arrow session; the other relay writes them to its local side and answers `[1][len u32]`. No service table, no session
//! ids, no control messages: what is left is what the protocol's 64 KiB window costs on
//! this machine, which no implementation of the tunnel can avoid.

use std::net::SocketAddr;

use arrow_client::dev_service::DevCertificates;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{CHUNK, hops};

/// What one Arrow session may have in flight: window_size 65535 + 1.
const WINDOW: usize = 65536;
/// Largest frame: of 4, 8, 16, 32 and 64 KiB, 32 KiB moved the most here (two frames in
/// flight overlap one relay's work with the other's).
const FRAME: usize = 32 * 1024;
const HEADER: usize = 5;
const DATA: u8 = 0;
const ACK: u8 = 1;

/// Starts the two relays in front of `target`; returns the outer relay's address.
pub(crate) async fn serve(target: SocketAddr, certs: &DevCertificates) -> SocketAddr {
    hops::serve(target, certs, |local, link| Box::pin(relay(local, link))).await
}

/// Forwards `local` over `link` within the window, and `link`'s data frames to `local`.
async fn relay<L, T>(local: L, link: T)
where
    L: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (mut local_rx, mut local_tx) = tokio::io::split(local);
    let (mut link_rx, mut link_tx) = tokio::io::split(link);
    let mut credit = WINDOW;
    // Reads land after room for the header, so a frame is one write.
    let mut out = vec![0u8; HEADER + FRAME];
    let mut input = bytes::BytesMut::with_capacity(2 * (HEADER + CHUNK));
    loop {
        tokio::select! {
            read = local_rx.read(&mut out[HEADER..HEADER + credit.min(FRAME)]), if credit > 0 => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                credit -= n;
                out[0] = DATA;
                out[1..HEADER].copy_from_slice(&(n as u32).to_be_bytes());
                if link_tx.write_all(&out[..HEADER + n]).await.is_err()
                    || link_tx.flush().await.is_err()
                {
                    return;
                }
            }
            read = link_rx.read_buf(&mut input) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
                let mut acked = 0usize;
                while input.len() >= HEADER {
                    let len = u32::from_be_bytes(input[1..HEADER].try_into().unwrap()) as usize;
                    match input[0] {
                        ACK => {
                            credit += len;
                            let _ = input.split_to(HEADER);
                        }
                        _ if input.len() >= HEADER + len => {
                            let frame = input.split_to(HEADER + len);
                            if local_tx.write_all(&frame[HEADER..]).await.is_err() {
                                return;
                            }
                            acked += len;
                        }
                        _ => break,
                    }
                }
                if acked > 0 {
                    let mut ack = [ACK, 0, 0, 0, 0];
                    ack[1..].copy_from_slice(&(acked as u32).to_be_bytes());
                    if link_tx.write_all(&ack).await.is_err() || link_tx.flush().await.is_err() {
                        return;
                    }
                }
                input.reserve(HEADER + CHUNK);
            }
        }
    }
}
