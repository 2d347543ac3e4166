//! Development Arrow Service: any bytes from a client are handled or end its connection, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arrow_client::fuzzing::dev_service_client_bytes(data));
