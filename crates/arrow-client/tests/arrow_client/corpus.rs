//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry point.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in [
        "corpus/arrow_client_session",
        "artifacts/arrow_client_session",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            arrow_client::fuzzing::service_bytes(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 5,
        "the committed corpus went missing: {replayed} inputs"
    );
}
