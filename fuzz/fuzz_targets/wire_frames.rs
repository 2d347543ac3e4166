//! Frame decoding: chunked and whole decoding agree, frames re-encode to their bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wire::fuzzing::frame_stream(data));
