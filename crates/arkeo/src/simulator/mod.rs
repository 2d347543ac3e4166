//! The built-in instrument simulator: a real TCP server speaking either dialect.
//!
//! [`Instrument`] is the sans-IO core: request payload bytes and `now` in, reply payload
//! bytes out. It checks the envelope (5001 for a request that is not a JSON object, 101
//! for a missing command or target), accepts the legacy parameter names (`params`,
//! `data`) with a warning in its log, echoes the All-in-One request_id, and writes
//! non-finite numbers as bare `NaN`/`Infinity` like the real software.
//!
//! [`Simulator`] is the tokio server around it: any number of clients at once, all seeing
//! the same instrument (one lock, never held across an await).

mod all_in_one;
mod multichannel;
mod synthetic;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use serde_json::{Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;
use wire::{FrameCodec, PrefixWidth};

pub use all_in_one::{AllInOneInstrument, ROUTINES};
pub use multichannel::{ENVIRONMENTS, MultichannelInstrument};

use crate::nonfinite::to_lenient_json;
use crate::{Dialect, ErrorCode};

/// How long the simulated routines take in each phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// StartRoutine to Ready.
    pub initialize: Duration,
    /// StartMeasurement to Running.
    pub start: Duration,
    /// Running to done (Multichannel: the period of automatic JV sweeps).
    pub measure: Duration,
}

impl Timing {
    /// Close to a quick real sweep: 0.5 s to initialize, 0.25 s to start, 2.5 s to measure.
    pub const fn realistic() -> Self {
        Timing {
            initialize: Duration::from_millis(500),
            start: Duration::from_millis(250),
            measure: Duration::from_millis(2500),
        }
    }

    /// For tests and demos: 30 ms, 20 ms, 150 ms.
    pub const fn fast() -> Self {
        Timing {
            initialize: Duration::from_millis(30),
            start: Duration::from_millis(20),
            measure: Duration::from_millis(150),
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self::realistic()
    }
}

/// Simulator settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatorConfig {
    /// The dialect served.
    pub dialect: Dialect,
    /// Routine phase durations.
    pub timing: Timing,
    /// Multichannel: the number of channels.
    pub channels: usize,
    /// The largest request accepted.
    pub max_request: usize,
}

impl SimulatorConfig {
    /// Realistic timing, 8 channels, 16 MiB requests.
    pub fn new(dialect: Dialect) -> Self {
        SimulatorConfig {
            dialect,
            timing: Timing::realistic(),
            channels: 8,
            max_request: 16 * 1024 * 1024,
        }
    }

    /// The same with other timing.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }
}

/// The simulated instrument, either dialect, without I/O.
#[derive(Debug, Clone)]
pub enum Instrument {
    /// An All-in-One instrument.
    AllInOne(Box<AllInOneInstrument>),
    /// A Multichannel instrument.
    Multichannel(Box<MultichannelInstrument>),
}

impl Instrument {
    /// A fresh instrument. `unix_now` is the wall-clock time at `now` (seconds since the
    /// epoch), for timestamps in replies.
    pub fn new(config: &SimulatorConfig, now: Instant, unix_now: f64) -> Self {
        match config.dialect {
            Dialect::AllInOne => {
                Instrument::AllInOne(Box::new(AllInOneInstrument::new(config.timing)))
            }
            Dialect::Multichannel => Instrument::Multichannel(Box::new(
                MultichannelInstrument::new(config.timing, config.channels, now, unix_now),
            )),
        }
    }

    /// Answers one request payload with one reply payload.
    pub fn handle_payload(&mut self, payload: &[u8], now: Instant) -> Vec<u8> {
        let reply = self.handle_request(payload, now);
        to_lenient_json(&reply)
    }

    fn handle_request(&mut self, payload: &[u8], now: Instant) -> Value {
        let dialect = match self {
            Instrument::AllInOne(_) => Dialect::AllInOne,
            Instrument::Multichannel(_) => Dialect::Multichannel,
        };
        let error = |code: ErrorCode, message: &str| match dialect {
            Dialect::AllInOne => all_in_one::error_reply(code, message),
            Dialect::Multichannel => multichannel::error_reply(code, message),
        };
        let request: Map<String, Value> = match serde_json::from_slice(payload) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return error(
                    ErrorCode::INVALID_JSON,
                    "Invalid JSON: request must be an object",
                );
            }
            Err(e) => return error(ErrorCode::INVALID_JSON, &format!("Invalid JSON: {e}")),
        };
        let parameter = match (
            request.get("parameter"),
            request.get("params"),
            request.get("data"),
        ) {
            (Some(p), _, _) => p.clone(),
            (None, Some(p), _) => {
                tracing::warn!(
                    "request uses the legacy key \"params\"; the API says \"parameter\""
                );
                p.clone()
            }
            (None, None, Some(p)) => {
                tracing::warn!("request uses the key \"data\"; the API says \"parameter\"");
                p.clone()
            }
            (None, None, None) => Value::Object(Map::new()),
        };
        let Some(command) = request.get("command").and_then(Value::as_str) else {
            return error(
                ErrorCode::INVALID_PARAMETERS,
                "Invalid request: command missing",
            );
        };
        tracing::debug!(command, "request");
        match self {
            Instrument::AllInOne(sim) => {
                let mut reply = match request.get("target").and_then(Value::as_str) {
                    Some(target) => sim.handle(target, command, &parameter, now),
                    None => error(
                        ErrorCode::INVALID_PARAMETERS,
                        "Invalid request: target missing",
                    ),
                };
                if let (Some(id), Value::Object(r)) = (request.get("request_id"), &mut reply) {
                    r.insert("request_id".into(), id.clone());
                }
                reply
            }
            Instrument::Multichannel(sim) => {
                sim.handle(command, request.get("indices"), &parameter, now)
            }
        }
    }
}

/// A running simulator. Dropping it stops accepting; [`shutdown`](Self::shutdown) also
/// closes every connection and waits.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Simulator {
    /// Binds `bind` (port 0 for an ephemeral port) and starts serving.
    pub async fn start(bind: SocketAddr, config: SimulatorConfig) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let instrument = Arc::new(Mutex::new(Instrument::new(
            &config,
            Instant::now(),
            unix_now,
        )));
        let (stop, stopped) = watch::channel(false);
        tracing::info!(%addr, dialect = %config.dialect, "simulator listening");
        let task = tokio::spawn(accept_loop(listener, instrument, config, stopped));
        Ok(Simulator {
            addr,
            stop,
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection, and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    instrument: Arc<Mutex<Instrument>>,
    config: SimulatorConfig,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    tracing::info!(%peer, "client connected");
                    let instrument = Arc::clone(&instrument);
                    let stopped = stopped.clone();
                    connections.spawn(async move {
                        if let Err(e) = serve_connection(socket, instrument, config, stopped).await {
                            tracing::info!(%peer, "connection ended: {e}");
                        } else {
                            tracing::info!(%peer, "client disconnected");
                        }
                    });
                }
                Err(e) => tracing::warn!("accept failed: {e}"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(
    mut socket: TcpStream,
    instrument: Arc<Mutex<Instrument>>,
    config: SimulatorConfig,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), wire::FrameError> {
    socket.set_nodelay(true)?;
    let mut codec = FrameCodec::new(PrefixWidth::U32).with_max_payload(config.max_request);
    let mut read_buf = BytesMut::with_capacity(8 * 1024);
    let mut write_buf = BytesMut::with_capacity(8 * 1024);
    loop {
        while let Some(frame) = codec.decode(&mut read_buf)? {
            let reply = {
                let mut guard = instrument.lock().unwrap_or_else(|p| p.into_inner());
                guard.handle_payload(&frame, Instant::now())
            };
            codec.encode_payload(&reply, &mut write_buf)?;
        }
        if !write_buf.is_empty() {
            socket.write_all(&write_buf).await?;
            write_buf.clear();
        }
        let n = tokio::select! {
            _ = stopped.changed() => return Ok(()),
            n = socket.read_buf(&mut read_buf) => n?,
        };
        if n == 0 {
            return codec.decode_eof(&mut read_buf).map(|_| ());
        }
    }
}

/// `parameter[key]` as a string.
pub(crate) fn string_param<'a>(parameter: &'a Value, key: &str) -> Result<&'a str, String> {
    parameter
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Invalid parameters: {key} (a string) required"))
}

/// `parameter[key]` as a number.
pub(crate) fn number_param(parameter: &Value, key: &str) -> Result<f64, String> {
    parameter
        .get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("Invalid parameters: {key} (a number) required"))
}

/// `parameter[key]` as a boolean.
pub(crate) fn bool_param(parameter: &Value, key: &str) -> Result<bool, String> {
    parameter
        .get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("Invalid parameters: {key} (true or false) required"))
}

/// The parameter as an object.
pub(crate) fn object_param(parameter: &Value) -> Result<&Map<String, Value>, String> {
    parameter
        .as_object()
        .ok_or_else(|| "Invalid parameters: an object is required".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn aio() -> Instrument {
        Instrument::new(
            &SimulatorConfig::new(Dialect::AllInOne),
            Instant::now(),
            0.0,
        )
    }

    fn reply(sim: &mut Instrument, request: &str) -> Value {
        let bytes = sim.handle_payload(request.as_bytes(), Instant::now());
        serde_json::from_slice(&crate::nonfinite::to_strict_json(&bytes)).unwrap()
    }

    #[test]
    fn envelope_errors() {
        let mut sim = aio();
        let cases = [
            ("not json", 5001),
            ("[1,2]", 5001),
            (r#"{"target":"MAIN"}"#, 101),
            (r#"{"command":"GetActiveRoutine"}"#, 101),
        ];
        for (request, code) in cases {
            let r = reply(&mut sim, request);
            assert_eq!(r["error"]["code"], code, "{request}: {r}");
        }
    }

    #[test]
    fn request_id_is_echoed_as_sent() {
        let mut sim = aio();
        for id in [json!(7), json!("abc")] {
            let request = json!({"target":"MAIN","command":"GetActiveRoutine","parameter":{},"request_id":id});
            let r = reply(&mut sim, &request.to_string());
            assert_eq!(r["request_id"], id);
        }
    }

    #[test]
    fn legacy_params_key_is_accepted() {
        let mut sim = aio();
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"StartRoutine","params":{"routine":"Luminescence"},"request_id":1001}"#,
        );
        assert_eq!(r["status"], "OK", "{r}");
        let r = reply(
            &mut sim,
            r#"{"target":"MAIN","command":"GetActiveRoutine"}"#,
        );
        assert_eq!(r["data"]["routine"], "Luminescence");
    }
}
