//! `vcf-sim`: runs the SDDC Manager simulator until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// An SDDC Manager simulator speaking the VCF 5.2.1 API.
#[derive(Debug, Parser)]
#[command(name = "vcf-sim", version)]
struct Args {
    /// Built-in scenario name or path to a scenario TOML file.
    #[arg(long, default_value = "default")]
    scenario: String,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Serve HTTPS with a certificate generated at start.
    #[arg(long)]
    tls: bool,
    /// Multiply every simulated duration by this (0.001: one hour takes 3.6 s).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Write the CA certificate (PEM) to this file (with --tls).
    #[arg(long)]
    write_ca: Option<PathBuf>,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    list_scenarios: bool,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    if let Err(e) = run(Args::parse()).await {
        eprintln!("vcf-sim: {e:#}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.list_scenarios {
        for name in vcf_sim::Scenario::builtin_names() {
            let sc = vcf_sim::Scenario::builtin(name)?;
            println!("{name:20} {}", sc.description);
        }
        return Ok(());
    }
    let scenario = vcf_sim::Scenario::load(&args.scenario)?;
    let name = scenario.name.clone();
    let opts = vcf_sim::SimOptions {
        listen: args.listen,
        tls: args.tls,
        time_scale: args.time_scale,
    };
    let sim = vcf_sim::start(scenario, opts).await?;
    if let (Some(path), Some(pem)) = (&args.write_ca, &sim.ca_pem) {
        std::fs::write(path, pem)
            .map_err(|e| anyhow::anyhow!("writing CA to {}: {e}", path.display()))?;
        println!("CA certificate written to {}", path.display());
    } else if args.write_ca.is_some() {
        anyhow::bail!("--write-ca needs --tls");
    }
    println!("vcf-sim scenario {name} at time scale {}", args.time_scale);
    println!("URL:      {}", sim.url);
    println!("username: {}", sim.username);
    println!("password: {}", sim.password);
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
