//! Commands on the bridge's command topics: Check for updates polls at once; malformed payloads
//! and retained (stale) commands never act.

use dca_tests::recorder::{Mark, Recorder};
use dca_tests::rig::Rig;
use dca_tests::sim::Sim;
use dca_tests::wait::secs;

use crate::common::{Inventory, REAL_TIME};

/// Requests that only an update check makes.
const FUTURE_RELEASES: &str = "GET /v1/releases/domains/{id}/future-releases";

/// Requests that only an upgrade makes.
fn upgrade_requests(sim_log: &[dca_tests::sim::SimLogEntry]) -> Vec<String> {
    sim_log
        .iter()
        .filter(|e| {
            (e.method == "PATCH"
                && (e.path.starts_with("/v1/bundles")
                    || e.path.starts_with("/v1/releases/domains")))
                || (e.method == "POST"
                    && (e.path == "/v1/upgrades" || e.path.starts_with("/v1/system/check-sets")))
        })
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// Waits until the first update check has covered every domain (each shows its Status), so
/// that counting update-check requests from here on sees only what a test causes.
async fn wait_first_update_check(rig: &Rig, inventory: &Inventory) -> anyhow::Result<()> {
    for d in &inventory.domains {
        rig.recorder
            .wait_current(
                &rig.domain_topic(&d.slug, "status"),
                "updates_available",
                secs(60),
            )
            .await?;
    }
    Ok(())
}

async fn future_release_calls(sim: &Sim) -> anyhow::Result<u64> {
    Ok(sim.requests().await?.count(FUTURE_RELEASES))
}

/// Pressing Check for updates polls SDDC Manager at once, long before the 1 h interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_for_updates_polls_at_once() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.poll_updates = "1h".into();
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_first_update_check(&rig, &inventory).await?;
    let before = future_release_calls(&rig.sim).await?;
    rig.press("bridge/check_updates/set").await?;
    let sim = &rig.sim;
    let polled =
        dca_tests::wait::until_ok("an update check after the press", secs(30), || async move {
            Ok((future_release_calls(sim).await? > before).then_some(()))
        })
        .await;
    rig.with_log(polled)
}

/// Malformed payloads are rejected without acting: no poll, no upgrade, no switch change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_payloads_do_nothing() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.poll_updates = "1h".into();
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    let m01 = inventory.domain("sfo-m01").slug.clone();
    wait_first_update_check(&rig, &inventory).await?;
    rig.recorder
        .wait_current(&rig.domain_topic(&m01, "ignore_alerts"), "OFF", secs(60))
        .await?;
    let calls_before = future_release_calls(&rig.sim).await?;
    let mark = rig.recorder.mark();
    for (rest, payload) in [
        ("bridge/check_updates/set".to_string(), "BOGUS"),
        (
            format!("domain/{m01}/upgrade/start/set"),
            "{\"press\": true}",
        ),
        (format!("domain/{m01}/upgrade/start/set"), ""),
        (format!("domain/{m01}/ignore_alerts/set"), "maybe"),
        (format!("domain/{m01}/update/install"), "PRESS"),
    ] {
        rig.recorder
            .publish(&rig.topic(&rest), payload, false)
            .await?;
    }
    // A valid command after them: once its effect shows, the bad ones have been handled.
    rig.recorder
        .publish(&rig.domain_topic(&m01, "ignore_alerts/set"), "ON", false)
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
    rig.recorder.sync().await?;
    rig.bridge().ensure_running()?;

    let switch_values: Vec<String> = rig
        .recorder
        .on_topic_since(&rig.domain_topic(&m01, "ignore_alerts"), mark)
        .iter()
        .map(|m| m.text())
        .collect();
    anyhow::ensure!(
        switch_values == ["ON"],
        "ignore_alerts went through {switch_values:?}"
    );
    let status = rig
        .recorder
        .latest(&rig.domain_topic(&m01, "upgrade/status"))
        .map(|m| m.text());
    anyhow::ensure!(
        status.as_deref() == Some("waiting_for_initiation"),
        "a malformed start press changed the upgrade status to {status:?}"
    );
    anyhow::ensure!(
        future_release_calls(&rig.sim).await? == calls_before,
        "a malformed check-for-updates payload triggered a poll"
    );
    let acted = upgrade_requests(&rig.sim.log().await?);
    anyhow::ensure!(
        acted.is_empty(),
        "malformed payloads reached SDDC Manager: {acted:?}"
    );
    Ok(())
}

/// A retained "press" left on the broker never acts — not at start, and not later (the bridge
/// clears it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_commands_are_ignored() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.poll_updates = "1h".into();
    let inventory = Inventory::read(&rig.sim).await?;
    let m01 = inventory.domain("sfo-m01").slug.clone();
    let start = rig.domain_topic(&m01, "upgrade/start/set");
    let ignore = rig.domain_topic(&m01, "ignore_alerts/set");
    let check = rig.topic("bridge/check_updates/set");
    rig.recorder.publish(&start, "PRESS", true).await?;
    rig.recorder.publish(&ignore, "ON", true).await?;
    rig.recorder.publish(&check, "PRESS", true).await?;
    rig.recorder.sync().await?;

    rig.start_bridge_online().await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&m01, "upgrade/status"),
            "waiting_for_initiation",
            secs(60),
        )
        .await?;
    wait_first_update_check(&rig, &inventory).await?;
    let calls_after_start = future_release_calls(&rig.sim).await?;
    // A live press as a barrier: its poll shows the bridge has handled its subscriptions.
    rig.press("bridge/check_updates/set").await?;
    let sim = &rig.sim;
    dca_tests::wait::until_ok("the live check press to poll", secs(30), || async move {
        Ok((future_release_calls(sim).await? > calls_after_start).then_some(()))
    })
    .await?;
    rig.recorder.sync().await?;

    let acted = upgrade_requests(&rig.sim.log().await?);
    anyhow::ensure!(acted.is_empty(), "a retained start press acted: {acted:?}");
    let switch: Vec<String> = rig
        .recorder
        .on_topic_since(&rig.domain_topic(&m01, "ignore_alerts"), Mark(0))
        .iter()
        .map(|m| m.text())
        .collect();
    anyhow::ensure!(
        !switch.contains(&"ON".to_string()),
        "a retained switch command acted: {switch:?}"
    );
    // And the stale commands are gone from the broker, so they cannot act later either.
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    for t in [&start, &ignore, &check] {
        anyhow::ensure!(
            !retained.contains_key(t),
            "retained command {t} was left on the broker"
        );
    }
    Ok(())
}
