//! Integration tests for `wire`: one binary, one module per topic.

mod corpus;
mod framed_io;
mod golden;
mod properties;
