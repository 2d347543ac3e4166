//! Integration tests for `arctop`: one binary, one module per topic.

mod netns;
