//! Placeholder, replaced by the listen benchmark.
fn main() {}
