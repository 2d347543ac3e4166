//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry points.

use std::path::Path;

/// Replays `corpus/<target>` and `artifacts/<target>` through `entry`; returns how many.
fn replay(target: &str, entry: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for file in entries {
            let data = std::fs::read(file.unwrap().path()).unwrap();
            entry(&data);
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let replayed = replay("arkeo_payloads", arkeo::fuzzing::payload);
    assert!(
        replayed >= 10,
        "the committed corpus went missing: {replayed} inputs"
    );
}

#[test]
fn simulator_session_corpus_replays_without_panic() {
    let replayed = replay("arkeo_simulator_session", arkeo::fuzzing::simulator_session);
    assert!(
        replayed >= 4,
        "the committed corpus went missing: {replayed} inputs"
    );
}

#[test]
fn exchange_session_corpus_replays_without_panic() {
    let replayed = replay("arkeo_exchange_session", arkeo::fuzzing::exchange_session);
    assert!(
        replayed >= 5,
        "the committed corpus went missing: {replayed} inputs"
    );
}
