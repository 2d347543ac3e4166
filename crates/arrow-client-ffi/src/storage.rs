//! Custom storage: the caller keeps the identity and the status (flash, a settings
//! store) through callbacks, instead of files in a state directory.
//!
//! The identity is the text of `identity.json` (`{"uuid": "...", "key": "<32 hex>"}`, a
//! secret: it holds the client's key). At start, `load_identity` is asked for it; when
//! there is none yet a new identity is made and given to `store_identity`, which must
//! keep it (a client that gets a new identity on every start has to be paired again).
//! Both run on the thread calling `arrow_client_start`, before it returns. The status
//! documents (the text of `status.json`) go to `store_status` on the callback thread,
//! the newest one each time, and a last one when the client stops.

use std::ffi::c_void;
use std::sync::Arc;

use arrow_client::identity::Identity;
use arrow_client::status::Status;
use arrow_client::storage::StatusStore;

use crate::callbacks::{Hub, StatusCallback};
use crate::error::FfiError;

/// The most bytes `load_identity` is given to write the identity into.
pub const ARROW_IDENTITY_MAX: usize = 1024;

/// Storage callbacks for the identity and the status, with the caller's pointer.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ArrowStorage {
    /// Passed back as the first argument of each callback.
    pub user: *mut c_void,
    /// Writes the stored identity into `buf` (`len` bytes, `ARROW_IDENTITY_MAX`) and
    /// returns its length; 0 when none is stored yet; a negative value when it cannot be
    /// read (the start then fails). Required.
    pub load_identity:
        Option<unsafe extern "C" fn(user: *mut c_void, buf: *mut u8, len: usize) -> isize>,
    /// Stores a new identity (`len` bytes at `data`, valid during the call only); returns
    /// 0 when it is kept, anything else when not (the start then fails). Required.
    pub store_identity:
        Option<unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize) -> i32>,
    /// Stores a status document (`len` bytes of JSON at `data`, valid during the call
    /// only), replacing the one before; returns 0 when it is kept (a failure is logged).
    /// May be NULL: the status is then not kept.
    pub store_status:
        Option<unsafe extern "C" fn(user: *mut c_void, data: *const u8, len: usize) -> i32>,
}

impl ArrowStorage {
    /// Both identity callbacks are needed.
    pub(crate) fn check(&self) -> Result<(), FfiError> {
        if self.load_identity.is_none() {
            return Err(FfiError::Null("storage->load_identity"));
        }
        if self.store_identity.is_none() {
            return Err(FfiError::Null("storage->store_identity"));
        }
        Ok(())
    }

    /// The stored identity, or a new one, stored.
    pub(crate) fn identity(&self) -> Result<Identity, FfiError> {
        self.check()?;
        let (Some(load), Some(store)) = (self.load_identity, self.store_identity) else {
            unreachable!("checked above");
        };
        let mut buf = vec![0u8; ARROW_IDENTITY_MAX];
        // SAFETY: the caller's callback, with its own pointer and a buffer of `len` bytes.
        let n = unsafe { load(self.user, buf.as_mut_ptr(), buf.len()) };
        let loaded = match usize::try_from(n) {
            Err(_) => Err(FfiError::Storage(format!(
                "load_identity failed (it returned {n})"
            ))),
            Ok(0) => Ok(None),
            Ok(n) if n > buf.len() => Err(FfiError::Storage(format!(
                "load_identity returned {n}, more than the {} bytes of the buffer",
                buf.len()
            ))),
            Ok(n) => std::str::from_utf8(&buf[..n])
                .map_err(|_| "not UTF-8".to_string())
                .and_then(Identity::from_json)
                .map(Some)
                .map_err(|why| FfiError::Storage(format!("the stored identity: {why}"))),
        };
        // The key was in there.
        buf.fill(0);
        std::hint::black_box(&buf);
        if let Some(identity) = loaded? {
            return Ok(identity);
        }
        let identity = Identity::generate();
        let text = identity.to_json();
        // SAFETY: the caller's callback, with its own pointer and our bytes for the call.
        let code = unsafe { store(self.user, text.as_ptr(), text.len()) };
        if code != 0 {
            return Err(FfiError::Storage(format!(
                "store_identity failed (it returned {code}): a client without a kept identity \
                 would have to be paired again on every start"
            )));
        }
        tracing::info!(uuid = %identity.uuid, "a new identity was made and stored");
        Ok(identity)
    }

    /// The status callback, for the callback thread.
    pub(crate) fn status_callback(&self) -> Option<StatusCallback> {
        self.store_status.map(|store| StatusCallback {
            store,
            user: self.user.into(),
        })
    }
}

/// The client's status store: each document goes to the callback thread's slot.
pub(crate) struct HubStatusStore(pub(crate) Arc<Hub>);

impl StatusStore for HubStatusStore {
    fn store_status(&self, status: &Status) -> std::io::Result<()> {
        self.0.status(status.to_json().into_bytes());
        Ok(())
    }
}
