//! Arrow client core: any bytes from a service are handled or refused, never a panic or a window breach.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| arrow_client::fuzzing::service_bytes(data));
