//! `protoctl arrow scan` against fake cameras of every kind on a [`Lan`](crate::lan::Lan),
//! and against a silent /22: never this machine's network.

use std::process::Stdio;

use serde_json::Value;

use crate::arrow_client::Running;
use crate::lan::{Host, Lan, in_namespace, namespace_holder, sh};
use crate::support::{Reaped, assert_private_network_namespace, bounded, stderr, stdout_lines};

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_arrow_scan_finds_every_kind_of_camera_with_its_type_path_and_mac() {
    assert_private_network_namespace();
    let mut lan = Lan::new("scanbr0", "10.99.0");
    let cameras = [
        ("rtsp-h264", 554, "rtsp", "/live.sdp", true),
        (
            "rtsp-audio-only",
            554,
            "unsupported_rtsp",
            "/live.sdp",
            false,
        ),
        ("rtsp-locked", 554, "locked_rtsp", "", false),
        ("mjpeg", 80, "mjpeg", "/mjpg/video.mjpg", false),
        (
            "mjpeg-locked",
            80,
            "locked_mjpeg",
            "/mjpg/video.mjpg",
            false,
        ),
        ("http", 80, "http", "", false),
    ];
    let mut running = Vec::new();
    let mut want = Vec::new();
    for (kind, port, service_type, path, onvif) in cameras {
        let Host { pid, ip, mac } = lan.add_host();
        let mut cmd = in_namespace(pid);
        cmd.args([
            "arrow",
            "camera",
            "--bind",
            &format!("{ip}:{port}"),
            "--kind",
            kind,
        ]);
        if onvif {
            cmd.arg("--onvif");
        }
        let camera = Running::spawn(&mut cmd);
        camera.wait_event("listening");
        want.push((ip, port, service_type.to_string(), path.to_string(), mac));
        running.push(camera);
    }

    let mut scan = lan.protoctl();
    let out = bounded(
        scan.args([
            "--json",
            "arrow",
            "scan",
            "--discovery-interface",
            "scanbr0",
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines = stdout_lines(&out);
    let hosts: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "host").collect();
    assert_eq!(hosts.len(), cameras.len(), "{hosts:?}");
    for (ip, port, service_type, path, mac) in &want {
        let service = lines
            .iter()
            .find(|l| l["kind"] == "service" && l["ip"] == ip.as_str() && l["port"] == *port)
            .unwrap_or_else(|| panic!("no service at {ip}:{port}: {lines:?}"));
        assert_eq!(service["type"], service_type.as_str(), "{service}");
        assert_eq!(service["path"], path.as_str(), "{service}");
        assert_eq!(
            service["mac"],
            mac.as_str(),
            "the camera's real MAC: {service}"
        );
        let host = hosts.iter().find(|h| h["ip"] == ip.as_str()).unwrap();
        let flags: Vec<&str> = host["flags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(flags.contains(&"arp") && flags.contains(&"tcp"), "{host}");
    }
    let onvif = hosts.iter().find(|h| h["ip"] == "10.99.0.10").unwrap();
    assert!(
        onvif["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "onvif"),
        "the ONVIF camera answered the probe: {onvif}"
    );
    drop(running);
    drop(lan);
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_arrow_scan_of_a_silent_22_ends_at_its_deadline_with_flat_memory() {
    assert_private_network_namespace();
    let (lan, void) = silent_22("silent0", "10.98.0.1");
    let lan_pid = lan.0.id();
    let mut scan = in_namespace(lan_pid);
    scan.args([
        "--json",
        "arrow",
        "scan",
        "--discovery-interface",
        "silent0",
        "--discovery-max-hosts",
        "1024",
        "--timeout",
        "3s",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = Reaped(scan.spawn().unwrap());
    // nsenter execs protoctl: its /proc status is the scan's. The high-water mark of its
    // resident memory, read until it exits (bounded by the test's wait).
    let status = format!("/proc/{}/status", child.0.id());
    let mut peak_kib = 0u64;
    for _ in 0..(crate::support::WAIT.as_millis() / 20) {
        if let Some(hwm) = std::fs::read_to_string(&status).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        }) {
            peak_kib = peak_kib.max(hwm);
        }
        if child.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let exit = child
        .0
        .try_wait()
        .unwrap()
        .expect("the scan ended within the test's wait");
    let out = {
        use std::io::Read;
        let mut stdout = String::new();
        let mut stderr = String::new();
        child
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        (stdout, stderr)
    };
    assert_eq!(exit.code(), Some(0), "{}", out.1);
    assert!(
        out.1.contains("deadline ended it"),
        "a 3 s deadline cuts a /22 sweep short, and says so: {}",
        out.1
    );
    assert!(
        !out.0.contains(r#""kind":"service""#),
        "nothing answers: {}",
        out.0
    );
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "1,022 silent addresses cost little memory: {peak_kib} KiB"
    );
    drop(void);
    drop(lan);
}

#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_arrow_scan_stops_in_order_on_sigint_and_sigterm_with_what_it_found() {
    use std::io::{BufRead, BufReader};
    assert_private_network_namespace();
    // A silent /22, as above, with a deadline far beyond the test's wait: only the signal
    // can end the scan in time.
    let (lan, _void) = silent_22("quiet0", "10.97.0.1");
    let lan_pid = lan.0.id();
    for (flag, name) in [("-INT", "SIGINT"), ("-TERM", "SIGTERM")] {
        let mut scan = in_namespace(lan_pid);
        scan.args([
            "-v",
            "--json",
            "arrow",
            "scan",
            "--discovery-interface",
            "quiet0",
        ])
        .args(["--timeout", "10m"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = Reaped(scan.spawn().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.0.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // The scan has started: its plan is logged.
        let started = (0..1000)
            .map_while(|_| rx.recv_timeout(crate::support::WAIT).ok())
            .any(|line| line.contains("scan starting"));
        assert!(started, "the scan logs its start");
        let sent = std::process::Command::new("kill")
            .args([flag, &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let mut logged = Vec::new();
        while let Ok(line) = rx.recv_timeout(crate::support::WAIT) {
            logged.push(line);
        }
        let status = child.0.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{flag}: {logged:?}");
        assert!(
            logged
                .iter()
                .any(|l| l.contains(&format!("{name}: the scan stopped early"))),
            "{flag}: {logged:?}"
        );
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut stdout).unwrap();
        assert!(
            stdout
                .lines()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
    }
    drop(lan);
}

/// A LAN namespace whose `link` has `address`/22, on a veth pair whose far end, in a
/// namespace of its own, has no address: nothing answers anything. (The LAN's holder, the
/// far end's holder.)
fn silent_22(link: &str, address: &str) -> (Reaped, Reaped) {
    let lan = namespace_holder();
    let void = namespace_holder();
    let (lan_pid, void_pid) = (lan.0.id(), void.0.id());
    sh(&format!(
        "nsenter -t {lan_pid} -n sh -c 'ip link set lo up \
         && ip link add {link} type veth peer name void0 netns {void_pid} \
         && ip addr add {address}/22 dev {link} && ip link set {link} up' \
         && nsenter -t {void_pid} -n ip link set void0 up"
    ));
    (lan, void)
}
