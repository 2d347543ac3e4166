//! Named message streams covering every message type: the golden fixtures are generated
//! from this table, and the fuzz corpus seeds come from the fixtures.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arrow_codec::{
    ClientKey, ControlBody, ControlMessage, DataMessage, ErrorCode, HostFlags, HostRecord, MacAddr,
    Message, Redirect, Register, RegisterFlags, ScanReport, Service, ServiceType, StatusFlags,
    UnknownControl, Update,
};
use bytes::Bytes;
use uuid::Uuid;

/// The extended info the real client sends, in its shape.
pub(crate) const REAL_EXTENDED_INFO: &str = r#"{"client":{"id":"arrow-client","version":"0.9.3","vendor":"angelcam"},"device":{"category":null,"type":null,"vendor":null}}"#;

fn ctl(msg_id: u16, body: impl Into<ControlBody>) -> Message {
    Message::Control(ControlMessage::new(msg_id, body.into()))
}

fn unit(msg_id: u16, body: ControlBody) -> Message {
    Message::Control(ControlMessage::new(msg_id, body))
}

fn camera_ip() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5))
}

/// The made-up MAC the real client gives command-line services: ff:ff + the IPv4 octets.
fn made_up_mac() -> MacAddr {
    MacAddr([0xff, 0xff, 10, 0, 0, 5])
}

/// The services a camera-side client would offer (RTSP, MJPEG, HTTP).
pub(crate) fn camera_services() -> Vec<Service> {
    vec![
        Service::new(0x1a2b, ServiceType::Rtsp, camera_ip(), 554)
            .with_mac(made_up_mac())
            .with_path("/axis-media/media.amp?videocodec=h264&resolution=1920x1080"),
        Service::new(0x3c4d, ServiceType::Mjpeg, camera_ip(), 80)
            .with_mac(made_up_mac())
            .with_path("/mjpg/1/video.mjpg"),
        Service::new(0x5e6f, ServiceType::Http, camera_ip(), 80).with_mac(made_up_mac()),
    ]
}

/// REGISTER as the real client sends it: msg_id 0, window 65535, gateway flag, its
/// extended info; with these three services its body is 0x170 bytes, like the reference
/// capture's header `02 0000 00 000000 00000170`.
pub(crate) fn real_register() -> Register {
    let mut register = Register::new(
        Uuid::from_u128(0x3f1c_1b52_4f49_4c6b_9f5e_6c1f_2d9a_7e10),
        ClientKey(*b"0123456789abcdef"),
        MacAddr([0x00, 0x40, 0x8c, 0x12, 0x34, 0x56]),
    );
    register.extended_info = REAL_EXTENDED_INFO.to_owned();
    register.services = camera_services();
    register
}

/// Every named stream.
pub(crate) fn all() -> Vec<(&'static str, Vec<Message>)> {
    let v6 = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0x10));
    vec![
        ("register-real-client", vec![ctl(0, real_register())]),
        (
            "register-minimal",
            vec![ctl(
                0,
                Register {
                    uuid: Uuid::from_u128(1),
                    key: ClientKey([0xaa; 16]),
                    mac: MacAddr::ZERO,
                    window_size: 0,
                    flags: RegisterFlags(0),
                    extended_info: String::new(),
                    services: Vec::new(),
                },
            )],
        ),
        (
            "ack",
            vec![
                ctl(0, ErrorCode::NoError),
                ctl(1, ErrorCode::UnsupportedProtocolVersion),
                ctl(2, ErrorCode::Unauthorized),
                ctl(3, ErrorCode::ConnectionError),
                ctl(4, ErrorCode::UnsupportedMethod),
                ctl(5, ErrorCode::InternalServerError),
                ctl(6, ErrorCode::Other(0x10)),
            ],
        ),
        ("ping", vec![unit(7, ControlBody::Ping)]),
        (
            "redirect",
            vec![ctl(
                12,
                Redirect {
                    target: "arrow-eu2.angelcam.com:8900".to_owned(),
                },
            )],
        ),
        (
            "update",
            vec![ctl(
                3,
                Update {
                    services: vec![
                        Service::new(0x0101, ServiceType::Tcp, camera_ip(), 22),
                        Service::new(0x0202, ServiceType::Rtsp, v6, 8554)
                            .with_mac(MacAddr([0x02, 0, 0, 0, 0, 0x10]))
                            .with_path("/live"),
                        Service::new(0x0303, ServiceType::Other(0x0042), camera_ip(), 9000),
                    ],
                },
            )],
        ),
        ("update-empty", vec![ctl(4, Update::default())]),
        (
            "hup",
            vec![
                Message::Control(ControlMessage::hup(8, 0x00ab_cdef, ErrorCode::NoError)),
                Message::Control(ControlMessage::hup(9, 1, ErrorCode::ConnectionError)),
            ],
        ),
        (
            "reset-svc-table",
            vec![unit(10, ControlBody::ResetSvcTable)],
        ),
        ("scan-network", vec![unit(11, ControlBody::ScanNetwork)]),
        (
            "get-status-status",
            vec![
                unit(13, ControlBody::GetStatus),
                Message::Control(ControlMessage::status(5, 13, StatusFlags::SCANNING, 2)),
            ],
        ),
        (
            "get-scan-report-scan-report",
            vec![
                unit(14, ControlBody::GetScanReport),
                ctl(
                    6,
                    ScanReport {
                        request_id: 14,
                        hosts: vec![
                            HostRecord {
                                flags: HostFlags(HostFlags::ARP.0 | HostFlags::ICMP.0),
                                mac: MacAddr([0x00, 0x40, 0x8c, 0x01, 0x02, 0x03]),
                                ip: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
                                ports: vec![80, 554],
                            },
                            HostRecord {
                                flags: HostFlags::ICMP,
                                mac: MacAddr::ZERO,
                                ip: v6,
                                ports: vec![],
                            },
                        ],
                        services: vec![
                            Service::new(
                                0x7777,
                                ServiceType::LockedRtsp,
                                IpAddr::V4(Ipv4Addr::new(192, 168, 1, 20)),
                                554,
                            )
                            .with_mac(MacAddr([0x00, 0x40, 0x8c, 0x01, 0x02, 0x03])),
                        ],
                    },
                ),
            ],
        ),
        ("scan-report-empty", vec![ctl(7, ScanReport::empty(15))]),
        (
            "data-ack",
            vec![Message::Control(ControlMessage::data_ack(
                16,
                0x0000_0042,
                65536,
            ))],
        ),
        (
            "connect",
            vec![Message::Control(ControlMessage::connect(
                17,
                0x1a2b,
                0x00ff_ffff,
            ))],
        ),
        (
            "unknown-type",
            vec![
                ctl(
                    18,
                    UnknownControl {
                        msg_type: 0x000e,
                        data: Bytes::from_static(b"\x01\x02\x03"),
                    },
                ),
                ctl(
                    19,
                    UnknownControl {
                        msg_type: 0xffff,
                        data: Bytes::new(),
                    },
                ),
            ],
        ),
        (
            "data",
            vec![
                Message::Data(DataMessage::new(
                    0x1a2b,
                    0x42,
                    Bytes::from_static(b"OPTIONS rtsp://10.0.0.5/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
                )),
                Message::Data(DataMessage::new(0xffff, 0x00ff_ffff, Bytes::new())),
            ],
        ),
        (
            "session",
            vec![
                Message::Control(ControlMessage::connect(20, 0x1a2b, 7)),
                Message::Data(DataMessage::new(0x1a2b, 7, Bytes::from_static(b"GET /"))),
                Message::Data(DataMessage::new(
                    0x1a2b,
                    7,
                    Bytes::from_static(b"HTTP/1.0 200"),
                )),
                Message::Control(ControlMessage::data_ack(1, 7, 5)),
                Message::Control(ControlMessage::data_ack(21, 7, 12)),
                Message::Control(ControlMessage::hup(2, 7, ErrorCode::NoError)),
            ],
        ),
    ]
}
