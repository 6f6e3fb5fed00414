//! An SDDC Manager simulator that speaks the VCF 5.2.1 public API, for demos, tests and
//! benchmarks.
//!
//! # Layout
//! - [`scenario`]: the TOML scenario format and the built-in scenarios.
//! - [`inventory`]: domains, clusters, hosts, releases and bundles built from a scenario.
//! - [`state`]: operations (downloads, upgrades, check-set runs, validations) evolving in
//!   simulated time, the API outage during an SDDC Manager upgrade.
//! - [`clock`]: simulated time (`--time-scale`).
//! - [`tokens`]: JWT access tokens and refresh tokens.
//! - [`faults`]: fault injection (`/sim/faults`).
//! - [`routes`]: the `/v1` endpoints and the `/sim/` test endpoints.
//! - [`tls`] and [`server`]: certificates and the listener.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = vcf_sim::start(
//!     vcf_sim::Scenario::builtin("default")?,
//!     vcf_sim::SimOptions::new("127.0.0.1:0".parse()?),
//! )
//! .await?;
//! println!("{} {} {}", sim.url, sim.username, sim.password);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod clock;
pub mod error;
pub mod faults;
pub mod ids;
pub mod inventory;
pub mod routes;
pub mod scenario;
pub mod server;
pub mod state;
pub mod tls;
pub mod tokens;
pub mod usage;
pub mod version;

pub use scenario::Scenario;

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Listen address (`127.0.0.1:0` for a free port).
    pub listen: SocketAddr,
    /// Serve HTTPS with a generated certificate.
    pub tls: bool,
    /// Multiplier of every simulated duration (1.0 = real time).
    pub time_scale: f64,
}

impl SimOptions {
    /// Plain HTTP at real time on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        SimOptions {
            listen,
            tls: false,
            time_scale: 1.0,
        }
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimServer {
    /// Base URL (`http://127.0.0.1:PORT` or `https://localhost:PORT`).
    pub url: String,
    /// Login user name.
    pub username: String,
    /// Login password.
    pub password: String,
    /// CA certificate (PEM) to trust when TLS is on.
    pub ca_pem: Option<String>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
    app: routes::App,
}

impl SimServer {
    /// Stops accepting, closes every connection and frees the port (dropping the server
    /// also stops it, without waiting).
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs a closure on the simulation state (for in-process tests).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut state::SimState) -> R) -> R {
        let mut s = self.app.lock();
        s.advance();
        f(&mut s)
    }
}

/// Starts a simulator for a scenario.
///
/// # Errors
/// The address cannot be bound, the time scale is not positive, or TLS setup fails.
pub async fn start(scenario: Scenario, opts: SimOptions) -> anyhow::Result<SimServer> {
    if !(opts.time_scale > 0.0 && opts.time_scale.is_finite()) {
        anyhow::bail!("time scale must be a positive number");
    }
    let scenario = Arc::new(scenario);
    let app = Arc::new(routes::Shared {
        state: Mutex::new(state::SimState::new(scenario.clone(), opts.time_scale)),
        scenario: scenario.clone(),
        time_scale: opts.time_scale,
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("binding {}", opts.listen))?;
    let addr = listener.local_addr().context("local address")?;
    let (tls, ca_pem) = if opts.tls {
        let m = tls::generate()?;
        (
            Some(tokio_rustls::TlsAcceptor::from(m.server_config)),
            Some(m.ca_pem),
        )
    } else {
        (None, None)
    };
    let host = if opts.tls && addr.ip().is_loopback() {
        "localhost".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let url = format!(
        "{}://{host}:{}",
        if opts.tls { "https" } else { "http" },
        addr.port()
    );
    let shutdown = CancellationToken::new();
    let router = routes::router(app.clone());
    let task = tokio::spawn(server::serve(
        listener,
        router,
        app.clone(),
        tls,
        shutdown.clone(),
    ));
    Ok(SimServer {
        url,
        username: scenario.system.username.clone(),
        password: scenario.system.password.clone(),
        ca_pem,
        addr,
        shutdown,
        task: Some(task),
        app,
    })
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
