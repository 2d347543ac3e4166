//! Hostile peers against the built-in servers and the Arrow client, with the bounds they
//! hold measured:
//! `cargo xtask bench hostile [--seconds N]` (part of `cargo xtask bench`, 60 s a flood)
//! writes a markdown note for docs/benchmarks.md; `cargo xtask ci` runs the short form
//! (a few seconds a flood, on the debug binary) and fails when a bound does not hold.
//!
//! Each flood starts a fresh server process on 127.0.0.1 (never anything else), attacks it
//! from a few client threads until the time is up, samples the process's open descriptors
//! while it runs, and reads its peak resident memory (VmHWM) at the end. Then a
//! well-behaved client must still be served, and the server must stop in order on SIGTERM.
//!
//! The attacks are plain TCP with bounded reads and timeouts on every socket: a server that
//! stalls them cannot stall the benchmark.

mod arrow;
mod process;
mod simulators;

use std::time::Duration;

use self::process::{FD_SLACK, Outcome, cargo_target};
use crate::{Result, cargo, root};

/// In the short form (CI), a flood fails when the server ends above these.
const SHORT_MAX_RSS_KIB: u64 = 256 * 1024;

/// `cargo xtask bench hostile [--seconds N]`, or its part of `cargo xtask bench`: release
/// binary, full length, note written to `target/bench-notes/hostile.md` (and printed with
/// `print`).
pub(crate) fn bench(seconds: u64, print: bool) -> Result {
    crate::run(
        "protoctl (release) for the hostile-peer benchmark",
        cargo().args(["build", "--release", "-p", "protoctl"]),
    )?;
    let protoctl = cargo_target().join("release/protoctl");
    let tools = arrow::Tools::build(true)?;
    let outcomes = run_all(&protoctl, &tools, Duration::from_secs(seconds))?;
    let note = render(&outcomes, seconds);
    let dir = root().join("target/bench-notes");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("hostile.md");
    std::fs::write(&path, &note).map_err(|e| format!("{}: {e}", path.display()))?;
    if print {
        print!("{note}");
    }
    Ok(())
}

/// The short form for `cargo xtask ci`: the debug binary the tests built, a few seconds a
/// flood, and a failure when a server stops serving, does not stop in order, or ends above
/// the short form's bounds.
pub(crate) fn short() -> Result {
    crate::run(
        "protoctl (debug) for the hostile-peer suite",
        cargo().args(["build", "-p", "protoctl"]),
    )?;
    let protoctl = cargo_target().join("debug/protoctl");
    let tools = arrow::Tools::build(false)?;
    let outcomes = run_all(&protoctl, &tools, Duration::from_secs(2))?;
    eprint!("{}", render(&outcomes, 2));
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| {
            !o.still_serves
                || !o.stopped_in_order
                || o.peak_rss_kib > SHORT_MAX_RSS_KIB
                || o.peak_fds > o.fd_bound
        })
        .map(|o| format!("{} under {}", o.peer, o.flood))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "hostile peers: a bound did not hold for {}",
            failed.join("; ")
        ))
    }
}

fn run_all(
    protoctl: &std::path::Path,
    tools: &arrow::Tools,
    length: Duration,
) -> Result<Vec<Outcome>> {
    let mut outcomes = arrow::run_all(protoctl, tools, length)?;
    outcomes.extend(simulators::run_all(protoctl, length)?);
    Ok(outcomes)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn render(outcomes: &[Outcome], seconds: u64) -> String {
    let mut note = format!(
        "### Hostile peers ({seconds} s a flood)\n\n\
         Measured by `cargo xtask bench hostile` (and `cargo xtask bench`), all on 127.0.0.1, \
         each row with fresh processes. `arrow run` is flooded by a hostile Arrow Service (the \
         arrow-client example `flood_service`) while exposing an echo server; the count is \
         the flood messages sent, and \"still serves\" means the service's echo through a \
         session came back after the flood. `arrow serve` takes {} clients in one process \
         (the example `register_storm`) registering {} services each (every one a listening \
         port), for the length of a flood; the count is the registrations, and \"still \
         serves\" means a fresh `arrow run --once` registered afterwards. The simulators are \
         attacked from {} client threads, and a well-behaved client must be served \
         afterwards. Peak memory is the process's VmHWM; descriptors are sampled every 50 ms; \
         SIGTERM must end the process with exit 0. `cargo xtask ci` runs the same for 2 s \
         each and fails above {} of memory or above the descriptor bound: what the \
         process's default limits allow (a simulator's 64 connections, `arrow run`'s 256 \
         sessions, `arrow serve`'s 512 ports and 64 clients), plus {FD_SLACK}.\n\n\
         | Process | Flood | Hostile messages, connections or registrations | Idle memory | Peak memory | Peak descriptors (bound) | Still serves | Stops in order |\n\
         |---|---|---|---|---|---|---|---|\n",
        arrow::STORM_CLIENTS,
        arrow::STORM_SERVICES,
        simulators::WORKERS,
        mib(SHORT_MAX_RSS_KIB)
    );
    for o in outcomes {
        note.push_str(&format!(
            "| `{}` | {} | {} in {:.0} s | {} | {} | {} ({}) | {} | {} |\n",
            o.peer,
            o.flood,
            o.sent,
            o.seconds,
            o.idle_rss_kib.map_or_else(|| "-".to_string(), mib),
            mib(o.peak_rss_kib),
            o.peak_fds,
            o.fd_bound,
            if o.still_serves { "yes" } else { "**no**" },
            if o.stopped_in_order { "yes" } else { "**no**" },
        ));
    }
    note.push('\n');
    note
}
