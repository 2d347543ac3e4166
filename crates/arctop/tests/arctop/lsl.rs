//! The LSL publisher against labstream's own inlet, inside the private network namespace
//! (`cargo xtask ci`); the end-to-end test against pylsl is in the CLI tests.

use std::net::SocketAddr;
use std::time::Duration;

use arctop::Message;
use arctop::lsl::{MAX_VALUE_OUTLETS, Publisher, STREAM_CONNECTED};
use labstream::{Inlet, Query};

const WAIT: Duration = Duration::from_secs(10);

fn received(text: &str) -> arctop::Received {
    Message::parse(text.as_bytes()).unwrap()
}

fn inlet(name: &str) -> Inlet {
    let info = labstream::resolve_first(&Query::name(name), WAIT)
        .unwrap()
        .unwrap_or_else(|| panic!("{name} is not on the network"));
    Inlet::builder(&info).open(WAIT).unwrap()
}

/// A vector key gets one outlet with a channel per component; a value of another width is
/// dropped with an error that does not end the session; QA and the end become markers.
#[test]
#[ignore = "needs a private network namespace: run by cargo xtask ci"]
fn netns_lsl_publisher_opens_an_outlet_per_key_and_marks_events() {
    let _alone = crate::netns::MULTICAST
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    crate::support::assert_private_network_namespace();
    let addr: SocketAddr = "127.0.0.1:4567".parse().unwrap();
    let mut publisher = Publisher::new();
    let published = publisher.connected(addr, None).unwrap();
    assert_eq!(published.opened[0].name, "Arctop-Markers");
    assert_eq!(published.marker.as_deref(), Some(STREAM_CONNECTED));
    let first = r#"{"command":"valueChange","timestamp":1000,"key":"motion","value":[0,0,0]}"#;
    let published = publisher.message(&received(first)).unwrap();
    assert_eq!(published.opened[0].name, "Arctop-motion");

    let mut motion = inlet("Arctop-motion");
    let mut markers = inlet("Arctop-Markers");
    let full = motion.info().fetch(WAIT).unwrap();
    let channels: Vec<(String, String, String)> = full
        .channels()
        .into_iter()
        .map(|c| (c.label, c.unit, c.kind))
        .collect();
    let want = ["motion_x", "motion_y", "motion_z"]
        .map(|label| (label.to_string(), String::new(), "motion".to_string()));
    assert_eq!(channels, want, "labels; no unit for an unknown key");
    assert_eq!(full.stream_type(), "Arctop");
    assert_eq!(full.source_id(), "127.0.0.1:4567/motion");
    assert_eq!(full.format(), labstream::Format::Float32);
    assert!(!full.is_regular(), "irregular rate");
    assert_eq!(markers.info().stream_type(), "Markers");

    for text in [
        r#"{"command":"valueChange","timestamp":2000,"key":"motion","value":[1,2,3]}"#,
        r#"{"command":"qa","timestamp":2100,"passed":false,"type":2}"#,
        r#"{"command":"valueChange","timestamp":2500,"key":"motion","value":[4,5,6]}"#,
    ] {
        publisher.message(&received(text)).unwrap();
    }
    let misfit = r#"{"command":"valueChange","timestamp":2600,"key":"motion","value":[7,8]}"#;
    let error = publisher.message(&received(misfit)).unwrap_err();
    assert!(error.is_sample_dropped(), "{error}");
    let end = r#"{"command":"sessionComplete","timestamp":3000}"#;
    assert_eq!(
        publisher.message(&received(end)).unwrap().marker.as_deref(),
        Some("session:complete")
    );

    let mut samples = Vec::new();
    while samples.len() < 2 {
        let (stamp, values) = motion.pull::<f32>(WAIT).unwrap().expect("a motion sample");
        samples.push((stamp, values));
    }
    assert_eq!(samples[0].1, [1.0, 2.0, 3.0]);
    assert_eq!(samples[1].1, [4.0, 5.0, 6.0]);
    assert!(samples[0].0 < samples[1].0, "stamps in order: {samples:?}");
    let mut texts = Vec::new();
    while texts.len() < 2 {
        let (stamp, text) = markers.pull_text(WAIT).unwrap().expect("a marker");
        texts.push((stamp, text.concat()));
    }
    assert_eq!(texts[0].1, "qa:failed:MOTION_TOO_HIGH");
    assert_eq!(texts[1].1, "session:complete");
    assert!(texts[0].0 <= texts[1].0);
    assert!(samples[0].0 <= texts[0].0 && texts[0].0 <= samples[1].0);
    assert!(publisher.consumers() >= 2);

    // An open key set: past MAX_VALUE_OUTLETS keys, a new key is left out once, and the
    // session goes on.
    let mut refused = Vec::new();
    for i in 0..MAX_VALUE_OUTLETS {
        for _ in 0..2 {
            let text = format!(r#"{{"command":"valueChange","key":"p-{i}","value":1}}"#);
            if let Err(e) = publisher.message(&received(&text)) {
                assert!(e.is_sample_dropped(), "{e}");
                refused.push(e.to_string());
            }
        }
    }
    assert_eq!(
        refused,
        [format!(
            "p-{}: not published to LSL: {MAX_VALUE_OUTLETS} keys have outlets already",
            MAX_VALUE_OUTLETS - 1
        )],
        "motion and p-0 .. p-14 have outlets"
    );
}
