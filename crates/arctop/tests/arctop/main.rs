//! Integration tests for `arctop`: one binary, one module per topic.

mod corpus;
mod golden;
mod hostile;
#[cfg(feature = "lsl")]
mod lsl;
mod netns;
mod properties;
mod scripted_peer;
mod simulator;
mod support;
mod tidy;
