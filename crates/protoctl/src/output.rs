//! Data on stdout: human lines, or with `--json` one JSON object per line.

use std::fmt;
use std::io::{self, BufWriter, Write};

use serde::Serialize;

use crate::escape::escape_controls;
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

    /// One human-readable line (or a block of lines, such as a table). Flushed at once.
    ///
    /// Control characters other than the line breaks are escaped: a peer's string can
    /// neither move the cursor nor recolour the terminal. A peer string that must stay on
    /// one line is escaped whole with [`escape_controls`] where it is formatted.
    pub(crate) fn text_line(&mut self, line: impl fmt::Display) -> Result<(), CliError> {
        let text = line.to_string();
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                self.sink.write_all(b"\n").map_err(CliError::stdout)?;
            }
            self.sink
                .write_all(escape_controls(part).as_bytes())
                .map_err(CliError::stdout)?;
        }
        self.sink.write_all(b"\n").map_err(CliError::stdout)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_keep_their_line_breaks_and_lose_other_controls() {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, data: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = Output::new(false, Box::new(Shared(buffer.clone())));
        out.text_line("table\n  row \u{1b}[31mred").unwrap();
        let written = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "table\n  row \\u{1b}[31mred\n");
    }
}
