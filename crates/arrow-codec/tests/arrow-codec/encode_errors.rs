//! What the wire cannot carry is refused before anything is written.

use std::net::{IpAddr, Ipv4Addr};

use arrow_codec::{
    ControlBody, ControlMessage, DataMessage, EncodeError, ErrorCode, Message, Redirect, Register,
    Service, ServiceType, Update,
};
use bytes::{Bytes, BytesMut};

fn encode(msg: Message) -> Result<BytesMut, EncodeError> {
    let mut buf = BytesMut::new();
    let result = msg.encode(&mut buf);
    if result.is_err() {
        assert!(buf.is_empty(), "nothing written on failure");
    }
    result.map(|()| buf)
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut register = Register::new(uuid::Uuid::nil(), Default::default(), Default::default());
    register.extended_info = "a\0b".into();
    let cases: Vec<(&str, Message, EncodeError)> = vec![
        (
            "data on service 0",
            Message::Data(DataMessage::new(0, 1, Bytes::new())),
            EncodeError::DataOnControlService,
        ),
        (
            "data session id over 24 bits",
            Message::Data(DataMessage::new(1, 0x0100_0000, Bytes::new())),
            EncodeError::SessionIdOutOfRange {
                session_id: 0x0100_0000,
            },
        ),
        (
            "HUP session id over 24 bits",
            Message::Control(ControlMessage::hup(1, u32::MAX, ErrorCode::NoError)),
            EncodeError::SessionIdOutOfRange {
                session_id: u32::MAX,
            },
        ),
        (
            "DATA_ACK session id over 24 bits",
            Message::Control(ControlMessage::data_ack(1, 0x0100_0000, 1)),
            EncodeError::SessionIdOutOfRange {
                session_id: 0x0100_0000,
            },
        ),
        (
            "CONNECT session id over 24 bits",
            Message::Control(ControlMessage::connect(1, 1, 0x0100_0000)),
            EncodeError::SessionIdOutOfRange {
                session_id: 0x0100_0000,
            },
        ),
        (
            "NUL inside extended_info",
            Message::Control(ControlMessage::new(0, ControlBody::Register(register))),
            EncodeError::InteriorNul {
                message: "REGISTER",
                field: "extended_info",
            },
        ),
        (
            "NUL inside a path",
            Message::Control(ControlMessage::new(
                0,
                ControlBody::Update(Update {
                    services: vec![Service::new(1, ServiceType::Rtsp, ip, 554).with_path("/a\0")],
                }),
            )),
            EncodeError::InteriorNul {
                message: "UPDATE",
                field: "path",
            },
        ),
        (
            "NUL inside a redirect target",
            Message::Control(ControlMessage::new(
                0,
                ControlBody::Redirect(Redirect {
                    target: "h\0:1".into(),
                }),
            )),
            EncodeError::InteriorNul {
                message: "REDIRECT",
                field: "target",
            },
        ),
        (
            "a service that reads back as the terminator",
            Message::Control(ControlMessage::new(
                0,
                ControlBody::Update(Update {
                    services: vec![
                        Service::new(1, ServiceType::Rtsp, ip, 554),
                        Service::new(0, ServiceType::ControlProtocol, ip, 1),
                    ],
                }),
            )),
            EncodeError::TerminatorInTable {
                message: "UPDATE",
                index: 1,
            },
        ),
    ];
    for (name, msg, want) in cases {
        assert_eq!(encode(msg), Err(want), "{name}");
    }
}

#[test]
fn session_id_at_24_bits_is_fine() {
    let bytes = encode(Message::Data(DataMessage::new(
        1,
        0x00ff_ffff,
        Bytes::new(),
    )))
    .unwrap();
    assert_eq!(&bytes[3..7], &[0, 0xff, 0xff, 0xff]);
}
