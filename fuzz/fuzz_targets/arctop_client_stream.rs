//! A server's byte stream into a client session: chunked and whole agree, nothing panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arctop::fuzzing::client_stream(data));
