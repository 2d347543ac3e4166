//! Per-session flow control, as plain values (no I/O, no clock).
//!
//! The client declares one capacity in REGISTER (`window_size + 1` bytes); it bounds both
//! directions of every session.
//!
//! - [`SendWindow`]: what we may still send to the Arrow Service. Starts at the capacity,
//!   shrinks with every byte sent, grows with the service's DATA_ACKs, and never exceeds the
//!   capacity, so no more than the capacity is ever un-acknowledged in flight. It hands the
//!   acknowledged room back to the local reader with silly-window avoidance: while data is
//!   in flight, in pieces of at least 16 KiB (or half the window), one smaller piece at a
//!   time, so the size of the service's DATA_ACKs does not set the size of our DATA
//!   messages.
//! - [`RecvWindow`]: what the service has sent us and we have not acknowledged yet. A message
//!   that would take it over the capacity is an overrun (the session is hung up). Bytes are
//!   acknowledged only once they reached the local service, and acknowledgements are
//!   coalesced: one DATA_ACK per eighth of the capacity delivered (8 KiB at the default
//!   window), never one per tiny write. An eighth rather than a quarter: with the window
//!   capped at 64 KiB by the protocol, one session's throughput is the window per
//!   acknowledgement round trip, and earlier credit measured about a third faster on
//!   loopback, for eight small messages per window.
//!   Because the threshold is at most the capacity, a peer that fills the window always
//!   triggers an acknowledgement, so coalescing never stalls a session; and once a burst
//!   ends (everything received reached the local service), what is left under the
//!   threshold is acknowledged too ([`RecvWindow::idle`]), so the service's window is
//!   never kept short of it for a round trip. A lone small message (a request) gets no
//!   DATA_ACK of its own.

/// The receive window is acknowledged each time this fraction of it was delivered.
pub const ACK_FRACTION: u32 = 8;

/// The smallest grant of read credit while data is in flight: a DATA message smaller
/// than this goes out only when the local source had no more to give, or as the one small
/// message allowed in flight (see [`SendWindow`]).
pub const MIN_SEND: u32 = 16 * 1024;

/// The send side of one session.
///
/// Besides the window it keeps the *read credit*: how much of the window was handed to
/// whoever reads the local source and not yet used. Acknowledged bytes become credit again
/// with silly-window avoidance: while data is in flight, credit is handed out only once at
/// least [`send_threshold`](Self::send_threshold) bytes were acknowledged (the smaller of
/// [`MIN_SEND`] and half the capacity), so a peer that acknowledges every small message
/// does not turn a bulk transfer into a stream of small messages, each with its own header,
/// TLS record and system calls. When nothing is in flight the whole window is credit, so a
/// small interactive write still goes out at once; and a reader with credit sends what the
/// source has, however little, so small messages happen only when the source is slower
/// than the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    capacity: u32,
    in_flight: u32,
    /// Handed to the reader and not read yet.
    credit: u32,
    /// Bytes to be acknowledged before the last message under the threshold is (0: none
    /// is in flight).
    small_until: u32,
}

impl SendWindow {
    /// A fresh window: the whole capacity is credit.
    pub fn new(capacity: u32) -> Self {
        SendWindow {
            capacity,
            in_flight: 0,
            credit: capacity,
            small_until: 0,
        }
    }

    /// Bytes the window has room for now (credit handed out and credit held back).
    pub fn available(&self) -> u32 {
        self.capacity - self.in_flight
    }

    /// Bytes sent and not yet acknowledged.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Bytes the reader may still read (handed out by [`new`](Self::new) and
    /// [`acknowledge`](Self::acknowledge), not yet [`consume`](Self::consume)d).
    pub fn credit(&self) -> u32 {
        self.credit
    }

    /// The least credit handed out while data is in flight: the smaller of [`MIN_SEND`] and
    /// half the capacity, at least one byte.
    pub fn send_threshold(&self) -> u32 {
        MIN_SEND.min(self.capacity / 2).max(1)
    }

    /// Records `n` bytes read and sent. Fails (and records nothing) if that is more than
    /// the reader was given.
    pub fn consume(&mut self, n: u32) -> Result<(), WindowExceeded> {
        if n > self.credit {
            return Err(WindowExceeded {
                len: n,
                available: self.credit,
            });
        }
        self.credit -= n;
        self.in_flight += n;
        if n < self.send_threshold() {
            self.small_until = self.in_flight;
        }
        Ok(())
    }

    /// Records a DATA_ACK of `n` bytes and returns the credit to hand the reader now (0
    /// while it is held back). Acknowledging more than is in flight is clamped (a peer
    /// cannot inflate our window).
    ///
    /// Credit goes out when at least [`send_threshold`](Self::send_threshold) bytes were
    /// acknowledged, when nothing is in flight, or when no message under the threshold is
    /// in flight (Minshall's form of Nagle's rule): so at most one small message is ever
    /// in flight, a trickle of small acknowledgements cannot turn into a stream of small
    /// messages, and the sliver that ends a window over a WAN does not wait a whole round
    /// trip for the next acknowledgement.
    pub fn acknowledge(&mut self, n: u32) -> u32 {
        let n = n.min(self.in_flight);
        self.in_flight -= n;
        self.small_until = self.small_until.saturating_sub(n);
        // Only acknowledged bytes count toward the threshold, not credit the reader still
        // holds: by the time the DATA_ACK is handled the reader may have used that credit
        // already (its report still queued), and counting it hands out slivers.
        let held = self.held();
        if held > 0
            && (self.in_flight == 0 || held >= self.send_threshold() || self.small_until == 0)
        {
            self.grant()
        } else {
            0
        }
    }

    /// Acknowledged bytes not handed to the reader yet.
    pub fn held(&self) -> u32 {
        self.capacity - self.in_flight - self.credit
    }

    fn grant(&mut self) -> u32 {
        let held = self.held();
        self.credit += held;
        held
    }
}

/// More bytes than the window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{len} bytes exceed the window ({available} bytes available)")]
pub struct WindowExceeded {
    /// Bytes offered.
    pub len: u32,
    /// Bytes the window had room for.
    pub available: u32,
}

/// The receive side of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindow {
    capacity: u32,
    /// Received and not yet acknowledged (queued for the local service, or delivered and
    /// waiting for the coalesced DATA_ACK).
    unacked: u32,
    /// Delivered to the local service and not yet acknowledged.
    delivered: u32,
    /// A DATA_ACK at the threshold went out since the session was last idle: the data is
    /// coming in a burst.
    in_burst: bool,
}

impl RecvWindow {
    /// A fresh window.
    pub fn new(capacity: u32) -> Self {
        RecvWindow {
            capacity,
            unacked: 0,
            delivered: 0,
            in_burst: false,
        }
    }

    /// The coalescing threshold: an eighth of the capacity, at least one byte.
    pub fn ack_threshold(&self) -> u32 {
        (self.capacity / ACK_FRACTION).max(1)
    }

    /// Bytes received and not acknowledged.
    pub fn unacked(&self) -> u32 {
        self.unacked
    }

    /// Bytes received and not yet delivered to the local service.
    pub fn queued(&self) -> u32 {
        self.unacked - self.delivered
    }

    /// Records `n` bytes received from the service; an overrun records nothing.
    pub fn receive(&mut self, n: u32) -> Result<(), WindowExceeded> {
        let available = self.capacity - self.unacked;
        if n > available {
            return Err(WindowExceeded { len: n, available });
        }
        self.unacked += n;
        Ok(())
    }

    /// Bytes delivered to the local service and not acknowledged yet (under the threshold).
    pub fn delivered(&self) -> u32 {
        self.delivered
    }

    /// Records `n` bytes written to the local service (clamped to what is queued) and
    /// returns the length of the DATA_ACK to send now: at the coalescing threshold
    /// ([`deliver`](Self::deliver)), or the tail of a burst once nothing received is left
    /// to deliver ([`idle`](Self::idle)). The one rule the client and the development
    /// service both follow.
    pub fn delivered_now(&mut self, n: u32) -> Option<u32> {
        match self.deliver(n.min(self.queued())) {
            None if self.queued() == 0 => self.idle(),
            ack => ack,
        }
    }

    /// Everything received was delivered (the session is idle): returns the length of the
    /// DATA_ACK for the tail of a burst, every byte delivered and not yet acknowledged,
    /// however few. Outside a burst (a lone small message, a request) nothing: its bytes
    /// wait for the next acknowledgement, so an interactive exchange carries no DATA_ACK
    /// per message, while a burst's tail does not keep the sender's window short for a
    /// round trip.
    pub fn idle(&mut self) -> Option<u32> {
        if !std::mem::take(&mut self.in_burst) {
            return None;
        }
        self.flush()
    }

    /// Returns the length of the DATA_ACK for every byte delivered and not yet
    /// acknowledged, however few, if there are any.
    pub fn flush(&mut self) -> Option<u32> {
        let ack = std::mem::take(&mut self.delivered);
        self.unacked -= ack;
        (ack > 0).then_some(ack)
    }

    /// Records `n` bytes written to the local service. Returns the length of the DATA_ACK to
    /// send now, if the coalescing threshold was reached.
    pub fn deliver(&mut self, n: u32) -> Option<u32> {
        debug_assert!(n <= self.queued(), "delivered more than was received");
        self.delivered += n.min(self.queued());
        if self.delivered >= self.ack_threshold() {
            let ack = self.delivered;
            self.unacked -= ack;
            self.delivered = 0;
            self.in_burst = true;
            Some(ack)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_window_starts_full_and_never_exceeds_capacity() {
        let mut w = SendWindow::new(100);
        assert_eq!(w.available(), 100);
        w.consume(60).unwrap();
        assert_eq!(
            w.consume(41),
            Err(WindowExceeded {
                len: 41,
                available: 40
            })
        );
        assert_eq!(w.in_flight(), 60, "a refused send records nothing");
        w.consume(40).unwrap();
        assert_eq!(w.available(), 0);
    }

    #[test]
    fn send_window_ack_reopens_and_is_clamped() {
        let mut w = SendWindow::new(100);
        w.consume(100).unwrap();
        assert_eq!(w.acknowledge(60), 60, "60 of 100 reaches half the window");
        assert_eq!(w.available(), 60);
        assert_eq!(w.acknowledge(1_000_000), 40, "over-ack is clamped");
        assert_eq!(w.available(), 100);
        assert_eq!(w.credit(), 100);
        assert_eq!(w.acknowledge(5), 0);
    }

    #[test]
    fn send_window_reads_no_more_than_its_credit() {
        let mut w = SendWindow::new(65_536);
        w.consume(59_000).unwrap();
        w.consume(1_000).unwrap();
        w.acknowledge(1_000);
        assert_eq!(w.available(), 6_536);
        assert_eq!(
            w.credit(),
            5_536,
            "the acknowledged 1,000 bytes are held back"
        );
        assert_eq!(
            w.consume(6_000),
            Err(WindowExceeded {
                len: 6_000,
                available: 5_536
            })
        );
    }

    /// Silly-window avoidance, one row per rule: (capacity, messages sent, acks in order,
    /// the credit each ack hands out).
    #[test]
    fn send_window_hands_out_credit_in_pieces_of_the_threshold_while_data_is_in_flight() {
        type Row = (
            &'static str,
            u32,
            &'static [u32],
            &'static [u32],
            &'static [u32],
        );
        let rows: &[Row] = &[
            (
                "with a small message in flight, 600-byte acks are held until 16 KiB are back",
                65_536,
                &[65_000, 536],
                &[600; 28],
                &[
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 16_800,
                ],
            ),
            (
                "with no small message in flight, a sliver goes at once",
                65_536,
                &[65_536],
                &[600],
                &[600],
            ),
            (
                "the ack that empties the flight hands out everything",
                65_536,
                &[60_000, 5_536],
                &[1_000, 64_536],
                &[0, 65_536],
            ),
            (
                "one big ack goes out at once",
                65_536,
                &[65_536],
                &[20_000],
                &[20_000],
            ),
            (
                "a small window uses half of itself as the threshold",
                1_000,
                &[600, 400],
                &[100, 300, 100, 500],
                &[0, 0, 500, 500],
            ),
            (
                "credit the reader still holds does not count toward the threshold",
                65_536,
                &[49_000, 1_000],
                &[1_000, 15_384],
                &[0, 16_384],
            ),
        ];
        for (name, capacity, sent, acks, grants) in rows {
            let mut w = SendWindow::new(*capacity);
            for &n in *sent {
                w.consume(n).unwrap();
            }
            let got: Vec<u32> = acks.iter().map(|&n| w.acknowledge(n)).collect();
            assert_eq!(&got[..], *grants, "{name}");
        }
    }

    #[test]
    fn at_most_one_message_under_the_threshold_is_in_flight() {
        let mut w = SendWindow::new(65_536);
        w.consume(60_000).unwrap();
        w.consume(5_536).unwrap();
        // The window's last 5,536 bytes are acknowledged after the first 60,000: no small
        // message is in flight any more, so they go out at once.
        assert_eq!(w.acknowledge(60_000), 60_000);
        w.consume(60_000).unwrap();
        assert_eq!(w.acknowledge(5_536), 5_536);
        // That sliver goes out as a small message: the next small acknowledgements wait
        // for it (or for 16 KiB).
        w.consume(5_536).unwrap();
        assert_eq!(w.acknowledge(1_000), 0);
        assert_eq!(w.acknowledge(15_384), 16_384, "16 KiB: out at once");
        w.consume(16_384).unwrap();
        assert_eq!(w.acknowledge(43_616), 43_616);
        w.consume(43_616).unwrap();
        // Everything before the small message is acknowledged, then the small message:
        // the next sliver may go.
        assert_eq!(w.acknowledge(5_536), 5_536);
    }

    #[test]
    fn send_window_acknowledging_everything_always_restores_the_whole_credit() {
        // Whatever the pieces, once every byte in flight is acknowledged the reader holds
        // the whole window again: holding credit back never stalls a session.
        for piece in [1u32, 7, 600, 4_096, 16_383, 16_384, 65_536] {
            let mut w = SendWindow::new(65_536);
            w.consume(65_536).unwrap();
            let mut granted = 0;
            let mut left = 65_536u32;
            while left > 0 {
                let n = piece.min(left);
                granted += w.acknowledge(n);
                left -= n;
            }
            assert_eq!(
                (granted, w.credit(), w.in_flight()),
                (65_536, 65_536, 0),
                "{piece}"
            );
        }
    }

    #[test]
    fn recv_window_exact_capacity_fits_one_more_overruns() {
        // The reference: a 65,536-byte message fits window_size 65535; one byte more is HUP 3.
        let mut w = RecvWindow::new(65_536);
        w.receive(65_536).unwrap();
        let mut w2 = RecvWindow::new(65_536);
        assert!(w2.receive(65_537).is_err());
        assert!(w.receive(1).is_err());
    }

    #[test]
    fn recv_window_acks_only_delivered_bytes_coalesced() {
        let mut w = RecvWindow::new(1000);
        assert_eq!(w.ack_threshold(), 125);
        w.receive(1000).unwrap();
        assert_eq!(w.deliver(50), None, "under an eighth: no ACK yet");
        assert_eq!(w.deliver(50), None);
        assert_eq!(
            w.deliver(50),
            Some(150),
            "threshold reached: one ACK for all"
        );
        assert_eq!(w.unacked(), 850);
        assert_eq!(w.queued(), 850);
        w.receive(150).unwrap();
        assert!(w.receive(1).is_err());
    }

    #[test]
    fn recv_window_idle_acknowledges_the_tail_of_a_burst_not_a_lone_small_message() {
        let mut w = RecvWindow::new(65_536);
        w.receive(64).unwrap();
        assert_eq!(w.deliver(64), None);
        assert_eq!(w.idle(), None, "a lone request: no DATA_ACK of its own");
        w.receive(10_000).unwrap();
        assert_eq!(
            w.deliver(9_000),
            Some(9_064),
            "the threshold: the request with it"
        );
        assert_eq!(w.deliver(1_000), None);
        assert_eq!(w.idle(), Some(1_000), "the tail of the burst");
        assert_eq!(w.idle(), None);
    }

    #[test]
    fn recv_window_flush_acknowledges_the_delivered_remainder_only() {
        let mut w = RecvWindow::new(1000);
        w.receive(300).unwrap();
        assert_eq!(w.deliver(100), None);
        assert_eq!(w.flush(), Some(100), "delivered bytes, under the threshold");
        assert_eq!((w.unacked(), w.queued(), w.delivered()), (200, 200, 0));
        assert_eq!(
            w.flush(),
            None,
            "nothing delivered since: no empty DATA_ACK"
        );
    }

    #[test]
    fn recv_window_full_window_always_triggers_an_ack() {
        for capacity in [1u32, 2, 3, 7, 64, 65_536] {
            let mut w = RecvWindow::new(capacity);
            w.receive(capacity).unwrap();
            let mut acked = 0;
            for _ in 0..capacity {
                if let Some(n) = w.deliver(1) {
                    acked += n;
                }
            }
            assert!(acked > 0, "capacity {capacity}");
            assert!(w.unacked() < w.ack_threshold().max(1) || capacity == 1);
        }
    }
}
