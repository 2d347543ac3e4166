//! The client's log lines, for the log callback: a `tracing` subscriber set as the default
//! on the client's threads only (never process-wide, so a program may run several clients
//! and other Rust code may log elsewhere), formatting each event as one line and queueing
//! it for the callback thread without waiting.

use std::io;
use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing::{Dispatch, Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::callbacks::Hub;
use crate::error::FfiError;
use crate::log_level::{
    ARROW_LOG_LEVEL_DEBUG, ARROW_LOG_LEVEL_ERROR, ARROW_LOG_LEVEL_INFO, ARROW_LOG_LEVEL_TRACE,
    ARROW_LOG_LEVEL_WARN, ArrowLogLevel,
};

/// The filter for "`level` or more severe".
pub(crate) fn level_filter(level: ArrowLogLevel) -> Result<LevelFilter, FfiError> {
    Ok(match level {
        ARROW_LOG_LEVEL_ERROR => LevelFilter::ERROR,
        ARROW_LOG_LEVEL_WARN => LevelFilter::WARN,
        ARROW_LOG_LEVEL_INFO => LevelFilter::INFO,
        ARROW_LOG_LEVEL_DEBUG => LevelFilter::DEBUG,
        ARROW_LOG_LEVEL_TRACE => LevelFilter::TRACE,
        other => {
            return Err(FfiError::Invalid(format!(
                "unknown log level {other} (1 = error .. 5 = trace)"
            )));
        }
    })
}

/// The C level of a `tracing` level.
fn level_code(level: &Level) -> ArrowLogLevel {
    match *level {
        Level::ERROR => ARROW_LOG_LEVEL_ERROR,
        Level::WARN => ARROW_LOG_LEVEL_WARN,
        Level::INFO => ARROW_LOG_LEVEL_INFO,
        Level::DEBUG => ARROW_LOG_LEVEL_DEBUG,
        Level::TRACE => ARROW_LOG_LEVEL_TRACE,
    }
}

/// The subscriber of one client: lines at `max` or more severe go to `hub`, one per
/// event, with the spans they happened in (`arrow_connection{server=...}: registered`),
/// without time, level or ANSI colours (the level is the callback's argument).
pub(crate) fn dispatch(hub: Arc<Hub>, max: LevelFilter) -> Dispatch {
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Lines { hub })
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_filter(max);
    Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// Makes one `Line` per event.
struct Lines {
    hub: Arc<Hub>,
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            hub: self.hub.clone(),
            level: ARROW_LOG_LEVEL_INFO,
            text: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        let mut line = self.make_writer();
        line.level = level_code(meta.level());
        line
    }
}

/// One formatted event; queued when the formatter is done with it.
struct Line {
    hub: Arc<Hub>,
    level: ArrowLogLevel,
    text: Vec<u8>,
}

impl io::Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let text = text.trim_end();
        if !text.is_empty() {
            self.hub.log(self.level, text.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::Item;

    #[test]
    fn an_event_is_one_line_with_its_level_and_fields() {
        let (hub, rx) = Hub::new();
        let dispatch = dispatch(hub, LevelFilter::INFO);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info_span!("arrow_connection", server = "a:1").in_scope(|| {
                tracing::warn!(code = 7, "refused");
            });
            tracing::debug!("too verbose");
        });
        let lines: Vec<(ArrowLogLevel, String)> = rx
            .try_iter()
            .map(|item| match item {
                Item::Log(level, line) => (level, line),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            lines,
            [(
                ARROW_LOG_LEVEL_WARN,
                "arrow_connection{server=\"a:1\"}: refused code=7".to_string()
            )]
        );
    }

    #[test]
    fn levels_are_checked() {
        assert_eq!(level_filter(ARROW_LOG_LEVEL_DEBUG), Ok(LevelFilter::DEBUG));
        assert!(level_filter(0).is_err());
        assert!(level_filter(6).is_err());
    }
}
