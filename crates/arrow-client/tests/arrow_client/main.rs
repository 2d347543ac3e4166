//! End-to-end tests of the Arrow client against the development Arrow Service and scripted
//! services, over real TLS on 127.0.0.1; and the fake camera (dev_camera).

mod corpus;
mod dev_camera;
mod dev_service_limits;
mod discovery;
mod end_to_end;
mod golden;
mod hostile;
mod malicious;
mod resolution;
mod support;
mod tidy;
mod unattended;
