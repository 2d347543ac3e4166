//! `protoctl wire encode | decode`.

use crate::support::{protoctl, run_with_stdin, stderr, stdout_lines};

const LINES: &str = "{\"command\":\"auth\",\"apiKey\":\"k\"}\n{\"command\":\"valueChange\",\"key\":\"focus\",\"value\":50}\n";

#[test]
fn encode_then_decode_round_trips_both_prefixes() {
    for prefix in ["2", "4"] {
        let encoded = run_with_stdin(
            protoctl().args(["wire", "encode", "--prefix", prefix]),
            LINES.as_bytes(),
        );
        assert_eq!(encoded.status.code(), Some(0), "{}", stderr(&encoded));
        let width: usize = prefix.parse().unwrap();
        assert_eq!(encoded.stdout.len(), LINES.len() - 2 + 2 * width);

        let decoded = run_with_stdin(
            protoctl().args(["wire", "decode", "--prefix", prefix]),
            &encoded.stdout,
        );
        assert_eq!(decoded.status.code(), Some(0), "{}", stderr(&decoded));
        let frames = stdout_lines(&decoded);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0]["offset"], 0);
        assert_eq!(frames[0]["json"]["command"], "auth");
        assert_eq!(frames[1]["offset"], width + 31);
        assert_eq!(frames[1]["json"]["value"], 50);
    }
}

#[test]
fn decode_reads_hex_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture.hex");
    std::fs::write(&path, "0002 7b7d\n0000\n").unwrap();
    let output = protoctl()
        .args(["wire", "decode", "--prefix", "2", "--hex"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let frames = stdout_lines(&output);
    assert_eq!(frames[0]["json"], serde_json::json!({}));
    assert_eq!(frames[1]["length"], 0);
}

#[test]
fn decode_bad_frame_exits_4_with_offset() {
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "4",
            &[0, 0, 0, 2, b'{', b'}', 0x7f, 0xff, 0xff, 0xff],
            "offset 6",
        ),
        ("2", &[0, 2, b'{', b'}', 0, 9, b'x'], "offset 4"),
        ("2", &[0], "offset 0"),
    ];
    for (prefix, bytes, offset) in cases {
        let output = run_with_stdin(
            protoctl().args(["wire", "decode", "--prefix", prefix]),
            bytes,
        );
        assert_eq!(
            output.status.code(),
            Some(4),
            "{bytes:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains(offset), "{}", stderr(&output));
        assert_eq!(
            stdout_lines(&output).len(),
            usize::from(bytes.len() > 1),
            "good frames before it are printed"
        );
    }
}

#[test]
fn decode_oversize_names_the_limit() {
    let output = run_with_stdin(
        protoctl().args(["wire", "decode", "--prefix", "4", "--max-payload", "1000"]),
        &[0, 0, 0x10, 0],
    );
    assert_eq!(output.status.code(), Some(4));
    assert!(stderr(&output).contains("1000"), "{}", stderr(&output));
}

#[test]
fn decode_names_a_foreign_protocol_at_the_start() {
    // A capture of the wrong port: an HTTP response is named, not read as a 1.2 GB frame.
    for prefix in ["2", "4"] {
        let output = run_with_stdin(
            protoctl().args(["wire", "decode", "--prefix", prefix]),
            b"HTTP/1.1 404 Not Found\r\n\r\n",
        );
        assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("speaks HTTP"),
            "{}",
            stderr(&output)
        );
    }
}

#[test]
fn encode_rejects_non_json_and_oversize_lines() {
    let output = run_with_stdin(
        protoctl().args(["wire", "encode", "--prefix", "2", "--hex"]),
        b"not json\n",
    );
    assert_eq!(output.status.code(), Some(2));
    let big = format!("\"{}\"\n", "x".repeat(70_000));
    let output = run_with_stdin(
        protoctl().args(["wire", "encode", "--prefix", "2", "--hex"]),
        big.as_bytes(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("65535"));
}
