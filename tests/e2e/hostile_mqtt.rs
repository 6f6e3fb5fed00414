//! Hostile MQTT input: no message anyone can publish keeps the bridge offline or floods its log.
use dca_tests::broker::BrokerKind;
use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::{Inventory, REAL_TIME, discovery_topic};

/// Over the bridge's 256 KiB packet limit, like the message that used to keep it offline.
const OVERSIZED: usize = 300 * 1024;

/// The longest log line the tests accept from the bridge (the JSON of one event with an 80
/// character payload excerpt and a 200 character topic is far below).
const MAX_LOG_LINE: usize = 1_000;

/// A retained 300 KB message on `homeassistant/status` and on a command topic, published before
/// and after the bridge connects, leaves it online on its first connection: it keeps serving the
/// birth message and commands, acts on none of the oversized messages, and logs bounded lines.
/// (On the embedded rumqttd broker, which ignores the MQTT 5 Maximum Packet Size, it costs one
/// reconnect, said once.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_retained_messages_leave_the_bridge_online_and_obeying() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.poll_updates = "1h".into();
    let inventory = Inventory::read(&rig.sim).await?;
    let m01 = inventory.domain("sfo-m01").slug.clone();
    let ha_status = format!("{}/status", rig.config.discovery_prefix);
    let start_topic = rig.domain_topic(&m01, "upgrade/start/set");
    let ignore_alerts_set = rig.domain_topic(&m01, "ignore_alerts/set");
    // Valid words padded to 300 KB: should any of them arrive, the bridge must still refuse it.
    let big = |word: &str| format!("{word}{}", "x".repeat(OVERSIZED - word.len()));

    // Before the bridge connects.
    rig.recorder
        .publish(&ha_status, &big("online"), true)
        .await?;
    rig.recorder
        .publish(&start_topic, &big("PRESS"), true)
        .await?;
    rig.recorder.sync().await?;
    rig.start_bridge_online().await?;
    let online_since = rig.recorder.mark();
    rig.recorder
        .wait_current(&rig.domain_topic(&m01, "ignore_alerts"), "OFF", secs(60))
        .await?;

    // After it connected: the same on the ignore_alerts switch, then a message within the limit
    // that is neither `online` nor `offline`, with a forged log line in it.
    rig.recorder
        .publish(&ignore_alerts_set, &big("ON"), true)
        .await?;
    rig.recorder
        .publish(&ha_status, &big("online"), true)
        .await?;
    let forged = format!(
        "garbage\n2026-12-03T00:00:00Z  INFO forged line{}",
        "y".repeat(10 * 1024)
    );
    rig.recorder.publish(&ha_status, &forged, true).await?;

    // Home Assistant's birth message still re-announces discovery.
    let mark = rig.recorder.sync().await?;
    rig.recorder.publish(&ha_status, "online", false).await?;
    let connectivity = discovery_topic(
        &rig,
        "binary_sensor",
        &format!("vcf_{}_connectivity", rig.config.instance_id),
    );
    let reannounced = rig.recorder.wait_topic(mark, &connectivity, secs(30)).await;
    rig.with_log(reannounced)?;

    // A valid command still acts and its state is published; so does Check for updates.
    rig.recorder
        .publish(&ignore_alerts_set, "ON", false)
        .await?;
    let on = rig
        .recorder
        .wait_payload(
            mark,
            &rig.domain_topic(&m01, "ignore_alerts"),
            "ON",
            secs(30),
        )
        .await;
    rig.with_log(on)?;
    let polls = |log: &dca_tests::sim::SimRequests| {
        log.count("GET /v1/releases/domains/{id}/future-releases")
    };
    let before = polls(&rig.sim.requests().await?);
    rig.press("bridge/check_updates/set").await?;
    let sim = &rig.sim;
    let polled =
        dca_tests::wait::until_ok("an update check after the press", secs(30), || async move {
            Ok((polls(&sim.requests().await?) > before).then_some(()))
        })
        .await;
    rig.with_log(polled)?;
    rig.recorder.sync().await?;
    rig.bridge().ensure_running()?;

    let availability: Vec<String> = rig
        .recorder
        .on_topic_since(&rig.topic("bridge/state"), online_since)
        .iter()
        .map(|m| m.text())
        .collect();
    let log = rig.bridge().log();
    let connections = log.matches("connected to MQTT broker").count();
    let noncompliant = log.matches("announced as its Maximum Packet Size").count();
    if rig.broker_mut()?.kind() == BrokerKind::Mosquitto {
        // Mosquitto honours the Maximum Packet Size: online throughout, on one connection.
        anyhow::ensure!(
            availability.iter().all(|s| s == "online"),
            "the bridge's availability went through {availability:?}"
        );
        anyhow::ensure!(
            connections == 1 && !log.contains("reconnecting") && noncompliant == 0,
            "the bridge connected {connections} times:\n{}",
            dca_tests::rig::tail(&log, 40)
        );
    } else {
        // rumqttd ignores it: one reconnect, said once, then online for good.
        anyhow::ensure!(
            availability.last().is_none_or(|s| s == "online"),
            "the bridge's availability went through {availability:?}"
        );
        anyhow::ensure!(
            connections == 2 && noncompliant == 1,
            "the bridge connected {connections} times:\n{}",
            dca_tests::rig::tail(&log, 40)
        );
    }
    // No oversized message acted: no upgrade was started.
    let upgrades = rig.sim.requests().await?.count("POST /v1/upgrades");
    anyhow::ensure!(upgrades == 0, "{upgrades} upgrades were requested");
    // Bounded log lines; the refused status said once, escaped, short.
    let longest = log.lines().map(str::len).max().unwrap_or(0);
    anyhow::ensure!(
        longest <= MAX_LOG_LINE,
        "a log line of {longest} characters"
    );
    anyhow::ensure!(
        !log.lines().any(|l| l.starts_with("2026-12-03T00:00:00Z")),
        "a payload forged a log line:\n{log}"
    );
    let refused = log
        .lines()
        .filter(|l| l.contains("neither online nor offline"))
        .count();
    anyhow::ensure!(
        refused == 1,
        "{refused} warnings for the refused status:\n{}",
        dca_tests::rig::tail(&log, 40)
    );
    Ok(())
}
