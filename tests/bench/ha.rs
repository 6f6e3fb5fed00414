//! Benchmark: the `large` estate (1,152 hosts) in a real Home Assistant on a stock Mosquitto.
//!
//! ```text
//! cargo bench -p dca-tests --bench ha                        # HA 2026.11 (harness flavour `current`)
//! cargo bench -p dca-tests --bench ha -- --flavour default   # HA 2025.4
//! cargo bench -p dca-tests --bench ha -- --scenario large --poll 10s --limit 180s
//! ```
//!
//! It starts Mosquitto with its default limits (no `max_queued_messages`, no `max_inflight_messages`:
//! 1,000 queued and 20 in flight per client, as a stock broker and Home Assistant's Mosquitto
//! add-on run it), a real Home Assistant from `../shared/ha-harness` on that broker, the simulator
//! with its clock running (usage values move as in a live system) and the bridge binary, then
//! prints:
//!
//! - time from the bridge's start until every entity shows in Home Assistant the value the broker
//!   holds (target ≤ 60 s), and the same after a broker restart and after a Home Assistant restart;
//! - messages the broker dropped (`$SYS/broker/publish/messages/dropped`, which Mosquitto
//!   publishes only once it is not zero; target 0);
//! - Home Assistant's CPU seconds per minute at the resource cadence (`utime + stime` of its
//!   process from `/proc/PID/stat`, over one minute), and the bridge's publishes in that minute.
//!
//! "Shows the value" is checked for every sensor and binary sensor the bridge announced: HA's
//! state and JSON attributes against what the broker holds retained, read just before and just
//! after HA's `/api/states` (values move, so either read counts). It is a measurement, not a
//! timed test: it prints what it measured and exits non-zero only when it could not measure.

use std::time::{Duration, Instant};

use anyhow::Context;
use dca_tests::bridge::{Bridge, BridgeConfig};
use dca_tests::broker::{Broker, QueueLimit};
use dca_tests::ha::HomeAssistant;
use dca_tests::ha_values::{AtLeast, Comparison, broker_dropped, until_correct};
use dca_tests::process::cpu_seconds;
use dca_tests::sim::Sim;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

struct Options {
    scenario: String,
    poll: String,
    time_scale: f64,
    flavour: Option<String>,
    limit: Duration,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        scenario: "large".into(),
        poll: "10s".into(),
        time_scale: 1.0,
        flavour: Some("current".into()),
        limit: Duration::from_secs(180),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scenario" => o.scenario = args.next().context("--scenario NAME")?,
            "--poll" => o.poll = args.next().context("--poll DURATION")?,
            "--time-scale" => o.time_scale = args.next().context("--time-scale F")?.parse()?,
            "--flavour" => {
                let f = args.next().context("--flavour current|default")?;
                o.flavour = (f != "default").then_some(f);
            }
            "--limit" => {
                let s = args.next().context("--limit SECONDS")?;
                o.limit = Duration::from_secs(s.trim_end_matches('s').parse()?);
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

static LIVE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts the live (not retained) messages on `filter` into [`LIVE`], subscribed at QoS 0 so the
/// count never makes the broker queue (or drop) anything.
async fn count_live(port: u16, filter: String) -> anyhow::Result<()> {
    let opts = MqttOptions::new(dca_tests::unique_name("count"), "127.0.0.1", port);
    let (client, mut events) = AsyncClient::new(opts, 8);
    client.subscribe(filter, QoS::AtMostOnce).await?;
    loop {
        if let Event::Incoming(Packet::Publish(p)) = events.poll().await?
            && !p.retain
        {
            LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// One "until every entity is right" phase.
struct Phase {
    name: &'static str,
    result: Result<(Duration, Comparison), String>,
}

async fn run(opts: Options) -> anyhow::Result<()> {
    let shared = dca_tests::require_ha_harness("the Home Assistant benchmark")?;
    let sim = Sim::start(&opts.scenario, opts.time_scale).await?;
    sim.fault(serde_json::json!({ "token_ttl_seconds": 3600.0 / opts.time_scale }))
        .await?;
    let hosts = sim.client()?.hosts().await?.len();
    let mut broker = Broker::start_with(QueueLimit::Stock).await?;
    let mut ha = HomeAssistant::start_on(&shared, broker.port(), opts.flavour.as_deref()).await?;
    let dir = tempfile::tempdir()?;
    let state_dir = dir.path().join("state");
    std::fs::create_dir_all(&state_dir)?;
    let mut config = BridgeConfig::for_test(
        broker.port(),
        sim.url(),
        sim.username(),
        sim.password(),
        &state_dir,
    );
    config.poll_resources = opts.poll.clone();
    config.poll_updates = "1h".into();
    config.log_level = "info".into();
    let binary = dca_tests::bridge::bridge_binary()?;
    println!("bridge binary: {}", binary.display());
    println!(
        "scenario {}: {hosts} hosts; Home Assistant {}; Mosquitto with default limits on {}; \
         resource poll {}, simulator time scale {}",
        opts.scenario,
        opts.flavour.as_deref().unwrap_or("default (2025.4)"),
        broker.port(),
        opts.poll,
        opts.time_scale
    );
    let min_hosts = 3 * hosts;
    let (base, prefix, instance) = (
        config.base_topic.clone(),
        config.discovery_prefix.clone(),
        config.instance_id.clone(),
    );
    let port = broker.port();
    let mut phases = Vec::new();

    let started = Instant::now();
    let mut bridge = Bridge::spawn(&config, dir.path())?;
    let first = until_correct(
        &ha,
        port,
        &base,
        &prefix,
        &instance,
        AtLeast {
            entities: 0,
            hosts: min_hosts,
        },
        opts.limit,
    )
    .await;
    // Later phases must show at least as many entities again.
    let all = first.as_ref().map_or(0, |(_, c)| c.checked);
    phases.push(Phase {
        name: "bridge start",
        result: first
            .map(|(_, c)| (started.elapsed(), c))
            .map_err(|e| format!("{e:#}")),
    });
    // `$SYS` counters are refreshed every 10 s: wait for a fresh one before the restart resets it.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let dropped_before_restart = broker_dropped(port).await.ok();

    broker.restart().await?;
    let started = Instant::now();
    let after_broker = until_correct(
        &ha,
        port,
        &base,
        &prefix,
        &instance,
        AtLeast {
            entities: all,
            hosts: min_hosts,
        },
        opts.limit,
    )
    .await;
    phases.push(Phase {
        name: "broker restart",
        result: after_broker
            .map(|(_, c)| (started.elapsed(), c))
            .map_err(|e| format!("{e:#}")),
    });

    let started = Instant::now();
    ha.restart().await?;
    let ha_ready = started.elapsed();
    let after_ha = until_correct(
        &ha,
        port,
        &base,
        &prefix,
        &instance,
        AtLeast {
            entities: all,
            hosts: min_hosts,
        },
        opts.limit,
    )
    .await;
    let after_ha_ready = after_ha.as_ref().ok().map(|(t, _)| *t);
    phases.push(Phase {
        name: "Home Assistant restart",
        result: after_ha
            .map(|(_, c)| (started.elapsed(), c))
            .map_err(|e| format!("{e:#}")),
    });

    // One minute at the resource cadence, once everything has settled.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let ha_pid = ha.pid().context("no Home Assistant PID")?;
    let counter = tokio::spawn(count_live(port, format!("{base}/{instance}/#")));
    let cpu_before = cpu_seconds(ha_pid)?;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let cpu_minute = cpu_seconds(ha_pid)? - cpu_before;
    counter.abort();
    let published_minute = LIVE.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let dropped_after_restart = broker_dropped(port).await.ok();
    let refresh_note = bridge
        .log()
        .lines()
        .filter(|l| l.contains("dropped") || l.contains("MQTT publish failed"))
        .count();
    let _ = bridge.terminate(Duration::from_secs(20)).await;
    let broker_log_drops = broker
        .log()
        .lines()
        .filter(|l| l.contains("Outgoing messages are being dropped"))
        .count();
    ha.stop();

    let verdict = |ok: bool| if ok { "ok" } else { "OVER TARGET" };
    println!();
    println!("| measure ({hosts} hosts) | value | target | |");
    println!("|---|---|---|---|");
    for p in &phases {
        match &p.result {
            Ok((t, c)) => println!(
                "| {}: every entity right in Home Assistant ({} entities, {} of hosts) | {:.1} s | <= 60 s | {} |",
                p.name,
                c.checked,
                c.hosts,
                t.as_secs_f64(),
                verdict(*t <= Duration::from_secs(60))
            ),
            Err(e) => println!(
                "| {}: every entity right in Home Assistant | not within {} s: {e} | <= 60 s | OVER TARGET |",
                p.name,
                opts.limit.as_secs()
            ),
        }
    }
    println!(
        "| (of which Home Assistant's own restart, to ready) | {:.1} s | | |",
        ha_ready.as_secs_f64()
    );
    if let Some(t) = after_ha_ready {
        println!(
            "| Home Assistant ready to every entity right | {:.1} s | <= 60 s | {} |",
            t.as_secs_f64(),
            verdict(t <= Duration::from_secs(60))
        );
    }
    let dropped = match (dropped_before_restart, dropped_after_restart) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    };
    match dropped {
        Some(n) => println!(
            "| messages dropped by the broker ($SYS) | {n} (start {}, after the broker restart {}); {broker_log_drops} \"being dropped\" log lines | 0 | {} |",
            dropped_before_restart.unwrap_or_default(),
            dropped_after_restart.unwrap_or_default(),
            verdict(n == 0)
        ),
        None => println!(
            "| messages dropped by the broker ($SYS) | not read; {broker_log_drops} \"being dropped\" log lines | 0 | |"
        ),
    }
    println!(
        "| Home Assistant CPU per minute at a {} cadence | {cpu_minute:.2} s | | |",
        opts.poll
    );
    println!("| bridge publishes in that minute | {published_minute} | | |");
    if refresh_note > 0 {
        println!("bridge log lines about failed publishes: {refresh_note}");
    }
    sim.shutdown().await;
    Ok(())
}
