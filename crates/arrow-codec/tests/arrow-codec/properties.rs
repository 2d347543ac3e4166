//! proptest: encode then decode is identity for every message, any split of a stream
//! decodes to the same messages, arbitrary bytes never panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrow_codec::{
    ArrowCodec, ClientKey, Connect, ControlBody, ControlMessage, DataAck, DataMessage, ErrorCode,
    HostFlags, HostRecord, Hup, MacAddr, Message, Redirect, Register, RegisterFlags, ScanReport,
    Service, ServiceType, Status, StatusFlags, UnknownControl, Update,
};
use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn text() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,24}"
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u8; 16]>().prop_map(|o| IpAddr::V6(Ipv6Addr::from(o))),
    ]
}

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn session() -> impl Strategy<Value = u32> {
    0u32..=0x00ff_ffff
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop_oneof![0u32..6, Just(u32::MAX), any::<u32>()].prop_map(ErrorCode::from)
}

fn service() -> impl Strategy<Value = Service> {
    (
        any::<u16>(),
        prop_oneof![0u16..9, Just(0xffff), any::<u16>()],
        mac(),
        ip(),
        any::<u16>(),
        text(),
    )
        .prop_map(|(id, t, mac, ip, port, path)| {
            // id 0 with type 0 is the terminator, not a service
            let id = if id == 0 && t == 0 { 1 } else { id };
            Service::new(id, ServiceType::from(t), ip, port)
                .with_mac(mac)
                .with_path(path)
        })
}

fn services() -> impl Strategy<Value = Vec<Service>> {
    vec(service(), 0..4)
}

fn control_body() -> impl Strategy<Value = ControlBody> {
    prop_oneof![
        error_code().prop_map(ControlBody::Ack),
        Just(ControlBody::Ping),
        (
            any::<u128>(),
            any::<[u8; 16]>(),
            mac(),
            any::<u16>(),
            any::<u32>(),
            text(),
            services()
        )
            .prop_map(
                |(uuid, key, mac, window_size, flags, extended_info, services)| {
                    ControlBody::Register(Register {
                        uuid: uuid::Uuid::from_u128(uuid),
                        key: ClientKey(key),
                        mac,
                        window_size,
                        flags: RegisterFlags(flags),
                        extended_info,
                        services,
                    })
                }
            ),
        text().prop_map(|target| ControlBody::Redirect(Redirect { target })),
        services().prop_map(|services| ControlBody::Update(Update { services })),
        (session(), error_code())
            .prop_map(|(session_id, error)| ControlBody::Hup(Hup { session_id, error })),
        Just(ControlBody::ResetSvcTable),
        Just(ControlBody::ScanNetwork),
        Just(ControlBody::GetStatus),
        (any::<u16>(), any::<u32>(), any::<u32>()).prop_map(|(request_id, flags, active)| {
            ControlBody::Status(Status {
                request_id,
                flags: StatusFlags(flags),
                active_sessions: active,
            })
        }),
        Just(ControlBody::GetScanReport),
        (
            any::<u16>(),
            vec((any::<u8>(), mac(), ip(), vec(any::<u16>(), 0..5)), 0..4),
            services()
        )
            .prop_map(|(request_id, hosts, services)| {
                ControlBody::ScanReport(ScanReport {
                    request_id,
                    hosts: hosts
                        .into_iter()
                        .map(|(flags, mac, ip, ports)| HostRecord {
                            flags: HostFlags(flags),
                            mac,
                            ip,
                            ports,
                        })
                        .collect(),
                    services,
                })
            }),
        (session(), any::<u32>())
            .prop_map(|(session_id, length)| ControlBody::DataAck(DataAck { session_id, length })),
        (any::<u16>(), session())
            .prop_map(|(svc_id, session_id)| ControlBody::Connect(Connect { svc_id, session_id })),
        (14u16.., vec(any::<u8>(), 0..32)).prop_map(|(msg_type, data)| {
            ControlBody::Unknown(UnknownControl {
                msg_type,
                data: Bytes::from(data),
            })
        }),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u16>(), control_body())
            .prop_map(|(msg_id, body)| Message::Control(ControlMessage::new(msg_id, body))),
        (1u16.., session(), vec(any::<u8>(), 0..300)).prop_map(|(svc, session, body)| {
            Message::Data(DataMessage::new(svc, session, Bytes::from(body)))
        }),
    ]
}

fn decode_chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Message> {
    let mut codec = ArrowCodec::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        buf.extend_from_slice(&bytes[start..cut]);
        start = cut;
        while let Some(m) = codec.decode(&mut buf).expect("valid stream") {
            out.push(m);
        }
    }
    assert!(codec.decode_eof(&mut buf).expect("clean end").is_none());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_is_identity(msg in message()) {
        let mut buf = BytesMut::new();
        msg.encode(&mut buf).unwrap();
        prop_assert_eq!(buf.len(), msg.encoded_len());
        let decoded = Message::decode_exact(buf.clone().freeze()).unwrap();
        prop_assert_eq!(&decoded, &msg);
        // and through the codec
        let mut codec = ArrowCodec::new();
        prop_assert_eq!(codec.decode(&mut buf).unwrap(), Some(msg));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn any_split_of_a_stream_decodes_the_same(
        messages in vec(message(), 1..8),
        mut cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for m in &messages {
            m.encode(&mut stream).unwrap();
        }
        let mut cuts: Vec<usize> = cuts.drain(..).map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(decode_chunked(&stream, &cuts), messages);
    }

    #[test]
    fn json_form_round_trips(msg in message()) {
        let json = serde_json::to_string(&msg).unwrap();
        let back: Message = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..512)) {
        arrow_codec::fuzzing::message_stream(&data);
    }

    #[test]
    fn arbitrary_control_bodies_never_panic_and_both_decoders_agree(msg_type in 0u16..16, data in vec(any::<u8>(), 0..200)) {
        let mut body = vec![0, 1];
        body.extend_from_slice(&msg_type.to_be_bytes());
        body.extend_from_slice(&data);
        let shared = ControlMessage::decode_body(&Bytes::from(body.clone()));
        let copied = ControlMessage::decode_body_slice(&body);
        prop_assert_eq!(shared, copied);
    }
}
