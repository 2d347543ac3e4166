//! The sans-IO rule, checked: protocol modules take bytes and time as arguments.

use std::path::Path;

#[test]
fn sans_io_modules_do_no_io_and_read_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = [
        "ascii_json.rs",
        "frame.rs",
        "lsl/clock_map.rs",
        "lsl/streams.rs",
        "message.rs",
        "mutf8.rs",
        "recording.rs",
        "scale.rs",
        "session.rs",
        "simulator/accept_backoff.rs",
        "simulator/feed.rs",
        "simulator/generator.rs",
        "simulator/handshake.rs",
        "simulator/replay.rs",
    ];
    let forbidden = [
        "tokio::",
        "std::net",
        "Instant::now",
        "SystemTime::now",
        "thread::sleep",
    ];
    for module in modules {
        let whole = std::fs::read_to_string(src.join(module)).unwrap();
        // Unit tests may read the clock; the module itself may not.
        let text = whole.split("#[cfg(test)]").next().unwrap();
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{module} uses {word}: keep I/O and clocks in drivers"
            );
        }
    }
}
