//! A snapshot of the service table a client announces: `arrow_client_services` makes
//! one, `arrow_service_table_len` and `arrow_service_table_get` read it,
//! `arrow_service_table_free` frees it. A snapshot does not change: take a new one to see
//! a change.

use std::ffi::{CString, c_char};

use arrow_client::service_table::{Service, ServiceTable};

use crate::config::{ArrowServiceKind, kind_code};
use crate::cstr::{c_string, mut_arg, ref_arg};
use crate::error::{ArrowResult, FfiError, guard, guard_or};

/// One service of a snapshot. Its strings belong to the snapshot: valid until
/// `arrow_service_table_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ArrowService {
    /// The service id the Arrow Service knows it by (never 0).
    pub id: u16,
    /// Its kind (`ARROW_SERVICE_KIND_*`).
    pub kind: ArrowServiceKind,
    /// Its type on the wire (e.g. 0x0001 RTSP, 0x0002 locked RTSP, 0xffff TCP).
    pub wire_type: u16,
    /// Announced as locked: the camera wants credentials the client did not keep.
    pub locked: bool,
    /// Found by discovery, not configured.
    pub discovered: bool,
    /// The MAC announced for it.
    pub mac: [u8; 6],
    /// Where sessions connect to, `IP:PORT` (`[IPv6]:PORT`).
    pub address: *const c_char,
    /// The URL path of an RTSP or MJPEG stream, else empty.
    pub path: *const c_char,
}

/// A snapshot of the service table (opaque).
pub struct ArrowServiceTable {
    services: Vec<Entry>,
}

/// A service and its strings, kept for the C side.
struct Entry {
    service: Service,
    address: CString,
    path: CString,
}

impl ArrowServiceTable {
    /// The snapshot of `table`.
    pub(crate) fn new(table: &ServiceTable) -> Self {
        let services = table
            .services()
            .iter()
            .map(|service| Entry {
                service: service.clone(),
                address: c_string(&service.addr.to_string()),
                path: c_string(&service.path),
            })
            .collect();
        ArrowServiceTable { services }
    }
}

/// The number of services in `table`; 0 for NULL.
///
/// # Safety
/// `table` must be NULL or a live snapshot.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_service_table_len(table: *const ArrowServiceTable) -> usize {
    guard_or(0, || {
        // SAFETY: the caller's contract.
        let table = unsafe { table.as_ref() };
        table.map_or(0, |t| t.services.len())
    })
}

/// Copies the service at `index` (from 0, in id order) into `*out`.
///
/// # Safety
/// `table` must be NULL or a live snapshot; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_service_table_get(
    table: *const ArrowServiceTable,
    index: usize,
    out: *mut ArrowService,
) -> ArrowResult {
    guard(|| {
        // SAFETY: the caller's contract.
        let table = unsafe { ref_arg(table, "table") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { mut_arg(out, "out") }?;
        let entry = table.services.get(index).ok_or(FfiError::OutOfRange {
            index,
            len: table.services.len(),
        })?;
        let s = &entry.service;
        *out = ArrowService {
            id: s.id,
            kind: kind_code(s.kind),
            wire_type: s.service_type().into(),
            locked: s.locked,
            discovered: s.discovered,
            mac: s.mac.0,
            address: entry.address.as_ptr(),
            path: entry.path.as_ptr(),
        };
        Ok(())
    })
}

/// Frees a snapshot; NULL is ignored.
///
/// # Safety
/// `table` must be NULL or come from `arrow_client_services`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_service_table_free(table: *mut ArrowServiceTable) {
    guard_or((), || {
        if !table.is_null() {
            // SAFETY: made by Box::into_raw in arrow_client_services, freed once.
            drop(unsafe { Box::from_raw(table) });
        }
    });
}
