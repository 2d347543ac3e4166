//! Client for the ARKEO instrument APIs.
//!
//! Two dialects over one framing (a 4-byte big-endian length and a JSON object): the
//! All-in-One API on TCP port 6360 and the Multichannel API on port 6340. Requests are
//! strictly sequential: one in flight per connection.
//!
//! This crate is filled in by the ARKEO issue; it builds on the `wire` framing crate.
