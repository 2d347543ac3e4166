//! Codec for the Angelcam Arrow protocol, version 2.
//!
//! Every message starts with an 11-byte header (version, service id, reserved, session id,
//! body size); service id 0 carries control messages, any other id carries session data.
//!
//! This crate is filled in by the Arrow codec issue. It does no I/O and reads no clock.
