//! What a command handler returns: the reply's payload, or the error object.

use serde_json::Value;

use crate::ErrorCode;

/// A refusal: the code and message of the reply's `error` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// Error 101, "invalid parameters", the code for every malformed request.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ErrorCode::INVALID_PARAMETERS, message)
    }
}

/// A handler's result: the payload (All-in-One `data`, Multichannel domain object) or a
/// refusal.
pub(crate) type Outcome = Result<Value, Failure>;

/// A typed reply as JSON (the typed replies of the library serialize infallibly; a failure
/// would be a bug, answered as an error rather than a panic).
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Outcome {
    serde_json::to_value(value)
        .map_err(|e| Failure::new(ErrorCode(500), format!("simulator bug: {e}")))
}

/// A suggestion for a misspelt name: the candidate equal to `name` when case, spaces,
/// hyphens and underscores are ignored.
pub(crate) fn spelled_like<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = norm(name);
    candidates.iter().copied().find(|c| norm(c) == wanted)
}

/// `" (did you mean X?)"` when [`spelled_like`] finds one, else `""`.
pub(crate) fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    spelled_like(name, candidates)
        .map(|c| format!(" (did you mean {c}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_that_differ_only_in_case_or_punctuation_are_found() {
        let names = ["Enable", "Day-Night", "Vmin (V)"];
        assert_eq!(spelled_like("enable", &names), Some("Enable"));
        assert_eq!(spelled_like("day_night", &names), Some("Day-Night"));
        assert_eq!(spelled_like("vmin(v)", &names), Some("Vmin (V)"));
        assert_eq!(spelled_like("Vmin", &names), None);
        assert_eq!(did_you_mean("main", &["MAIN"]), " (did you mean MAIN?)");
    }
}
