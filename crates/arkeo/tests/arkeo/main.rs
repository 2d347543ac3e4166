//! Integration tests for `arkeo`: one binary, one module per topic.

mod builders;
mod corpus;
mod golden;
mod hostile;
mod limits;
mod loopback_all_in_one;
mod loopback_multichannel;
mod properties;
mod scripted_peers;
mod support;
mod tracking;
mod vendor_shapes;
mod workflow_failures;
