//! Deadlines that never overflow the clock.

use std::time::{Duration, Instant};

/// Where a deadline too far for the clock goes: a century ahead, never in practice.
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + wait`, or a century from `now` when the clock cannot hold that (a caller's
/// `Duration::MAX` means "never", not a panic).
pub(crate) fn deadline(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}
