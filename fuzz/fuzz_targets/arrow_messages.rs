//! Arrow message decoding: chunked and whole decoding agree, messages re-encode and decode back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arrow_codec::fuzzing::message_stream(data));
