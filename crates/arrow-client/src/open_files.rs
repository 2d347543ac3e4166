//! The process's open-file limit (`RLIMIT_NOFILE`) and the session limit that fits in it.
//!
//! Every session holds a local socket, so a service allowed more sessions than there are
//! descriptors could leave the client without one for its next connection to the service.
//! At start the client reads the soft limit (on Linux from `/proc/self/limits`, no
//! `unsafe`) and lowers its session limit so that sessions and [`FD_RESERVE`] descriptors
//! (the connection to the service, its DNS lookups, the state directory, logs, local
//! connects still in flight) fit.

/// Descriptors kept for everything but sessions.
pub const FD_RESERVE: u64 = 64;

/// The soft open-file limit of this process; `None` when unknown (not Linux, no `/proc`)
/// or unlimited.
pub fn soft_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&text)
}

/// The soft limit from the text of `/proc/self/limits`:
/// `Max open files            1024                 524288               files`.
pub fn parse_soft_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The session limit to use: `requested`, lowered when it and [`FD_RESERVE`] do not fit
/// in `open_files` (never below 1).
pub fn session_limit(requested: usize, open_files: Option<u64>) -> usize {
    let Some(open_files) = open_files else {
        return requested;
    };
    let room = usize::try_from(open_files.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    requested.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_read_from_proc_self_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            1024                 524288               files     \n";
        assert_eq!(parse_soft_limit(text), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_limit(unlimited), None);
        assert_eq!(parse_soft_limit(""), None);
        assert_eq!(parse_soft_limit("Max open files"), None);
    }

    #[test]
    fn sessions_and_the_reserve_fit_in_the_limit() {
        let cases = [
            (256, Some(1024), 256),
            (256, Some(256), 256 - FD_RESERVE as usize),
            (16_384, Some(1024), 1024 - FD_RESERVE as usize),
            (256, Some(10), 1),
            (256, None, 256),
        ];
        for (requested, limit, want) in cases {
            assert_eq!(
                session_limit(requested, limit),
                want,
                "{requested} {limit:?}"
            );
        }
    }
}
