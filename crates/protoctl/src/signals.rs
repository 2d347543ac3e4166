//! SIGINT and SIGTERM (stop in order) and SIGHUP (reload) for long-running commands.

use crate::exit::CliError;

/// What a signal asks for.
pub(crate) enum Signal {
    /// SIGINT or SIGTERM: stop in order.
    Stop(&'static str),
    /// SIGHUP: read the configuration again.
    Reload,
}

/// The signals a long-running command handles, installed once.
#[cfg(unix)]
pub(crate) struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Takes over SIGINT, SIGTERM and SIGHUP from here on.
    pub(crate) fn new() -> Result<Self, CliError> {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| CliError::local(format!("cannot handle signals: {e}")))
        };
        Ok(Signals {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    /// The next signal.
    pub(crate) async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::Stop("SIGINT"),
            _ = self.term.recv() => Signal::Stop("SIGTERM"),
            _ = self.hup.recv() => Signal::Reload,
        }
    }
}

#[cfg(not(unix))]
pub(crate) struct Signals;

#[cfg(not(unix))]
impl Signals {
    /// Takes over Ctrl-C from here on.
    pub(crate) fn new() -> Result<Self, CliError> {
        Ok(Signals)
    }

    /// The next Ctrl-C.
    pub(crate) async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Stop("Ctrl-C")
    }
}

impl Signals {
    /// The next signal of `signals`; never, when signals are not handled.
    pub(crate) async fn next_of(signals: &mut Option<Signals>) -> Signal {
        match signals {
            Some(signals) => signals.next().await,
            None => std::future::pending().await,
        }
    }
}
