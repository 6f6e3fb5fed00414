//! No value is lost on the way to a real Home Assistant behind a broker with a small queue.
//!
//! A stock Mosquitto queues 1,000 QoS 1 messages per client and drops the rest; Home Assistant
//! reads its queue only as fast as it processes messages. With read-only entities subscribed at
//! QoS 0 (never queued per client) and paced publishing (`mqtt.publish_rate`), even a queue ten
//! times smaller than the default loses nothing at 192 hosts: every sensor shows the value and
//! attributes the broker holds, at start and after a broker restart, and the broker logs no drop.
//! The bridge as it was before (QoS 1 subscriptions, unpaced) fails this test with 516 of 597
//! sensors `unknown`.

use dca_tests::bridge::{Bridge, BridgeConfig};
use dca_tests::broker::{Broker, QueueLimit};
use dca_tests::ha::HomeAssistant;
use dca_tests::ha_values::{AtLeast, until_correct};
use dca_tests::sim::Sim;
use dca_tests::wait::secs;

/// The simulated clock stands still: every value stays what it was when first read.
const FROZEN: f64 = 1e9;

/// Hosts in [`scenario`].
const HOSTS: usize = 192;

/// A tenth of the broker's default queue per client.
const QUEUE: u32 = 100;

/// How long every value may take to arrive. Not a speed target (the `ha` benchmark measures
/// that: about 50 s for 1,152 hosts): a lost value never arrives, so a generous deadline keeps
/// the test about loss alone, also on a 2-core machine busy with other tests.
const DEADLINE_SECS: u64 = 180;

/// Two domains of the `large` estate's shape (48 hosts per cluster instead of 24), 192 hosts.
fn scenario() -> anyhow::Result<vcf_sim::Scenario> {
    let mut toml = String::from(
        "base = \"default\"\nname = \"lost-values\"\ndescription = \"2 domains, 4 clusters, 192 hosts\"\n",
    );
    for (domain, kind) in [("sfo-m01", "MANAGEMENT"), ("sfo-w01", "VI")] {
        toml.push_str(&format!(
            "\n[[domains]]\nname = \"{domain}\"\ntype = \"{kind}\"\nversion = \"5.2.0.0\"\n"
        ));
        for c in 1..=2 {
            toml.push_str(&format!(
                "\n[[domains.clusters]]\nname = \"{domain}-cl0{c}\"\nhost_count = 48\n"
            ));
        }
    }
    vcf_sim::Scenario::from_toml_str(&toml)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_value_is_lost_behind_a_small_broker_queue() -> anyhow::Result<()> {
    let shared = dca_tests::require_ha_harness(
        "home_assistant::lost_values::no_value_is_lost_behind_a_small_broker_queue",
    )?;
    let sim = Sim::start_with(scenario()?, FROZEN, "127.0.0.1:0".parse()?).await?;
    sim.fault(serde_json::json!({ "token_ttl_seconds": 3600.0 / FROZEN }))
        .await?;
    anyhow::ensure!(sim.client()?.hosts().await?.len() == HOSTS);
    let mut broker = Broker::start_with(QueueLimit::At(QUEUE)).await?;
    let flavour = std::env::var("HA_FLAVOUR").ok();
    let mut ha = HomeAssistant::start_on(&shared, broker.port(), flavour.as_deref()).await?;
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
    config.poll_resources = "2s".into();
    let mut bridge = Bridge::spawn(&config, dir.path())?;
    let (base, prefix, instance) = (
        config.base_topic.as_str(),
        config.discovery_prefix.as_str(),
        config.instance_id.as_str(),
    );
    let port = broker.port();
    let result = async {
        let (took, c) = until_correct(
            &ha,
            port,
            base,
            prefix,
            instance,
            AtLeast {
                entities: 0,
                hosts: 3 * HOSTS,
            },
            secs(DEADLINE_SECS),
        )
        .await
        .map_err(|e| e.context("after the bridge started"))?;
        let all = c.checked;
        eprintln!("bridge start: {c} after {took:?}");
        broker.restart().await?;
        let (took, c) = until_correct(
            &ha,
            port,
            base,
            prefix,
            instance,
            AtLeast {
                entities: all,
                hosts: 3 * HOSTS,
            },
            secs(DEADLINE_SECS),
        )
        .await
        .map_err(|e| e.context("after a broker restart"))?;
        eprintln!("broker restart: {c} after {took:?}");
        let drops: Vec<String> = broker
            .log()
            .lines()
            .filter(|l| l.contains("Outgoing messages are being dropped"))
            .map(str::to_owned)
            .collect();
        anyhow::ensure!(
            drops.is_empty(),
            "the broker dropped messages (max_queued_messages {QUEUE}):\n{}",
            drops.join("\n")
        );
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        eprintln!(
            "----- bridge log tail -----\n{}\n----- Home Assistant log tail -----\n{}",
            dca_tests::rig::tail(&bridge.log(), 30),
            dca_tests::rig::tail(&ha.log(), 30)
        );
    }
    let _ = bridge.terminate(secs(20)).await;
    ha.stop();
    sim.shutdown().await;
    result
}
