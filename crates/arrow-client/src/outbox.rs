//! Encoded messages on their way into TLS, queued as chunks so that a DATA message's body
//! (the `Bytes` read from a local socket) goes to TLS where it lies instead of being
//! copied into one contiguous buffer first.
//!
//! Control messages and DATA headers are encoded into an open tail buffer; a DATA body of
//! [`COPY_BELOW`] bytes or more seals the tail (its header included) and is queued after
//! it as its own chunk. TLS takes the queue with a vectored write, and rustls encrypts
//! records across the chunk boundaries, so a header does not cost a record of its own.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;

/// Bodies shorter than this are copied into the tail: one slice beats two for them.
const COPY_BELOW: usize = 2048;
/// Most slices handed to one vectored write.
pub(crate) const MAX_IOV: usize = 64;
/// What the tail buffer starts with (and grows by).
const TAIL: usize = 16 * 1024;

/// Output queued for TLS beyond which the owner reads no more from local sockets
/// ([`Outbox::read_budget`]): what is read waits for TLS in the socket's kernel buffer,
/// not in memory of ours.
const READ_AHEAD: usize = 256 * 1024;

/// Bytes queued for the TLS writer, in order.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// Sealed chunks, oldest first.
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    queued: usize,
    /// Where control messages and DATA headers are encoded; after every chunk.
    tail: BytesMut,
}

impl Outbox {
    /// Nothing queued.
    pub(crate) fn new() -> Self {
        Outbox {
            chunks: VecDeque::new(),
            queued: 0,
            tail: BytesMut::with_capacity(TAIL),
        }
    }

    /// The buffer to encode a control message into (it goes after everything queued).
    pub(crate) fn control(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Queues a DATA message; a large body is queued as it is, not copied.
    pub(crate) fn data(
        &mut self,
        svc_id: u16,
        session: u32,
        body: Bytes,
    ) -> Result<(), arrow_codec::EncodeError> {
        if body.len() < COPY_BELOW {
            return arrow_codec::encode_data(svc_id, session, &body, &mut self.tail);
        }
        arrow_codec::encode_data_header(svc_id, session, body.len(), &mut self.tail)?;
        self.seal();
        self.queued += body.len();
        self.chunks.push_back(body);
        Ok(())
    }

    /// Moves the tail into the chunk queue.
    fn seal(&mut self) {
        if self.tail.is_empty() {
            return;
        }
        if self.tail.capacity() - self.tail.len() < 64 {
            // Keep the split tail's allocation for later headers when there is room.
            self.tail.reserve(TAIL);
        }
        let chunk = self.tail.split().freeze();
        self.queued += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// How much more may be read from local sockets before what is queued here has gone
    /// to TLS: [`READ_AHEAD`] less what is queued (for
    /// [`LocalSockets::set_read_budget`](crate::local_sockets::LocalSockets::set_read_budget)).
    pub(crate) fn read_budget(&self) -> usize {
        READ_AHEAD.saturating_sub(self.len())
    }

    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.queued + self.tail.len()
    }

    /// Nothing queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `dst` with the queued bytes in order (as many slices as fit); returns how many
    /// slices it filled.
    pub(crate) fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut count = 0;
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        for (slot, chunk) in dst
            .iter_mut()
            .zip(self.chunks.iter().map(|c| &c[..]).chain(tail))
        {
            *slot = IoSlice::new(chunk);
            count += 1;
        }
        count
    }

    /// Drops the first `n` queued bytes (written).
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let step = n.min(front.len());
            front.advance(step);
            self.queued -= step;
            n -= step;
            if front.is_empty() {
                self.chunks.pop_front();
            }
        }
        let step = n.min(self.tail.len());
        self.tail.advance(step);
    }
}

/// One step of the writer: a partial (vectored) write of `out` (cancel-safe: nothing is
/// taken unless it returns), or a flush once everything was written. `Some(n)` bytes
/// written, `None` flushed.
pub(crate) async fn write_or_flush<W>(
    writer: &mut W,
    out: &Outbox,
) -> std::io::Result<Option<usize>>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    if out.is_empty() {
        writer.flush().await.map(|()| None)
    } else {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let count = out.slices(&mut iov);
        writer.write_vectored(&iov[..count]).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(outbox: &mut Outbox, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        // Every round takes at least one byte.
        for _ in 0..=outbox.len() {
            if outbox.is_empty() {
                break;
            }
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let count = outbox.slices(&mut iov);
            let mut take = step;
            let mut n = 0;
            for slice in &iov[..count] {
                let k = take.min(slice.len());
                got.extend_from_slice(&slice[..k]);
                take -= k;
                n += k;
            }
            outbox.advance(n);
        }
        got
    }

    #[test]
    fn queued_messages_come_out_in_order_and_byte_identical_to_contiguous_encoding() {
        for step in [1, 7, 11, 4096, 1 << 20] {
            let mut outbox = Outbox::new();
            let mut expected = BytesMut::new();
            for (i, len) in [0usize, 10, 3000, 70_000, 5, 2048, 2047]
                .into_iter()
                .enumerate()
            {
                let body = Bytes::from(vec![i as u8; len]);
                let ping = arrow_codec::ControlMessage::ping(i as u16);
                ping.encode(outbox.control()).unwrap();
                ping.encode(&mut expected).unwrap();
                outbox.data(1, i as u32 + 1, body.clone()).unwrap();
                arrow_codec::encode_data(1, i as u32 + 1, &body, &mut expected).unwrap();
            }
            assert_eq!(outbox.len(), expected.len());
            let got = drain(&mut outbox, step);
            assert!(got == expected[..], "step {step}: {} bytes", got.len());
            assert!(outbox.is_empty());
        }
    }

    #[test]
    fn bytes_added_after_a_partial_write_follow_what_is_left() {
        let mut outbox = Outbox::new();
        arrow_codec::ControlMessage::ping(1)
            .encode(outbox.control())
            .unwrap();
        let mut expected = BytesMut::new();
        arrow_codec::ControlMessage::ping(1)
            .encode(&mut expected)
            .unwrap();
        outbox.advance(3);
        let body = Bytes::from(vec![9u8; 4000]);
        outbox.data(2, 5, body.clone()).unwrap();
        arrow_codec::encode_data(2, 5, &body, &mut expected).unwrap();
        assert!(drain(&mut outbox, 100) == expected[3..]);
    }
}
