//! What each LSL stream of a session is called and declares, and what a marker says: plain
//! data, no network.

use std::fmt::Display;

use crate::discovery::Server;
use crate::message::{Message, ValueKey};

/// Every outlet's name starts with this.
pub const NAME_PREFIX: &str = "Arctop";
/// The type of every value stream.
pub const VALUE_TYPE: &str = "Arctop";
/// The type of the marker stream, as LSL tools (LabRecorder, MNE, EEGLAB) expect it.
pub const MARKER_TYPE: &str = "Markers";
/// The name of the marker stream.
pub const MARKER_NAME: &str = "Arctop-Markers";

/// The sample format of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit floats (the value streams).
    Float32,
    /// Text (the marker stream).
    Text,
}

/// One channel's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// The channel label (`focus`, or `motion_x` for a vector's component).
    pub label: String,
    /// The unit (`score`, `bpm`, `level`; empty when the key is unknown).
    pub unit: String,
    /// The channel type: the key.
    pub kind: String,
}

/// One stream: what an outlet publishes and an inlet resolves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// `Arctop-<key>` or [`MARKER_NAME`].
    pub name: String,
    /// [`VALUE_TYPE`] or [`MARKER_TYPE`].
    pub stream_type: String,
    /// `<source>/<key>` or `<source>/markers`: stays the same when the session restarts,
    /// so a recorder finds the stream again.
    pub source_id: String,
    /// The sample format.
    pub format: SampleFormat,
    /// One entry per channel.
    pub channels: Vec<ChannelSpec>,
}

/// What names the server in every source id: the mDNS instance and host when it was
/// discovered (`ArctopService@android-1234.local.`), else the address connected to.
pub fn source_label(addr: impl Display, server: Option<&Server>) -> String {
    match server {
        Some(server) => format!("{}@{}", server.name, server.host),
        None => addr.to_string(),
    }
}

/// The stream of one value key; `width` numbers per value (1 for a scalar).
pub fn value_stream(key: &ValueKey, width: usize, source: &str) -> StreamSpec {
    let unit = key.scale().map(|s| s.unit).unwrap_or_default();
    let labels: Vec<String> = match width {
        1 => vec![key.to_string()],
        3 => ["x", "y", "z"]
            .iter()
            .map(|axis| format!("{key}_{axis}"))
            .collect(),
        n => (0..n).map(|i| format!("{key}_{i}")).collect(),
    };
    StreamSpec {
        name: format!("{NAME_PREFIX}-{key}"),
        stream_type: VALUE_TYPE.to_string(),
        source_id: format!("{source}/{key}"),
        format: SampleFormat::Float32,
        channels: labels
            .into_iter()
            .map(|label| ChannelSpec {
                label,
                unit: unit.to_string(),
                kind: key.to_string(),
            })
            .collect(),
    }
}

/// The marker stream: one text channel.
pub fn marker_stream(source: &str) -> StreamSpec {
    StreamSpec {
        name: MARKER_NAME.to_string(),
        stream_type: MARKER_TYPE.to_string(),
        source_id: format!("{source}/markers"),
        format: SampleFormat::Text,
        channels: vec![ChannelSpec {
            label: "event".into(),
            unit: String::new(),
            kind: MARKER_TYPE.to_string(),
        }],
    }
}

/// The marker a message becomes, or `None` for values and the rest.
///
/// | message | marker |
/// | --- | --- |
/// | `connection` 1 -> 2 | `connection:CONNECTED` (unknown states as numbers) |
/// | `qa` passed | `qa:passed` |
/// | `qa` failed, type 2 | `qa:failed:MOTION_TOO_HIGH` (`qa:failed` without a type) |
/// | `error` -3 | `error:API_KEY_ERROR` (unknown codes as numbers) |
/// | `sessionComplete` | `session:complete` |
pub fn marker_text(message: &Message) -> Option<String> {
    let named = |name: Option<&str>, code: i64| name.map_or_else(|| code.to_string(), String::from);
    Some(match message {
        Message::Connection { current, .. } => {
            format!("connection:{}", named(current.name(), current.0))
        }
        Message::Qa { passed: true, .. } => "qa:passed".into(),
        Message::Qa {
            failure: Some(failure),
            ..
        } => format!("qa:failed:{}", named(failure.name(), failure.0)),
        Message::Qa { .. } => "qa:failed".into(),
        Message::Error { code, .. } => format!("error:{}", named(code.name(), code.0)),
        Message::SessionComplete { .. } => "session:complete".into(),
        _ => return None,
    })
}

/// The marker when the client authenticates with the server.
pub const STREAM_CONNECTED: &str = "stream:connected";
/// The marker when the connection to the server is lost before `sessionComplete`.
pub const STREAM_LOST: &str = "stream:lost";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_streams_are_named_typed_and_labelled() {
        let cases: [(&str, usize, &str, &[&str], &str); 4] = [
            ("focus", 1, "Arctop-focus", &["focus"], "score"),
            ("heart_rate", 1, "Arctop-heart_rate", &["heart_rate"], "bpm"),
            (
                "motion",
                3,
                "Arctop-motion",
                &["motion_x", "motion_y", "motion_z"],
                "",
            ),
            ("p-7", 2, "Arctop-p-7", &["p-7_0", "p-7_1"], ""),
        ];
        for (key, width, name, labels, unit) in cases {
            let spec = value_stream(&ValueKey::from(key), width, "10.0.0.2:4567");
            assert_eq!(spec.name, name);
            assert_eq!(spec.stream_type, "Arctop");
            assert_eq!(spec.format, SampleFormat::Float32);
            assert_eq!(spec.source_id, format!("10.0.0.2:4567/{key}"));
            let got: Vec<&str> = spec.channels.iter().map(|c| c.label.as_str()).collect();
            assert_eq!(got, labels);
            assert!(
                spec.channels
                    .iter()
                    .all(|c| c.unit == unit && c.kind == key)
            );
        }
    }

    #[test]
    fn the_marker_stream_is_one_text_channel_of_type_markers() {
        let spec = marker_stream("ArctopService@phone.local.");
        assert!(spec.name.starts_with(NAME_PREFIX));
        assert_eq!(spec.stream_type, "Markers");
        assert_eq!(spec.format, SampleFormat::Text);
        assert_eq!(spec.channels.len(), 1);
        assert_eq!(spec.source_id, "ArctopService@phone.local./markers");
    }

    #[test]
    fn source_label_prefers_the_discovered_name() {
        let addr: std::net::SocketAddr = "192.168.1.20:4567".parse().unwrap();
        assert_eq!(source_label(addr, None), "192.168.1.20:4567");
        let server = Server::new(
            "ArctopService (2)",
            "android-1.local.",
            vec![addr.ip()],
            4567,
        );
        assert_eq!(
            source_label(addr, Some(&server)),
            "ArctopService (2)@android-1.local."
        );
    }

    #[test]
    fn markers_name_the_event() {
        let cases = [
            (
                r#"{"command":"connection","previous":1,"current":2}"#,
                Some("connection:CONNECTED"),
            ),
            (
                r#"{"command":"connection","previous":2,"current":9}"#,
                Some("connection:9"),
            ),
            (
                r#"{"command":"qa","passed":true,"type":0}"#,
                Some("qa:passed"),
            ),
            (
                r#"{"command":"qa","passed":false,"type":2}"#,
                Some("qa:failed:MOTION_TOO_HIGH"),
            ),
            (r#"{"command":"qa","passed":false}"#, Some("qa:failed")),
            (
                r#"{"command":"error","errorCode":-3,"message":"x"}"#,
                Some("error:API_KEY_ERROR"),
            ),
            (
                r#"{"command":"error","errorCode":-77,"message":"x"}"#,
                Some("error:-77"),
            ),
            (r#"{"command":"sessionComplete"}"#, Some("session:complete")),
            (r#"{"command":"valueChange","key":"focus","value":1}"#, None),
            (r#"{"command":"brandNew"}"#, None),
        ];
        for (text, marker) in cases {
            let message = Message::parse(text.as_bytes()).unwrap().message;
            assert_eq!(marker_text(&message).as_deref(), marker, "{text}");
        }
    }
}
