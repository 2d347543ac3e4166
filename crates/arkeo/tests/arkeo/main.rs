//! Integration tests for `arkeo`: one binary, one module per topic.

mod corpus;
mod golden;
mod loopback_all_in_one;
mod loopback_multichannel;
mod properties;
mod scripted_peers;
mod support;
