//! Integration tests for `wire`: one binary, one module per topic.

mod corpus;
#[cfg(feature = "codec")]
mod framed_io;
mod golden;
mod properties;
