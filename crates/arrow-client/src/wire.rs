//! The byte layer: `arrow-codec` messages to the core's [`Incoming`], the core's
//! [`Outgoing`] to bytes.

use arrow_codec::{
    ArrowCodec, ControlBody, ControlMessage, ControlType, ErrorCode, HEADER_LEN, Header, Message,
    Register, ScanReport, StatusFlags, Update,
};
use bytes::{Buf, BytesMut};

use crate::ProtocolViolation;
use crate::message::{ControlIn, Incoming, Outgoing};
use crate::outbox::Outbox;

/// The codec the client reads with: bodies up to 256 KiB. A data message over the window
/// but under this limit is an overrun of one session (HUP 3); a body over it ends the
/// connection before anything is buffered.
pub fn client_codec() -> ArrowCodec {
    ArrowCodec::new().with_max_body(256 * 1024)
}

/// Maps a decoded message to what the core understands.
pub fn incoming(message: Message) -> Incoming {
    match message {
        Message::Data(data) => Incoming::Data {
            svc_id: data.svc_id,
            session: data.session_id,
            payload: data.body,
        },
        Message::Control(ControlMessage { msg_id, body }) => {
            let body = match body {
                ControlBody::Ack(code) => ControlIn::Ack { code: code.code() },
                ControlBody::Ping => ControlIn::Ping,
                ControlBody::Redirect(r) => ControlIn::Redirect { target: r.target },
                ControlBody::Hup(h) => ControlIn::Hup {
                    session: h.session_id,
                    code: h.error.code(),
                },
                ControlBody::ResetSvcTable => ControlIn::ResetSvcTable,
                ControlBody::ScanNetwork => ControlIn::ScanNetwork,
                ControlBody::GetStatus => ControlIn::GetStatus,
                ControlBody::GetScanReport => ControlIn::GetScanReport,
                ControlBody::DataAck(a) => ControlIn::DataAck {
                    session: a.session_id,
                    len: a.length,
                },
                ControlBody::Connect(c) => ControlIn::Connect {
                    svc_id: c.svc_id,
                    session: c.session_id,
                },
                // Known types that only a client sends, and unknown ones.
                other => ControlIn::Other {
                    kind: other.control_type().code(),
                },
            };
            Incoming::Control { msg_id, body }
        }
    }
}

/// The next message in `input` for the core, `Ok(None)` until one has arrived whole.
/// `eof`: the service closed its side, so a partial message is an error.
///
/// Control messages the client does not need to parse are taken here, before the codec
/// (which parses every known type strictly), so that unexpected data in them never costs
/// the connection:
/// - types only a client sends (REGISTER, UPDATE, STATUS, SCAN_REPORT) are answered like
///   unknown types, with ACK UNSUPPORTED_METHOD, whatever their data;
/// - types without data (PING, RESET_SVC_TABLE, SCAN_NETWORK, GET_STATUS, GET_SCAN_REPORT)
///   are taken with any extra bytes ignored.
pub(crate) fn next_incoming(
    codec: &mut ArrowCodec,
    input: &mut BytesMut,
    eof: bool,
) -> Result<Option<Incoming>, arrow_codec::Error> {
    if codec.is_between_messages() {
        match take_lenient_control(input, codec.max_body()) {
            Lenient::Taken(incoming) => return Ok(Some(incoming)),
            Lenient::Incomplete if !eof => return Ok(None),
            Lenient::Incomplete | Lenient::Codec => {}
        }
    }
    let decoded = if eof {
        codec.decode_message_eof(input)?
    } else {
        codec.decode_message(input)?
    };
    Ok(decoded.map(incoming))
}

/// What [`take_lenient_control`] found at the front of the buffer.
#[derive(Debug, PartialEq)]
enum Lenient {
    /// A control message taken without parsing its data (consumed).
    Taken(Incoming),
    /// A control message whose body has not all arrived: wait for it before the codec
    /// commits to it.
    Incomplete,
    /// Anything else, for the codec (errors included: the codec reports them).
    Codec,
}

fn take_lenient_control(src: &mut BytesMut, max_body: u32) -> Lenient {
    let Ok(Some(header)) = Header::parse(src) else {
        return Lenient::Codec;
    };
    if !header.is_control() || header.body_size > max_body {
        return Lenient::Codec;
    }
    let size = header.body_size as usize;
    let Some(body) = src.get(HEADER_LEN..HEADER_LEN + size) else {
        return Lenient::Incomplete;
    };
    let [a, b, c, d, ref data @ ..] = *body else {
        return Lenient::Codec;
    };
    let msg_id = u16::from_be_bytes([a, b]);
    let kind = u16::from_be_bytes([c, d]);
    let extra = !data.is_empty();
    let body = match ControlType::from(kind) {
        ControlType::Register
        | ControlType::Update
        | ControlType::Status
        | ControlType::ScanReport => ControlIn::Other { kind },
        ControlType::Ping if extra => ControlIn::Ping,
        ControlType::ResetSvcTable if extra => ControlIn::ResetSvcTable,
        ControlType::ScanNetwork if extra => ControlIn::ScanNetwork,
        ControlType::GetStatus if extra => ControlIn::GetStatus,
        ControlType::GetScanReport if extra => ControlIn::GetScanReport,
        _ => return Lenient::Codec,
    };
    src.advance(HEADER_LEN + size);
    Lenient::Taken(Incoming::Control { msg_id, body })
}

/// A decode failure as a protocol violation.
pub fn violation(e: &arrow_codec::Error) -> ProtocolViolation {
    ProtocolViolation::Decode(e.to_string())
}

/// Appends one outgoing message to `dst`. `register` is the REGISTER to send (its msg_id
/// is taken from the message).
pub fn encode(
    message: &Outgoing,
    register: &Register,
    dst: &mut BytesMut,
) -> Result<(), arrow_codec::EncodeError> {
    match control(message, register) {
        Some(control) => control.encode(dst),
        None => match message {
            Outgoing::Data {
                svc_id,
                session,
                payload,
            } => arrow_codec::encode_data(*svc_id, *session, payload, dst),
            _ => Ok(()),
        },
    }
}

/// Queues one outgoing message in `dst`, a DATA body as it is (not copied).
pub(crate) fn queue(
    message: &Outgoing,
    register: &Register,
    dst: &mut Outbox,
) -> Result<(), arrow_codec::EncodeError> {
    match control(message, register) {
        Some(control) => control.encode(dst.control()),
        None => match message {
            Outgoing::Data {
                svc_id,
                session,
                payload,
            } => dst.data(*svc_id, *session, payload.clone()),
            _ => Ok(()),
        },
    }
}

/// The control message for `message`; `None` for DATA.
fn control(message: &Outgoing, register: &Register) -> Option<ControlMessage> {
    let control = match message {
        Outgoing::Data { .. } => return None,
        Outgoing::Register { msg_id } => {
            ControlMessage::new(*msg_id, ControlBody::Register(register.clone()))
        }
        Outgoing::Ack { msg_id, code } => ControlMessage::ack(*msg_id, ErrorCode::from(*code)),
        Outgoing::Ping { msg_id } => ControlMessage::ping(*msg_id),
        Outgoing::Status {
            msg_id,
            request_id,
            flags,
            active_sessions,
        } => ControlMessage::status(*msg_id, *request_id, StatusFlags(*flags), *active_sessions),
        Outgoing::ScanReport {
            msg_id,
            request_id,
            findings,
        } => ControlMessage::new(
            *msg_id,
            ControlBody::ScanReport(ScanReport {
                request_id: *request_id,
                hosts: findings.hosts.clone(),
                services: findings.services.clone(),
            }),
        ),
        Outgoing::Hup {
            msg_id,
            session,
            code,
        } => ControlMessage::hup(*msg_id, *session, ErrorCode::from(*code)),
        Outgoing::DataAck {
            msg_id,
            session,
            len,
        } => ControlMessage::data_ack(*msg_id, *session, *len),
        Outgoing::Update { msg_id, table } => ControlMessage::new(
            *msg_id,
            ControlBody::Update(Update {
                services: table.records(),
            }),
        ),
    };
    Some(control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_table::{ServiceKind, ServiceSpec, ServiceTable};

    /// A control message: header, msg_id 9, `kind`, `data`.
    fn control(kind: u16, data: &[u8]) -> BytesMut {
        let mut out = BytesMut::new();
        out.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(4 + data.len() as u32).to_be_bytes());
        out.extend_from_slice(&9u16.to_be_bytes());
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn control_messages_the_client_need_not_parse_are_taken_whatever_their_data() {
        let other = |kind| {
            Lenient::Taken(Incoming::Control {
                msg_id: 9,
                body: ControlIn::Other { kind },
            })
        };
        let taken = |body| Lenient::Taken(Incoming::Control { msg_id: 9, body });
        let cases: [(&str, u16, &[u8], Lenient); 14] = [
            ("REGISTER without data", 0x0002, &[], other(0x0002)),
            ("UPDATE with garbage", 0x0004, &[1, 2, 3], other(0x0004)),
            ("STATUS without data", 0x0009, &[], other(0x0009)),
            ("SCAN_REPORT cut short", 0x000b, &[0], other(0x000b)),
            (
                "PING with extra bytes",
                0x0001,
                &[1],
                taken(ControlIn::Ping),
            ),
            (
                "RESET_SVC_TABLE with extra bytes",
                0x0006,
                &[1, 2],
                taken(ControlIn::ResetSvcTable),
            ),
            (
                "SCAN_NETWORK with extra bytes",
                0x0007,
                &[0],
                taken(ControlIn::ScanNetwork),
            ),
            (
                "GET_STATUS with extra bytes",
                0x0008,
                &[0; 4],
                taken(ControlIn::GetStatus),
            ),
            (
                "GET_SCAN_REPORT with extra bytes",
                0x000a,
                &[0],
                taken(ControlIn::GetScanReport),
            ),
            (
                "a plain PING goes to the codec",
                0x0001,
                &[],
                Lenient::Codec,
            ),
            ("HUP goes to the codec", 0x0005, &[0; 8], Lenient::Codec),
            (
                "a short HUP goes to the codec (its error)",
                0x0005,
                &[0],
                Lenient::Codec,
            ),
            (
                "DATA_ACK goes to the codec",
                0x000c,
                &[0; 8],
                Lenient::Codec,
            ),
            (
                "unknown types go to the codec",
                0x0042,
                &[1],
                Lenient::Codec,
            ),
        ];
        for (name, kind, data, want) in cases {
            let mut src = control(kind, data);
            let whole = src.len();
            let got = take_lenient_control(&mut src, 1024);
            let consumed = whole - src.len();
            assert_eq!(got, want, "{name}");
            let want_consumed = if matches!(want, Lenient::Taken(_)) {
                whole
            } else {
                0
            };
            assert_eq!(consumed, want_consumed, "{name}");
        }
    }

    #[test]
    fn a_control_message_is_not_handed_to_the_codec_before_it_is_whole() {
        let whole = control(0x0009, &[1, 2, 3]);
        for cut in 0..whole.len() {
            let mut codec = client_codec();
            let mut src = BytesMut::from(&whole[..cut]);
            assert_eq!(
                next_incoming(&mut codec, &mut src, false).unwrap(),
                None,
                "cut at {cut}"
            );
            assert!(codec.is_between_messages(), "cut at {cut}");
            src.extend_from_slice(&whole[cut..]);
            assert_eq!(
                next_incoming(&mut codec, &mut src, false).unwrap(),
                Some(Incoming::Control {
                    msg_id: 9,
                    body: ControlIn::Other { kind: 0x0009 }
                }),
                "cut at {cut}"
            );
        }
        // At the end of the stream a partial message is the codec's error.
        let mut src = BytesMut::from(&whole[..whole.len() - 1]);
        assert!(next_incoming(&mut client_codec(), &mut src, true).is_err());
    }

    #[test]
    fn update_carries_the_whole_table_and_decodes_back() {
        let spec = ServiceSpec::url(ServiceKind::Rtsp, "rtsp://127.0.0.1:554/live.sdp").unwrap();
        let table = ServiceTable::new(vec![(spec, "127.0.0.1:554".parse().unwrap())]).unwrap();
        let register = Register::new(
            uuid::Uuid::nil(),
            arrow_codec::ClientKey([0; 16]),
            crate::identity::MacAddr([0; 6]),
        );
        let mut out = BytesMut::new();
        encode(
            &Outgoing::Update {
                msg_id: 7,
                table: table.clone(),
            },
            &register,
            &mut out,
        )
        .unwrap();
        // Header: version 2, control service 0, body = msg_id + type + one record + terminator.
        let record = 29 + "/live.sdp".len() + 1;
        let body = 4 + record + 30;
        assert_eq!(out[0], 2);
        assert_eq!(&out[1..3], &[0, 0]);
        assert_eq!(&out[7..11], &(body as u32).to_be_bytes());
        assert_eq!(&out[11..15], &[0, 7, 0, 4], "msg_id 7, type UPDATE");
        assert_eq!(out.len(), 11 + body);
        let decoded = Message::decode_exact(out.freeze()).unwrap();
        assert_eq!(
            decoded,
            Message::Control(ControlMessage::new(
                7,
                ControlBody::Update(Update {
                    services: table.records()
                })
            ))
        );
    }
}
