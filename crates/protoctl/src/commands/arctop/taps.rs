//! What `arctop listen` does with every event whatever it shows: `--record FILE` (every
//! message as JSON Lines) and `--lsl` (Lab Streaming Layer outlets).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use arctop::Event;
use arctop::lsl::{Published, Publisher};

use crate::exit::CliError;

/// How long the outlets stay open after the session, while inlets are connected, so that
/// they receive the last values and markers (the LSL library sends from its own threads and
/// has no flush).
const LSL_LINGER: Duration = Duration::from_millis(300);

/// The record file and the LSL outlets of one `listen`.
pub(crate) struct Taps {
    record: Option<(BufWriter<File>, PathBuf)>,
    lsl: Option<Publisher>,
}

/// Creates (or truncates) a file only its owner can read and write: a recording can hold
/// personal data (brain-derived measures, heart rate), whatever the umask says. A file
/// that already exists is narrowed to 0600 before anything is written to it.
fn create_private(path: &std::path::Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

impl Taps {
    /// Creates the record file (a usage error when it cannot be) and, with `lsl`, a
    /// publisher whose outlets open as the session starts.
    pub(crate) fn open(record: Option<PathBuf>, lsl: bool) -> Result<Self, CliError> {
        let record = match record {
            Some(path) => {
                let file = create_private(&path).map_err(|e| {
                    CliError::local(format!("cannot create {}: {e}", path.display()))
                })?;
                Some((BufWriter::new(file), path))
            }
            None => None,
        };
        Ok(Taps {
            record,
            lsl: lsl.then(Publisher::new),
        })
    }

    /// One event of the client.
    pub(crate) fn event(&mut self, event: &Event) -> Result<(), CliError> {
        match event {
            Event::Message(received) => {
                if let Some((file, path)) = &mut self.record {
                    serde_json::to_writer(&mut *file, &received.object)
                        .map_err(std::io::Error::from)
                        .and_then(|()| file.write_all(b"\n"))
                        .map_err(|e| {
                            CliError::local(format!("cannot write {}: {e}", path.display()))
                        })?;
                }
                if let Some(lsl) = &mut self.lsl {
                    match lsl.message(received) {
                        Ok(published) => log_published(&published),
                        Err(e) if e.is_sample_dropped() => tracing::warn!("LSL: {e}"),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Event::Connected { addr, server } => {
                if let Some(lsl) = &mut self.lsl {
                    let published = lsl.connected(*addr, server.as_ref())?;
                    log_published(&published);
                }
            }
            Event::Reconnecting { .. } => self.lost(),
            _ => {}
        }
        Ok(())
    }

    /// The stream ended with an error: the `stream:lost` marker, best effort (the error
    /// that ended the stream is the one to report).
    pub(crate) fn lost(&mut self) {
        if let Some(lsl) = &mut self.lsl {
            match lsl.lost() {
                Ok(published) => log_published(&published),
                Err(e) => tracing::warn!("LSL: {e}"),
            }
        }
    }

    /// Writes what is buffered to the record file.
    pub(crate) fn flush(&mut self) -> Result<(), CliError> {
        if let Some((file, path)) = &mut self.record {
            file.flush()
                .map_err(|e| CliError::local(format!("cannot write {}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Flushes the record and closes the outlets, giving connected inlets a moment to
    /// receive the last samples.
    pub(crate) async fn close(mut self) -> Result<(), CliError> {
        let flushed = self.flush();
        if let Some(lsl) = self.lsl.take() {
            let inlets = lsl.consumers();
            drop(lsl);
            if inlets > 0 {
                tracing::debug!(inlets, "LSL: letting inlets receive the last samples");
                tokio::time::sleep(LSL_LINGER).await;
            }
        }
        flushed
    }
}

fn log_published(published: &Published) {
    for spec in &published.opened {
        let labels: Vec<&str> = spec.channels.iter().map(|c| c.label.as_str()).collect();
        tracing::info!(
            "LSL: publishing {} (type {}, source id {}, channels {})",
            spec.name,
            spec.stream_type,
            spec.source_id,
            labels.join(",")
        );
    }
    if let Some(marker) = &published.marker {
        tracing::debug!(marker = marker.as_str(), "LSL marker");
    }
}
