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

#[test]
fn demo_stops_in_order_on_sigterm_and_sigint() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    for (flag, name) in [("-TERM", "SIGTERM"), ("-INT", "SIGINT")] {
        let child = protoctl()
            .args(["--json", "demo"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = crate::support::Reaped(child);
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        // The first part has started (its first line is out); the whole demo takes seconds.
        let first = lines.next().unwrap().unwrap();
        assert!(first.contains(r#""demo":"wire""#), "{first}");
        let sent = std::process::Command::new("kill")
            .args([flag, &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let rest: Vec<serde_json::Value> = lines
            .map_while(Result::ok)
            .map(|l| serde_json::from_str(&l).unwrap())
            .collect();
        let last = rest.last().expect("a stopped line");
        assert_eq!(last["event"], "stopped", "{flag}: {rest:?}");
        assert_eq!(last["signal"], name);
        assert_eq!(child.0.wait().unwrap().code(), Some(0), "{flag}");
    }
}
