//! Global flags, usage errors, completions, broken pipes.

use std::io::Read;
use std::process::Stdio;

use crate::support::{protoctl, stderr};

#[test]
fn unknown_flag_exits_2() {
    let output = protoctl()
        .args(["wire", "decode", "--prefix", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn missing_input_file_exits_2() {
    let output = protoctl()
        .args([
            "wire",
            "decode",
            "--prefix",
            "2",
            "/nonexistent/capture.bin",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("/nonexistent/capture.bin"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn json_flag_is_accepted_before_and_after_the_subcommand() {
    for args in [
        ["--json", "demo", "--only", "wire"],
        ["demo", "--only", "wire", "--json"],
    ] {
        let output = protoctl().args(args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        let first = String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(first.starts_with('{'), "{args:?}: {first}");
    }
}

#[test]
fn completions_for_bash_name_the_binary() {
    let output = protoctl().args(["completions", "bash"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("protoctl"));
}

#[test]
fn broken_stdout_pipe_exits_0_quietly() {
    // Far more output than a pipe buffer holds, and nobody reading it.
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("many.bin");
    let mut stream = Vec::new();
    for _ in 0..20_000 {
        stream.extend_from_slice(&[0, 0, 0, 7]);
        stream.extend_from_slice(b"{\"a\":1}");
    }
    std::fs::write(&capture, stream).unwrap();
    let mut child = protoctl()
        .args(["wire", "decode", "--prefix", "4"])
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "nothing said about the closed pipe: {err}");
}

#[test]
fn rust_log_enables_logs_on_stderr_only() {
    let output = protoctl()
        .args(["demo", "--only", "wire", "--json"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("stdout holds only JSON lines");
    }
}

#[test]
fn out_of_range_numbers_and_durations_exit_2_before_anything_runs() {
    // Each value is refused by the flag's parser: nothing binds, connects or allocates,
    // and nothing panics (a panic exits 101).
    let cases = [
        "arkeo send --addr 127.0.0.1:9 --command X --timeout 1e19",
        "arkeo send --addr 127.0.0.1:9 --command X --timeout 0",
        "arkeo send --addr 127.0.0.1:9 --command X --indices 4294967296",
        "arkeo send --addr 127.0.0.1:9 --command X --indices 1,70000",
        "arkeo send --addr 127.0.0.1:9 --command X --request-id 9007199254740992",
        "arkeo serve --bind 127.0.0.1:0 --speed 1e300",
        "arkeo serve --bind 127.0.0.1:0 --speed NaN",
        "arkeo measure --addr 127.0.0.1:9 --routine x --max-reply 99999999999999",
        "arkeo track --addr 127.0.0.1:9 --channels 0,99999999",
        "arkeo track --addr 127.0.0.1:9 --channels 0 --duration 1000y",
        "arctop serve --bind 127.0.0.1:0 --api-key k --rate 1e-300",
        "arctop serve --bind 127.0.0.1:0 --api-key k --rate inf",
        "arctop serve --bind 127.0.0.1:0 --api-key k --count 0",
        "arctop listen --addr 127.0.0.1:9 --api-key k --timeout 1e30",
        "arctop plot --width 99999999 x.jsonl",
        "wire decode --prefix 4 --max-payload 99999999999",
        "arkeo serve --bind 127.0.0.1:0 --max-connections 0",
        "arkeo serve --bind 127.0.0.1:0 --max-connections 5000",
        "arkeo serve --bind 127.0.0.1:0 --idle-timeout 2d",
        "arctop serve --bind 127.0.0.1:0 --api-key k --max-connections 0",
        "arctop serve --bind 127.0.0.1:0 --api-key k --write-timeout 0",
        "arctop listen --addr 127.0.0.1:9 --api-key k --idle-timeout 0",
        "arrow scan --target 127.0.0.1 --discovery-max-hosts 0",
        "arrow scan --target 127.0.0.1 --discovery-max-hosts 16777216",
        "arrow run --server localhost:1 --discovery-max-hosts 99999999999999999999",
        "arrow run --server localhost:1 --max-sessions 0",
        "arrow run --server localhost:1 --window 65537",
        "arrow run --server localhost:1 --ping-interval 1e19",
        "arrow serve --max-clients 0",
        "arrow serve --max-outbox 10",
        "arrow decode --max-body 4294967296",
    ];
    for case in cases {
        let args: Vec<&str> = case.split_whitespace().collect();
        let output = protoctl()
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("invalid value"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
