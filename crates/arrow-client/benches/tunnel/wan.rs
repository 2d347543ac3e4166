//! One session through the tunnel over a WAN: a delay line ([`super::delay_line`]) between
//! the client and the development service adds 20, 50 or 150 ms of round trip, and one
//! session moves data down, then up. With the protocol's 64 KiB window a session can move
//! at most 65,536 bytes per round trip; the note gives each direction's rate as a fraction
//! of that ceiling.
//!
//! The rate is the steady state: from the moment the first [`WARM_UP`] windows' worth of
//! bytes has arrived to the moment the last has, so the CONNECT and the first round trips
//! (which every transfer pays once, while the pieces the source first wrote settle into
//! whole windows) are left out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arrow_client::dev_service::DevCertificates;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use super::{CHUNK, Role, TunnelOptions, dial, serve_tcp, start_tunnel};

/// Round trips the delay line adds.
const RTTS_MS: [u64; 3] = [20, 50, 150];
/// The window: the most one session may have in flight.
const WINDOW: usize = 65_536;
/// Windows per transfer: enough that the first round trips are a small part, few enough
/// that 150 ms stays within seconds.
const WINDOWS: usize = 64;
/// Windows left out of the rate at the start: the CONNECT, and the round trips in which
/// the first window's pieces (as the source happened to write them) settle into whole
/// windows.
const WARM_UP: usize = 4;
const BYTES: usize = WINDOWS * WINDOW;

/// Bytes arriving: when the warm-up windows were in, when the last byte was.
struct Arrival {
    warmed_up: Instant,
    last: Instant,
}

impl Arrival {
    /// Steady-state bytes per second.
    fn rate(&self) -> f64 {
        (BYTES - WARM_UP * WINDOW) as f64 / (self.last - self.warmed_up).as_secs_f64()
    }
}

/// Reads until `BYTES` came, noting the arrival times.
async fn receive(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Arrival> {
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0usize;
    let mut warmed_up = None;
    while total < BYTES {
        let n = stream.read(&mut buf).await.ok().filter(|n| *n > 0)?;
        total += n;
        if total >= WARM_UP * WINDOW && warmed_up.is_none() {
            warmed_up = Some(Instant::now());
        }
    }
    Some(Arrival {
        warmed_up: warmed_up?,
        last: Instant::now(),
    })
}

/// A local service that reads `BYTES` per connection and reports their arrival.
async fn timing_sink() -> (SocketAddr, mpsc::UnboundedReceiver<Arrival>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            s.set_nodelay(true).unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                if let Some(arrival) = receive(&mut s).await {
                    let _ = tx.send(arrival);
                }
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest).await;
            });
        }
    });
    (addr, rx)
}

/// Steady-state rates (bytes per second) down and up through a tunnel whose link has
/// `rtt` of round trip.
async fn measure(rtt: Duration) -> (f64, f64) {
    let certs = DevCertificates::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (sink, mut arrivals) = timing_sink().await;
    let source = serve_tcp(Role::Source).await;
    let options = TunnelOptions {
        delay: Some(rtt),
        ..TunnelOptions::default()
    };
    let tunnel = start_tunnel(&certs, &[sink, source], options).await;

    let mut user = dial(tunnel.ports[0]).await;
    let block = vec![0x5au8; CHUNK];
    for _ in 0..BYTES / CHUNK {
        user.write_all(&block).await.unwrap();
    }
    let down = arrivals.recv().await.unwrap().rate();
    drop(user);

    let mut user = dial(tunnel.ports[1]).await;
    user.write_all(&[(BYTES / CHUNK) as u8]).await.unwrap();
    let up = receive(&mut user).await.unwrap().rate();
    (down, up)
}

/// The note: each round trip's ceiling and what one session reached, down and up.
pub(crate) fn note(rt: &Runtime) -> String {
    let mut note = format!(
        "### Arrow tunnel over a WAN: one session through a delay line\n\n\
         A userspace delay line (a TCP relay holding each chunk for half the round trip in \
         each direction) sits between the client and the development service. One session \
         moves {} KiB down (user to local sink), then the same up (local source to user). \
         Rate: the steady state, from the arrival of the first {WARM_UP} windows (the \
         CONNECT, and the round trips in which the pieces the source first wrote settle \
         into whole windows) to that of the last byte. Ceiling: one 64 KiB window per round trip (65,536 B / RTT), which no Arrow v2 \
         session can exceed.\n\n\
         | RTT | ceiling | down | down / ceiling | up | up / ceiling |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        BYTES / 1024
    );
    for ms in RTTS_MS {
        let rtt = Duration::from_millis(ms);
        let (down, up) = rt.block_on(measure(rtt));
        let ceiling = WINDOW as f64 / rtt.as_secs_f64();
        let kbs = |r: f64| format!("{:.0} kB/s", r / 1e3);
        note.push_str(&format!(
            "| {ms} ms | {} | {} | {:.1}% | {} | {:.1}% |\n",
            kbs(ceiling),
            kbs(down),
            100.0 * down / ceiling,
            kbs(up),
            100.0 * up / ceiling,
        ));
    }
    note
}
