//! The malformed-input matrix: every bad message gets its precise error, never a panic.

use arrow_codec::{ArrowCodec, DecodeError, Error, TABLE_TERMINATOR};
use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// A message: header (version 2, reserved 0) and body.
fn msg(svc_id: u16, session_id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = vec![2];
    out.extend_from_slice(&svc_id.to_be_bytes());
    out.extend_from_slice(&session_id.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A control message with raw data.
fn ctl(msg_type: u16, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 9];
    body.extend_from_slice(&msg_type.to_be_bytes());
    body.extend_from_slice(data);
    msg(0, 0, &body)
}

/// A service record with raw ip_version and path bytes.
fn record(ip_version: u8, path: &[u8]) -> Vec<u8> {
    let mut r = vec![0x00, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, ip_version];
    r.extend_from_slice(&[10, 0, 0, 5]);
    r.extend_from_slice(&[0; 12]);
    r.extend_from_slice(&554u16.to_be_bytes());
    r.extend_from_slice(path);
    r
}

/// REGISTER's 44 fixed bytes.
fn register_fixed() -> Vec<u8> {
    let mut d = vec![0x11; 32];
    d.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
    d.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 1]);
    d
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn decode_error(bytes: &[u8]) -> DecodeError {
    let mut buf = BytesMut::from(bytes);
    let mut codec = ArrowCodec::new();
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("{} decoded without error", hex::encode(bytes)),
            Err(Error::Decode(e)) => return e,
            Err(other) => panic!("not a decode error: {other}"),
        }
    }
}

#[test]
fn malformed_inputs_get_precise_errors() {
    let mut bad_utf8 = register_fixed();
    bad_utf8.extend_from_slice(b"{\xff}\0");
    bad_utf8.extend_from_slice(&TABLE_TERMINATOR);

    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        (
            "header cut at end of stream",
            vec![2, 0, 0, 0, 0],
            DecodeError::EofMidMessage {
                received: 5,
                expected: 11,
            },
        ),
        (
            "body cut at end of stream",
            msg(1, 1, b"abcd")[..13].to_vec(),
            DecodeError::EofMidMessage {
                received: 13,
                expected: 15,
            },
        ),
        (
            "version 1",
            cat(&[&[1], &msg(0, 0, &[])[1..]]),
            DecodeError::UnsupportedVersion { version: 1 },
        ),
        (
            "version 3",
            cat(&[&[3], &msg(0, 0, &[])[1..]]),
            DecodeError::UnsupportedVersion { version: 3 },
        ),
        (
            "body of 0xFFFFFFF0 bytes",
            vec![2, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0],
            DecodeError::Oversize {
                announced: 0xffff_fff0,
                max: ArrowCodec::DEFAULT_MAX_BODY,
            },
        ),
        (
            "control body without msg_id and type",
            msg(0, 0, &[0, 1, 0]),
            DecodeError::ControlTooShort { body_size: 3 },
        ),
        (
            "ACK with 3 bytes",
            ctl(0x0000, &[0, 0, 0]),
            DecodeError::WrongLength {
                message: "ACK",
                expected: 4,
                actual: 3,
            },
        ),
        (
            "ACK with 5 bytes",
            ctl(0x0000, &[0, 0, 0, 0, 0]),
            DecodeError::WrongLength {
                message: "ACK",
                expected: 4,
                actual: 5,
            },
        ),
        (
            "PING with data",
            ctl(0x0001, &[0]),
            DecodeError::WrongLength {
                message: "PING",
                expected: 0,
                actual: 1,
            },
        ),
        (
            "RESET_SVC_TABLE with data",
            ctl(0x0006, &[0, 0]),
            DecodeError::WrongLength {
                message: "RESET_SVC_TABLE",
                expected: 0,
                actual: 2,
            },
        ),
        (
            "SCAN_NETWORK with data",
            ctl(0x0007, &[0]),
            DecodeError::WrongLength {
                message: "SCAN_NETWORK",
                expected: 0,
                actual: 1,
            },
        ),
        (
            "GET_STATUS with data",
            ctl(0x0008, &[0]),
            DecodeError::WrongLength {
                message: "GET_STATUS",
                expected: 0,
                actual: 1,
            },
        ),
        (
            "GET_SCAN_REPORT with data",
            ctl(0x000a, &[0]),
            DecodeError::WrongLength {
                message: "GET_SCAN_REPORT",
                expected: 0,
                actual: 1,
            },
        ),
        (
            "HUP with 7 bytes",
            ctl(0x0005, &[0; 7]),
            DecodeError::WrongLength {
                message: "HUP",
                expected: 8,
                actual: 7,
            },
        ),
        (
            "STATUS with 11 bytes",
            ctl(0x0009, &[0; 11]),
            DecodeError::WrongLength {
                message: "STATUS",
                expected: 10,
                actual: 11,
            },
        ),
        (
            "DATA_ACK with 9 bytes",
            ctl(0x000c, &[0; 9]),
            DecodeError::WrongLength {
                message: "DATA_ACK",
                expected: 8,
                actual: 9,
            },
        ),
        (
            "CONNECT with 5 bytes",
            ctl(0x000d, &[0; 5]),
            DecodeError::WrongLength {
                message: "CONNECT",
                expected: 6,
                actual: 5,
            },
        ),
        (
            "REGISTER cut inside key",
            ctl(0x0002, &[0x11; 20]),
            DecodeError::Truncated {
                message: "REGISTER",
                field: "key",
                offset: 31,
            },
        ),
        (
            "REGISTER extended_info without NUL",
            ctl(0x0002, &cat(&[&register_fixed(), b"{}"])),
            DecodeError::MissingNul {
                message: "REGISTER",
                field: "extended_info",
                offset: 59,
            },
        ),
        (
            "REGISTER extended_info not UTF-8",
            ctl(0x0002, &bad_utf8),
            DecodeError::NotUtf8 {
                message: "REGISTER",
                field: "extended_info",
                offset: 59,
            },
        ),
        (
            "REGISTER without service table",
            ctl(0x0002, &cat(&[&register_fixed(), b"\0"])),
            DecodeError::MissingTerminator {
                message: "REGISTER",
                offset: 60,
            },
        ),
        (
            "UPDATE with no data",
            ctl(0x0004, &[]),
            DecodeError::MissingTerminator {
                message: "UPDATE",
                offset: 15,
            },
        ),
        (
            "UPDATE record without terminator",
            ctl(0x0004, &record(4, b"/a\0")),
            DecodeError::MissingTerminator {
                message: "UPDATE",
                offset: 15 + 32,
            },
        ),
        (
            "UPDATE path without NUL",
            ctl(0x0004, &record(4, b"/a")),
            DecodeError::MissingNul {
                message: "UPDATE",
                field: "path",
                offset: 15 + 29,
            },
        ),
        (
            "UPDATE path not UTF-8",
            ctl(0x0004, &cat(&[&record(4, b"/\xc3\0"), &TABLE_TERMINATOR])),
            DecodeError::NotUtf8 {
                message: "UPDATE",
                field: "path",
                offset: 15 + 29,
            },
        ),
        (
            "UPDATE ip_version 5",
            ctl(0x0004, &cat(&[&record(5, b"\0"), &TABLE_TERMINATOR])),
            DecodeError::BadIpVersion {
                message: "UPDATE",
                version: 5,
                offset: 15 + 10,
            },
        ),
        (
            "UPDATE ip_version 0",
            ctl(0x0004, &cat(&[&record(0, b"\0"), &TABLE_TERMINATOR])),
            DecodeError::BadIpVersion {
                message: "UPDATE",
                version: 0,
                offset: 15 + 10,
            },
        ),
        (
            "UPDATE cut inside a record's port",
            ctl(0x0004, &record(4, b"")[..28]),
            DecodeError::Truncated {
                message: "UPDATE",
                field: "port",
                offset: 15 + 27,
            },
        ),
        (
            "UPDATE cut inside the terminator",
            ctl(0x0004, &TABLE_TERMINATOR[..20]),
            DecodeError::Truncated {
                message: "UPDATE",
                field: "ip_addr",
                offset: 15 + 11,
            },
        ),
        (
            "UPDATE bytes after the terminator",
            ctl(0x0004, &cat(&[&TABLE_TERMINATOR, b"xy"])),
            DecodeError::TrailingBytes {
                message: "UPDATE",
                offset: 15 + 30,
                extra: 2,
            },
        ),
        (
            "REDIRECT without NUL",
            ctl(0x0003, b"host:1"),
            DecodeError::MissingNul {
                message: "REDIRECT",
                field: "target",
                offset: 15,
            },
        ),
        (
            "REDIRECT bytes after the NUL",
            ctl(0x0003, b"host:1\0zz"),
            DecodeError::TrailingBytes {
                message: "REDIRECT",
                offset: 22,
                extra: 2,
            },
        ),
        (
            "SCAN_REPORT host_count overruns the body",
            ctl(
                0x000b,
                &cat(&[&[0, 1], &1000u32.to_be_bytes(), &TABLE_TERMINATOR]),
            ),
            DecodeError::CountOverrun {
                message: "SCAN_REPORT",
                field: "host_count",
                count: 1000,
                remaining: 30,
                min_each: 26,
                offset: 17,
            },
        ),
        (
            "SCAN_REPORT host_count 0xFFFFFFFF",
            ctl(0x000b, &cat(&[&[0, 1], &u32::MAX.to_be_bytes()])),
            DecodeError::CountOverrun {
                message: "SCAN_REPORT",
                field: "host_count",
                count: u32::MAX,
                remaining: 0,
                min_each: 26,
                offset: 17,
            },
        ),
        (
            "SCAN_REPORT port_count overruns the body",
            ctl(
                0x000b,
                &cat(&[
                    &[0, 1],
                    &1u32.to_be_bytes(),
                    &[1, 0, 0, 0, 0, 0, 0, 4],
                    &[0; 16],
                    &[0xff, 0xff],
                    &TABLE_TERMINATOR,
                ]),
            ),
            DecodeError::CountOverrun {
                message: "SCAN_REPORT",
                field: "port_count",
                count: 0xffff,
                remaining: 30,
                min_each: 2,
                offset: 15 + 6 + 24,
            },
        ),
        (
            "SCAN_REPORT without service table",
            ctl(0x000b, &cat(&[&[0, 1], &0u32.to_be_bytes()])),
            DecodeError::MissingTerminator {
                message: "SCAN_REPORT",
                offset: 21,
            },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(decode_error(&bytes), want, "{name}");
    }
}

#[test]
fn errors_inside_a_message_leave_the_stream_in_step() {
    let mut stream = ctl(0x0000, &[0, 0, 0]); // ACK one byte short
    stream.extend(ctl(0x0001, &[])); // PING
    let mut buf = BytesMut::from(&stream[..]);
    let mut codec = ArrowCodec::new();
    let Err(Error::Decode(e)) = codec.decode(&mut buf) else {
        panic!("bad ACK must fail")
    };
    assert!(e.is_within_message());
    assert!(codec.is_between_messages());
    let next = codec.decode(&mut buf).unwrap().expect("the PING after it");
    let mut again = BytesMut::new();
    next.encode(&mut again).unwrap();
    assert_eq!(&again[..], &ctl(0x0001, &[])[..]);
}

#[test]
fn reserved_bytes_are_ignored_on_receipt() {
    use arrow_codec::{ControlBody, Message};
    let cases: [(Vec<u8>, ControlBody); 3] = [
        (
            ctl(0x0005, &[0xff, 0, 0, 7, 0, 0, 0, 3]),
            ControlBody::Hup(arrow_codec::Hup {
                session_id: 7,
                error: arrow_codec::ErrorCode::ConnectionError,
            }),
        ),
        (
            ctl(0x000c, &[0xff, 0, 0, 7, 0, 0, 1, 0]),
            ControlBody::DataAck(arrow_codec::DataAck {
                session_id: 7,
                length: 256,
            }),
        ),
        (
            ctl(0x000d, &[0, 1, 0xff, 0, 0, 7]),
            ControlBody::Connect(arrow_codec::Connect {
                svc_id: 1,
                session_id: 7,
            }),
        ),
    ];
    for (mut bytes, want) in cases {
        // and the header's reserved byte and session id of a control message
        bytes[3] = 0xaa;
        bytes[6] = 0x55;
        let mut buf = BytesMut::from(&bytes[..]);
        let Some(Message::Control(c)) = ArrowCodec::new().decode(&mut buf).unwrap() else {
            panic!("control message expected")
        };
        assert_eq!(c.body, want);
    }
    let mut data = msg(1, 0x0012_3456, b"x");
    data[3] = 0xee;
    let mut buf = BytesMut::from(&data[..]);
    let Some(Message::Data(d)) = ArrowCodec::new().decode(&mut buf).unwrap() else {
        panic!("data message expected")
    };
    assert_eq!(d.session_id, 0x0012_3456);
}

#[test]
fn terminator_other_fields_are_ignored() {
    // id 0, type 0, then junk MAC, ip_version 9, junk address, port, a path
    let mut terminator = vec![0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 9];
    terminator.extend_from_slice(&[0xee; 16]);
    terminator.extend_from_slice(&[0x12, 0x34]);
    terminator.extend_from_slice(b"/x\0");
    let bytes = ctl(0x0004, &terminator);
    let mut buf = BytesMut::from(&bytes[..]);
    let msg = ArrowCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&msg).unwrap()["data"],
        serde_json::json!({"services": []})
    );
}
