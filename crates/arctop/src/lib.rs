//! Client for the Arctop Stream Server.
//!
//! The Arctop app on a phone serves a TCP stream on the local network, advertised by mDNS
//! as `ArctopService` under `_http._tcp.local.`. A client authenticates with an API key and
//! then receives JSON events, each in a frame of a 2-byte big-endian length and Java
//! modified UTF-8, until `sessionComplete`.
//!
//! This crate is filled in by the Arctop issue; it builds on the `wire` framing crate.
