//! A client's bytes and a moving clock against one simulator session: one verdict, the
//! reply a client reads agrees with it, nothing panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arctop::fuzzing::simulator_session(data));
