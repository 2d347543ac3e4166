//! A session published as Lab Streaming Layer (LSL) streams (feature `lsl`), so that
//! Arctop's values are recorded beside EEG, eye tracking and stimulus markers on one clock
//! (LabRecorder, pylsl, MNE, ...). LSL here is `labstream`, a pure-Rust implementation of
//! the protocol that liblsl inlets (pylsl) read.
//!
//! # One outlet per key, not one multi-channel outlet
//!
//! Arctop sends each key on its own (`valueChange` carries one key, at its own time) and
//! the key set is open (a newer app adds prediction ids mid-session). A multi-channel LSL
//! outlet has a fixed channel list and one timestamp for all its channels, so it would have
//! to repeat stale values or invent NaNs and could not take a new key. LSL users expect one
//! stream per independently sampled signal (as EEG, accelerometer and PPG are separate
//! streams of one headset): so each key gets its own outlet, opened when the key first
//! appears, and every sample is exactly one message with its own time.
//!
//! | stream | name | type | format | channels |
//! | --- | --- | --- | --- | --- |
//! | a value key | `Arctop-<key>` | `Arctop` | float32, irregular rate | 1: the key (a vector value: `<key>_x`, `_y`, `_z`), with unit (`score`, `bpm`, `level`) |
//! | the events | `Arctop-Markers` | `Markers` | string, irregular rate | 1: `event` |
//!
//! - At most [`MAX_VALUE_OUTLETS`] keys are published (LSL's port range is shared by every
//!   outlet on the machine); a further key, or one whose outlet cannot be opened, is left
//!   out with one error ([`LslError::KeyNotPublished`]) and the session goes on.
//! - Source ids are `<server>/<key>` and `<server>/markers`, `<server>` being the mDNS
//!   instance and host (`ArctopService@android-1234.local.`) or the address connected to.
//! - Each sample's timestamp is the message's own `timestamp` mapped onto the LSL clock
//!   ([`ClockMap`]); values are pushed as received (-1 and NaN mean low confidence).
//! - Markers ([`marker_text`]): `connection:CONNECTED`, `qa:passed`,
//!   `qa:failed:MOTION_TOO_HIGH`, `error:API_KEY_ERROR`, `session:complete`, and the
//!   client's own `stream:connected` and `stream:lost`.
//!
//! LSL finds streams by UDP multicast and broadcast on every interface: the tests run only
//! inside a private network namespace.

mod clock_map;
mod publisher;
mod streams;

pub use clock_map::{ClockMap, MAX_LAG};
pub use publisher::{LslError, MAX_VALUE_OUTLETS, Published, Publisher};
pub use streams::{
    ChannelSpec, MARKER_NAME, MARKER_TYPE, NAME_PREFIX, STREAM_CONNECTED, STREAM_LOST,
    SampleFormat, StreamSpec, VALUE_TYPE, marker_stream, marker_text, source_label, value_stream,
};
