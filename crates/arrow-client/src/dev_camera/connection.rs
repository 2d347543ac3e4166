//! One TCP client of the fake camera: the task that moves bytes between the socket and
//! the sans-IO [`rtsp`](super::rtsp) or [`http`](super::http) logic, and paces frames.
//!
//! One `select!` reads requests, writes what is queued (a partial write at a time, so a
//! client that does not read never blocks reading its TEARDOWN), ticks the frame clock
//! while streaming, and watches the camera's stop. Reading pauses while
//! [`MAX_QUEUED`] bytes wait to be written, and so does the frame clock: a slow client
//! gets frames later, never an unbounded queue; one that takes nothing for 30 s is
//! closed, and so is one that sends no request for 30 s while nothing streams to it.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::http::{self, HttpStep};
use super::mjpeg;
use super::rtsp::{RtspConnection, RtspSeeds, RtspStep, StreamChange};
use super::{CameraConfig, CameraEvent};

/// How long a client may go without a whole request while nothing streams to it, and
/// without taking any of the bytes waiting for it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes queued for the client above which neither requests nor frames are taken.
const MAX_QUEUED: usize = 256 * 1024;

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// Which protocol the connection speaks, with its state.
enum Protocol {
    Rtsp(Box<RtspConnection>),
    Http {
        /// Set once an MJPEG stream was asked for: parts follow until the client goes.
        streaming: bool,
        frames: u64,
    },
}

/// A request's answer, for the queue and the events.
struct Answer {
    method: String,
    path: String,
    status: u16,
    response: Vec<u8>,
}

/// What [`Connection::handle_input`] decided beyond queueing answers.
enum Next {
    /// Keep going.
    Continue,
    /// Close once the queue is written, for this reason.
    CloseAfterWrite(&'static str),
}

struct Connection {
    client: u64,
    config: Arc<CameraConfig>,
    events: mpsc::UnboundedSender<CameraEvent>,
    protocol: Protocol,
    input: BytesMut,
    out: BytesMut,
    frame_clock: Option<Interval>,
    /// A request was answered since the idle deadline was last moved.
    answered_since_read: bool,
}

/// Serves one client until it goes, the camera stops, or the exchange is over.
pub(super) async fn serve(
    client: u64,
    stream: TcpStream,
    config: Arc<CameraConfig>,
    events: mpsc::UnboundedSender<CameraEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let local_ip = stream
        .local_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let protocol = if config.kind.is_rtsp() {
        let seeds = RtspSeeds {
            session: rand::random(),
            ssrc: rand::random(),
            sequence: rand::random(),
            timestamp: rand::random(),
        };
        Protocol::Rtsp(Box::new(RtspConnection::new(
            config.kind,
            &config.path,
            local_ip,
            seeds,
        )))
    } else {
        Protocol::Http {
            streaming: false,
            frames: 0,
        }
    };
    let mut conn = Connection {
        client,
        config,
        events,
        protocol,
        input: BytesMut::with_capacity(READ_CHUNK),
        out: BytesMut::new(),
        frame_clock: None,
        answered_since_read: false,
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut chunk = [0u8; READ_CHUNK];
    let mut closing: Option<&'static str> = None;
    let mut idle_deadline = Instant::now() + REQUEST_TIMEOUT;
    // When the client last took bytes (or had none waiting for it).
    let mut last_write = Instant::now();
    let reason: String = loop {
        if closing.is_some() && conn.out.is_empty() {
            let _ = writer.shutdown().await;
            break closing.unwrap_or_default().to_string();
        }
        let streaming = conn.frame_clock.is_some();
        let room = conn.out.len() < MAX_QUEUED;
        if conn.out.is_empty() {
            last_write = Instant::now();
        }
        // A client that takes nothing for REQUEST_TIMEOUT stalled; one that sends no
        // request for as long, with nothing streaming to it, is idle.
        let deadline = if !conn.out.is_empty() {
            Some((last_write + REQUEST_TIMEOUT, "stalled"))
        } else if !streaming {
            Some((idle_deadline, "idle"))
        } else {
            None
        };
        tokio::select! {
            read = reader.read(&mut chunk), if closing.is_none() && room => match read {
                Ok(0) => break "client_closed".to_string(),
                Ok(n) => {
                    conn.input.extend_from_slice(&chunk[..n]);
                    match conn.handle_input() {
                        Next::Continue => {}
                        Next::CloseAfterWrite(why) => closing = Some(why),
                    }
                    if conn.answered_since_read {
                        idle_deadline = Instant::now() + REQUEST_TIMEOUT;
                        conn.answered_since_read = false;
                    }
                }
                Err(e) => break closed_reason(&e),
            },
            written = writer.write(&conn.out), if !conn.out.is_empty() => match written {
                Ok(0) => break "client_closed".to_string(),
                Ok(n) => {
                    conn.out.advance(n);
                    last_write = Instant::now();
                }
                Err(e) => break closed_reason(&e),
            },
            _ = tick(&mut conn.frame_clock), if streaming && room && closing.is_none() => {
                conn.queue_frame();
            }
            why = expire(deadline) => break why.to_string(),
            _ = stop.wait_for(|s| *s) => break "stopped".to_string(),
        }
    };
    let frames = conn.frames();
    let _ = conn.events.send(CameraEvent::ClientClosed {
        client,
        reason,
        frames,
    });
}

/// The `client_closed` reason of a socket error: a client that resets the connection
/// (as players do when they go with frames still in flight) simply went.
fn closed_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => {
            "client_closed".to_string()
        }
        _ => e.to_string(),
    }
}

/// Waits for the deadline and gives its reason (never, without one).
async fn expire(deadline: Option<(Instant, &'static str)>) -> &'static str {
    match deadline {
        Some((at, why)) => {
            tokio::time::sleep_until(at).await;
            why
        }
        None => std::future::pending().await,
    }
}

/// The next tick of the frame clock (never, without one).
async fn tick(clock: &mut Option<Interval>) {
    match clock {
        Some(clock) => {
            clock.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn frame_clock(period: Duration) -> Interval {
    let mut clock = tokio::time::interval(period);
    clock.set_missed_tick_behavior(MissedTickBehavior::Delay);
    clock
}

impl Connection {
    /// Answers every whole request in the input.
    fn handle_input(&mut self) -> Next {
        loop {
            let (exchange, start) = match &mut self.protocol {
                Protocol::Rtsp(rtsp) => match rtsp.receive(&self.input) {
                    RtspStep::NeedMore => return Next::Continue,
                    RtspStep::Skipped { consumed } => {
                        self.input.advance(consumed);
                        continue;
                    }
                    RtspStep::Rejected { status, response } => {
                        return self.reject(status, &response);
                    }
                    RtspStep::Answered { consumed, exchange } => {
                        self.input.advance(consumed);
                        let start = match exchange.streaming {
                            StreamChange::Start => Some((rtsp.media(), rtsp.frame_interval())),
                            StreamChange::Stop => {
                                self.frame_clock = None;
                                None
                            }
                            StreamChange::None => None,
                        };
                        let answer = Answer {
                            method: exchange.method,
                            path: exchange.path,
                            status: exchange.status,
                            response: exchange.response,
                        };
                        (answer, start)
                    }
                },
                Protocol::Http {
                    streaming: true, ..
                } => {
                    // The request is answered and the stream flows: anything more the
                    // client sends is read and dropped, so that its going is seen.
                    self.input.clear();
                    return Next::Continue;
                }
                Protocol::Http { streaming, .. } => {
                    match http::answer(self.config.kind, &self.config.path, &self.input) {
                        HttpStep::NeedMore => return Next::Continue,
                        HttpStep::Rejected { status, response } => {
                            return self.reject(status, &response);
                        }
                        HttpStep::Answered(exchange) => {
                            self.input.clear();
                            *streaming = exchange.stream;
                            let start = exchange.stream.then(|| ("mjpeg", mjpeg::frame_interval()));
                            let answer = Answer {
                                method: exchange.method,
                                path: exchange.path,
                                status: exchange.status,
                                response: exchange.response,
                            };
                            (answer, start)
                        }
                    }
                }
            };
            self.out.extend_from_slice(&exchange.response);
            self.answered_since_read = true;
            let _ = self.events.send(CameraEvent::Request {
                client: self.client,
                method: exchange.method,
                path: exchange.path,
                status: exchange.status,
            });
            match start {
                Some((media, period)) => {
                    self.frame_clock = Some(frame_clock(period));
                    let _ = self.events.send(CameraEvent::Streaming {
                        client: self.client,
                        media: media.to_string(),
                        path: self.config.path.clone(),
                    });
                }
                None if matches!(self.protocol, Protocol::Http { .. }) => {
                    return Next::CloseAfterWrite("answered");
                }
                None => {}
            }
        }
    }

    fn reject(&mut self, status: u16, response: &[u8]) -> Next {
        self.input.clear();
        self.out.extend_from_slice(response);
        let _ = self.events.send(CameraEvent::BadRequest {
            client: self.client,
            status,
        });
        Next::CloseAfterWrite("bad_request")
    }

    /// Queues the next frame of the stream.
    fn queue_frame(&mut self) {
        match &mut self.protocol {
            Protocol::Rtsp(rtsp) => {
                let frame = rtsp.next_frame();
                self.out.extend_from_slice(&frame);
            }
            Protocol::Http { frames, .. } => {
                let jpeg = mjpeg::jpeg_frame(*frames);
                if !jpeg.is_empty() {
                    self.out.extend_from_slice(&mjpeg::part(&jpeg));
                    *frames += 1;
                }
            }
        }
    }

    fn frames(&self) -> u64 {
        match &self.protocol {
            Protocol::Rtsp(rtsp) => rtsp.frames(),
            Protocol::Http { frames, .. } => *frames,
        }
    }
}
