//! Data on stdout: human lines, or with `--json` one JSON object per line.

use std::fmt;
use std::io::{self, BufWriter, Write};

use serde::Serialize;

use crate::exit::CliError;

/// The one writer of stdout. Every write error goes through [`CliError::stdout`], so a
/// closed pipe ends the program quietly with exit code 0.
pub(crate) struct Output {
    json: bool,
    sink: BufWriter<Box<dyn Write + Send>>,
}

impl Output {
    /// Writes to the process's stdout.
    pub(crate) fn stdout(json: bool) -> Self {
        Self::new(json, Box::new(io::stdout()))
    }

    pub(crate) fn new(json: bool, sink: Box<dyn Write + Send>) -> Self {
        Output {
            json,
            sink: BufWriter::with_capacity(64 * 1024, sink),
        }
    }

    /// True when the user asked for JSON Lines.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// One event: its human line, or its JSON object with `--json`. Flushed at once, so a
    /// live stream shows up live.
    pub(crate) fn event(
        &mut self,
        human: impl fmt::Display,
        json: &impl Serialize,
    ) -> Result<(), CliError> {
        if self.json {
            self.json_line(json)
        } else {
            self.text_line(human)
        }
    }

    /// One JSON object on its own line, whatever the mode (for commands whose output is
    /// JSON Lines by nature). Flushed at once.
    pub(crate) fn json_line(&mut self, value: &impl Serialize) -> Result<(), CliError> {
        self.json_line_buffered(value)?;
        self.flush()
    }

    /// Like [`json_line`](Self::json_line) but left in the buffer: for hot loops that call
    /// [`flush`](Self::flush) when they are about to wait.
    pub(crate) fn json_line_buffered(&mut self, value: &impl Serialize) -> Result<(), CliError> {
        serde_json::to_writer(&mut self.sink, value).map_err(|e| match e.io_error_kind() {
            Some(kind) => CliError::stdout(io::Error::from(kind)),
            None => CliError::local(format!("cannot serialize output: {e}")),
        })?;
        self.sink.write_all(b"\n").map_err(CliError::stdout)
    }

    /// One human-readable line. Flushed at once.
    pub(crate) fn text_line(&mut self, line: impl fmt::Display) -> Result<(), CliError> {
        writeln!(self.sink, "{line}").map_err(CliError::stdout)?;
        self.flush()
    }

    /// Raw bytes (binary output such as `wire encode`).
    pub(crate) fn bytes(&mut self, data: &[u8]) -> Result<(), CliError> {
        self.sink.write_all(data).map_err(CliError::stdout)
    }

    /// Pushes everything buffered to stdout.
    pub(crate) fn flush(&mut self) -> Result<(), CliError> {
        self.sink.flush().map_err(CliError::stdout)
    }
}
