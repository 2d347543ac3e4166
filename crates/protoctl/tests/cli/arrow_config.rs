//! `protoctl arrow status`, `arrow run --config` and the security checks on files, as real
//! processes: status files from `fixtures/arrow-client/status/`, config files written by
//! each test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;

use serde_json::Value;

use crate::support::{Reaped, WAIT, bounded, protoctl, stderr, stdout_lines};

/// A pid no process can have (above Linux's largest `pid_max`, 2^22).
const DEAD_PID: u64 = 4_294_000_000;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/arrow-client")
}

/// A state directory holding `fixtures/arrow-client/status/<name>.json` with its `pid`
/// replaced.
fn state_with(name: &str, pid: u64) -> (tempfile::TempDir, Value) {
    let text = std::fs::read_to_string(fixtures().join(format!("status/{name}.json"))).unwrap();
    let mut status: Value = serde_json::from_str(&text).unwrap();
    status["pid"] = pid.into();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("status.json"),
        serde_json::to_vec_pretty(&status).unwrap(),
    )
    .unwrap();
    (dir, status)
}

fn status(dir: &Path, json: bool) -> std::process::Output {
    let mut cmd = protoctl();
    cmd.args(["arrow", "status", "--state-dir"]).arg(dir);
    if json {
        cmd.arg("--json");
    }
    bounded(&mut cmd, None)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn arrow_status_prints_every_field() {
    let (dir, _) = state_with("connected", u64::from(std::process::id()));
    let out = status(dir.path(), false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "state         connected since 2026-11-27T07:40:12Z (",
        "server        arrow.example.com:8900",
        "client        5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10, mac 02:5f:1c:9e:3a:1d, pid ",
        "sessions      2 active",
        "bytes         1048576 up (1.0 MiB), 20480 down (20.0 KiB)",
        "last error    -",
        "next attempt  -",
        "updated       2026-11-27T07:41:02Z (",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(want)),
            "missing {want:?} in\n{text}"
        );
    }
    assert!(!text.contains("stale"), "{text}");
}

#[test]
fn arrow_status_json_is_the_file_plus_stale_on_one_line() {
    let cases = [
        ("connected", u64::from(std::process::id()), false),
        ("connected", DEAD_PID, true),
        ("unauthorized", DEAD_PID, true),
        ("stopped", DEAD_PID, false),
    ];
    for (name, pid, stale) in cases {
        let (dir, mut want) = state_with(name, pid);
        let out = status(dir.path(), true);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let lines = stdout_lines(&out);
        assert_eq!(lines.len(), 1, "{name}: {}", stdout(&out));
        want["stale"] = stale.into();
        assert_eq!(lines[0], want, "{name} pid {pid}");
    }
}

#[test]
fn arrow_status_says_when_the_client_is_gone() {
    let (dir, _) = state_with("connected", DEAD_PID);
    let out = status(dir.path(), false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("stale: process {DEAD_PID} is not running")),
        "{text}"
    );
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
    // A client that said it stopped is not stale.
    let (dir, _) = state_with("stopped", DEAD_PID);
    let text = stdout(&status(dir.path(), false));
    assert!(text.starts_with("state         stopped since"), "{text}");
    assert!(!text.contains("stale"), "{text}");
}

#[test]
fn arrow_status_unauthorized_says_what_to_pair() {
    let (dir, _) = state_with("unauthorized", u64::from(std::process::id()));
    let text = stdout(&status(dir.path(), false));
    for want in [
        "state         unauthorized since 2026-11-27T06:00:00Z",
        "pairing       the Arrow Service does not know this client yet: pair uuid \
         5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10 (mac 02:5f:1c:9e:3a:1d)",
        "last error    the Arrow Service refused the registration: UNAUTHORIZED (code 2)",
        "next attempt  2026-11-27T07:42:00Z (",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(want)),
            "missing {want:?} in\n{text}"
        );
    }
}

#[test]
fn arrow_status_without_a_status_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let garbled = tempfile::tempdir().unwrap();
    std::fs::write(garbled.path().join("status.json"), "{\"state\":").unwrap();
    let cases = [
        (dir.path().to_path_buf(), "no status.json in"),
        (dir.path().join("missing"), "does not exist"),
        (garbled.path().to_path_buf(), "not a status file"),
    ];
    for (state_dir, why) in cases {
        for json in [false, true] {
            let out = status(&state_dir, json);
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert!(out.stdout.is_empty());
            let err = stderr(&out);
            assert!(err.contains(why), "{err}");
            assert!(err.contains(&state_dir.display().to_string()), "{err}");
        }
    }
}

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("arrow.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_with_config(config: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = protoctl();
    cmd.args(["arrow", "run", "--config"])
        .arg(config)
        .args(extra);
    bounded(&mut cmd, None)
}

#[test]
fn arrow_run_config_mistakes_name_file_line_and_key_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "server = \"h:1\"\nsever = \"typo:1\"\n",
            ":2:1: unknown field `sever`, expected one of",
        ),
        (
            "window = \"64k\"\n",
            ":1:10: `window`: invalid type: string \"64k\"",
        ),
        (
            "ping_interval = \"20 seconds please\"\n",
            ":1:17: `ping_interval`: invalid duration",
        ),
        (
            "[[service]]\ntype = \"rtsp\"\nurl = \"rtsp://admin:hunter2@h:99999/x\"\n",
            ":1:1: rtsp service \"rtsp://***@h:99999/x\"",
        ),
        (
            "[[service]]\ntype = \"webcam\"\n",
            ":2:8: `type`: unknown variant `webcam`, expected one of `rtsp`, `mjpeg`, `http`, `tcp`",
        ),
    ];
    for (text, want) in cases {
        let path = write_config(dir.path(), text);
        let out = run_with_config(&path, &[]);
        assert_eq!(out.status.code(), Some(2), "{text}: {}", stderr(&out));
        let err = stderr(&out);
        let want = format!("config file {}{want}", path.display());
        assert!(err.contains(&want), "{text}\nwant {want}\ngot  {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn arrow_run_absurd_durations_are_usage_errors_exit_2_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let keys = [
        ("--ping-interval", "ping_interval"),
        ("--ping-timeout", "ping_timeout"),
        ("--reconnect-min", "reconnect_min"),
        ("--reconnect-max", "reconnect_max"),
    ];
    for (flag, key) in keys {
        for value in ["500000000000years", "200000000000years", "1day 1ms"] {
            // As a flag: clap names the flag, the value and the range.
            let mut cmd = protoctl();
            cmd.args(["arrow", "run", "--server", "localhost:1", "--ca", "ca.pem"])
                .arg("--state-dir")
                .arg(&state)
                .args([flag, value]);
            let out = bounded(&mut cmd, None);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
            assert!(
                err.contains(flag) && err.contains(value) && err.contains("up to 1 day"),
                "{flag} {value}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");

            // In the config file: the file, line and column, and the key.
            let path = write_config(
                dir.path(),
                &format!(
                    "server = \"localhost:1\"\nca = \"ca.pem\"\nstate_dir = \"state\"\n{key} = \"{value}\"\n"
                ),
            );
            let out = run_with_config(&path, &[]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{key} {value}: {err}");
            let want = format!(
                "config file {}:4:{}: `{key}`: invalid duration \"{value}\": too long: the \
                 allowed range is more than 0 up to 1 day",
                path.display(),
                key.len() + 4
            );
            assert!(err.contains(&want), "want {want}\ngot  {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // The bound itself is allowed: the run goes on to the next check (the CA file).
    let mut cmd = protoctl();
    cmd.args([
        "arrow",
        "run",
        "--server",
        "localhost:1",
        "--ca",
        "/nonexistent/ca.pem",
    ])
    .arg("--state-dir")
    .arg(&state)
    .args(["--reconnect-min", "1day", "--reconnect-max", "24h"]);
    let out = bounded(&mut cmd, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn arrow_run_config_paths_follow_the_file_and_a_ca_flag_replaces_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    let path = write_config(
        &conf,
        "server = \"127.0.0.1:1\"\nca = \"file-ca.pem\"\nstate_dir = \"state\"\n",
    );
    // The file's relative `ca` is looked up next to the file, whatever the working dir.
    let out = run_with_config(&path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let file_ca = conf.join("file-ca.pem").display().to_string();
    assert!(
        err.contains(&format!("CA file {file_ca}: cannot read it")),
        "{err}"
    );
    // --ca replaces the file's list: only the flag's file is read.
    let flag_ca = dir.path().join("flag-ca.pem");
    std::fs::write(&flag_ca, "no certificate here").unwrap();
    let out = run_with_config(&path, &["--ca", flag_ca.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "CA file {}: no certificate in it",
            flag_ca.display()
        )),
        "{err}"
    );
    assert!(!err.contains(&file_ca), "{err}");
}

#[test]
fn arrow_run_required_options_name_flag_and_key_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "ca = \"ca.pem\"\nstate_dir = \"s\"\n");
    let out = run_with_config(&path, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--server (`server`) is required"),
        "{}",
        stderr(&out)
    );
    let out = run_with_config(&path, &["--server", "h:1", "--reconnect-min", "0s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must be more than 0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn arrow_run_never_shows_service_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let ca = fixtures().join("config/ca.pem");
    let path = write_config(
        dir.path(),
        &format!(
            "server = \"127.0.0.1:1\"\nca = {:?}\nstate_dir = \"state\"\nreconnect_min = \"10s\"\n\
             [[service]]\ntype = \"rtsp\"\nurl = \"rtsp://admin:hunter2@127.0.0.1:8554/live\"\n\
             [[service]]\ntype = \"mjpeg\"\nurl = \"http://cam:hunter2@127.0.0.1/video.mjpg\"\n",
            ca.display().to_string()
        ),
    );
    // A bad URL given as a flag: the error quotes it without the credentials.
    let out = protoctl()
        .args(["arrow", "run", "--config"])
        .arg(&path)
        .args(["--rtsp", "rtsp://admin:hunter2@127.0.0.1:99999/x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rtsp://***@127.0.0.1:99999/x"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2"));

    // A running client with locked services, logging at trace level: the first output
    // line (it announces the services) and every log line so far hold no credentials.
    let mut child = Reaped(
        protoctl()
            .args(["--json", "-vvv", "arrow", "run", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let first = rx.recv_timeout(WAIT).expect("a first output line");
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut logs = String::new();
    if let Some(mut err) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut logs);
    }
    assert!(!first.is_empty(), "no output; logs:\n{logs}");
    assert!(
        !first.contains("hunter2") && !first.contains("admin"),
        "{first}"
    );
    assert!(!logs.contains("hunter2"), "{logs}");
}

#[cfg(unix)]
#[test]
fn arrow_run_warns_when_a_config_with_credentials_is_world_readable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let with = "server = \"127.0.0.1:1\"\nca = \"missing.pem\"\nstate_dir = \"s\"\n\
                [[service]]\ntype = \"rtsp\"\nurl = \"rtsp://u:hunter2@127.0.0.1/live\"\n";
    let without = "server = \"127.0.0.1:1\"\nca = \"missing.pem\"\nstate_dir = \"s\"\n\
                   [[service]]\ntype = \"rtsp\"\nurl = \"rtsp://127.0.0.1/live\"\n";
    let cases = [
        (with, 0o644, true),
        (with, 0o604, true),
        (with, 0o640, false),
        (with, 0o600, false),
        (without, 0o644, false),
    ];
    for (text, mode, warned) in cases {
        let path = write_config(dir.path(), text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        // The CA is missing: the run stops (exit 2) right after reading the config.
        let out = run_with_config(&path, &[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        let warning = format!("{mode:04o}");
        assert_eq!(
            err.contains("every local user can read it") && err.contains(&warning),
            warned,
            "{mode:o}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        // The file is the administrator's: reported, never changed.
        let now = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(now, mode);
    }
}

#[cfg(unix)]
#[test]
fn arrow_identity_readable_by_others_is_reported_and_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let identity = |state: &Path| {
        let mut cmd = protoctl();
        cmd.args(["arrow", "identity", "--state-dir"]).arg(state);
        bounded(&mut cmd, None)
    };
    let out = identity(&state);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "state directory");
    let file = state.join("identity.json");
    assert_eq!(mode(&file), 0o600);
    assert!(!stderr(&out).contains("WARN"), "{}", stderr(&out));

    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = identity(&state);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("0644"), "{err}");
    assert_eq!(mode(&file), 0o600, "fixed on load");
    // Fixed once: the next run has nothing to say.
    let out = identity(&state);
    assert!(!stderr(&out).contains("0644"), "{}", stderr(&out));
}
