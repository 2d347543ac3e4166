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

/// Panics unless this process runs in a network namespace of its own, made by `cargo xtask
/// ci` (only loopback, not its parent's namespace, not PID 1's): a test that sends
/// multicast or broadcast (mDNS, LSL, WS-Discovery, a scan) calls this before it sends
/// anything, so it can never reach a real network.
#[track_caller]
pub(crate) fn assert_private_network_namespace() {
    let dev = std::fs::read_to_string("/proc/self/net/dev").expect("read /proc/self/net/dev");
    let interfaces: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        interfaces,
        ["lo"],
        "refusing to run: this network namespace has other interfaces than loopback \
         (run it through `cargo xtask ci`, which makes a private namespace)"
    );
    let own = std::fs::read_link("/proc/self/ns/net").expect("read /proc/self/ns/net");
    let parent = std::os::unix::process::parent_id();
    if let Ok(theirs) = std::fs::read_link(format!("/proc/{parent}/ns/net")) {
        assert_ne!(
            own, theirs,
            "refusing to run: the parent's network namespace (run it through `cargo xtask ci`)"
        );
    }
    if let Ok(init) = std::fs::read_link("/proc/1/ns/net") {
        assert_ne!(
            own, init,
            "refusing to run: this is the network namespace of PID 1"
        );
    }
}

/// The folder `.ci/run` installs pylsl into (`pip install --target`), at the workspace root.
pub(crate) const PYLSL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pylsl");

/// `python3` able to import pylsl (from [`PYLSL_DIR`] or the system). Fails the test
/// loudly when pylsl is missing: the LSL test must never pass by skipping.
pub(crate) fn python_with_pylsl() -> Command {
    let python = || {
        let mut cmd = Command::new("python3");
        let mut path = std::ffi::OsString::from(PYLSL_DIR);
        if let Some(existing) = std::env::var_os("PYTHONPATH") {
            path.push(":");
            path.push(existing);
        }
        cmd.env("PYTHONPATH", path);
        cmd
    };
    let probe = python()
        .args(["-c", "import pylsl; print(pylsl.__version__)"])
        .output();
    match probe {
        Ok(output) if output.status.success() => python(),
        Ok(output) => panic!(
            "pylsl is not installed, so the LSL end-to-end test cannot run. Install it as \
             .ci/run does: python3 -m pip install --target target/pylsl pylsl==1.18.6\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(e) => panic!("python3 is needed for the LSL end-to-end test (pylsl): {e}"),
    }
}
