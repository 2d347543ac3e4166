//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry point.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/arkeo_payloads", "artifacts/arkeo_payloads"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            arkeo::fuzzing::payload(&data);
            replayed += 1;
        }
    }
    assert!(
        replayed >= 10,
        "the committed corpus went missing: {replayed} inputs"
    );
}
