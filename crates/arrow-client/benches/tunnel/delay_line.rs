//! A userspace delay line: a TCP relay that holds every chunk it reads for half a round
//! trip before writing it on, in each direction, so the tunnel runs as if over a WAN.
//!
//! Plain threads and blocking sockets rather than tokio: a tokio timer fires on a
//! millisecond tick, up to a millisecond late per hop, which alone would take 10% off a
//! 20 ms round trip; a thread sleeping until the chunk is due wakes within tens of
//! microseconds. Chunks keep their order, and a chunk that is late (its writer was
//! blocked) goes out at once, so the line adds the round trip and never more.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Relays each connection made to the returned address to `target`, adding `rtt` to its
/// round trip (half each way).
pub(crate) fn serve(target: SocketAddr, rtt: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for inbound in listener.incoming() {
            let Ok(inbound) = inbound else {
                return;
            };
            let Ok(outbound) = TcpStream::connect(target) else {
                continue;
            };
            for s in [&inbound, &outbound] {
                let _ = s.set_nodelay(true);
            }
            let (Ok(inbound_tx), Ok(outbound_tx)) = (inbound.try_clone(), outbound.try_clone())
            else {
                continue;
            };
            one_way(inbound, outbound_tx, rtt / 2);
            one_way(outbound, inbound_tx, rtt / 2);
        }
    });
    addr
}

/// Copies `from` to `to`, each chunk `delay` after it was read.
fn one_way(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                break;
            }
        }
        // Dropping `tx` ends the writer once the chunks before the end are out.
    });
    std::thread::spawn(move || {
        while let Ok((due, chunk)) = rx.recv() {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
