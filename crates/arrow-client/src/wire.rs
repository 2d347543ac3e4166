//! The byte layer: `arrow-codec` messages to the core's [`Incoming`], the core's
//! [`Outgoing`] to bytes.

use arrow_codec::{
    ArrowCodec, ControlBody, ControlMessage, ErrorCode, Message, Register, ScanReport, StatusFlags,
    Update,
};
use bytes::BytesMut;

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
        Outgoing::ScanReport { msg_id, request_id } => ControlMessage::new(
            *msg_id,
            ControlBody::ScanReport(ScanReport::empty(*request_id)),
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
