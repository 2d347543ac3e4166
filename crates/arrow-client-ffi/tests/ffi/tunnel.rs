//! The C example, `examples/tunnel.c`, built with the system's C compiler against the
//! static and the shared library, run against the development Arrow Service: an echo
//! through its tunnel, an orderly stop on SIGTERM, `--once`, and (with `--ignored`, as
//! `cargo xtask ci` runs it) the same under valgrind's memcheck.

use std::path::Path;
use std::process::Command;

use arrow_client::dev_service::ServiceEvent;

use crate::support::{Link, Peers, Running, build_tunnel, lib_dir, soname};

/// `tunnel SERVER CA STATE SERVICE [--once]`, after `wrapper` (valgrind) when given.
fn tunnel(wrapper: &[String], program: &Path, peers: &Peers, once: bool) -> Command {
    let mut cmd = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    cmd.arg(peers.server())
        .arg(peers.ca_file())
        .arg(peers.dir.path().join("state"))
        .arg(peers.echo.to_string());
    if once {
        cmd.arg("--once");
    }
    cmd
}

/// Runs the example until its service is exposed, sends an echo through the tunnel,
/// stops it with SIGTERM and checks that it stopped cleanly; `report` says more when it
/// did not.
fn echo_then_sigterm(
    peers: &mut Peers,
    cmd: Command,
    report: impl Fn() -> String,
) -> crate::support::Ended {
    let running = Running::spawn(cmd, peers.dir.path(), "tunnel");
    let port = peers.exposed_port();
    let message = b"through the C example's tunnel and back";
    assert_eq!(
        peers.echo_through(port, message),
        message,
        "stderr:\n{}",
        running.stderr_text()
    );
    running.signal("TERM");
    let ended = running.wait();
    assert!(ended.status.success(), "{ended:#?}\n{}", report());
    assert!(ended.stdout.starts_with("client "), "{ended:#?}");
    for line in [
        "tunnel: state connected",
        "tunnel: state stopped",
        "tunnel: stopped",
    ] {
        assert!(ended.stderr.contains(line), "{line:?} missing: {ended:#?}");
    }
    let status =
        std::fs::read_to_string(peers.dir.path().join("state/status.json")).unwrap_or_default();
    assert!(status.contains("\"state\": \"stopped\""), "{status}");
    ended
}

#[test]
#[ignore = "needs the C libraries built (cargo build -p arrow-client-ffi); `cargo xtask ci` builds them and runs it"]
fn the_c_example_tunnels_an_echo_and_stops_in_order_on_sigterm() {
    let mut peers = Peers::start();
    let program = build_tunnel(Link::Static, peers.dir.path());
    let cmd = tunnel(&[], &program, &peers, false);
    let ended = echo_then_sigterm(&mut peers, cmd, String::new);
    assert!(
        ended.stdout.contains(&format!(" {}\n", peers.echo)),
        "the service table names the echo server: {ended:#?}"
    );
}

#[test]
#[ignore = "needs the C libraries built (cargo build -p arrow-client-ffi); `cargo xtask ci` builds them and runs it"]
fn the_c_example_linked_shared_registers_once_and_stops() {
    let mut peers = Peers::start();
    let program = build_tunnel(Link::Shared, peers.dir.path());
    let running = Running::spawn(
        tunnel(&[], &program, &peers, true),
        peers.dir.path(),
        "tunnel-once",
    );
    peers.wait_for(|e| matches!(e, ServiceEvent::ClientRegistered { .. }));
    let ended = running.wait();
    assert!(ended.status.success(), "{ended:#?}");
    assert!(ended.stdout.contains("service "), "{ended:#?}");
    assert!(ended.stderr.contains("tunnel: stopped"), "{ended:#?}");
}

/// The dynamic section of an ELF file, as `readelf -d` prints it.
fn dynamic_section(file: &Path) -> String {
    let output = Command::new("readelf")
        .arg("-d")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run readelf (binutils, beside cc): {e}"));
    assert!(output.status.success(), "readelf -d {}", file.display());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "needs the C libraries built (cargo build -p arrow-client-ffi); `cargo xtask ci` builds them and runs it"]
fn the_shared_library_is_named_after_the_api_version_and_a_program_asks_for_that_name() {
    let library = dynamic_section(&lib_dir().join("libarrow_client_ffi.so"));
    assert!(
        library.contains(&format!("Library soname: [{}]", soname())),
        "{library}"
    );
    let dir = tempfile::tempdir().unwrap();
    let program = dynamic_section(&build_tunnel(Link::Shared, dir.path()));
    assert!(
        program.contains(&format!("Shared library: [{}]", soname())),
        "{program}"
    );
}

#[test]
#[ignore = "needs valgrind (Debian's package); `cargo xtask ci` runs it"]
#[allow(clippy::print_stderr)] // valgrind's summary is this test's record
fn valgrind_finds_no_memory_error_and_no_definite_leak_in_the_c_example() {
    let mut peers = Peers::start_chacha20();
    let program = build_tunnel(Link::Static, peers.dir.path());
    let log = peers.dir.path().join("valgrind.log");
    let wrapper: Vec<String> = [
        "valgrind",
        "--tool=memcheck",
        "--error-exitcode=99",
        "--leak-check=full",
        "--show-leak-kinds=definite",
        "--errors-for-leak-kinds=definite",
        "--track-origins=yes",
    ]
    .map(String::from)
    .into_iter()
    .chain([format!("--log-file={}", log.display())])
    .collect();
    let version = Command::new("valgrind").arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "valgrind is needed (apt-get install valgrind): {version:?}"
    );
    let cmd = tunnel(&wrapper, &program, &peers, false);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    echo_then_sigterm(&mut peers, cmd, read_log);
    let report = read_log();
    assert!(report.contains("ERROR SUMMARY: 0 errors"), "{report}");
    // For the record (`--nocapture`): what valgrind says of the heap at exit.
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| {
            [
                "in use at exit",
                "total heap usage",
                "definitely lost",
                "possibly lost",
                "ERROR SUMMARY",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect();
    eprintln!("valgrind:\n{}", summary.join("\n"));
}
