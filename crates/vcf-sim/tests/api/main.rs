//! Integration tests of the simulator through its HTTP API (reqwest, real server on port 0).

#![allow(clippy::unwrap_used)]

mod common;
mod conformance;
mod errors;
mod outage;
mod readiness;
mod scenarios;
mod schema;
mod tls;
mod walk;
