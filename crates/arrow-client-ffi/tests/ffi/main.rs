//! The C API from the outside: the header is what the code says, the functions hold up
//! against misuse, a client started through them registers with the development Arrow
//! Service, and the C example tunnels a TCP service (also under valgrind).

// These tests call the C functions as C does, with pointers of their own.
#![allow(unsafe_code)]

mod api;
mod header;
mod support;
mod tunnel;
