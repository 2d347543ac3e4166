//! Client and simulator for the ARKEO instrument APIs.
//!
//! Two dialects over one framing: the All-in-One API (TCP port 6360) and the
//! Multichannel API (port 6340). Every message is a 4-byte big-endian length and a UTF-8
//! JSON object; one request, then exactly one reply, then the next request.
//!
//! ```text
//! +----------------+-------------------------------------------------------------+
//! | len: u32 (BE)  | {"target":"MAIN","command":"StartRoutine",                  |
//! | payload bytes  |  "parameter":{"routine":"JV"},"request_id":1}   (All-in-One)|
//! +----------------+-------------------------------------------------------------+
//! | len: u32 (BE)  | {"status":"OK","data":{"state":"OK"},"request_id":1}        |
//! +----------------+-------------------------------------------------------------+
//!
//! Multichannel:  {"command":"GetChannelState","indices":[0,1]}
//!            ->  {"status":"ok","channels":[{"index":0,"state":"idle",...},...]}
//! ```
//!
//! # Layers
//!
//! - Sans-IO: [`Request`] encoding, [`reply::classify`] (status in any letter case, an
//!   `error` object wins, NaN/Infinity accepted via [`nonfinite`], request_id checked),
//!   and [`Exchange`], the one-request-in-flight state machine with its deadline.
//! - Driver (feature `client`): `Client`, one TCP connection; requests take `&mut self`,
//!   so pipelining is impossible by construction. Connect and request timeouts in
//!   `ClientOptions`.
//! - Commands and replies: [`all_in_one`] and [`multichannel`] hold every documented
//!   command's name (the constants the simulator dispatches on), a builder for each, and
//!   typed replies that keep the fields they do not know ([`jv`] for the JV data both APIs
//!   share); raw [`Request`]s stay available for any command.
//! - Workflows: [`workflow::Tracker`] is the documented Multichannel tracking sequence,
//!   sans IO; with the feature `client`, `workflow::measure` runs the documented routine
//!   workflow with progress events and cleans up after every failure, and
//!   `workflow::track` drives the tracker over a client.
//! - `simulator` (feature `simulator`): a real TCP server for either dialect that answers
//!   every documented command in the vendor's shapes and keeps state on its own clock
//!   (with a speed factor), with the documented error codes, bounds on everything, a
//!   record of what it received and injectable faults for tests; its sans-IO core is
//!   `simulator::Instrument`.
//!
//! # Features
//!
//! Requests, replies, the command builders, the [`Exchange`] and the [`workflow::Tracker`]
//! need no runtime: with `default-features = false` the crate depends on wire, bytes,
//! serde, serde_json and thiserror only (`examples/request_reply.rs`).
//!
//! | feature | default | gates | pulls in |
//! | --- | --- | --- | --- |
//! | `client` | yes | `Client`, `ClientOptions`, `with_default_port`; `workflow::{measure, track, close_routine_at, stop_channels_at}` and their types | tokio, tracing |
//! | `simulator` | no | `simulator` (the `Instrument` and the tokio `Simulator`); `fuzzing::{payload, simulator_request, simulator_session}` | tokio, tracing |
//! | `plot` | no | `plot`: SVG plots of JV curves and of maximum power over time | plotters |
//!
//! # Example
//!
//! A simulator on loopback and a client (features `client` and `simulator`; more in
//! `examples/`):
//!
//! ```
//! use arkeo::simulator::{Simulator, SimulatorConfig, Timing};
//! use arkeo::{Client, Dialect, all_in_one};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SimulatorConfig::new(Dialect::AllInOne).timing(Timing::fast());
//! let sim = Simulator::start("127.0.0.1:0".parse()?, config).await?;
//!
//! let mut client = Client::connect(&sim.local_addr().to_string(), Dialect::AllInOne).await?;
//! let reply = client.request(&all_in_one::main::get_available_routines()).await?;
//! assert!(reply.data().unwrap()["routines"].as_array().unwrap().len() > 5);
//!
//! // The instrument saying no is a typed error with its code.
//! let err = client.request(&all_in_one::routine::get_test_status()).await.unwrap_err();
//! assert_eq!(err.rejection().unwrap().code, Some(arkeo::ErrorCode::NO_ACTIVE_ROUTINE));
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod all_in_one;
#[cfg(feature = "client")]
mod client;
mod deadline;
mod dialect;
mod error;
pub mod exchange;
pub mod float;
pub mod fuzzing;
pub mod jv;
pub mod multichannel;
pub mod nonfinite;
#[cfg(feature = "plot")]
pub mod plot;
pub mod reply;
mod request;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod workflow;

#[cfg(feature = "client")]
pub use client::{Client, ClientOptions, with_default_port};
pub use dialect::Dialect;
pub use error::{Error, ErrorCode, KnownError, ProtocolError, Rejection, UsageError};
pub use exchange::Exchange;
pub use reply::Reply;
pub use request::Request;
