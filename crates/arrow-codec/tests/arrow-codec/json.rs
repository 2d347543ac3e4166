//! The serde form of messages (used by fixtures and `protoctl arrow decode`).

use arrow_codec::{
    ControlBody, ControlMessage, DataMessage, ErrorCode, Message, ServiceType, UnknownControl,
};
use bytes::Bytes;
use serde_json::json;

#[test]
fn json_shape_is_kind_msg_id_type_data() {
    let cases = [
        (
            Message::Control(ControlMessage::ping(3)),
            json!({"kind": "control", "msg_id": 3, "type": "PING"}),
        ),
        (
            Message::Control(ControlMessage::ack(4, ErrorCode::UnsupportedMethod)),
            json!({"kind": "control", "msg_id": 4, "type": "ACK", "data": "UNSUPPORTED_METHOD"}),
        ),
        (
            Message::Control(ControlMessage::ack(4, ErrorCode::Other(9))),
            json!({"kind": "control", "msg_id": 4, "type": "ACK", "data": 9}),
        ),
        (
            Message::Control(ControlMessage::new(
                5,
                ControlBody::Unknown(UnknownControl {
                    msg_type: 0x42,
                    data: Bytes::from_static(b"\x01\x02"),
                }),
            )),
            json!({"kind": "control", "msg_id": 5, "type": "UNKNOWN",
                   "data": {"msg_type": 0x42, "data": "0102"}}),
        ),
        (
            Message::Data(DataMessage::new(1, 7, Bytes::from_static(b"hi"))),
            json!({"kind": "data", "svc_id": 1, "session_id": 7, "body": "6869"}),
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(serde_json::to_value(&msg).unwrap(), want);
        let back: Message = serde_json::from_value(want).unwrap();
        assert_eq!(back, msg);
    }
}

#[test]
fn service_type_json_accepts_name_or_number() {
    let t: ServiceType = serde_json::from_value(json!("RTSP")).unwrap();
    assert_eq!(t, ServiceType::Rtsp);
    let t: ServiceType = serde_json::from_value(json!(1)).unwrap();
    assert_eq!(t, ServiceType::Rtsp);
    let t: ServiceType = serde_json::from_value(json!(0x99)).unwrap();
    assert_eq!(t, ServiceType::Other(0x99));
    assert!(serde_json::from_value::<ServiceType>(json!("NOPE")).is_err());
}
