//! Integration tests for `arrow-codec`: one binary, one module per topic.

mod cases;
mod codec;
mod corpus;
mod encode_errors;
mod golden;
mod json;
mod malformed;
mod properties;
mod socket;
mod tidy;
