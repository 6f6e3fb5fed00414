//! `vcf-mqtt-bridge`: parses the command line, sets up logging and signals, calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mqtt_bridge::config::{Config, EXIT_CONFIG, LogFormat};
use mqtt_bridge::demo::DemoOptions;
use tokio_util::sync::CancellationToken;

/// DataCenter Assistant: VMware Cloud Foundation in Home Assistant over MQTT.
#[derive(Parser)]
#[command(name = "vcf-mqtt-bridge", version, about)]
struct Cli {
    /// Configuration file (TOML); `DCA_*` environment variables override it.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the bridge (the default).
    Run,
    /// Validate the configuration without connecting anywhere (exit 64 when invalid).
    CheckConfig,
    /// Print what an upgrade would do, per domain, reading SDDC Manager without changing it.
    Plan {
        /// Only this domain (name or id).
        #[arg(long)]
        domain: Option<String>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
        /// With several SDDC Managers configured: only this instance id (required with --json).
        #[arg(long)]
        instance: Option<String>,
    },
    /// Run a self-contained demo: simulator + bridge (+ embedded broker if none on localhost:1883).
    Demo {
        /// MQTT broker host:port to use instead of localhost:1883 / the embedded one.
        #[arg(long)]
        broker: Option<String>,
        /// Simulator time scale (0.005 ≈ a 2–3 minute upgrade).
        #[arg(long, default_value_t = 0.005)]
        time_scale: f64,
        /// Built-in scenario name or scenario TOML file.
        #[arg(long, default_value = "default")]
        scenario: String,
        /// Simulate one SDDC Manager only (by default a second one, at site `lax`, runs beside it).
        #[arg(long)]
        single_site: bool,
    },
}

fn init_logging(level: &str, format: LogFormat) {
    // RUST_LOG, when set, wins over the configured level (handy for debugging one module).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| {
            tracing_subscriber::EnvFilter::try_new(level)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn shutdown_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = term.recv() => tracing::info!("SIGTERM received"),
                        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        token.cancel();
    });
}

/// Keeps large allocations out of glibc's heap.
///
/// glibc serves big blocks (a `/v1/hosts` answer of a thousand hosts is over a megabyte) with
/// their own mappings, but after the first such block is freed it raises that threshold to the
/// block's size: every later answer is then carved from the heap, whose pages stay resident and
/// fragmented long after the answer is dropped. A fixed threshold turns that adjustment off, so
/// each large buffer goes back to the system when it is freed; with 1,152 hosts this halves the
/// bridge's anonymous memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
    // SAFETY: `mallopt` only sets an allocator parameter; it is called once, first thing in
    // `main`, before any other thread exists or any allocation depends on the old value.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
    if ok != 1 {
        eprintln!("warning: could not set the allocator's mmap threshold");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // One thread is plenty for a few HTTP polls and one MQTT connection (all I/O-bound), and it
    // keeps memory low: every extra worker thread gets its own malloc arena.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command.unwrap_or(Cmd::Run) {
        Cmd::CheckConfig => match Config::load(cli.config.as_deref()) {
            Ok(c) => {
                for instance in c.instances() {
                    println!(
                        "configuration OK (instance_id {}, broker {}:{}, SDDC Manager {})",
                        instance.instance_id(),
                        instance.mqtt.host,
                        instance.mqtt.port,
                        instance.vcf.url
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_CONFIG as u8)
            }
        },
        Cmd::Run => {
            let config = match Config::load(cli.config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_CONFIG as u8);
                }
            };
            init_logging(&config.log.level, config.log.format);
            runtime.block_on(async {
                let token = CancellationToken::new();
                shutdown_on_signals(token.clone());
                match mqtt_bridge::run(config, token).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        tracing::error!("{e:#}");
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
        Cmd::Plan {
            domain,
            json,
            instance,
        } => {
            let config = match Config::load(cli.config.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(EXIT_CONFIG as u8);
                }
            };
            init_logging("warn", config.log.format);
            let all = config.instances();
            let chosen: Vec<Config> = match &instance {
                Some(id) => all.into_iter().filter(|c| c.instance_id() == *id).collect(),
                None => all,
            };
            if chosen.is_empty() {
                eprintln!(
                    "error: --instance {}: no such SDDC Manager in the configuration",
                    instance.unwrap_or_default()
                );
                return ExitCode::from(EXIT_CONFIG as u8);
            }
            if json && chosen.len() > 1 {
                eprintln!(
                    "error: several SDDC Managers are configured: choose one with --instance"
                );
                return ExitCode::from(EXIT_CONFIG as u8);
            }
            let several = chosen.len() > 1;
            runtime.block_on(async {
                for c in &chosen {
                    if several {
                        println!("# SDDC Manager {} ({})\n", c.instance_id(), c.vcf.url);
                    }
                    match mqtt_bridge::plan::run(c, domain.as_deref(), json).await {
                        Ok(text) => print!("{text}"),
                        Err(e) => {
                            eprintln!("error: {e:#}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
                ExitCode::SUCCESS
            })
        }
        Cmd::Demo {
            broker,
            time_scale,
            scenario,
            single_site,
        } => {
            init_logging("info,rumqttd=warn,rumqttd::router=warn", LogFormat::Text);
            if !(time_scale.is_finite() && time_scale > 0.0) {
                eprintln!("error: --time-scale: expected a positive number, got {time_scale}");
                return ExitCode::from(EXIT_CONFIG as u8);
            }
            runtime.block_on(async {
                let token = CancellationToken::new();
                shutdown_on_signals(token.clone());
                let opts = DemoOptions {
                    broker,
                    time_scale,
                    scenario,
                    second_site: !single_site,
                    ..DemoOptions::default()
                };
                match mqtt_bridge::demo::run(opts, token).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
    }
}
