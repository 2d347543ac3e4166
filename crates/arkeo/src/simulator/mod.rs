//! The built-in instrument simulator: a real TCP server speaking either dialect, answering
//! every documented command in the vendor's documented shapes, and keeping state the way
//! the instrument does (see docs/protocols/arkeo.md for each command).
//!
//! [`Instrument`] is the sans-IO core: request payload bytes and `now` in, reply payload
//! bytes out. It checks the envelope (5001 for a request that is not a JSON object, 101 for
//! a missing command, target or All-in-One parameter), accepts the legacy parameter names
//! with a warning in its log, echoes the All-in-One request_id, and writes non-finite
//! numbers as bare `NaN`/`Infinity` like the real software. The instruments run on their
//! own clock, [`Timing::speed`] times faster than the host's, so tests and demos need not
//! wait for a real JV sweep.
//!
//! [`Simulator`] is the tokio server around it: any number of clients at once, all seeing
//! the same instrument (one lock, never held across an await). For tests it records the
//! requests it received ([`Simulator::received`]) and fails requests on demand
//! ([`Simulator::inject_fault`]).
//!
//! Every request, stored setting and list is bounded: requests at 1 MiB (checked from the
//! length prefix), settings objects at 64 KiB and 8 levels, indices at one entry per
//! channel, JV scans at 10 000 points.

mod all_in_one;
mod backoff;
mod cell;
mod clock;
mod config;
mod fault;
mod instrument;
mod journal;
mod jv_sweep;
mod limits;
mod multichannel;
mod outcome;
mod params;
mod schema;
mod server;

pub use all_in_one::{AllInOneInstrument, ROUTINES};
pub use backoff::{AcceptBackoff, BackoffStep};
pub use config::{SimulatorConfig, Timing};
pub use fault::Fault;
pub use instrument::{Instrument, Response};
pub use journal::Received;
pub use limits::{MAX_REPLY, MAX_REQUEST};
pub use multichannel::{ENVIRONMENTS, MultichannelInstrument};
pub use server::Simulator;
