//! Arbitrary bytes split into requests, fed in order to one simulator: no panic, a
//! bounded reply for each.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arkeo::fuzzing::simulator_session(data));
