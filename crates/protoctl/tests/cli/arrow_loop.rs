//! The whole discovery loop between `protoctl arrow serve` and `protoctl arrow run
//! --discovery`, across veth pairs: SCAN_NETWORK, STATUS while the scan runs,
//! GET_SCAN_REPORT, the UPDATE that brings the found cameras into the table, and
//! RESET_SVC_TABLE with the UPDATE that drops them. On a [`Lan`](crate::lan::Lan): each fake
//! camera in a namespace of its own behind a veth pair, the service and the client in the
//! LAN namespace.

use std::io::Write;
use std::time::Instant;

use serde_json::Value;

use crate::arrow_client::Running;
use crate::lan::{Host, Lan, in_namespace};
use crate::support::{WAIT, assert_private_network_namespace};

/// Every line a process printed so far: lines are found in order from an index, and a line
/// passed over while looking for another is kept for a later look.
struct Transcript<'a> {
    name: &'static str,
    running: &'a Running,
    seen: Vec<Value>,
}

impl<'a> Transcript<'a> {
    fn new(name: &'static str, running: &'a Running) -> Self {
        Transcript {
            name,
            running,
            seen: Vec::new(),
        }
    }

    /// The first line at index `from` or later that `want` accepts, and its index; reads
    /// more lines as needed, for at most the test's wait.
    #[track_caller]
    fn find(&mut self, from: usize, what: &str, want: impl Fn(&Value) -> bool) -> (usize, Value) {
        let deadline = Instant::now() + WAIT;
        let mut i = from;
        loop {
            while i < self.seen.len() {
                if want(&self.seen[i]) {
                    return (i, self.seen[i].clone());
                }
                i += 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.running.next_line(left) {
                Some(line) => self.seen.push(line),
                None => panic!(
                    "{}: no {what} within {WAIT:?} (from line {from}); its lines: {:#?}",
                    self.name, self.seen
                ),
            }
        }
    }

    /// The first line at `from` or later whose `event` is `event`.
    #[track_caller]
    fn event(&mut self, from: usize, event: &str) -> (usize, Value) {
        self.find(from, event, |l| l["event"] == event)
    }
}

/// A fake camera: its namespace (the holder's pid), its address and what a scan should find.
struct Camera {
    pid: u32,
    ip: String,
    port: u16,
    kind: &'static str,
    svc_type: &'static str,
    path: &'static str,
    mac: String,
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_arrow_discovery_loop_scan_status_report_update_and_reset_across_veth_pairs() {
    assert_private_network_namespace();
    let mut lan = Lan::new("loopbr0", "10.95.0");
    let kinds = [
        ("rtsp-h264", 554, "RTSP", "/live.sdp"),
        ("mjpeg", 80, "MJPEG", "/mjpg/video.mjpg"),
    ];
    let mut cameras = Vec::new();
    for (kind, port, svc_type, path) in kinds {
        let Host { pid, ip, mac } = lan.add_host();
        cameras.push(Camera {
            pid,
            ip,
            port,
            kind,
            svc_type,
            path,
            mac,
        });
    }
    let in_lan = || lan.protoctl();
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    let state = dir.path().join("state");

    // The service, on the LAN namespace's loopback; requests go to its stdin.
    let (service, mut requests) = Running::spawn_fed(in_lan().args([
        "arrow",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--self-signed",
        certs.to_str().unwrap(),
    ]));
    let mut served = Transcript::new("arrow serve", &service);
    let (at, listening) = served.event(0, "listening");
    let port = listening["addr"]
        .as_str()
        .unwrap()
        .rsplit_once(':')
        .unwrap()
        .1
        .to_string();
    let ca = certs.join("ca.pem");

    // The client, scanning the bridge's subnet.
    let client = Running::spawn(in_lan().args([
        "--json",
        "arrow",
        "run",
        "--server",
        &format!("localhost:{port}"),
        "--ca",
        ca.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--gateway",
        "--discovery",
        "--discovery-interface",
        "loopbr0",
    ]));
    let mut ran = Transcript::new("arrow run", &client);
    let (at, registered) = served.event(at, "client_registered");
    let number = registered["client"].as_u64().unwrap();
    ran.event(0, "registered");
    // The scan at start finds the cameras' hosts, but nothing listens on them yet.
    let (first_scan, first) = ran.event(0, "scan_finished");
    assert_eq!(first["services"], 0, "no camera is up yet: {first}");

    // Now the cameras.
    let mut running = Vec::new();
    for camera in &cameras {
        let mut cmd = in_namespace(camera.pid);
        cmd.args([
            "arrow",
            "camera",
            "--bind",
            &format!("{}:{}", camera.ip, camera.port),
            "--kind",
            camera.kind,
        ]);
        let fake = Running::spawn(&mut cmd);
        fake.wait_event("listening");
        running.push(fake);
    }
    let request = |requests: &mut std::process::ChildStdin, what: &str| {
        writeln!(requests, "{what} {number}").unwrap();
    };
    let sent =
        |name: &'static str| move |l: &Value| l["event"] == "request_sent" && l["request"] == name;

    // SCAN_NETWORK: the client starts a scan.
    request(&mut requests, "scan_network");
    let (scan_sent_at, scan_sent) =
        served.find(at, "request_sent SCAN_NETWORK", sent("SCAN_NETWORK"));
    let at = scan_sent_at;
    assert_eq!(scan_sent["client"], number, "{scan_sent}");
    let (scan_started, _) = ran.event(first_scan + 1, "scan_started");

    // STATUS while it runs: scanning.
    request(&mut requests, "get_status");
    let (at, status_sent) = served.find(at, "request_sent GET_STATUS", sent("GET_STATUS"));
    let msg_id = status_sent["msg_id"].clone();
    let (at, status) = served.find(at, "status", |l| {
        l["event"] == "status" && l["request_id"] == msg_id
    });
    assert_eq!(status["client"], number, "{status}");
    assert_eq!(
        status["scanning"], true,
        "asked while the scan runs: {status}"
    );
    let (scan_finished, finished) = ran.event(scan_started, "scan_finished");
    assert_eq!(
        (
            &finished["hosts"],
            &finished["services"],
            &finished["cut_short"]
        ),
        (&Value::from(2), &Value::from(2), &Value::from(false)),
        "{finished}"
    );

    // GET_SCAN_REPORT: both hosts, with their real MACs and open ports, and both cameras.
    request(&mut requests, "get_scan_report");
    let (at, report_sent) =
        served.find(at, "request_sent GET_SCAN_REPORT", sent("GET_SCAN_REPORT"));
    let msg_id = report_sent["msg_id"].clone();
    let (at, report) = served.find(at, "scan_report", |l| {
        l["event"] == "scan_report" && l["request_id"] == msg_id
    });
    assert_eq!(report["client"], number, "{report}");
    let hosts = report["hosts"].as_array().unwrap();
    let services = report["services"].as_array().unwrap();
    assert_eq!(hosts.len(), cameras.len(), "{report}");
    assert_eq!(services.len(), cameras.len(), "{report}");
    let mut svc_ids = Vec::new();
    for camera in &cameras {
        let host = hosts
            .iter()
            .find(|h| h["ip"] == camera.ip.as_str())
            .unwrap_or_else(|| panic!("no host {}: {report}", camera.ip));
        assert_eq!(host["mac"], camera.mac.as_str(), "the real MAC: {host}");
        assert!(
            host["flags"].as_u64().unwrap() & 0x01 != 0,
            "found by ARP: {host}"
        );
        assert!(
            host["ports"]
                .as_array()
                .unwrap()
                .contains(&Value::from(camera.port)),
            "{host}"
        );
        let service = services
            .iter()
            .find(|s| s["ip"] == camera.ip.as_str() && s["port"] == camera.port)
            .unwrap_or_else(|| panic!("no service at {}:{}: {report}", camera.ip, camera.port));
        assert_eq!(service["svc_type"], camera.svc_type, "{service}");
        assert_eq!(service["path"], camera.path, "{service}");
        assert_eq!(service["mac"], camera.mac.as_str(), "{service}");
        svc_ids.push(service["svc_id"].as_u64().unwrap());
    }

    // UPDATE: the scan's cameras join the table, and the service exposes each of them.
    let (_, table) = ran.find(scan_started, "table_sent with the cameras", |l| {
        l["event"] == "table_sent" && l["reset"] == false
    });
    assert_eq!(table["services"], cameras.len(), "{table}");
    let mut exposed = Vec::new();
    let mut last_exposed = at;
    for (camera, svc_id) in cameras.iter().zip(&svc_ids) {
        let target = format!("{}:{}{}", camera.ip, camera.port, camera.path);
        // The UPDATE followed SCAN_NETWORK's scan (the scan at start found no camera).
        let (i, port_exposed) = served.find(0, &format!("port_exposed {target}"), |l| {
            l["event"] == "port_exposed" && l["target"] == target.as_str()
        });
        assert_eq!(port_exposed["client"], number, "{port_exposed}");
        assert_eq!(port_exposed["svc_type"], camera.svc_type, "{port_exposed}");
        assert_eq!(
            port_exposed["svc_id"], *svc_id,
            "the report's id: {port_exposed}"
        );
        assert!(
            i > scan_sent_at,
            "exposed after SCAN_NETWORK: {:#?}",
            served.seen
        );
        exposed.push((*svc_id, port_exposed["port"].as_u64().unwrap()));
        last_exposed = last_exposed.max(i);
    }
    let kept = std::fs::read_to_string(state.join("discovered.json")).unwrap();
    assert!(
        kept.contains("/live.sdp") && kept.contains("/mjpg/video.mjpg"),
        "kept in the state directory: {kept}"
    );

    // RESET_SVC_TABLE: an UPDATE at once, without the cameras; the service closes their
    // ports.
    request(&mut requests, "reset_svc_table");
    let (at, _) = served.find(
        last_exposed,
        "request_sent RESET_SVC_TABLE",
        sent("RESET_SVC_TABLE"),
    );
    let (_, reset) = ran.find(scan_finished, "table_sent after the reset", |l| {
        l["event"] == "table_sent" && l["reset"] == true
    });
    assert_eq!(reset["services"], 0, "{reset}");
    for (svc_id, port) in exposed {
        let (_, closed) = served.find(at, &format!("port_closed {svc_id}"), |l| {
            l["event"] == "port_closed" && l["svc_id"] == svc_id
        });
        assert_eq!(closed["client"], number, "{closed}");
        assert_eq!(closed["port"], port, "{closed}");
    }
    let kept = std::fs::read_to_string(state.join("discovered.json")).unwrap_or_default();
    assert!(
        !kept.contains("/live.sdp") && !kept.contains("/mjpg/video.mjpg"),
        "forgotten: {kept}"
    );

    // Both stop on SIGINT with 0.
    drop(ran);
    drop(served);
    client.signal("INT");
    assert_eq!(client.wait_exit(), Some(0));
    service.signal("INT");
    assert_eq!(service.wait_exit(), Some(0));
    drop(requests);
    drop(running);
    drop(lan);
}
