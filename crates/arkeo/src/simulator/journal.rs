//! What the simulator received, for tests that assert what a client sent (the last
//! [`SimulatorConfig::journal`](super::SimulatorConfig::journal) requests).

use std::collections::VecDeque;

use super::limits::JOURNAL_NAME_BYTES;

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The connection it came on (numbered from 1 in accept order; 0 for requests handed
    /// to the sans-IO [`Instrument`](super::Instrument) directly).
    pub connection: u64,
    /// The All-in-One target, as sent (cut at 64 bytes).
    pub target: Option<String>,
    /// The command, as sent (cut at 64 bytes; empty when there was none).
    pub command: String,
    /// The error code answered, `None` for a success (or a closed connection).
    pub error: Option<i64>,
}

/// The bounded record.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    entries: VecDeque<Received>,
    capacity: usize,
}

impl Journal {
    pub(crate) fn new(capacity: usize) -> Self {
        Journal {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    pub(crate) fn record(&mut self, connection: u64, target: Option<&str>, command: &str) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(Received {
            connection,
            target: target.map(cut),
            command: cut(command),
            error: None,
        });
    }

    /// Sets the error code of the request recorded last.
    pub(crate) fn answered(&mut self, error: Option<i64>) {
        if let Some(last) = self.entries.back_mut() {
            last.error = error;
        }
    }

    pub(crate) fn entries(&self) -> Vec<Received> {
        self.entries.iter().cloned().collect()
    }
}

/// At most [`JOURNAL_NAME_BYTES`] bytes of `name`, cut at a character boundary.
fn cut(name: &str) -> String {
    let mut end = name.len().min(JOURNAL_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_keeps_the_last_entries_and_cuts_long_names() {
        let mut j = Journal::new(2);
        for c in ["A", "B", "C"] {
            j.record(1, None, c);
        }
        j.answered(Some(101));
        let e = j.entries();
        assert_eq!(
            e.iter().map(|r| r.command.as_str()).collect::<Vec<_>>(),
            ["B", "C"]
        );
        assert_eq!(e[1].error, Some(101));
        j.record(1, Some(&"é".repeat(100)), "x");
        assert!(j.entries()[1].target.as_ref().unwrap().len() <= JOURNAL_NAME_BYTES);
    }
}
