//! The bounded queue that carries a client's [`ClientEvent`]s to its user.
//!
//! The client never waits on its user: [`EventSender::send`] puts an event in the queue
//! when there is room and drops it (counting it) when there is none, so a user that reads
//! slowly, or not at all (stdout stuck in a pipe nobody reads), costs at most the queue's
//! capacity in memory and never slows the connection. Once there is room again the next
//! event is preceded by one [`ClientEvent::EventsDropped`] saying how many were lost.
//!
//! ```
//! # async fn example() {
//! use arrow_client::client::{ClientEvent, event_queue};
//!
//! let (events, mut rx) = event_queue(2);
//! for _ in 0..5 {
//!     events.send(ClientEvent::Registered);
//! }
//! assert_eq!(events.dropped(), 3);
//! assert_eq!(rx.recv().await, Some(ClientEvent::Registered));
//! assert_eq!(rx.recv().await, Some(ClientEvent::Registered));
//! events.send(ClientEvent::Stopped);
//! assert_eq!(rx.recv().await, Some(ClientEvent::EventsDropped { count: 3 }));
//! assert_eq!(rx.recv().await, Some(ClientEvent::Stopped));
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::event::ClientEvent;

/// The queue's capacity in events that `protoctl arrow run` uses, and a sensible one for
/// any user: enough for bursts of session events, small enough (well under a megabyte)
/// that a user who stops reading costs little.
pub const DEFAULT_EVENT_QUEUE: usize = 1024;

/// A bounded event queue of `capacity` events (at least 2: room for an
/// [`EventsDropped`](ClientEvent::EventsDropped) and the event after it): the sending side
/// for [`Client::spawn`](super::Client::spawn), the receiving side for the user.
pub fn event_queue(capacity: usize) -> (EventSender, mpsc::Receiver<ClientEvent>) {
    let (tx, rx) = mpsc::channel(capacity.max(2));
    let sender = EventSender {
        tx,
        counts: Arc::new(Counts::default()),
    };
    (sender, rx)
}

#[derive(Debug, Default)]
struct Counts {
    /// Dropped since the last `EventsDropped` went into the queue.
    unreported: AtomicU64,
    /// Dropped since the queue was made.
    total: AtomicU64,
}

/// The sending side of an [`event_queue`]; cheap to clone. Sending never waits.
#[derive(Debug, Clone)]
pub struct EventSender {
    tx: mpsc::Sender<ClientEvent>,
    counts: Arc<Counts>,
}

impl EventSender {
    /// Queues `event` when there is room, else drops it and counts it. The first event
    /// queued after drops is preceded by one `EventsDropped` with their number. A receiver
    /// that is gone is not an error: the event is discarded.
    pub fn send(&self, event: ClientEvent) {
        if self.counts.unreported.load(Ordering::Acquire) == 0 {
            match self.tx.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(_)) => self.count_dropped(),
            }
            return;
        }
        match self.tx.try_reserve_many(2) {
            Ok(mut permits) => {
                let count = self.counts.unreported.swap(0, Ordering::AcqRel);
                if count > 0
                    && let Some(permit) = permits.next()
                {
                    permit.send(ClientEvent::EventsDropped { count });
                }
                if let Some(permit) = permits.next() {
                    permit.send(event);
                }
            }
            Err(mpsc::error::TrySendError::Full(())) => self.count_dropped(),
            Err(mpsc::error::TrySendError::Closed(())) => {}
        }
    }

    fn count_dropped(&self) {
        self.counts.unreported.fetch_add(1, Ordering::AcqRel);
        self.counts.total.fetch_add(1, Ordering::Relaxed);
    }

    /// Events dropped for want of room since the queue was made.
    pub fn dropped(&self) -> u64 {
        self.counts.total.load(Ordering::Relaxed)
    }

    /// Events waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The most events the queue holds.
    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_drops_counts_and_reports_once_there_is_room() {
        let (events, mut rx) = event_queue(4);
        for _ in 0..100 {
            events.send(ClientEvent::Registered);
        }
        assert_eq!((events.queued(), events.dropped()), (4, 96));
        for _ in 0..4 {
            assert_eq!(rx.recv().await, Some(ClientEvent::Registered));
        }
        events.send(ClientEvent::Stopping);
        events.send(ClientEvent::Stopped);
        assert_eq!(
            rx.recv().await,
            Some(ClientEvent::EventsDropped { count: 96 })
        );
        assert_eq!(rx.recv().await, Some(ClientEvent::Stopping));
        assert_eq!(rx.recv().await, Some(ClientEvent::Stopped));
        assert!(rx.try_recv().is_err(), "one report, not one per event");
        assert_eq!(events.dropped(), 96, "the total stays");
    }

    #[tokio::test]
    async fn with_room_for_the_report_only_the_event_waits_too() {
        let (events, mut rx) = event_queue(2);
        for _ in 0..3 {
            events.send(ClientEvent::Registered);
        }
        let _ = rx.recv().await;
        // One free slot: the report and its event need two, so this one is dropped too.
        events.send(ClientEvent::Stopped);
        assert_eq!(events.dropped(), 2);
        let _ = rx.recv().await;
        events.send(ClientEvent::Stopped);
        assert_eq!(
            rx.recv().await,
            Some(ClientEvent::EventsDropped { count: 2 })
        );
        assert_eq!(rx.recv().await, Some(ClientEvent::Stopped));
    }

    #[test]
    fn a_receiver_that_is_gone_is_not_an_error() {
        let (events, rx) = event_queue(2);
        drop(rx);
        events.send(ClientEvent::Stopped);
        assert_eq!(events.dropped(), 0);
    }
}
