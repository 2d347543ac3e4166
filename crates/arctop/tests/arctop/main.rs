//! Integration tests for `arctop`: one binary, one module per topic.

mod corpus;
mod golden;
mod netns;
mod properties;
mod scripted_peer;
mod simulator;
mod support;
mod tidy;
