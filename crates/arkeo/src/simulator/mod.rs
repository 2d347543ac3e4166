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
//! # Limits
//!
//! Every request, reply, stored setting, list and connection is bounded, so no client can
//! make the simulator allocate without limit, hold the instrument lock for long, or starve
//! the other clients. A request over a limit is answered with the dialect's error reply
//! (`{"status": "error", "error": {"code", "message"}}`, All-in-One with its `request_id`)
//! where the protocol has one; where it has none the connection is closed. Either way the
//! other connections go on.
//!
//! | limit | default | [`SimulatorConfig`] field | over it |
//! | --- | --- | --- | --- |
//! | request payload | 1 MiB (also the maximum, [`MAX_REQUEST`]) | `max_request` | error 101 from the length prefix alone (the payload is never read), then the connection is closed |
//! | reply payload | 16 MiB (also the maximum, [`MAX_REPLY`]; at least 1 KiB) | `max_reply` | error 101 instead of the reply; GetLatestJV checks before building its reply |
//! | concurrent connections | 64 (1 to 4096) | `max_connections` | the new connection is accepted and closed at once, before anything is read |
//! | idle connection | 5 minutes | `idle_timeout` | closed when no complete request arrived for that long (a stalled half request), or a reply could not be written for that long (a client that does not read) |
//! | replies waiting to be written | 64 KiB (fixed) | none | written out before the next request is answered; nothing more is read while they cannot be written |
//! | Multichannel channels | 8 (1 to 64) | `channels` | clamped |
//! | `indices` of a request | one entry per channel (fixed) | `channels` | error 101 for more entries than channels, a repeated channel (`[0, 0]`: the vendor documents no deduplication, so a repeat is refused, never answered twice), an unknown channel, an empty list; entries past the channel count are only counted, never kept |
//! | array parameters (MUX `state`, LED `values`) | the device's count (fixed) | none | error 101 (LED: 1001, as documented) |
//! | stored settings object | 64 KiB as JSON, 8 levels, keys of 128 bytes (fixed) | none | error 101, the settings are unchanged |
//! | text values kept (names, notes, addresses) | 1 KiB (fixed) | none | error 101 |
//! | points of one JV scan | 10 000 (fixed) | none | error 101 when the settings are applied |
//! | journal of received requests | 1024 | `journal` | the oldest are forgotten |
//! | faults waiting to be injected | 64 (fixed) | none | a further one is dropped with a warning |
//!
//! A failed accept (typically out of file descriptors) pauses the accept loop, 10 ms
//! doubling to 1 s and back to 10 ms after an accept works, with one warning per pause
//! period ([`AcceptBackoff`]), instead of retrying at once.

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
