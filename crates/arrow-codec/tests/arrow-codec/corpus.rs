//! Replays the fuzz corpus (and any crash artifacts) through the fuzzing entry point.

use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/arrow_messages", "artifacts/arrow_messages"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            arrow_codec::fuzzing::message_stream(&data);
            replayed += 1;
        }
    }
    assert!(
        replayed >= 20,
        "the committed corpus went missing: {replayed} inputs"
    );
}
