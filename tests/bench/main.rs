//! Benchmark: the real `vcf-mqtt-bridge` against the simulator's `large` scenario.
//!
//! ```text
//! cargo bench -p dca-tests --bench bridge            # builds the release bridge if needed
//! cargo bench -p dca-tests --bench bridge -- --cycles 10 --scenario large
//! cargo bench -p dca-tests --bench bridge -- --instances 2   # two SDDC Managers in one bridge
//! ```
//!
//! It starts Mosquitto (or the embedded broker), the simulator in this process with its clock
//! nearly frozen (so a resource cycle finds nothing new), and the bridge binary of the same
//! profile, then prints:
//!
//! - SDDC Manager requests per resource cycle (`/sim/requests`; target ≤ 4);
//! - MQTT publishes per unchanged cycle (recorded on the broker; target 0);
//! - time from process start to every discovery config published (target: 2 s plus the paced time
//!   of the messages sent by then, at the default `mqtt.publish_rate` of 250 a second);
//! - the bridge's peak RSS (`VmHWM` in `/proc/PID/status`; target ≤ 20 MB);
//! - CPU per cycle (`utime + stime` from `/proc/PID/stat`).
//!
//! With `--instances N` it starts N simulators of the scenario and one bridge serving all of them
//! (`[[sddc_managers]]`), and prints the requests per cycle of each SDDC Manager; RSS and CPU are
//! the whole process's.
//!
//! It is a measurement, not a test: it always prints, and exits non-zero only when it could not
//! measure.

use std::time::{Duration, Instant};

use anyhow::Context;
use dca_tests::bridge::{Bridge, BridgeConfig};
use dca_tests::broker::Broker;
use dca_tests::process::cpu_seconds;
use dca_tests::recorder::{Mark, Recorder};
use dca_tests::rig::{host_slug, slug};
use dca_tests::sim::{Sim, SimRequests};
use dca_tests::wait;

/// The bridge's default `mqtt.publish_rate`, messages a second.
const PUBLISH_RATE: f64 = 250.0;

/// The default time scale: a simulated clock this slow does not move during a run.
const FROZEN: f64 = 1e9;

/// Command-line options (after `cargo bench ... --`).
struct Options {
    scenario: String,
    cycles: u64,
    poll: String,
    time_scale: f64,
    instances: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        scenario: "large".into(),
        cycles: 10,
        poll: "2s".into(),
        // A frozen simulated clock (one simulated second per 10^9 real ones): usage values do not
        // move during the run, so every cycle after the first is an unchanged cycle. With
        // `--time-scale 1` they move as in a live system.
        time_scale: FROZEN,
        instances: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scenario" => o.scenario = args.next().context("--scenario NAME")?,
            "--cycles" => o.cycles = args.next().context("--cycles N")?.parse()?,
            "--poll" => o.poll = args.next().context("--poll DURATION")?,
            "--time-scale" => o.time_scale = args.next().context("--time-scale F")?.parse()?,
            "--instances" => {
                o.instances = args.next().context("--instances N")?.parse()?;
                anyhow::ensure!(o.instances >= 1, "--instances: at least 1");
            }
            // cargo bench passes --bench; libtest-style filters are ignored.
            _ => {}
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let opts = options()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(opts))
}

/// VCF API requests only (not the simulator's own `/sim/*` endpoints this benchmark polls).
fn api_requests(r: &SimRequests) -> u64 {
    r.by_endpoint
        .iter()
        .filter(|(k, _)| k.contains(" /v1/"))
        .map(|(_, n)| n)
        .sum()
}

/// `VmHWM` (peak resident set) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    Ok(dca_tests::process::peak_rss_kib(pid)? as f64 / 1024.0)
}

async fn run(opts: Options) -> anyhow::Result<()> {
    let mut sims = Vec::with_capacity(opts.instances);
    for _ in 0..opts.instances {
        let sim = Sim::start(&opts.scenario, opts.time_scale).await?;
        // Access tokens live one real hour whatever the clock speed (a frozen clock would
        // otherwise issue tokens that expire in a hundred thousand years).
        sim.fault(serde_json::json!({ "token_ttl_seconds": 3600.0 / opts.time_scale }))
            .await?;
        sims.push(sim);
    }
    let sim = &sims[0];
    let client = sim.client()?;
    let domains = client.domains().await?;
    let clusters = client.clusters().await?;
    let hosts = client.hosts().await?;
    let broker = Broker::start().await?;
    let dir = tempfile::tempdir()?;
    let state_dir = dir.path().join("state");
    std::fs::create_dir_all(&state_dir)?;
    let mut config = BridgeConfig::for_test(
        broker.bridge_port(),
        sim.url(),
        sim.username(),
        sim.password(),
        &state_dir,
    );
    config.poll_resources = opts.poll.clone();
    config.poll_updates = "1h".into();
    config.log_level = "warn".into();
    config.more_sddc_managers = sims[1..]
        .iter()
        .enumerate()
        .map(|(i, other)| dca_tests::bridge::SddcManagerEntry {
            instance_id: format!("{}_{}", config.instance_id, i + 2),
            url: other.url().to_owned(),
            username: other.username().to_owned(),
            password: other.password().to_owned(),
        })
        .collect();
    let instances: Vec<String> = std::iter::once(config.instance_id.clone())
        .chain(
            config
                .more_sddc_managers
                .iter()
                .map(|m| m.instance_id.clone()),
        )
        .collect();
    let recorder = Recorder::connect(
        broker.port(),
        &[&config.base_topic, &config.discovery_prefix],
    )
    .await?;
    let binary = dca_tests::bridge::bridge_binary()?;
    println!("bridge binary: {}", binary.display());
    println!(
        "{} x scenario {}: {} domains, {} clusters, {} hosts each; broker {:?}; resource poll {}",
        opts.instances,
        opts.scenario,
        domains.len(),
        clusters.len(),
        hosts.len(),
        broker.kind(),
        opts.poll
    );

    // Every discovery config: 3 per host, one status sensor per domain (and the rest).
    let prefix = format!("{}/", config.discovery_prefix);
    let host_configs: std::collections::BTreeSet<String> = hosts
        .iter()
        .flat_map(|h| {
            let s = host_slug(h.fqdn.as_deref().unwrap_or_default());
            ["cpu_usage", "memory_usage", "storage_usage"]
                .map(|m| format!("/vcf_host_{s}_{m}/config"))
        })
        .collect();
    let domain_configs: Vec<String> = domains
        .iter()
        .map(|d| format!("/vcf_{}_status/config", slug(&d.name)))
        .collect();
    let started = Instant::now();
    let mut bridge = Bridge::spawn(&config, dir.path())?;
    let discovered = wait::until("every discovery config", Duration::from_secs(120), || {
        let latest = recorder.latest_by_topic();
        let mut all_done = true;
        let mut n = 0;
        for instance in &instances {
            let node = format!("/{instance}/");
            let configs: Vec<&String> = latest
                .iter()
                .filter(|(t, m)| {
                    t.starts_with(&prefix) && t.contains(&node) && !m.payload.is_empty()
                })
                .map(|(t, _)| t)
                .collect();
            let hosts_done = host_configs
                .iter()
                .all(|suffix| configs.iter().any(|t| t.ends_with(suffix.as_str())));
            let domains_done = domain_configs
                .iter()
                .all(|suffix| configs.iter().any(|t| t.ends_with(suffix.as_str())));
            all_done &= hosts_done && domains_done;
            n += configs.len();
        }
        async move { all_done.then_some(n) }
    })
    .await;
    let discovery_time = started.elapsed();
    // Publishing is paced (`mqtt.publish_rate`, default 250 a second): the target is 2 s of
    // rendering plus the paced time of every message sent until then.
    let sent_by_then = recorder.mark().0;
    let discovery_target = Duration::from_secs_f64(2.0 + sent_by_then as f64 / PUBLISH_RATE);
    let configs = match discovered {
        Ok(n) => n,
        Err(e) => {
            bridge.ensure_running()?;
            return Err(e.context(dca_tests::rig::tail(&bridge.log(), 30)));
        }
    };

    // Let the first full cycles settle (initial states), then measure N unchanged cycles.
    let hosts_calls = |r: &SimRequests| r.count("GET /v1/hosts");
    let first = hosts_calls(&sim.requests().await?);
    wait::until_ok("two resource cycles", Duration::from_secs(120), || async {
        Ok((hosts_calls(&sim.requests().await?) >= first + 2).then_some(()))
    })
    .await?;
    let mut others_before = Vec::new();
    for other in &sims[1..] {
        others_before.push(other.requests().await?);
    }
    let before = sim.requests().await?;
    let mark: Mark = recorder.sync().await?;
    let cpu_before = cpu_seconds(bridge.pid())?;
    let cycles_from = hosts_calls(&before);
    wait::until_ok(
        "the measured cycles",
        Duration::from_secs(60 + 30 * opts.cycles),
        || async {
            Ok((hosts_calls(&sim.requests().await?) >= cycles_from + opts.cycles).then_some(()))
        },
    )
    .await?;
    let after = sim.requests().await?;
    let cpu_after = cpu_seconds(bridge.pid())?;
    let mut others_after = Vec::new();
    for other in &sims[1..] {
        others_after.push(other.requests().await?);
    }
    recorder.sync().await?;
    let cycles = (hosts_calls(&after) - cycles_from).max(1);
    let previous = recorder.until(mark);
    let published = recorder.since(mark);
    // The last value of each topic before the measured cycles, then every measured publish
    // compared with the one before it on the same topic.
    let mut last: std::collections::BTreeMap<&str, &[u8]> = previous
        .iter()
        .map(|m| (m.topic.as_str(), m.payload.as_slice()))
        .collect();
    let mut repeated = 0u64;
    for m in &published {
        if last.get(m.topic.as_str()) == Some(&m.payload.as_slice()) {
            repeated += 1;
        }
        last.insert(&m.topic, &m.payload);
    }
    let rss = peak_rss_mib(bridge.pid())?;
    let requests_per_cycle = (api_requests(&after) - api_requests(&before)) as f64 / cycles as f64;
    let publishes_per_cycle = published.len() as f64 / cycles as f64;
    let cpu_per_cycle_ms = (cpu_after - cpu_before) * 1000.0 / cycles as f64;
    let mut per_endpoint: Vec<(String, u64)> = after
        .by_endpoint
        .iter()
        .filter(|(k, _)| k.contains(" /v1/"))
        .map(|(k, n)| (k.clone(), n - before.count(k)))
        .filter(|(_, n)| *n > 0)
        .collect();
    per_endpoint.sort();
    let _ = bridge.terminate(Duration::from_secs(20)).await;

    let verdict = |ok: bool| if ok { "ok" } else { "OVER TARGET" };
    // With the simulated clock running, usage values move every cycle: only a repeated value
    // would be a wasted publish then.
    let frozen = opts.time_scale >= FROZEN;
    let kind = if frozen { "unchanged" } else { "live" };
    println!();
    println!("| measure ({cycles} {kind} cycles) | value | target | |");
    println!("|---|---|---|---|");
    println!(
        "| SDDC Manager requests per resource cycle ({}) | {requests_per_cycle:.2} | <= 4 | {} |",
        instances[0],
        verdict(requests_per_cycle <= 4.0)
    );
    for ((id, b), a) in instances[1..].iter().zip(&others_before).zip(&others_after) {
        // Each instance polls at its own cadence: its cycles are its own host listings.
        let own_cycles = (hosts_calls(a) - hosts_calls(b)).max(1);
        let per_cycle = (api_requests(a) - api_requests(b)) as f64 / own_cycles as f64;
        println!(
            "| SDDC Manager requests per resource cycle ({id}, {own_cycles} cycles) | {per_cycle:.2} | <= 4 | {} |",
            verdict(per_cycle <= 4.0)
        );
    }
    if frozen {
        println!(
            "| MQTT publishes per unchanged cycle | {publishes_per_cycle:.2} ({repeated} repeats of an unchanged value in total) | 0 | {} |",
            verdict(publishes_per_cycle == 0.0)
        );
    } else {
        println!(
            "| MQTT publishes per live cycle | {publishes_per_cycle:.2} ({repeated} repeats of an unchanged value in total) | 0 repeats | {} |",
            verdict(repeated == 0)
        );
    }
    println!(
        "| start to all {configs} discovery configs published ({sent_by_then} messages, paced) | {:.2} s | <= {:.1} s (2 s + messages / 250 per s) | {} |",
        discovery_time.as_secs_f64(),
        discovery_target.as_secs_f64(),
        verdict(discovery_time <= discovery_target)
    );
    let rss_mb = rss * 1.048_576;
    println!(
        "| bridge peak RSS (VmHWM) | {rss:.1} MiB = {rss_mb:.1} MB | <= {} MB | {} |",
        20 * instances.len(),
        verdict(rss_mb <= 20.0 * instances.len() as f64)
    );
    println!(
        "| bridge CPU per resource cycle (all {} instances) | {cpu_per_cycle_ms:.1} ms | | |",
        instances.len()
    );
    if !published.is_empty() {
        // What changed, by kind of topic (the last two levels), to find a chatty entity.
        let mut kinds: std::collections::BTreeMap<String, usize> =
            std::collections::BTreeMap::new();
        for m in &published {
            let parts: Vec<&str> = m.topic.rsplitn(3, '/').collect();
            let kind = match parts.as_slice() {
                [leaf, parent, _] => format!("{parent}/{leaf}"),
                _ => m.topic.clone(),
            };
            *kinds.entry(kind).or_default() += 1;
        }
        let mut kinds: Vec<(String, usize)> = kinds.into_iter().collect();
        kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
        println!();
        println!("published during the measured cycles, by topic kind (top 10):");
        for (k, n) in kinds.iter().take(10) {
            println!("  {k}: {n}");
        }
        if let Some(m) = published.first() {
            println!(
                "  e.g. {} = {}",
                m.topic,
                dca_tests::recorder::truncate(&m.text(), 200)
            );
        }
    }
    println!();
    println!("requests during the measured cycles, by endpoint:");
    for (k, n) in per_endpoint {
        println!("  {k}: {n}");
    }
    drop(recorder);
    for sim in sims {
        sim.shutdown().await;
    }
    Ok(())
}
