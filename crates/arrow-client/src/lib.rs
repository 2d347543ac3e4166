//! The Arrow client runtime.
//!
//! One TLS connection to the Arrow Service carries many sessions, each bridged to a local
//! TCP service, with per-session flow control. The protocol core is sans-IO; a tokio driver
//! owns the sockets.
//!
//! This crate is filled in by the Arrow client issue; it builds on `arrow-codec`.

pub mod connection;
pub mod driver;
mod error;
pub mod flow;
pub mod identity;
pub mod message;
mod pump;
pub mod service;
pub mod service_table;
pub mod tls;
pub mod wire;

pub use error::{Error, ProtocolViolation};
