//! Integration tests for `arrow-codec`: one binary, one module per topic.

mod json;
