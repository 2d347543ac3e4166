//! The request/reply state machine of one connection, without I/O.
//!
//! [`Exchange`] enforces the API's one rule of conversation: one request, then exactly one
//! reply, then the next request. It numbers All-in-One requests, frames them into a
//! caller's buffer, decodes reply frames from the caller's buffer, classifies them
//! ([`reply::classify`](crate::reply::classify)), and keeps the deadline of the request in
//! flight. Time is an argument: the driver passes `now` and asks for the deadline.
//!
//! After a protocol violation or a timeout the stream is out of step (the late reply may
//! still come), so the exchange turns *unusable* and refuses further requests.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use wire::{FrameCodec, FrameError, PrefixWidth};

use crate::error::UsageError;
use crate::reply::{Reply, classify};
use crate::{Dialect, Error, ProtocolError, Request};

/// The largest reply accepted by default: 16 MiB (measurement data can be large).
pub const DEFAULT_MAX_REPLY: usize = 16 * 1024 * 1024;

/// The request waiting for its reply.
#[derive(Debug, Clone)]
struct InFlight {
    command: String,
    request_id: Option<u64>,
    deadline: Instant,
    timeout: Duration,
}

/// One connection's conversation state. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Exchange {
    dialect: Dialect,
    /// Decodes replies, with the reply size limit.
    codec: FrameCodec,
    /// Frames requests (whatever the reply limit).
    encoder: FrameCodec,
    next_id: u64,
    in_flight: Option<InFlight>,
    unusable: Option<String>,
    /// The request's JSON text, reused between requests.
    scratch: Vec<u8>,
}

impl Exchange {
    /// A fresh conversation; All-in-One request_ids start at 1.
    pub fn new(dialect: Dialect, max_reply: usize) -> Self {
        Exchange {
            dialect,
            codec: FrameCodec::new(PrefixWidth::U32).with_max_payload(max_reply),
            encoder: FrameCodec::new(PrefixWidth::U32),
            next_id: 1,
            in_flight: None,
            unusable: None,
            scratch: Vec::with_capacity(256),
        }
    }

    /// The dialect spoken.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// False once a failure left the connection out of step (a protocol violation, a
    /// timeout, a transport error, an abandoned request): it then refuses every request.
    pub fn is_usable(&self) -> bool {
        self.unusable.is_none()
    }

    /// The largest reply payload accepted from now on.
    pub fn max_reply(&self) -> usize {
        self.codec.max_payload()
    }

    /// Changes the largest reply payload accepted (for the next replies; checked before
    /// allocating, like the first).
    pub fn set_max_reply(&mut self, max_reply: usize) {
        self.codec = self.codec.clone().with_max_payload(max_reply);
    }

    /// True while a request waits for its reply.
    pub fn is_waiting(&self) -> bool {
        self.in_flight.is_some()
    }

    /// When the request in flight times out, if one is.
    pub fn deadline(&self) -> Option<Instant> {
        self.in_flight.as_ref().map(|f| f.deadline)
    }

    /// Frames `request` into `out` and starts waiting for its reply until `now + timeout`.
    ///
    /// Returns the request_id sent (All-in-One). Fails without writing anything when a
    /// request is already in flight, the connection is unusable, or the request cannot be
    /// encoded.
    pub fn send(
        &mut self,
        request: &Request,
        now: Instant,
        timeout: Duration,
        out: &mut BytesMut,
    ) -> Result<Option<u64>, Error> {
        if let Some(reason) = &self.unusable {
            return Err(Error::Unusable {
                reason: reason.clone(),
            });
        }
        if let Some(f) = &self.in_flight {
            return Err(UsageError::new(format!(
                "{} is still waiting for its reply: the API allows one request at a time",
                f.command
            ))
            .into());
        }
        let request_id = match self.dialect {
            Dialect::AllInOne => Some(request.fixed_request_id().unwrap_or(self.next_id)),
            Dialect::Multichannel => None,
        };
        self.scratch.clear();
        request.write_json(self.dialect, request_id, &mut self.scratch)?;
        self.encoder
            .encode_payload(&self.scratch, out)
            .map_err(|e| UsageError::new(e.to_string()))?;
        if let Some(id) = request_id {
            self.next_id = id.wrapping_add(1);
        }
        self.in_flight = Some(InFlight {
            command: request.command_name().to_string(),
            request_id,
            deadline: crate::deadline::deadline(now, timeout),
            timeout,
        });
        Ok(request_id)
    }

    /// Decodes a reply from `buf` if a whole frame is there.
    ///
    /// `Ok(None)`: more bytes are needed. `Ok(Some(reply))`: the request is answered and
    /// the next may be sent. `Err`: a rejection (the connection stays usable) or a
    /// protocol violation (the connection turns unusable).
    pub fn receive(&mut self, buf: &mut BytesMut) -> Result<Option<Reply>, Error> {
        let frame = match self.codec.decode_frame(buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.fail(ProtocolError::Frame(e).into())),
        };
        let Some(in_flight) = self.in_flight.take() else {
            return Err(self.fail(ProtocolError::Unsolicited { len: frame.len() }.into()));
        };
        if !buf.is_empty() {
            // More bytes after the one reply: the peer answered twice, or pipelines.
            return Err(self.fail(ProtocolError::Unsolicited { len: buf.len() }.into()));
        }
        match classify(&frame, self.dialect, in_flight.request_id) {
            Ok(reply) => Ok(Some(reply)),
            Err(e @ Error::Rejected(_)) => Err(e),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The peer closed its side: the error to report if a reply was expected (or a frame
    /// was cut), `None` for a clean close between exchanges.
    pub fn receive_eof(&mut self, buf: &mut BytesMut) -> Option<Error> {
        let cut = match self.codec.decode_frame_eof(buf) {
            Err(FrameError::EofMidFrame { received, expected }) => Some((received, expected)),
            _ => None,
        };
        if cut.is_none() && self.in_flight.is_none() {
            return None;
        }
        let (received, expected) = cut.unwrap_or((0, 0));
        Some(self.fail(Error::Closed { received, expected }))
    }

    /// Called by the driver when the deadline passed: the timeout error, or `None` when
    /// nothing is in flight or the deadline is still ahead.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Error> {
        let f = self.in_flight.as_ref()?;
        if now < f.deadline {
            return None;
        }
        let error = Error::Timeout {
            waiting_for: format!("the reply to {}", f.command),
            after: f.timeout,
        };
        Some(self.fail(error))
    }

    /// The caller stopped waiting for the reply in flight (a driver's request future was
    /// dropped, e.g. by an outer timeout): the reply may still arrive, so the connection
    /// is out of step and turns unusable. Nothing happens when no request is in flight.
    pub fn abandon(&mut self) {
        if let Some(f) = self.in_flight.take() {
            let reason = format!("the request {} was abandoned before its reply", f.command);
            self.unusable.get_or_insert(reason);
        }
    }

    /// Marks the connection unusable after a transport failure the driver saw.
    pub fn handle_transport_error(&mut self, error: std::io::Error) -> Error {
        self.fail(Error::Io(error))
    }

    fn fail(&mut self, error: Error) -> Error {
        self.in_flight = None;
        if self.unusable.is_none() {
            self.unusable = Some(error.to_string());
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const T: Duration = Duration::from_secs(5);

    fn frame(payload: &str) -> BytesMut {
        let mut buf = BytesMut::new();
        FrameCodec::new(PrefixWidth::U32)
            .encode_payload(payload.as_bytes(), &mut buf)
            .unwrap();
        buf
    }

    /// A fresh exchange with `request` sent, waiting for its reply.
    fn waiting(dialect: Dialect, max_reply: usize, request: &Request) -> Exchange {
        let mut ex = Exchange::new(dialect, max_reply);
        ex.send(request, Instant::now(), T, &mut BytesMut::new())
            .unwrap();
        ex
    }

    fn sent_json(out: &BytesMut) -> Value {
        serde_json::from_slice(&out[4..]).unwrap()
    }

    #[test]
    fn request_ids_count_up_and_replies_match() {
        let now = Instant::now();
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        for id in 1..=3u64 {
            let mut out = BytesMut::new();
            let sent = ex
                .send(&Request::new("MAIN", "GetActiveRoutine"), now, T, &mut out)
                .unwrap();
            assert_eq!(sent, Some(id));
            assert_eq!(sent_json(&out)["request_id"], id);
            let mut reply = frame(&format!(
                r#"{{"status":"OK","data":{{}},"request_id":{id}}}"#
            ));
            assert!(ex.receive(&mut reply).unwrap().is_some());
            assert!(!ex.is_waiting());
        }
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_never_fires_and_never_panics() {
        let now = Instant::now();
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        let mut out = BytesMut::new();
        ex.send(&Request::new("MAIN", "X"), now, Duration::MAX, &mut out)
            .unwrap();
        assert!(ex.deadline().unwrap() > now + Duration::from_secs(3_000_000_000));
        assert!(
            ex.handle_timeout(now + Duration::from_secs(86_400 * 365))
                .is_none()
        );
    }

    #[test]
    fn fixed_request_id_is_used_and_continues_the_count() {
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        let mut out = BytesMut::new();
        let req = Request::new("MAIN", "X").request_id(41);
        assert_eq!(
            ex.send(&req, Instant::now(), T, &mut out).unwrap(),
            Some(41)
        );
        ex.receive(&mut frame(r#"{"status":"ok","request_id":41}"#))
            .unwrap();
        let mut out = BytesMut::new();
        let next = ex.send(&Request::new("MAIN", "X"), Instant::now(), T, &mut out);
        assert_eq!(next.unwrap(), Some(42));
    }

    #[test]
    fn second_request_while_waiting_is_refused_and_writes_nothing() {
        let mut ex = Exchange::new(Dialect::Multichannel, DEFAULT_MAX_REPLY);
        let mut out = BytesMut::new();
        ex.send(
            &Request::command("GetEnvironments"),
            Instant::now(),
            T,
            &mut out,
        )
        .unwrap();
        let len = out.len();
        let err = ex
            .send(
                &Request::command("GetEnvironments"),
                Instant::now(),
                T,
                &mut out,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err}");
        assert_eq!(out.len(), len);
    }

    #[test]
    fn multichannel_requests_carry_no_request_id() {
        let mut ex = Exchange::new(Dialect::Multichannel, DEFAULT_MAX_REPLY);
        let mut out = BytesMut::new();
        assert_eq!(
            ex.send(
                &Request::command("GetSensorsInfo"),
                Instant::now(),
                T,
                &mut out
            )
            .unwrap(),
            None
        );
        assert!(sent_json(&out).get("request_id").is_none());
    }

    #[test]
    fn reply_split_anywhere_decodes_once_whole() {
        let whole = frame(r#"{"status":"OK","data":{"a":[1,2,3]},"request_id":1}"#);
        for split in 1..whole.len() {
            let mut ex = waiting(
                Dialect::AllInOne,
                DEFAULT_MAX_REPLY,
                &Request::new("MAIN", "X"),
            );
            let mut buf = BytesMut::from(&whole[..split]);
            assert!(ex.receive(&mut buf).unwrap().is_none(), "split {split}");
            buf.extend_from_slice(&whole[split..]);
            assert!(ex.receive(&mut buf).unwrap().is_some(), "split {split}");
        }
    }

    #[test]
    fn rejection_keeps_the_connection_usable() {
        let mut ex = waiting(
            Dialect::AllInOne,
            DEFAULT_MAX_REPLY,
            &Request::new("ROUTINE", "GetTestStatus"),
        );
        let err = ex
            .receive(&mut frame(
                r#"{"status":"ERROR","error":{"code":4006,"message":"No active routine"},"request_id":1}"#,
            ))
            .unwrap_err();
        assert!(matches!(err, Error::Rejected(_)));
        ex.send(
            &Request::new("MAIN", "X"),
            Instant::now(),
            T,
            &mut BytesMut::new(),
        )
        .expect("usable after a rejection");
    }

    #[test]
    fn protocol_violations_make_the_connection_unusable() {
        let cases = [
            frame(r#"{"status":"OK","request_id":99}"#),
            frame("Not a valid command"),
            frame("\"OK\""),
            BytesMut::from(&[0x7f, 0xff, 0xff, 0xff][..]),
        ];
        for mut reply in cases {
            let mut ex = waiting(
                Dialect::AllInOne,
                DEFAULT_MAX_REPLY,
                &Request::new("MAIN", "X"),
            );
            let err = ex.receive(&mut reply).unwrap_err();
            assert!(matches!(err, Error::Protocol(_)), "{err}");
            let again = ex
                .send(
                    &Request::new("MAIN", "X"),
                    Instant::now(),
                    T,
                    &mut BytesMut::new(),
                )
                .unwrap_err();
            assert!(matches!(again, Error::Unusable { .. }), "{again}");
        }
    }

    #[test]
    fn oversize_prefix_fails_before_allocating() {
        let mut ex = waiting(Dialect::AllInOne, 1024, &Request::new("MAIN", "X"));
        let mut buf = BytesMut::with_capacity(4);
        buf.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        let err = ex.receive(&mut buf).unwrap_err();
        assert!(err.to_string().contains("1024"), "{err}");
        assert_eq!(buf.capacity(), 4);
    }

    #[test]
    fn unsolicited_frame_is_a_protocol_error() {
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        let err = ex.receive(&mut frame(r#"{"status":"OK"}"#)).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::Unsolicited { .. })),
            "{err}"
        );
    }

    #[test]
    fn bytes_after_the_reply_are_a_protocol_error() {
        let mut ex = waiting(
            Dialect::Multichannel,
            DEFAULT_MAX_REPLY,
            &Request::command("GetEnvironments"),
        );
        let mut two = frame(r#"{"status":"ok"}"#);
        two.extend_from_slice(&frame(r#"{"status":"ok"}"#));
        let err = ex.receive(&mut two).unwrap_err();
        assert!(
            matches!(err, Error::Protocol(ProtocolError::Unsolicited { len: 19 })),
            "{err}"
        );
    }

    #[test]
    fn timeout_fires_only_at_the_deadline() {
        let start = Instant::now();
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        assert!(ex.handle_timeout(start).is_none(), "nothing in flight");
        ex.send(
            &Request::new("ROUTINE", "GetTestData"),
            start,
            T,
            &mut BytesMut::new(),
        )
        .unwrap();
        assert_eq!(ex.deadline(), Some(start + T));
        assert!(ex.handle_timeout(start + T / 2).is_none());
        let err = ex.handle_timeout(start + T).unwrap();
        assert!(err.to_string().contains("GetTestData"), "{err}");
        assert!(matches!(
            ex.send(&Request::new("MAIN", "X"), start, T, &mut BytesMut::new()),
            Err(Error::Unusable { .. })
        ));
    }

    #[test]
    fn usability_and_the_reply_limit() {
        let mut ex = Exchange::new(Dialect::AllInOne, 1024);
        assert!(ex.is_usable());
        ex.set_max_reply(10);
        assert_eq!(ex.max_reply(), 10);
        ex.send(
            &Request::new("MAIN", "X"),
            Instant::now(),
            T,
            &mut BytesMut::new(),
        )
        .unwrap();
        let err = ex
            .receive(&mut frame(r#"{"status":"OK","data":{}}"#))
            .unwrap_err();
        assert!(err.to_string().contains("over the limit of 10"), "{err}");
        assert!(!ex.is_usable());
    }

    #[test]
    fn abandoned_request_makes_the_connection_unusable() {
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        ex.abandon();
        assert!(!ex.is_waiting(), "nothing in flight: nothing abandoned");
        ex.send(
            &Request::new("MAIN", "X"),
            Instant::now(),
            T,
            &mut BytesMut::new(),
        )
        .expect("still usable");
        ex.abandon();
        assert!(!ex.is_waiting());
        let err = ex
            .send(
                &Request::new("MAIN", "Y"),
                Instant::now(),
                T,
                &mut BytesMut::new(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Unusable { .. }), "{err}");
        assert!(err.to_string().contains("X was abandoned"), "{err}");
    }

    #[test]
    fn eof_cases() {
        // Clean close between exchanges.
        let mut ex = Exchange::new(Dialect::AllInOne, DEFAULT_MAX_REPLY);
        assert!(ex.receive_eof(&mut BytesMut::new()).is_none());
        // Close while waiting, nothing received.
        ex.send(
            &Request::new("MAIN", "X"),
            Instant::now(),
            T,
            &mut BytesMut::new(),
        )
        .unwrap();
        let err = ex.receive_eof(&mut BytesMut::new()).unwrap();
        assert!(
            matches!(
                err,
                Error::Closed {
                    received: 0,
                    expected: 0
                }
            ),
            "{err}"
        );
        // Close in the middle of a reply.
        let mut ex = waiting(
            Dialect::AllInOne,
            DEFAULT_MAX_REPLY,
            &Request::new("MAIN", "X"),
        );
        let mut buf = frame(r#"{"status":"OK"}"#);
        buf.truncate(10);
        assert!(ex.receive(&mut buf).unwrap().is_none());
        let err = ex.receive_eof(&mut buf).unwrap();
        assert!(
            matches!(
                err,
                Error::Closed {
                    received: 10,
                    expected: 19
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("middle of a reply"));
    }
}
