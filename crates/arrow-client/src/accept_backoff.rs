//! What an accept loop does when `accept` fails: most failures are about this process, not
//! the peer (`EMFILE`/`ENFILE` when descriptors run out, `ENOBUFS`/`ENOMEM`), and retrying
//! at once would spin at full CPU while making the shortage no better. So the loop waits,
//! 10 ms after the first failure in a row, doubling to at most 1 s, and logs once per run of
//! failures (with the wait), not once per failure. Sans-IO: it says how long to wait and
//! whether to log; the accept loops (development service, its exposed ports, the fake
//! camera) do the waiting.

use std::time::Duration;

/// The first wait after a failed accept.
pub(crate) const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest wait.
pub(crate) const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The backoff of one accept loop.
#[derive(Debug, Default)]
pub(crate) struct AcceptBackoff {
    /// Failures in a row.
    failures: u32,
}

/// What to do after a failed accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pause {
    /// Wait this long before the next accept.
    pub(crate) wait: Duration,
    /// First failure of a run: log it (later ones in the run are not logged).
    pub(crate) log: bool,
}

impl AcceptBackoff {
    /// An accept failed.
    pub(crate) fn failed(&mut self) -> Pause {
        let wait = ACCEPT_BACKOFF_MIN
            .saturating_mul(1 << self.failures.min(10))
            .min(ACCEPT_BACKOFF_MAX);
        let log = self.failures == 0;
        self.failures = self.failures.saturating_add(1);
        Pause { wait, log }
    }

    /// An accept succeeded: the next failure starts a new run.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }
}

/// Accepts the next connection on `listener`, waiting out failures with `backoff`; `what`
/// names the listener in the log.
pub(crate) async fn accept(
    listener: &tokio::net::TcpListener,
    backoff: &mut AcceptBackoff,
    what: &str,
) -> (tokio::net::TcpStream, std::net::SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => {
                backoff.succeeded();
                return accepted;
            }
            Err(e) => {
                let pause = backoff.failed();
                if pause.log {
                    tracing::warn!(
                        listener = what,
                        error = %e,
                        "accept failed: retrying with a backoff of 10 ms up to 1 s (logged once \
                         until an accept succeeds)"
                    );
                }
                tokio::time::sleep(pause.wait).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_wait_longer_up_to_a_second_and_log_once() {
        let mut b = AcceptBackoff::default();
        let ms = |p: Pause| (u64::try_from(p.wait.as_millis()).unwrap(), p.log);
        let run: Vec<_> = (0..10).map(|_| ms(b.failed())).collect();
        assert_eq!(
            run,
            [
                (10, true),
                (20, false),
                (40, false),
                (80, false),
                (160, false),
                (320, false),
                (640, false),
                (1000, false),
                (1000, false),
                (1000, false)
            ]
        );
        for _ in 0..100 {
            assert_eq!(b.failed().wait, ACCEPT_BACKOFF_MAX, "bounded however long");
        }
        b.succeeded();
        assert_eq!(ms(b.failed()), (10, true), "a new run is logged again");
    }
}
