//! The levels of the log callback's lines.

/// How severe a log line is.
pub type ArrowLogLevel = u32;

/// Something failed.
pub const ARROW_LOG_LEVEL_ERROR: ArrowLogLevel = 1;
/// Something is wrong but the client goes on (not paired, a retry, a refused session).
pub const ARROW_LOG_LEVEL_WARN: ArrowLogLevel = 2;
/// What the client does (connected, registered, scans).
pub const ARROW_LOG_LEVEL_INFO: ArrowLogLevel = 3;
/// Details for debugging (sessions).
pub const ARROW_LOG_LEVEL_DEBUG: ArrowLogLevel = 4;
/// Everything.
pub const ARROW_LOG_LEVEL_TRACE: ArrowLogLevel = 5;
