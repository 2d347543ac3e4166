//! Running the built binary.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The longest any single protoctl run may take in a test before it is killed.
pub(crate) const WAIT: Duration = Duration::from_secs(20);

/// The binary under test, with logs quiet unless a test asks.
pub(crate) fn protoctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_protoctl"));
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs with `stdin` fed and returns the finished process's output (bounded by [`WAIT`]).
pub(crate) fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    bounded(cmd, Some(stdin))
}

/// A child process killed and reaped when the guard drops (also on a failed assert).
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command to its end with `stdin` fed (or closed when `None`), killing it if it
/// outlives the test bound: a command that hangs fails its test instead of hanging CI.
pub(crate) fn bounded(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn protoctl");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        // A command that stops reading early closes the pipe: that is not a test failure.
        std::thread::spawn(move || pipe.write_all(&input));
    }
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(WAIT) {
        Ok(output) => output.expect("wait for protoctl"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("protoctl did not finish within {WAIT:?}");
        }
    }
}

pub(crate) fn stdout_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Refuses to go on outside a network namespace of its own: multicast from a test must
/// never reach this machine's networks. Inside `cargo xtask ci`'s namespace the test
/// binary's network namespace differs from its parent's (xtask's) and only `lo` exists.
pub(crate) fn assert_private_network_namespace() {
    let ours = std::fs::read_link("/proc/self/ns/net").expect("own network namespace");
    let parent = std::os::unix::process::parent_id();
    let theirs = std::fs::read_link(format!("/proc/{parent}/ns/net"))
        .expect("the parent's network namespace (run by cargo xtask ci)");
    assert_ne!(
        ours, theirs,
        "refusing to send multicast: same network namespace as the parent; run by cargo xtask ci"
    );
    if let Ok(init) = std::fs::read_link("/proc/1/ns/net") {
        assert_ne!(
            ours, init,
            "refusing to send multicast in the machine's network namespace"
        );
    }
    let devices = std::fs::read_to_string("/proc/self/net/dev").expect("/proc/self/net/dev");
    let interfaces: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to send multicast: interfaces other than lo"
    );
}
