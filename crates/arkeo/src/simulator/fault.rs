//! Faults a test injects: the next request for a command is refused, or its connection is
//! closed instead of answered.

use std::collections::VecDeque;

use super::limits::MAX_FAULTS;
use crate::ErrorCode;

/// What happens to the next request for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// It is answered with this error object (the instrument state does not change).
    Reject {
        /// The error code.
        code: ErrorCode,
        /// The message.
        message: String,
    },
    /// Its connection is closed without a reply (a crashed or unplugged instrument).
    CloseConnection,
}

/// The faults waiting for their command, oldest first (at most [`MAX_FAULTS`]; more are
/// dropped with a warning).
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    pending: VecDeque<(String, Fault)>,
}

impl Faults {
    pub(crate) fn add(&mut self, command: &str, fault: Fault) {
        if self.pending.len() >= MAX_FAULTS {
            tracing::warn!(command, "too many faults waiting: this one is dropped");
            return;
        }
        self.pending.push_back((command.to_string(), fault));
    }

    /// The oldest fault waiting for `command`, removed.
    pub(crate) fn take(&mut self, command: &str) -> Option<Fault> {
        let at = self.pending.iter().position(|(c, _)| c == command)?;
        self.pending.remove(at).map(|(_, f)| f)
    }
}
