//! The sans-IO modules stay sans-IO: no sockets, no tasks, no clock.

use std::path::Path;

#[test]
fn sans_io_modules_do_no_io_and_read_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = [
        "connection/mod.rs",
        "connection/config.rs",
        "connection/control.rs",
        "connection/events.rs",
        "connection/handshake.rs",
        "connection/keepalive.rs",
        "connection/sessions.rs",
        "connection/shutdown.rs",
        "reconnect.rs",
        "flow.rs",
        "message.rs",
        "service_table.rs",
        "wire.rs",
        "dev_camera/clip.rs",
        "dev_camera/http.rs",
        "dev_camera/mjpeg.rs",
        "dev_camera/onvif.rs",
        "dev_camera/rtp.rs",
        "dev_camera/rtsp.rs",
        "dev_camera/sdp.rs",
    ];
    // tokio-util's codec traits are pure (bytes in, items out); the runtime is not.
    let forbidden = [
        "tokio::",
        "std::net::Tcp",
        "TcpStream",
        "Instant::now",
        "SystemTime::now",
        "thread::sleep",
    ];
    for file in files {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for word in forbidden {
            assert!(!text.contains(word), "{file} mentions {word}");
        }
    }
}
