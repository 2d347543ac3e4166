//! `protoctl demo` against the built-in peers.

use crate::support::{protoctl, stderr, stdout_lines};

#[test]
fn demo_runs_every_part_and_exits_0() {
    let output = protoctl().args(["--json", "demo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    assert!(
        lines
            .iter()
            .all(|l| l["demo"].is_string() && l["event"].is_string())
    );
    let echoed = lines
        .iter()
        .filter(|l| l["demo"] == "wire" && l["event"] == "echoed")
        .count();
    assert_eq!(echoed, 3, "every message came back");
}

#[test]
fn demo_human_output_names_each_part() {
    let output = protoctl()
        .args(["demo", "--only", "wire"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.lines().all(|l| l.starts_with("[wire] ")), "{text}");
}

#[test]
fn demo_discovery_part_types_the_fake_cameras_and_streams_through_the_tunnel() {
    let output = protoctl()
        .args(["--json", "demo", "--only", "discovery"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = stdout_lines(&output);
    let found: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "found")
        .filter_map(|l| l["type"].as_str())
        .collect();
    assert_eq!(found, ["rtsp", "locked_rtsp", "mjpeg", "http"]);
    let stream = lines
        .iter()
        .find(|l| l["event"] == "stream")
        .expect("a stream");
    assert!(stream["bytes"].as_u64().unwrap() > 100, "{stream}");
}
