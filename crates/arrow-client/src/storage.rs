//! Custom storage: where a client publishes its status when it is not (only) a file in the
//! state directory.
//!
//! A device whose flash is not a file system, or whose firmware keeps its own settings
//! store, gives [`ClientConfig::status_store`](crate::client::ClientConfig::status_store) a
//! [`StatusStore`]: every status document the client would write to `status.json` goes to
//! it instead, with the same timing (at once on a change of link state, at most once a
//! second while only the counters move, and a last `stopped` document). The identity needs
//! no trait: give [`ClientConfig::identity`](crate::client::ClientConfig::identity), read
//! and kept with [`Identity::from_json`](crate::identity::Identity::from_json) and
//! [`Identity::to_json`](crate::identity::Identity::to_json), the format of
//! `identity.json`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use arrow_client::status::Status;
//! use arrow_client::storage::StatusStore;
//!
//! /// Keeps the latest document in memory, for a web page of the device, say.
//! #[derive(Default)]
//! struct Latest(Mutex<Option<Status>>);
//!
//! impl StatusStore for Latest {
//!     fn store_status(&self, status: &Status) -> std::io::Result<()> {
//!         *self.0.lock().unwrap() = Some(status.clone());
//!         Ok(())
//!     }
//! }
//!
//! let store: Arc<dyn StatusStore> = Arc::new(Latest::default());
//! # let _ = store;
//! ```

use std::io;

use crate::status::Status;

/// Takes the client's status documents instead of `status.json`.
///
/// Called from the client's threads (tokio's blocking pool, and the runtime's thread for
/// the last document), never for two documents at once, each time with the whole current
/// document. An error is logged once (until a later document is stored) and does not
/// stop the client.
pub trait StatusStore: Send + Sync {
    /// Stores `status` (it replaces the one stored before).
    fn store_status(&self, status: &Status) -> io::Result<()>;
}
