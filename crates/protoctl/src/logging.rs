//! Logs go to stderr through tracing-subscriber; `RUST_LOG` wins over `-v`/`-q`.
//!
//! While a full-screen view owns the terminal ([`LogHold`]), lines meant for a terminal
//! stderr are held back instead of being written over the view, and written out in order
//! when the view ends; the view shows the latest one.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The most log lines held back while a view owns the terminal; older ones are dropped
/// (and counted).
const HELD_LINES: usize = 1000;

/// Log output held back while a view owns the terminal: `None` when not holding.
static HELD: Mutex<Option<Held>> = Mutex::new(None);

#[derive(Default)]
struct Held {
    lines: VecDeque<Vec<u8>>,
    dropped: usize,
    partial: Vec<u8>,
}

/// Holds log lines back while alive (when stderr is a terminal); writes them to stderr
/// when dropped.
pub(crate) struct LogHold {
    active: bool,
}

impl LogHold {
    /// Starts holding log lines back, if stderr is the terminal a view is about to take.
    pub(crate) fn start() -> Self {
        let active = std::io::stderr().is_terminal();
        if active {
            *HELD.lock().unwrap_or_else(|p| p.into_inner()) = Some(Held::default());
        }
        LogHold { active }
    }

    /// The latest log line held back, without its line end (for the view to show).
    pub(crate) fn latest(&self) -> Option<String> {
        let held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        let line = held.as_ref()?.lines.back()?;
        Some(
            strip_ansi(&String::from_utf8_lossy(line))
                .trim_end()
                .to_string(),
        )
    }
}

impl Drop for LogHold {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let held = HELD.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(held) = held {
            let mut stderr = std::io::stderr().lock();
            if held.dropped > 0 {
                let _ = writeln!(
                    stderr,
                    "({} earlier log lines were dropped while the view was open)",
                    held.dropped
                );
            }
            for line in held.lines {
                let _ = stderr.write_all(&line);
            }
            let _ = stderr.write_all(&held.partial);
        }
    }
}

/// Leaves out the colour codes of a terminal log line.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ ... letter
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// stderr, or the held lines while a view owns the terminal.
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
        let Some(held) = held.as_mut() else {
            drop(held);
            return std::io::stderr().write(buf);
        };
        held.partial.extend_from_slice(buf);
        while let Some(end) = held.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = held.partial.drain(..=end).collect();
            if held.lines.len() == HELD_LINES {
                held.lines.pop_front();
                held.dropped += 1;
            }
            held.lines.push_back(line);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if HELD.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            std::io::stderr().flush()?;
        }
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriterMaker {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

struct LogWriterMaker;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Installs the global subscriber (`--quiet`, `-v` given `verbose` times, `--log-format`). Data never goes through here: stdout is for output.
pub(crate) fn init(quiet: bool, verbose: u8, format: LogFormat) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriterMaker)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbose >= 2);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A subscriber can only be missing here if one was installed already; keep that one.
    drop(installed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_left_out_of_the_line_a_view_shows() {
        let cases = [
            (
                "\u{1b}[33m WARN\u{1b}[0m skipped a frame",
                " WARN skipped a frame",
            ),
            ("plain", "plain"),
        ];
        for (text, want) in cases {
            assert_eq!(strip_ansi(text), want);
        }
    }
}
