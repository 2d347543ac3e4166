//! The status file: what a running client is doing, for operators and health checks.
//!
//! The runtime rewrites `status.json` in the state directory atomically (a temporary file,
//! fsync, rename) on every change of state, and at most once a second while only the
//! counters move, so a reader always sees one whole, recent document:
//!
//! ```json
//! {
//!   "state": "connected",
//!   "server": "arrow.example.com:8900",
//!   "since": "2026-11-27T07:40:12Z",
//!   "updated": "2026-11-27T07:41:02Z",
//!   "pid": 4242,
//!   "uuid": "5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10",
//!   "mac": "02:5f:1c:9e:3a:1d",
//!   "active_sessions": 2,
//!   "bytes_up": 1048576,
//!   "bytes_down": 20480,
//!   "last_error": null,
//!   "next_attempt": null
//! }
//! ```
//!
//! `state` is `connected` only once the service acknowledged REGISTER. Times are RFC 3339
//! in UTC, to the second. The key never appears here.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;
use crate::identity::write_private;

/// The file inside the state directory.
pub const STATUS_FILE: &str = "status.json";

/// Where the client's link to the Arrow Service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Dialing, TLS handshake or REGISTER sent and not yet acknowledged.
    Connecting,
    /// The service acknowledged REGISTER; sessions can run.
    Connected,
    /// The service answered REGISTER with UNAUTHORIZED: the client is not paired yet. It
    /// keeps retrying with backoff.
    Unauthorized,
    /// Between connections, waiting to retry (see `next_attempt`).
    Disconnected,
    /// The client shut down (SIGINT/SIGTERM).
    Stopped,
}

impl LinkState {
    /// The name used in the file, logs and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Unauthorized => "unauthorized",
            LinkState::Disconnected => "disconnected",
            LinkState::Stopped => "stopped",
        }
    }
}

/// The contents of `status.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Where the link stands.
    pub state: LinkState,
    /// The Arrow Service `HOST:PORT` being used (after a REDIRECT, the new one).
    pub server: String,
    /// When `state` last changed, RFC 3339 UTC.
    pub since: String,
    /// When this document was written, RFC 3339 UTC.
    pub updated: String,
    /// The client's process id.
    pub pid: u32,
    /// The client UUID (the key is never written here).
    pub uuid: Uuid,
    /// The MAC sent in REGISTER.
    pub mac: String,
    /// Sessions open now.
    pub active_sessions: u64,
    /// Session bytes sent to the service since the client started.
    pub bytes_up: u64,
    /// Session bytes received from the service since the client started.
    pub bytes_down: u64,
    /// Why the last connection ended or failed, if it did.
    pub last_error: Option<String>,
    /// When the next connection attempt is due, RFC 3339 UTC, while disconnected.
    pub next_attempt: Option<String>,
}

/// `time` as RFC 3339 UTC, to the second.
pub fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

impl Status {
    /// The path of the status file in `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(STATUS_FILE)
    }

    /// The document as the status file holds it: pretty JSON and a newline (also what a
    /// [`StatusStore`](crate::storage::StatusStore) keeper may write where it likes).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a status always serializes");
        text.push('\n');
        text
    }

    /// Writes the status file atomically (mode 0600).
    pub fn write(&self, state_dir: &Path) -> Result<(), Error> {
        let path = Self::path(state_dir);
        write_private(&path, self.to_json().as_bytes())
            .map_err(|source| Error::State { path, source })
    }

    /// Reads the status file; `None` when there is none (the client never ran here).
    pub fn read(state_dir: &Path) -> Result<Option<Status>, Error> {
        let path = Self::path(state_dir);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::State { path, source }),
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| Error::State {
                path,
                source: io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("not a status file: {e}"),
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            state: LinkState::Connected,
            server: "127.0.0.1:8900".into(),
            since: rfc3339(SystemTime::UNIX_EPOCH),
            updated: rfc3339(SystemTime::UNIX_EPOCH),
            pid: 1,
            uuid: Uuid::nil(),
            mac: "02:00:00:00:00:01".into(),
            active_sessions: 2,
            bytes_up: 10,
            bytes_down: 20,
            last_error: None,
            next_attempt: None,
        }
    }

    #[test]
    fn status_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Status::read(dir.path()).unwrap(), None);
        sample().write(dir.path()).unwrap();
        assert_eq!(Status::read(dir.path()).unwrap(), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(Status::path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_json_form_is_the_files() {
        let dir = tempfile::tempdir().unwrap();
        sample().write(dir.path()).unwrap();
        let on_disk = fs::read_to_string(Status::path(dir.path())).unwrap();
        assert_eq!(sample().to_json(), on_disk);
        assert!(on_disk.ends_with("}\n"));
    }

    #[test]
    fn times_are_rfc3339_utc_seconds() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_garbled_status_file_is_a_state_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(Status::path(dir.path()), b"{").unwrap();
        assert!(matches!(Status::read(dir.path()), Err(Error::State { .. })));
    }
}
