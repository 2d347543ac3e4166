//! Any payload, as a reply to classify and as a request to the simulator: no panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arkeo::fuzzing::payload(data));
