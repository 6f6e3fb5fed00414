//! End-to-end tests: the real `vcf-mqtt-bridge` binary, a real MQTT broker and the VCF simulator.
//!
//! One test binary with a module per feature. Each test starts its own broker (Mosquitto on a
//! free port), its own in-process simulator and its own bridge process with a unique base topic
//! and client id, so tests run in parallel without seeing each other.

mod availability;
mod commands;
mod common;
mod config;
mod discovery;
mod faults;
mod flow;
mod ha_app;
mod home_assistant;
mod hostile;
mod hostile_mqtt;
mod instances;
mod plan;
mod readiness;
mod resume;
/// The official specs as a strict checker of JSON bodies, shared with the simulator's
/// conformance test.
#[path = "../../crates/vcf-sim/tests/api/schema.rs"]
mod schema;
mod sequence;
mod shipped;
mod states;
mod sustained_faults;
mod tokens;
mod upgrade;
mod vendor_sdk;
mod windows;
