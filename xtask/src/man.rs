//! `cargo xtask man`: rewrites the man pages under `crates/protoctl/man/` from the clap
//! grammar.
//!
//! The generator is protoctl's own `golden_man_pages` test (clap_mangen, a dev-dependency
//! there, reads the grammar where it lives), run with `PROTOCTL_UPDATE_FIXTURES` set, like
//! the golden fixtures. Without the variable the same test, run by `cargo test --workspace`
//! (so by `cargo xtask ci`), fails when a checked-in page differs from what the code
//! generates.

use crate::{Result, cargo, run};

/// The test that renders and checks the pages.
const TEST: &str = "golden_man_pages";

pub(crate) fn regenerate() -> Result {
    run(
        "regenerate man pages",
        cargo()
            .args(["test", "-p", "protoctl", "--bin", "protoctl", TEST])
            .env("PROTOCTL_UPDATE_FIXTURES", "1"),
    )
}
