//! Per-session flow control, as plain values (no I/O, no clock).
//!
//! The client declares one capacity in REGISTER (`window_size + 1` bytes); it bounds both
//! directions of every session.
//!
//! - [`SendWindow`]: what we may still send to the Arrow Service. Starts at the capacity,
//!   shrinks with every byte sent, grows with the service's DATA_ACKs, and never exceeds the
//!   capacity, so no more than the capacity is ever un-acknowledged in flight.
//! - [`RecvWindow`]: what the service has sent us and we have not acknowledged yet. A message
//!   that would take it over the capacity is an overrun (the session is hung up). Bytes are
//!   acknowledged only once they reached the local service, and acknowledgements are
//!   coalesced: one DATA_ACK per eighth of the capacity delivered (8 KiB at the default
//!   window), never one per tiny write. An eighth rather than a quarter: with the window
//!   capped at 64 KiB by the protocol, one session's throughput is the window per
//!   acknowledgement round trip, and earlier credit measured about a third faster on
//!   loopback, for eight small messages per window.
//!   Because the threshold is at most the capacity, a peer that fills the window always
//!   triggers an acknowledgement, so coalescing never stalls a session.

/// The receive window is acknowledged each time this fraction of it was delivered.
pub const ACK_FRACTION: u32 = 8;

/// The send side of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    capacity: u32,
    in_flight: u32,
}

impl SendWindow {
    /// A fresh window: the whole capacity may be sent.
    pub fn new(capacity: u32) -> Self {
        SendWindow {
            capacity,
            in_flight: 0,
        }
    }

    /// Bytes that may be sent now.
    pub fn available(&self) -> u32 {
        self.capacity - self.in_flight
    }

    /// Bytes sent and not yet acknowledged.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Records `n` bytes sent. Fails (and records nothing) if that would exceed the window.
    pub fn consume(&mut self, n: u32) -> Result<(), WindowExceeded> {
        if n > self.available() {
            return Err(WindowExceeded {
                len: n,
                available: self.available(),
            });
        }
        self.in_flight += n;
        Ok(())
    }

    /// Records a DATA_ACK of `n` bytes and returns how many bytes of credit it really added.
    /// Acknowledging more than is in flight is clamped (a peer cannot inflate our window).
    pub fn acknowledge(&mut self, n: u32) -> u32 {
        let granted = n.min(self.in_flight);
        self.in_flight -= granted;
        granted
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
}

impl RecvWindow {
    /// A fresh window.
    pub fn new(capacity: u32) -> Self {
        RecvWindow {
            capacity,
            unacked: 0,
            delivered: 0,
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

    /// Records `n` bytes written to the local service. Returns the length of the DATA_ACK to
    /// send now, if the coalescing threshold was reached.
    pub fn deliver(&mut self, n: u32) -> Option<u32> {
        debug_assert!(n <= self.queued(), "delivered more than was received");
        self.delivered += n.min(self.queued());
        if self.delivered >= self.ack_threshold() {
            let ack = self.delivered;
            self.unacked -= ack;
            self.delivered = 0;
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
        assert_eq!(w.acknowledge(30), 30);
        assert_eq!(w.available(), 30);
        assert_eq!(w.acknowledge(1_000_000), 70, "over-ack is clamped");
        assert_eq!(w.available(), 100);
        assert_eq!(w.acknowledge(5), 0);
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
