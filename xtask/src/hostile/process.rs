//! The processes under attack: starting them, reading their peak memory and descriptors,
//! stopping them in order; and what one flood measured.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Result, root};

/// Descriptors a process may hold beyond what its limits allow its peers (its listener,
/// stdio, the runtime's own, logs).
pub(crate) const FD_SLACK: usize = 32;

pub(crate) struct Outcome {
    pub(crate) peer: &'static str,
    pub(crate) flood: &'static str,
    pub(crate) seconds: f64,
    pub(crate) sent: u64,
    /// Before the attack (`None` for a client, flooded as soon as it registers).
    pub(crate) idle_rss_kib: Option<u64>,
    pub(crate) peak_rss_kib: u64,
    pub(crate) peak_fds: usize,
    /// What the process's default limits allow it (the short form fails above it).
    pub(crate) fd_bound: usize,
    pub(crate) still_serves: bool,
    pub(crate) stopped_in_order: bool,
}

/// Where cargo puts what it builds (CARGO_TARGET_DIR, else `target/`).
pub(crate) fn cargo_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// A process under test (or helping one), killed and reaped on drop if it did not stop.
pub(crate) struct Process(Child);

impl Process {
    pub(crate) fn new(child: Child) -> Self {
        Process(child)
    }

    /// Its peak resident memory so far (VmHWM), KiB.
    pub(crate) fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .ok()
            .and_then(|status| crate::scan_bench::vm_hwm(&status))
            .unwrap_or(0)
    }

    /// The descriptors it has open now.
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.0.id()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    /// Its stdout, once it has exited (`None` while it runs).
    pub(crate) fn try_finish(&mut self) -> Option<String> {
        match self.0.try_wait() {
            Ok(Some(_)) => {
                let mut text = String::new();
                if let Some(mut out) = self.0.stdout.take() {
                    let _ = out.read_to_string(&mut text);
                }
                Some(text)
            }
            Ok(None) => None,
            Err(_) => Some(String::new()),
        }
    }

    /// SIGTERM, then exit 0 within 10 s: it stopped in order.
    pub(crate) fn stop(&mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent && Instant::now() < deadline {
            match self.0.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return false,
            }
        }
        false
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A built-in server, started with `--json` so its first line says where it listens.
pub(crate) struct Server {
    pub(crate) process: Process,
    pub(crate) addr: SocketAddr,
}

impl Server {
    pub(crate) fn start(protoctl: &Path, args: &[&str]) -> Result<Server> {
        let mut child = Command::new(protoctl)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", protoctl.display()))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout"));
        let process = Process::new(child);
        // The `listening` line (after a few others at most, e.g. `self_signed`).
        let mut addr = None;
        for _ in 0..4 {
            let mut line = String::new();
            lines
                .read_line(&mut line)
                .map_err(|e| format!("{args:?}: {e}"))?;
            let event: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| format!("{args:?}: {e}: {line:?}"))?;
            if event["event"] == "listening" {
                addr = event["addr"].as_str().and_then(|a| a.parse().ok());
                break;
            }
        }
        // Later lines (one per client) are read and dropped: a full pipe would stall it.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let addr = addr.ok_or_else(|| format!("{args:?} did not say where it listens"))?;
        Ok(Server { process, addr })
    }
}
