//! The Arrow scanner's numbers for `cargo xtask bench`: a /24 with six fake cameras and a
//! silent /22, each scanned by `protoctl arrow scan`, inside a network namespace made here.
//!
//! A scan sends to every address of a subnet, so it never runs in this machine's own
//! namespace: xtask runs itself again inside `unshare -n` (`scan-bench-inside`), checks
//! that the namespace holds loopback only and is not PID 1's, and builds the networks
//! there: a bridge with one namespace per camera behind a veth pair, and for the /22 a veth
//! pair whose far end has no address, so nothing answers. The result is a markdown note in
//! `target/bench-notes/`, which `bench` appends to docs/benchmarks.md.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, cargo, root};

/// The cameras of the /24: kind and port.
const CAMERAS: [(&str, u16); 6] = [
    ("rtsp-h264", 554),
    ("rtsp-audio-only", 554),
    ("rtsp-locked", 554),
    ("mjpeg", 80),
    ("mjpeg-locked", 80),
    ("http", 80),
];

/// Builds protoctl (release), runs the measurements in a new namespace and writes the note
/// (and prints it, with `print`).
pub(crate) fn run(print: bool) -> Result {
    crate::run(
        "protoctl (release) for the scan benchmark",
        cargo().args(["build", "--release", "-p", "protoctl"]),
    )?;
    let protoctl = root().join("target/release/protoctl");
    let xtask = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    eprintln!("xtask: == arrow scan, inside a network namespace");
    let output = Command::new("unshare")
        .args(["-n", "--"])
        .arg(&xtask)
        .arg("scan-bench-inside")
        .arg(&protoctl)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("unshare: {e}"))?;
    let note = if output.status.success() {
        String::from_utf8_lossy(&output.stdout).into_owned()
    } else {
        format!(
            "### Arrow scanner\n\nNot measured: the namespace could not be made or the scan \
             failed ({}).\n",
            output.status
        )
    };
    let dir = root().join("target/bench-notes");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("arrow-scan.md");
    std::fs::write(&path, &note).map_err(|e| format!("{}: {e}", path.display()))?;
    if print {
        print!("{note}");
    }
    Ok(())
}

/// Inside the namespace: the two measurements, printed as markdown.
pub(crate) fn inside(protoctl: &Path) -> Result {
    assert_private_namespace()?;
    sh("ip link set lo up")?;
    let (cameras, wall, peak, found) = cameras_24(protoctl)?;
    let (silent_wall, silent_peak) = silent_22(protoctl)?;
    let mut note =
        String::from("### Arrow scanner (`protoctl arrow scan`, in a network namespace)\n\n");
    note.push_str(
        "Measured by `cargo xtask bench` inside a namespace it makes (`unshare -n`): never on \
         this machine's networks. Wall time of the whole command, peak resident memory \
         (VmHWM).\n\n",
    );
    note.push_str(
        "| Network | Scanned | Found | Wall time | Addresses per second | Peak memory |\n",
    );
    note.push_str("|---|---|---|---|---|---|\n");
    note.push_str(&format!(
        "| /24 on a bridge, {cameras} fake cameras each in a namespace of its own behind a veth \
         pair | 254 addresses | {found} services | {:.2} s | {:.0} | {} |\n",
        wall.as_secs_f64(),
        254.0 / wall.as_secs_f64(),
        kib(peak)
    ));
    note.push_str(&format!(
        "| /22 on a veth pair, nothing answers | 1,022 addresses | 0 | {:.2} s | {:.0} | {} |\n\n",
        silent_wall.as_secs_f64(),
        1022.0 / silent_wall.as_secs_f64(),
        kib(silent_peak)
    ));
    note.push_str(
        "Default settings (500 datagrams a second, 64 connections at once, 2 s per probe, \
         ONVIF on). Only hosts that answered ARP or echo get TCP connects, so the /24's time \
         is the sweep, the wait for the neighbour table and the probes of six cameras; on the \
         silent /22 no connect is made at all. `cargo xtask bench scan` runs this part \
         alone and prints it.\n",
    );
    print!("{note}");
    Ok(())
}

fn kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// Six cameras on a /24: (cameras, wall time, peak KiB, services found).
fn cameras_24(protoctl: &Path) -> Result<(usize, Duration, u64, usize)> {
    sh(
        "ip link add benchbr0 type bridge && ip addr add 10.97.0.1/24 dev benchbr0 \
        && ip link set benchbr0 up",
    )?;
    let mut children = Reaped(Vec::new());
    for (i, (kind, port)) in CAMERAS.iter().enumerate() {
        let holder = Command::new("unshare")
            .args(["-n", "--", "sleep", "600"])
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        let pid = holder.id();
        children.0.push(holder);
        wait_for_namespace(pid)?;
        let ip = format!("10.97.0.{}", 10 + i);
        sh(&format!(
            "ip link add benchv{i} type veth peer name cam0 netns {pid} \
             && ip link set benchv{i} master benchbr0 && ip link set benchv{i} up \
             && nsenter -t {pid} -n sh -c 'ip link set lo up && ip addr add {ip}/24 dev cam0 \
             && ip link set cam0 up'"
        ))?;
        let mut camera = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-n", "--"])
            .arg(protoctl)
            .args(["--json", "arrow", "camera", "--bind"])
            .arg(format!("{ip}:{port}"))
            .args(["--kind", kind])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("nsenter: {e}"))?;
        let stdout = camera.stdout.take();
        children.0.push(camera);
        // The camera's first line says it listens.
        let mut line = String::new();
        if let Some(stdout) = stdout {
            use std::io::BufRead;
            let mut reader = std::io::BufReader::new(stdout);
            reader
                .read_line(&mut line)
                .map_err(|e| format!("camera {kind}: {e}"))?;
            // Its later lines (one per visitor) are read and dropped: a closed pipe would
            // end it.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        }
        if !line.contains("listening") {
            return Err(format!("camera {kind} did not start: {line}"));
        }
    }
    let (wall, peak, stdout) = measure(Command::new(protoctl).args([
        "--json",
        "arrow",
        "scan",
        "--discovery-interface",
        "benchbr0",
    ]))?;
    if std::env::var_os("XTASK_SCAN_DEBUG").is_some() {
        eprintln!("{stdout}");
    }
    let found = stdout
        .lines()
        .filter(|l| l.contains(r#""kind":"service""#))
        .count();
    drop(children);
    Ok((CAMERAS.len(), wall, peak, found))
}

/// A /22 where nothing answers (a veth pair whose far end, in a namespace of its own, has
/// no address): (wall time, peak KiB).
fn silent_22(protoctl: &Path) -> Result<(Duration, u64)> {
    let holder = Command::new("unshare")
        .args(["-n", "--", "sleep", "600"])
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let pid = holder.id();
    let _holder = Reaped(vec![holder]);
    wait_for_namespace(pid)?;
    sh(&format!(
        "ip link add bench22 type veth peer name void0 netns {pid} \
         && ip addr add 10.96.0.1/22 dev bench22 && ip link set bench22 up \
         && nsenter -t {pid} -n ip link set void0 up"
    ))?;
    let (wall, peak, _) = measure(Command::new(protoctl).args([
        "--json",
        "arrow",
        "scan",
        "--discovery-interface",
        "bench22",
        "--discovery-max-hosts",
        "1024",
    ]))?;
    Ok((wall, peak))
}

/// Runs `cmd` to its end: wall time, peak resident memory (KiB, VmHWM read until it
/// exits) and stdout.
fn measure(cmd: &mut Command) -> Result<(Duration, u64, String)> {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
        text
    });
    let mut peak = 0;
    // Bounded: the scan's own deadline is 2 minutes.
    for _ in 0..(300 * 50) {
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .and_then(|s| vm_hwm(&s))
        {
            peak = peak.max(hwm);
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    let status = match child.try_wait().map_err(|e| e.to_string())? {
        Some(status) => status,
        None => {
            let _ = child.kill();
            child.wait().map_err(|e| e.to_string())?
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("the scan failed ({status})"));
    }
    Ok((wall, peak, text))
}

/// `VmHWM:` of a /proc status file, in KiB.
pub(crate) fn vm_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Until the holder `pid` is in a namespace other than ours (unshare has exec'd).
fn wait_for_namespace(pid: u32) -> Result {
    let own = std::fs::read_link("/proc/self/ns/net").ok();
    for _ in 0..250 {
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if ns.is_some() && ns != own {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the namespace of {pid} did not come up"))
}

/// Loopback only, and not PID 1's namespace: else nothing is sent.
fn assert_private_namespace() -> Result {
    let dev = std::fs::read_to_string("/proc/self/net/dev").map_err(|e| e.to_string())?;
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    if interfaces != ["lo"] {
        return Err(format!(
            "refusing to scan: interfaces {interfaces:?} besides lo"
        ));
    }
    let own = std::fs::read_link("/proc/self/ns/net").map_err(|e| e.to_string())?;
    if std::fs::read_link("/proc/1/ns/net").is_ok_and(|init| init == own) {
        return Err("refusing to scan in the network namespace of PID 1".into());
    }
    Ok(())
}

fn sh(cmd: &str) -> Result {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cmd}: {}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Children killed and reaped on drop.
struct Reaped(Vec<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
