//! `protoctl arrow status`: what a running (or stopped) client last wrote to its status
//! file.
//!
//! Human output, one field a line:
//!
//! ```text
//! state         connected since 2026-11-27T07:40:12Z (3m 12s ago)
//! server        arrow.example.com:8900
//! client        5f1c9e3a-1d2b-4c6e-9a7f-0b8d2e4c6a10, mac 02:5f:1c:9e:3a:1d, pid 4242
//! sessions      2 active
//! bytes         1048576 up (1.0 MiB), 20480 down (20.0 KiB)
//! last error    -
//! next attempt  -
//! updated       2026-11-27T07:41:02Z (2s ago)
//! ```
//!
//! With `--json`: the status file's fields as one JSON line, plus `"stale": true` when the
//! process that wrote it is gone without saying `stopped` (killed, crashed, power cut).
//! No status file: exit 2 with a message saying so.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use arrow_client::status::{LinkState, STATUS_FILE, Status};
use clap::Args;

use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arrow status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The client's state directory (the one given to `arrow run --state-dir`).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
}

/// Whether the process `pid` exists on this machine; `None` when that cannot be told
/// (no `/proc`).
fn process_running(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

/// A status the file claims but no process keeps up to date.
fn is_stale(status: &Status, running: Option<bool>) -> bool {
    status.state != LinkState::Stopped && running == Some(false)
}

/// `when` relative to `now`: "3m 12s ago", "in 5s", "just now".
fn relative(when: &str, now: SystemTime) -> Option<String> {
    let when = humantime::parse_rfc3339(when).ok()?;
    let round = |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs()));
    Some(match now.duration_since(when) {
        Ok(ago) if ago.as_secs() == 0 => "just now".to_string(),
        Ok(ago) => format!("{} ago", round(ago)),
        Err(ahead) => format!("in {}", round(ahead.duration())),
    })
}

fn with_relative(when: &str, now: SystemTime) -> String {
    match relative(when, now) {
        Some(rel) => format!("{when} ({rel})"),
        None => when.to_string(),
    }
}

/// `n` bytes with a binary unit: "20.0 KiB".
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn human(status: &Status, stale: bool, now: SystemTime) -> String {
    let mut lines = Vec::new();
    let mut field = |name: &str, value: String| lines.push(format!("{name:<13} {value}"));
    field(
        "state",
        format!(
            "{} since {}",
            status.state.name(),
            with_relative(&status.since, now)
        ),
    );
    if stale {
        field(
            "warning",
            format!(
                "stale: process {} is not running; the client stopped without saying so \
                 (killed or crashed), this is the last state it wrote",
                status.pid
            ),
        );
    }
    if status.state == LinkState::Unauthorized {
        field(
            "pairing",
            format!(
                "the Arrow Service does not know this client yet: pair uuid {} (mac {}) \
                 with your account",
                status.uuid, status.mac
            ),
        );
    }
    // The server and the last error can come from the service (a REDIRECT target, its
    // message): shown with control characters escaped.
    field(
        "server",
        crate::escape::escape_controls(&status.server).into_owned(),
    );
    field(
        "client",
        format!("{}, mac {}, pid {}", status.uuid, status.mac, status.pid),
    );
    field("sessions", format!("{} active", status.active_sessions));
    field(
        "bytes",
        format!(
            "{} up ({}), {} down ({})",
            status.bytes_up,
            bytes(status.bytes_up),
            status.bytes_down,
            bytes(status.bytes_down)
        ),
    );
    field(
        "last error",
        status.last_error.as_deref().map_or_else(
            || "-".into(),
            |e| crate::escape::escape_controls(e).into_owned(),
        ),
    );
    field(
        "next attempt",
        status
            .next_attempt
            .as_deref()
            .map_or_else(|| "-".into(), |t| with_relative(t, now)),
    );
    field("updated", with_relative(&status.updated, now));
    lines.join("\n")
}

pub(crate) fn run(args: StatusArgs, out: &mut Output) -> Result<(), CliError> {
    let dir = &args.state_dir;
    let status = Status::read(dir).map_err(|e| match &e {
        arrow_client::Error::State { source, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            CliError::from(e).context(
                "cannot read the status file (it is private to the client's user: \
                 run as that user or root)",
            )
        }
        _ => CliError::from(e),
    })?;
    let status = status.ok_or_else(|| {
        let why = if dir.is_dir() {
            format!(
                "no {STATUS_FILE} in {}: no Arrow client has run with --state-dir {} yet",
                dir.display(),
                dir.display()
            )
        } else {
            format!(
                "state directory {} does not exist (is it the one given to arrow run --state-dir?)",
                dir.display()
            )
        };
        CliError::local(why)
    })?;
    let stale = is_stale(&status, process_running(status.pid));
    if stale {
        tracing::warn!(
            pid = status.pid,
            state = status.state.name(),
            "the status file is stale: the client that wrote it is not running"
        );
    }
    let mut json = serde_json::to_value(&status)
        .map_err(|e| CliError::local(format!("cannot serialize the status: {e}")))?;
    if let Some(object) = json.as_object_mut() {
        object.insert("stale".into(), stale.into());
    }
    out.event(human(&status, stale, SystemTime::now()), &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_client::status::rfc3339;

    fn sample(state: LinkState) -> Status {
        Status {
            state,
            server: "arrow.example.com:8900".into(),
            since: rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1000)),
            updated: rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(1190)),
            pid: 4242,
            uuid: uuid::Uuid::nil(),
            mac: "02:00:00:00:00:01".into(),
            active_sessions: 2,
            bytes_up: 1_048_576,
            bytes_down: 20_480,
            last_error: Some("the Arrow Service closed the connection".into()),
            next_attempt: None,
        }
    }

    #[test]
    fn stale_means_gone_without_saying_stopped() {
        let cases = [
            (LinkState::Connected, Some(false), true),
            (LinkState::Unauthorized, Some(false), true),
            (LinkState::Disconnected, Some(false), true),
            (LinkState::Connecting, Some(false), true),
            (LinkState::Stopped, Some(false), false),
            (LinkState::Connected, Some(true), false),
            (LinkState::Connected, None, false),
        ];
        for (state, running, want) in cases {
            assert_eq!(
                is_stale(&sample(state), running),
                want,
                "{state:?} {running:?}"
            );
        }
    }

    #[test]
    fn this_process_is_running() {
        assert_ne!(process_running(std::process::id()), Some(false));
    }

    #[test]
    fn times_are_shown_with_how_long_ago() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let since = rfc3339(at(1000));
        let cases = [
            (at(1000), "just now"),
            (at(1192), "3m 12s ago"),
            (at(1000 + 86_400 + 1), "1day 1s ago"),
            (at(995), "in 5s"),
        ];
        for (now, want) in cases {
            assert_eq!(relative(&since, now).as_deref(), Some(want));
        }
        assert_eq!(relative("yesterday", at(0)), None);
        assert_eq!(with_relative("yesterday", at(0)), "yesterday");
    }

    #[test]
    fn byte_counts_get_a_unit() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (20_480, "20.0 KiB"),
            (1_048_576, "1.0 MiB"),
            (u64::MAX, "16384.0 PiB"),
        ];
        for (n, want) in cases {
            assert_eq!(bytes(n), want, "{n}");
        }
    }

    #[test]
    fn what_the_service_chose_is_shown_with_control_characters_escaped() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1192);
        let mut status = sample(LinkState::Disconnected);
        status.server = "evil\x1b[2J:8900".into();
        status.last_error = Some("redirected to x\nstate         connected".into());
        let text = human(&status, false, now);
        assert!(text.contains("server        evil\\u{1b}[2J:8900"), "{text}");
        assert!(
            text.contains("redirected to x\\nstate         connected"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert_eq!(
            text.lines().filter(|l| l.starts_with("state ")).count(),
            1,
            "no faked line"
        );
    }

    #[test]
    fn human_output_has_every_field() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1192);
        let text = human(&sample(LinkState::Connected), false, now);
        for want in [
            "state         connected since 1970-01-01T00:16:40Z (3m 12s ago)",
            "server        arrow.example.com:8900",
            "client        00000000-0000-0000-0000-000000000000, mac 02:00:00:00:00:01, pid 4242",
            "sessions      2 active",
            "bytes         1048576 up (1.0 MiB), 20480 down (20.0 KiB)",
            "last error    the Arrow Service closed the connection",
            "next attempt  -",
            "updated       1970-01-01T00:19:50Z (2s ago)",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
        assert!(!text.contains("stale") && !text.contains("pairing"));
        let text = human(&sample(LinkState::Unauthorized), true, now);
        assert!(
            text.contains("stale: process 4242 is not running"),
            "{text}"
        );
        assert!(
            text.contains("pair uuid 00000000-0000-0000-0000-000000000000"),
            "{text}"
        );
    }
}
