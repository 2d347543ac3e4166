//! The client side of one ARKEO connection across a sequence of arbitrary replies.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arkeo::fuzzing::exchange_session(data));
