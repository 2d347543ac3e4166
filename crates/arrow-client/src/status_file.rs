//! Keeps `status.json` current while the client runs.
//!
//! The runtime reports the link state (connecting, connected after the REGISTER ACK,
//! unauthorized, disconnected with the last error and the next attempt, stopped), written
//! at once, and the open sessions; the session count and the byte counters (plain atomics
//! the connection driver stores into after every batch) are written at most once a second
//! ([`WriteCoalescer`]), so sessions opening and closing fast cost one fsync a second, not
//! two per session. One writer task does the file I/O (on the blocking pool), so a burst of
//! changes costs one write of the latest state and the connection driver never waits on
//! the disk. The last write (`stopped`) is done in place and nothing is written after it.
//! With a [`StatusStore`] the documents go to it instead of the file, with the same timing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use uuid::Uuid;

use crate::status::{LinkState, Status, rfc3339};
use crate::status_coalescer::{Change, WriteCoalescer};
use crate::storage::StatusStore;

/// How often the session count and the counters may cause a write.
const COUNTER_PERIOD: Duration = Duration::from_secs(1);

/// The shared status of a running client; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct StatusFile {
    shared: Arc<Shared>,
}

struct Shared {
    dir: Option<PathBuf>,
    /// Takes the documents instead of `dir`'s file, when given.
    store: Option<Arc<dyn StatusStore>>,
    status: Mutex<Status>,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    active: AtomicU64,
    changed: Notify,
    /// The link state changed since the writer last looked (written at once).
    state_changed: AtomicBool,
    /// The session count changed since the writer last looked (coalesced).
    sessions_changed: AtomicBool,
    /// Held while writing; `true` once the final document is written.
    write: Mutex<bool>,
    warned: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("dir", &self.dir)
            .field("store", &self.store.is_some())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl StatusFile {
    /// Status for this client; written to `store` when given, else to `dir` when given.
    pub(crate) fn new(
        dir: Option<PathBuf>,
        store: Option<Arc<dyn StatusStore>>,
        server: &str,
        uuid: Uuid,
        mac: String,
    ) -> Self {
        let now = rfc3339(SystemTime::now());
        let status = Status {
            state: LinkState::Connecting,
            server: server.to_string(),
            since: now.clone(),
            updated: now,
            pid: std::process::id(),
            uuid,
            mac,
            active_sessions: 0,
            bytes_up: 0,
            bytes_down: 0,
            last_error: None,
            next_attempt: None,
        };
        StatusFile {
            shared: Arc::new(Shared {
                dir,
                store,
                status: Mutex::new(status),
                bytes_up: AtomicU64::new(0),
                bytes_down: AtomicU64::new(0),
                active: AtomicU64::new(0),
                changed: Notify::new(),
                state_changed: AtomicBool::new(true),
                sessions_changed: AtomicBool::new(false),
                write: Mutex::new(false),
                warned: AtomicBool::new(false),
            }),
        }
    }

    /// A new link state; `since` moves when the state changes.
    pub(crate) fn set_state(
        &self,
        state: LinkState,
        server: &str,
        last_error: Option<String>,
        next_attempt: Option<SystemTime>,
    ) {
        {
            let mut s = lock(&self.shared.status);
            if s.state != state {
                s.since = rfc3339(SystemTime::now());
                s.state = state;
            }
            s.server = server.to_string();
            if last_error.is_some() || state == LinkState::Connected {
                s.last_error = last_error;
            }
            s.next_attempt = next_attempt.map(rfc3339);
        }
        self.shared.state_changed.store(true, Ordering::Release);
        self.shared.changed.notify_one();
    }

    /// Sessions open now (written within a second).
    pub(crate) fn set_sessions(&self, active: usize) {
        self.shared.active.store(active as u64, Ordering::Relaxed);
        self.shared.sessions_changed.store(true, Ordering::Release);
        self.shared.changed.notify_one();
    }

    /// The totals since the client started (written within a second).
    pub(crate) fn set_bytes(&self, up: u64, down: u64) {
        self.shared.bytes_up.store(up, Ordering::Relaxed);
        self.shared.bytes_down.store(down, Ordering::Relaxed);
    }

    /// The totals so far.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        (
            self.shared.bytes_up.load(Ordering::Relaxed),
            self.shared.bytes_down.load(Ordering::Relaxed),
        )
    }

    /// The document as it stands.
    pub(crate) fn snapshot(&self) -> Status {
        let mut s = lock(&self.shared.status).clone();
        s.active_sessions = self.shared.active.load(Ordering::Relaxed);
        (s.bytes_up, s.bytes_down) = self.bytes();
        s.updated = rfc3339(SystemTime::now());
        s
    }

    fn write(&self, last: bool) {
        let (store, dir) = (&self.shared.store, &self.shared.dir);
        if store.is_none() && dir.is_none() {
            return;
        }
        let mut done = lock(&self.shared.write);
        if *done {
            return;
        }
        let written = match (store, dir) {
            (Some(store), _) => store
                .store_status(&self.snapshot())
                .map_err(|e| ("the status store failed", e.to_string())),
            (None, Some(dir)) => self
                .snapshot()
                .write(dir)
                .map_err(|e| ("cannot write the status file", e.to_string())),
            (None, None) => Ok(()),
        };
        if let Err((what, e)) = written {
            if !self.shared.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "{what}");
            }
        } else {
            self.shared.warned.store(false, Ordering::Relaxed);
        }
        *done = last;
    }

    /// Writes the final document now (after `set_state(Stopped, ..)`); later writes are
    /// dropped.
    pub(crate) fn write_final(&self) {
        self.write(true);
    }

    /// The writer: runs until aborted. State changes are written at once; the session
    /// count and the counters at most once a [`COUNTER_PERIOD`].
    pub(crate) async fn run_writer(self) {
        let mut tick = tokio::time::interval(COUNTER_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut coalescer = WriteCoalescer::new(COUNTER_PERIOD);
        let mut written = (u64::MAX, u64::MAX);
        loop {
            let deadline = coalescer.deadline();
            let due = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.shared.changed.notified() => {}
                () = due => {}
                _ = tick.tick() => {}
            }
            let now = tokio::time::Instant::now().into_std();
            if self.shared.state_changed.swap(false, Ordering::AcqRel) {
                coalescer.changed(now, Change::State);
            }
            if self.shared.sessions_changed.swap(false, Ordering::AcqRel) || self.bytes() != written
            {
                coalescer.changed(now, Change::Counts);
            }
            if !coalescer.poll_write(now) {
                continue;
            }
            written = self.bytes();
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || this.write(false)).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &std::path::Path) -> StatusFile {
        StatusFile::new(
            Some(dir.to_path_buf()),
            None,
            "a:1",
            Uuid::nil(),
            "02:00:00:00:00:01".into(),
        )
    }

    #[test]
    fn the_snapshot_has_the_state_sessions_and_counters() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        f.set_sessions(3);
        f.set_bytes(10, 20);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(60);
        f.set_state(
            LinkState::Disconnected,
            "b:2",
            Some("boom".into()),
            Some(at),
        );
        let s = f.snapshot();
        assert_eq!(s.state, LinkState::Disconnected);
        assert_eq!(s.server, "b:2");
        assert_eq!((s.active_sessions, s.bytes_up, s.bytes_down), (3, 10, 20));
        assert_eq!(s.last_error.as_deref(), Some("boom"));
        assert_eq!(s.next_attempt.as_deref(), Some("1970-01-01T00:01:00Z"));
        // Connected clears the error and the next attempt.
        f.set_state(LinkState::Connected, "b:2", None, None);
        let s = f.snapshot();
        assert_eq!((s.last_error, s.next_attempt), (None, None));
    }

    /// Keeps every document it is given.
    #[derive(Default)]
    struct Kept(Mutex<Vec<Status>>);

    impl StatusStore for Kept {
        fn store_status(&self, status: &Status) -> std::io::Result<()> {
            lock(&self.0).push(status.clone());
            Ok(())
        }
    }

    #[test]
    fn a_status_store_takes_the_documents_instead_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let kept = Arc::new(Kept::default());
        let f = StatusFile::new(
            Some(dir.path().to_path_buf()),
            Some(kept.clone()),
            "a:1",
            Uuid::nil(),
            "02:00:00:00:00:01".into(),
        );
        f.set_state(LinkState::Connected, "a:1", None, None);
        f.write(false);
        f.set_state(LinkState::Stopped, "a:1", None, None);
        f.write_final();
        f.write(false);
        let states: Vec<LinkState> = lock(&kept.0).iter().map(|s| s.state).collect();
        assert_eq!(states, [LinkState::Connected, LinkState::Stopped]);
        assert_eq!(Status::read(dir.path()).unwrap(), None, "no file beside it");
    }

    #[test]
    fn nothing_is_written_after_the_final_document() {
        let dir = tempfile::tempdir().unwrap();
        let f = file(dir.path());
        f.set_state(LinkState::Stopped, "a:1", None, None);
        f.write_final();
        f.set_state(LinkState::Connecting, "a:1", None, None);
        f.write(false);
        let s = Status::read(dir.path()).unwrap().unwrap();
        assert_eq!(s.state, LinkState::Stopped);
    }
}
