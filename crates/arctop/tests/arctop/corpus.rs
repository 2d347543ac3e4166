//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry points.

use std::path::Path;

/// Replays `corpus/<target>` and `artifacts/<target>`; returns how many inputs ran.
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for item in entries {
            let path = item.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            entry(&data);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let replayed = replay("arctop_client_stream", arctop::fuzzing::client_stream);
    assert!(
        replayed >= 5,
        "the committed corpus went missing: {replayed} inputs"
    );
}

#[test]
fn simulator_session_corpus_replays_without_panic() {
    let replayed = replay(
        "arctop_simulator_session",
        arctop::fuzzing::simulator_session,
    );
    assert!(
        replayed >= 10,
        "the committed corpus went missing: {replayed} inputs"
    );
}
