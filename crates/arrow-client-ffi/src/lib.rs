//! A C API for [`arrow_client`]: the Angelcam Arrow client in camera and gateway firmware
//! written in C.
//!
//! The crate builds `libarrow_client_ffi.a` and `libarrow_client_ffi.so`
//! (`cargo build --release -p arrow-client-ffi`, in `target/release/`); the header is
//! `include/arrow_client.h`, generated from this crate by cbindgen and checked by its
//! tests (`cargo xtask ffi-header` rewrites it). `docs/c-api.md` has the reference, how to
//! link and the version policy.
//!
//! ```c
//! ArrowConfig *config;
//! arrow_config_new("arrow.example.com:8900", &config);
//! arrow_config_add_ca_file(config, "/etc/arrow/ca.pem");
//! arrow_config_set_state_dir(config, "/var/lib/arrow");
//! arrow_config_add_service(config, ARROW_SERVICE_KIND_RTSP, "rtsp://127.0.0.1/live");
//! ArrowClient *client;
//! if (arrow_client_start(config, &client) != ARROW_OK) { /* arrow_last_error_message */ }
//! arrow_config_free(config);
//! /* ... until the device shuts down ... */
//! arrow_client_stop(client);
//! arrow_client_free(client);
//! ```
//!
//! # Linking
//!
//! Shared: `cc app.c -I include -L target/release -larrow_client_ffi` (or
//! `pkg-config --cflags --libs arrow_client`). Static: the archive and the system
//! libraries the Rust standard library uses, [`STATIC_LINK_LIBS`]:
//! `cc app.c -I include target/release/libarrow_client_ffi.a -lgcc_s -lutil -lrt
//! -lpthread -lm -ldl -lc` (glibc; `cargo xtask ci` links the example this way).
//!
//! # Rules of the API
//!
//! - Handles are opaque (`ArrowConfig`, `ArrowClient`, `ArrowServiceTable`), each with its
//!   own create and free function; a free function ignores NULL.
//! - Every pointer argument is checked for NULL; text must be UTF-8.
//! - Every fallible function returns an `ArrowResult`: `ARROW_OK` (0) or an
//!   `ARROW_ERROR_*` code; `arrow_last_error_message` gives the message of the thread's
//!   last failure.
//! - No Rust panic crosses into C: each function catches it and returns
//!   `ARROW_ERROR_PANIC` (the crate refuses to build with `panic = "abort"`, where that
//!   could not be done).
//! - Callbacks (link state, scans, log lines, the status storage) run on one thread of
//!   the client's, `arrow-callbacks`, one at a time; no lock is held while they run. The
//!   identity storage callbacks run on the thread calling `arrow_client_start`.
//! - A configuration belongs to one thread at a time; a client may be used from any
//!   thread, and from several at once, until `arrow_client_free`.

// The boundary with C is unsafe by nature; every unsafe block says why it holds.
#![allow(unsafe_code)]
// Unit tests call the functions with pointers of their own and need no such note.
#![cfg_attr(not(test), warn(clippy::undocumented_unsafe_blocks))]

#[cfg(not(panic = "unwind"))]
compile_error!(
    "arrow-client-ffi needs panic = \"unwind\": it catches panics so that none crosses into C"
);

mod callbacks;
mod client;
mod config;
mod cstr;
mod error;
mod log;
mod log_level;
mod services;
mod storage;

use std::ffi::c_char;

pub use callbacks::{
    ARROW_STATE_CONNECTED, ARROW_STATE_CONNECTING, ARROW_STATE_DISCONNECTED, ARROW_STATE_STOPPED,
    ARROW_STATE_UNAUTHORIZED, ArrowLogCallback, ArrowScanCallback, ArrowScanReport, ArrowState,
    ArrowStateCallback,
};
pub use client::{
    ARROW_UUID_SIZE, ArrowClient, ArrowStatus, arrow_client_free, arrow_client_mac,
    arrow_client_scan_now, arrow_client_services, arrow_client_start, arrow_client_status,
    arrow_client_status_json, arrow_client_stop, arrow_client_uuid,
};
pub use config::{
    ARROW_SERVICE_KIND_HTTP, ARROW_SERVICE_KIND_MJPEG, ARROW_SERVICE_KIND_RTSP,
    ARROW_SERVICE_KIND_TCP, ArrowConfig, ArrowServiceKind, arrow_config_add_ca_file,
    arrow_config_add_ca_pem, arrow_config_add_discovery_target, arrow_config_add_service,
    arrow_config_free, arrow_config_new, arrow_config_set_discovery, arrow_config_set_gateway,
    arrow_config_set_log_callback, arrow_config_set_mac, arrow_config_set_scan_callback,
    arrow_config_set_state_callback, arrow_config_set_state_dir, arrow_config_set_storage,
};
pub use error::{
    ARROW_ERROR_BUFFER_TOO_SMALL, ARROW_ERROR_CLIENT, ARROW_ERROR_CONFIG,
    ARROW_ERROR_DISCOVERY_OFF, ARROW_ERROR_INVALID_ARGUMENT, ARROW_ERROR_NULL_POINTER,
    ARROW_ERROR_OUT_OF_RANGE, ARROW_ERROR_PANIC, ARROW_ERROR_RUNTIME, ARROW_ERROR_STATE,
    ARROW_ERROR_STATE_LOCKED, ARROW_ERROR_STORAGE, ARROW_ERROR_WRONG_THREAD, ARROW_OK, ArrowResult,
    arrow_last_error_message, arrow_result_name,
};
pub use log_level::{
    ARROW_LOG_LEVEL_DEBUG, ARROW_LOG_LEVEL_ERROR, ARROW_LOG_LEVEL_INFO, ARROW_LOG_LEVEL_TRACE,
    ARROW_LOG_LEVEL_WARN, ArrowLogLevel,
};
pub use services::{
    ArrowService, ArrowServiceTable, arrow_service_table_free, arrow_service_table_get,
    arrow_service_table_len,
};
pub use storage::{ARROW_IDENTITY_MAX, ArrowStorage};

/// The system libraries a static link of `libarrow_client_ffi.a` needs after it, on
/// Linux with glibc (what `rustc --print native-static-libs` says for this crate).
pub const STATIC_LINK_LIBS: &str = "-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc";

/// The version of the C API this header describes. It changes only when a program
/// written for the old one could break (a function removed or changed, a struct
/// changed); additions (functions, codes, constants) keep it. Compare it with
/// `arrow_api_version` at start to catch a header and library that do not match.
pub const ARROW_API_VERSION: u32 = 1;

/// The version of the C API the library implements (`ARROW_API_VERSION` of its
/// header).
#[unsafe(no_mangle)]
pub extern "C" fn arrow_api_version() -> u32 {
    ARROW_API_VERSION
}

/// The library's version, e.g. `"0.1.0"`: a static string, never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn arrow_library_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
