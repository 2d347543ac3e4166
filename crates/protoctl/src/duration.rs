//! Duration flags. Every subcommand reads durations the same way, with the library's one
//! parser ([`arrow_client::duration`]): a bare number is seconds (`10`, `0.5`), and a unit
//! works too (`500ms`, `15s`, `2m`, `1h`, `3d`). A bad value is a usage error (exit 2)
//! naming the flag; the `arrow run` config file reads its durations with the same parser.

use std::time::Duration;

use arrow_client::duration::{DurationError, MAX_INTERVAL, MAX_RUN, parse_duration};

/// The value name duration flags show in `--help`.
pub(crate) const VALUE_NAME: &str = "DURATION";

/// A timeout or an interval: more than 0, at most a day.
pub(crate) fn interval(text: &str) -> Result<Duration, DurationError> {
    parse_duration(text, MAX_INTERVAL)
}

/// The length of a run (a tracking run's `--duration`, how long a measurement may take):
/// more than 0, at most 365 days.
pub(crate) fn run_length(text: &str) -> Result<Duration, DurationError> {
    parse_duration(text, MAX_RUN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[arg(long, value_name = VALUE_NAME, value_parser = interval)]
        timeout: Duration,
    }

    #[test]
    fn a_run_may_last_a_year() {
        assert_eq!(run_length("3d"), Ok(Duration::from_secs(3 * 86_400)));
        assert!(run_length("366d").is_err());
        assert!(interval("3d").is_err());
    }

    #[test]
    fn a_duration_flag_takes_seconds_or_a_unit_and_names_itself_when_wrong() {
        let cases = [
            ("2", Some(Duration::from_secs(2))),
            ("0.5", Some(Duration::from_millis(500))),
            ("2s", Some(Duration::from_secs(2))),
            ("500ms", Some(Duration::from_millis(500))),
            ("1h", Some(Duration::from_secs(3600))),
            ("1e19", None),
            ("0", None),
            ("2days", None),
            ("soon", None),
        ];
        for (text, want) in cases {
            let parsed = Cli::try_parse_from(["x", "--timeout", text]);
            match (parsed, want) {
                (Ok(cli), Some(want)) => assert_eq!(cli.timeout, want, "{text}"),
                (Err(e), None) => {
                    assert_eq!(e.exit_code(), 2, "{text}");
                    let message = e.to_string();
                    assert!(message.contains("--timeout <DURATION>"), "{message}");
                    assert!(message.contains("invalid duration"), "{message}");
                }
                (got, want) => panic!("{text}: {:?} vs {want:?}", got.map(|c| c.timeout)),
            }
        }
    }
}
