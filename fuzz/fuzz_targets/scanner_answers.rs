//! Arrow scanner: whatever a host answers a probe (RTSP, SDP, HTTP, ONVIF) is read or refused, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arrow_client::fuzzing::scanner_answers(data));
