//! `protoctl arrow decode | encode`.

use std::path::PathBuf;

use crate::support::{protoctl, run_with_stdin, stderr, stdout_lines};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arrow")
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.hex"))).unwrap();
    hex::decode(text.split_whitespace().collect::<String>()).unwrap()
}

/// Every fixture stream (written by the encoder), and its messages as JSON.
fn all_fixtures() -> (Vec<u8>, Vec<serde_json::Value>) {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "hex").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 15, "fixtures went missing: {names:?}");
    let mut bytes = Vec::new();
    let mut messages = Vec::new();
    for name in names {
        bytes.extend(fixture_bytes(&name));
        let json = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap();
        let list: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
        messages.extend(list);
    }
    (bytes, messages)
}

/// A control message with raw data.
fn ctl(msg_type: u16, data: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, 0, 0, 0, 0];
    out.extend_from_slice(&((4 + data.len()) as u32).to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&msg_type.to_be_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn arrow_decode_reads_every_fixture_stream_with_offsets() {
    let (bytes, messages) = all_fixtures();
    let output = run_with_stdin(protoctl().args(["arrow", "decode"]), &bytes);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), messages.len());
    let mut offset = 0u64;
    for (line, want) in lines.iter().zip(&messages) {
        assert_eq!(line["offset"], offset);
        offset += line["size"].as_u64().unwrap();
        let mut fields = line.as_object().unwrap().clone();
        fields.remove("offset");
        fields.remove("size");
        assert_eq!(&serde_json::Value::Object(fields), want);
    }
    assert_eq!(offset, bytes.len() as u64);
}

#[test]
fn arrow_decode_reads_hex_from_a_file() {
    let output = protoctl()
        .args(["arrow", "decode", "--hex"])
        .arg(fixtures().join("register-real-client.hex"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "REGISTER");
    assert_eq!(lines[0]["size"], 11 + 0x170);
    assert_eq!(lines[0]["data"]["services"][0]["svc_type"], "RTSP");
}

#[test]
fn arrow_decode_then_encode_gives_back_the_bytes() {
    let (bytes, _) = all_fixtures();
    let decoded = run_with_stdin(protoctl().args(["arrow", "decode"]), &bytes);
    assert_eq!(decoded.status.code(), Some(0), "{}", stderr(&decoded));
    let encoded = run_with_stdin(protoctl().args(["arrow", "encode"]), &decoded.stdout);
    assert_eq!(encoded.status.code(), Some(0), "{}", stderr(&encoded));
    assert_eq!(encoded.stdout, bytes);
}

#[test]
fn arrow_decode_bad_message_exits_4_with_offset() {
    let ping = ctl(0x0001, &[]);
    let mut register_no_nul = ctl(0x0002, &[0x11; 44]);
    register_no_nul.extend_from_slice(b"{}");
    // body_size grows by the two bytes appended
    register_no_nul[10] += 2;
    let cases: Vec<(Vec<&str>, Vec<u8>, &str)> = vec![
        (vec![], [&ping[..], &[2, 0, 0]].concat(), "byte offset 15"),
        (
            vec![],
            [&ping[..], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]].concat(),
            "unsupported protocol version 1",
        ),
        (
            vec!["--max-body", "1000"],
            [&ping[..], &[2, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf0]].concat(),
            "over the limit of 1000",
        ),
        (
            vec![],
            [&ping[..], &register_no_nul[..]].concat(),
            "byte offset 15 (stream byte 74)",
        ),
        (
            vec![],
            [&ping[..], &ctl(0x0000, &[0, 0])[..]].concat(),
            "ACK data must be 4 bytes",
        ),
    ];
    for (flags, bytes, want) in cases {
        let output = run_with_stdin(protoctl().args(["arrow", "decode"]).args(&flags), &bytes);
        assert_eq!(output.status.code(), Some(4), "{want}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(want),
            "{want}: {}",
            stderr(&output)
        );
        assert_eq!(
            stdout_lines(&output).len(),
            1,
            "the PING before it is printed"
        );
    }
}

#[test]
fn arrow_decode_unknown_type_is_not_an_error() {
    let output = run_with_stdin(protoctl().args(["arrow", "decode"]), &ctl(0x0099, b"\xab"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert_eq!(lines[0]["type"], "UNKNOWN");
    assert_eq!(lines[0]["data"]["msg_type"], 0x99);
    assert_eq!(lines[0]["data"]["data"], "ab");
}

#[test]
fn arrow_decode_missing_file_exits_2() {
    let output = protoctl()
        .args(["arrow", "decode", "/nonexistent/capture.bin"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = run_with_stdin(protoctl().args(["arrow", "decode", "--hex"]), b"zz");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn arrow_encode_rejects_bad_lines_with_exit_2() {
    let cases: [(&[u8], &str); 3] = [
        (b"not json\n", "line 1"),
        (b"{\"kind\":\"control\",\"msg_id\":1,\"type\":\"NOPE\"}\n", "line 1"),
        (
            b"{\"kind\":\"control\",\"msg_id\":1,\"type\":\"PING\"}\n{\"kind\":\"data\",\"svc_id\":1,\"session_id\":16777216,\"body\":\"\"}\n",
            "line 2",
        ),
    ];
    for (input, want) in cases {
        let output = run_with_stdin(protoctl().args(["arrow", "encode", "--hex"]), input);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(want), "{}", stderr(&output));
    }
}

#[test]
fn arrow_encode_hex_writes_the_reference_header() {
    let line = b"{\"kind\":\"control\",\"msg_id\":3,\"type\":\"PING\"}\n";
    let output = run_with_stdin(protoctl().args(["arrow", "encode", "--hex"]), line);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "020000000000000000000400030001\n"
    );
}
