//! The callback thread: every callback of a client (link state, scans, log lines, the
//! status storage) runs on one thread of its own, `arrow-callbacks`, one call at a time,
//! in the order things happened.
//!
//! The client's threads never call C and never wait for it: they put what happened in a
//! bounded queue ([`Hub`]) without blocking. When a callback is so slow that the queue
//! fills, what does not fit is dropped and counted: log lines are then followed by one
//! line saying how many were lost, and the link state is read again from the client's
//! status so that the next state reported is the true one. Status documents are never
//! queued: the latest one waits in a slot, so the storage always gets the newest and the
//! last (`stopped`) one.
//!
//! No lock is held while a callback runs, so a callback may call any `arrow_client_*`
//! function that does not wait for the callback thread (all of them but
//! `arrow_client_stop` and `arrow_client_free`, which fail with
//! `ARROW_ERROR_WRONG_THREAD` there).

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use arrow_client::client::{ClientEvent, ClientHandle};
use arrow_client::status::LinkState;
use tracing::level_filters::LevelFilter;

use crate::cstr::c_string;
use crate::log_level::{ARROW_LOG_LEVEL_WARN, ArrowLogLevel};

/// Where the client's link to the Arrow Service stands.
pub type ArrowState = u32;

/// Dialing, TLS handshake, or REGISTER sent and not yet acknowledged.
pub const ARROW_STATE_CONNECTING: ArrowState = 1;
/// Registered: the service accepted REGISTER, sessions can run.
pub const ARROW_STATE_CONNECTED: ArrowState = 2;
/// The service refused REGISTER: the client is not paired yet (it keeps retrying).
pub const ARROW_STATE_UNAUTHORIZED: ArrowState = 3;
/// Between connections, waiting to retry.
pub const ARROW_STATE_DISCONNECTED: ArrowState = 4;
/// The client stopped (after `arrow_client_stop`, or by itself on an error it cannot
/// retry).
pub const ARROW_STATE_STOPPED: ArrowState = 5;

/// The C state of a link state.
pub(crate) fn state_code(state: LinkState) -> ArrowState {
    match state {
        LinkState::Connecting => ARROW_STATE_CONNECTING,
        LinkState::Connected => ARROW_STATE_CONNECTED,
        LinkState::Unauthorized => ARROW_STATE_UNAUTHORIZED,
        LinkState::Disconnected => ARROW_STATE_DISCONNECTED,
        LinkState::Stopped => ARROW_STATE_STOPPED,
    }
}

/// A scan of the LAN started or ended.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrowScanReport {
    /// True when the scan starts (the counts are 0), false when it has ended.
    pub running: bool,
    /// Hosts the scan found.
    pub hosts: usize,
    /// Camera services the scan found (they join the service table as they are
    /// announced).
    pub services: usize,
    /// The scan's deadline cut it short (or it could not run at all).
    pub cut_short: bool,
}

/// Called with the new state on each change of the link's state.
pub type ArrowStateCallback = Option<unsafe extern "C" fn(user: *mut c_void, state: ArrowState)>;

/// Called when a scan starts and when it ends; `report` is valid during the call only.
pub type ArrowScanCallback =
    Option<unsafe extern "C" fn(user: *mut c_void, report: *const ArrowScanReport)>;

/// Called with each log line (no newline at its end); `line` is valid during the call
/// only.
pub type ArrowLogCallback =
    Option<unsafe extern "C" fn(user: *mut c_void, level: ArrowLogLevel, line: *const c_char)>;

/// The caller's `user` pointer, handed back as is, on the callback thread only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UserPtr(pub(crate) *mut c_void);

// SAFETY: the pointer is never dereferenced here, only handed back to the caller's
// callbacks, whose contract says it may be used from the callback thread.
unsafe impl Send for UserPtr {}

impl From<*mut c_void> for UserPtr {
    fn from(p: *mut c_void) -> Self {
        UserPtr(p)
    }
}

/// `store_status` and its pointer, called on the callback thread.
#[derive(Debug)]
pub(crate) struct StatusCallback {
    pub(crate) store: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32,
    pub(crate) user: UserPtr,
}

impl StatusCallback {
    /// Hands `document` to the caller; `Err` with the code it returned.
    pub(crate) fn store(&self, document: &[u8]) -> Result<(), i32> {
        // SAFETY: the caller's callback, with its own pointer and our bytes for the call.
        match unsafe { (self.store)(self.user.0, document.as_ptr(), document.len()) } {
            0 => Ok(()),
            code => Err(code),
        }
    }
}

/// The callbacks a configuration holds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Callbacks {
    /// Link state changes.
    pub(crate) state: Option<(unsafe extern "C" fn(*mut c_void, ArrowState), UserPtr)>,
    /// Scans.
    pub(crate) scan: Option<(
        unsafe extern "C" fn(*mut c_void, *const ArrowScanReport),
        UserPtr,
    )>,
    /// Log lines, and the most verbose level wanted.
    pub(crate) log: Option<(
        unsafe extern "C" fn(*mut c_void, ArrowLogLevel, *const c_char),
        UserPtr,
        LevelFilter,
    )>,
}

/// What the callback thread is told.
#[derive(Debug)]
pub(crate) enum Item {
    /// The client reported an event.
    Event(ClientEvent),
    /// A log line.
    Log(ArrowLogLevel, String),
    /// A new status document waits in the slot.
    Status,
    /// The client has stopped and its threads are gone: finish and end.
    Quit,
}

/// How many items wait for the callback thread at most.
pub(crate) const QUEUE: usize = 1024;

/// The client's side of the callback thread: a bounded queue that never blocks its
/// senders, and the status slot.
#[derive(Debug)]
pub(crate) struct Hub {
    tx: SyncSender<Item>,
    /// The newest status document not yet handed to the storage.
    status: Mutex<Option<Vec<u8>>>,
    dropped_events: AtomicU64,
    dropped_logs: AtomicU64,
}

impl Hub {
    /// A hub and the receiving end for the callback thread.
    pub(crate) fn new() -> (Arc<Hub>, Receiver<Item>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let hub = Hub {
            tx,
            status: Mutex::new(None),
            dropped_events: AtomicU64::new(0),
            dropped_logs: AtomicU64::new(0),
        };
        (Arc::new(hub), rx)
    }

    /// Queues an event without waiting; counts it when there is no room.
    pub(crate) fn event(&self, event: ClientEvent) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Item::Event(event)) {
            self.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a log line without waiting; counts it when there is no room.
    pub(crate) fn log(&self, level: ArrowLogLevel, line: String) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Item::Log(level, line)) {
            self.dropped_logs.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Puts a status document in the slot (replacing one not taken yet) and wakes the
    /// callback thread; never waits.
    pub(crate) fn status(&self, document: Vec<u8>) {
        *lock(&self.status) = Some(document);
        // A full queue is fine: the thread looks at the slot after every item.
        let _ = self.tx.try_send(Item::Status);
    }

    /// Tells the callback thread to finish; waits for room in the queue (never called
    /// from the client's threads).
    pub(crate) fn quit(&self) {
        let _ = self.tx.send(Item::Quit);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The link state an event says the client is in now, if it says one.
pub(crate) fn state_after(event: &ClientEvent) -> Option<ArrowState> {
    Some(match event {
        ClientEvent::Connecting { .. } => ARROW_STATE_CONNECTING,
        ClientEvent::Registered => ARROW_STATE_CONNECTED,
        ClientEvent::NotPaired { .. } => ARROW_STATE_UNAUTHORIZED,
        ClientEvent::Retrying { state, .. } => state_code(*state),
        ClientEvent::Disconnected { .. } | ClientEvent::ServiceUnresolved { .. } => {
            ARROW_STATE_DISCONNECTED
        }
        ClientEvent::Stopped => ARROW_STATE_STOPPED,
        _ => return None,
    })
}

/// The callback thread's state.
pub(crate) struct Dispatcher {
    pub(crate) hub: Arc<Hub>,
    pub(crate) callbacks: Callbacks,
    pub(crate) status_store: Option<StatusCallback>,
    /// For the true link state after events were dropped.
    pub(crate) handle: ClientHandle,
    /// The state last reported.
    pub(crate) reported: Option<ArrowState>,
}

impl Dispatcher {
    /// Runs until told to quit (or until every sender is gone).
    pub(crate) fn run(mut self, rx: Receiver<Item>) {
        while let Ok(item) = rx.recv() {
            if matches!(item, Item::Quit) {
                // Everything queued before Quit, then the last status.
                while let Ok(item) = rx.try_recv() {
                    self.handle_item(item);
                }
                self.flush_status();
                return;
            }
            self.handle_item(item);
        }
        self.flush_status();
    }

    fn handle_item(&mut self, item: Item) {
        match item {
            Item::Event(event) => self.event(&event),
            Item::Log(level, line) => self.log_line(level, &line),
            Item::Status | Item::Quit => {}
        }
        self.flush_status();
        self.report_drops();
    }

    fn event(&mut self, event: &ClientEvent) {
        if let Some(state) = state_after(event) {
            self.set_state(state);
        }
        let report = match event {
            ClientEvent::ScanStarted => ArrowScanReport {
                running: true,
                hosts: 0,
                services: 0,
                cut_short: false,
            },
            ClientEvent::ScanFinished {
                hosts,
                services,
                cut_short,
            } => ArrowScanReport {
                running: false,
                hosts: *hosts,
                services: *services,
                cut_short: *cut_short,
            },
            _ => return,
        };
        if let Some((callback, user)) = self.callbacks.scan {
            // SAFETY: the caller's callback, with its own pointer and a report that lives
            // through the call.
            unsafe { callback(user.0, &report) };
        }
    }

    fn set_state(&mut self, state: ArrowState) {
        if self.reported == Some(state) {
            return;
        }
        self.reported = Some(state);
        if let Some((callback, user)) = self.callbacks.state {
            // SAFETY: the caller's callback, with its own pointer.
            unsafe { callback(user.0, state) };
        }
    }

    fn log_line(&self, level: ArrowLogLevel, line: &str) {
        if let Some((callback, user, _)) = self.callbacks.log {
            let line = c_string(line);
            // SAFETY: the caller's callback, with its own pointer and a C string that
            // lives through the call.
            unsafe { callback(user.0, level, line.as_ptr()) };
        }
    }

    /// Hands the newest status document to the storage, if one waits.
    fn flush_status(&mut self) {
        let Some(document) = lock(&self.hub.status).take() else {
            return;
        };
        if let Some(store) = &self.status_store
            && let Err(code) = store.store(&document)
        {
            self.log_line(
                ARROW_LOG_LEVEL_WARN,
                &format!("the storage's store_status failed (it returned {code})"),
            );
        }
    }

    /// Says what was dropped for want of room, and reads the true state again.
    fn report_drops(&mut self) {
        let logs = self.hub.dropped_logs.swap(0, Ordering::Relaxed);
        if logs > 0 {
            self.log_line(
                ARROW_LOG_LEVEL_WARN,
                &format!("{logs} log line(s) dropped: the callbacks were too slow"),
            );
        }
        if self.hub.dropped_events.swap(0, Ordering::Relaxed) > 0 {
            let state = state_code(self.handle.status().state);
            self.set_state(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn events_say_the_link_state_and_others_say_nothing() {
        let cases = [
            (
                ClientEvent::Connecting {
                    server: "a:1".into(),
                },
                Some(ARROW_STATE_CONNECTING),
            ),
            (ClientEvent::Registered, Some(ARROW_STATE_CONNECTED)),
            (
                ClientEvent::Retrying {
                    server: "a:1".into(),
                    state: LinkState::Unauthorized,
                    delay: Duration::from_secs(1),
                },
                Some(ARROW_STATE_UNAUTHORIZED),
            ),
            (
                ClientEvent::Disconnected {
                    reason: "closed".into(),
                    disconnect: None,
                },
                Some(ARROW_STATE_DISCONNECTED),
            ),
            (ClientEvent::Stopped, Some(ARROW_STATE_STOPPED)),
            (ClientEvent::Stopping, None),
            (ClientEvent::ScanStarted, None),
        ];
        for (event, want) in cases {
            assert_eq!(state_after(&event), want, "{event:?}");
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_but_the_status_slot_keeps_the_newest() {
        let (hub, rx) = Hub::new();
        for _ in 0..QUEUE + 5 {
            hub.log(ARROW_LOG_LEVEL_WARN, "x".into());
        }
        hub.event(ClientEvent::Registered);
        assert_eq!(hub.dropped_logs.load(Ordering::Relaxed), 5);
        assert_eq!(hub.dropped_events.load(Ordering::Relaxed), 1);
        hub.status(b"old".to_vec());
        hub.status(b"new".to_vec());
        assert_eq!(lock(&hub.status).as_deref(), Some(&b"new"[..]));
        assert_eq!(rx.try_iter().count(), QUEUE);
    }
}
