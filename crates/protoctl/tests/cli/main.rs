//! End-to-end tests of the `protoctl` binary: real processes, real exit codes.

mod arctop;
mod arkeo;
mod arrow;
mod arrow_camera;
mod arrow_client;
mod arrow_config;
mod arrow_loop;
mod arrow_scan;
mod demo;
mod global;
mod lan;
mod support;
mod wire_cmd;
