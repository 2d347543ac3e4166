//! Tests that need a network namespace (real mDNS or LSL multicast, say) run inside one
//! made here.
//!
//! Such a test is marked `#[ignore = "..."]` and its name contains `netns_`, so a plain
//! `cargo test` lists it as ignored rather than passing it silently. Here every test binary
//! is run again inside `unshare -n` with loopback up, multicast on and 224.0.0.0/4 routed to
//! loopback, with `--ignored netns_`, one test at a time (a test that adds a veth pair to
//! the namespace must not be seen by another's check); each such test also checks, before
//! it sends anything, that it is inside a namespace with loopback only. Where namespaces cannot be made, CI
//! (`CI` set) fails and elsewhere the tests are reported as not run.

use std::process::Command;

use crate::{Result, cargo};

/// Sets up loopback inside the new namespace, then runs the test binary given as `$0`.
const IN_NAMESPACE: &str = "ip link set lo up && ip link set lo multicast on \
    && ip route add 224.0.0.0/4 dev lo && exec \"$0\" \"$@\"";

pub(crate) fn run_namespace_tests() -> Result {
    eprintln!("xtask: == network-namespace tests");
    if let Err(why) = probe() {
        let message = format!("network-namespace tests NOT RUN: cannot make a namespace ({why})");
        if std::env::var_os("CI").is_some() {
            return Err(message);
        }
        eprintln!("xtask: warning: {message}");
        return Ok(());
    }
    for binary in test_binaries()? {
        let status = Command::new("unshare")
            .args(["-n", "--", "sh", "-c", IN_NAMESPACE])
            .arg(&binary)
            .args(["--ignored", "netns_", "--test-threads=1"])
            .status()
            .map_err(|e| format!("cannot run {binary}: {e}"))?;
        if !status.success() {
            return Err(format!("network-namespace tests failed in {binary}"));
        }
    }
    Ok(())
}

fn probe() -> Result {
    let output = Command::new("unshare")
        .args([
            "-n",
            "--",
            "sh",
            "-c",
            "ip link set lo up && ip link set lo multicast on",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// The paths of every test executable of the workspace (built if needed).
fn test_binaries() -> Result<Vec<String>> {
    let output = cargo()
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "building tests failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && message["profile"]["test"] == true
            && let Some(exe) = message["executable"].as_str()
        {
            binaries.push(exe.to_string());
        }
    }
    Ok(binaries)
}
