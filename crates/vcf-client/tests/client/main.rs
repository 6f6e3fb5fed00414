//! Integration tests of the SDDC Manager client: request contracts and error classes against
//! wiremock, token renewal with an injected clock, TLS against a local HTTPS server, and the
//! client against the simulator.

mod auth;
mod contracts;
mod errors;
mod fuzz;
mod hostile;
mod readiness;
mod sim;
mod spec;
mod support;
mod tls;
mod tokens;
mod vcf9;
