//! Running the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The binary under test, with logs quiet unless a test asks.
pub(crate) fn protoctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_protoctl"));
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs with `stdin` fed and returns the finished process's output.
pub(crate) fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn protoctl");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().expect("wait for protoctl");
    writer.join().unwrap().expect("feed stdin");
    output
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
