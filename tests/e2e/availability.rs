//! Availability: `online`/`offline` on a clean stop and on a crash (the broker's last will),
//! recovery after a broker restart, and an SDDC Manager outage (connectivity off, no false
//! values, recovery by itself).

use dca_tests::recorder::Recorder;
use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::{Inventory, REAL_TIME, number, wait_discovery_complete};

/// SIGTERM: the bridge says `offline` (retained) itself and exits 0 within the drain bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_stop_publishes_offline_retained() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.start_bridge_online().await?;
    let mark = rig.recorder.mark();
    let status = rig.bridge().terminate(secs(30)).await?;
    anyhow::ensure!(status.success(), "bridge exited with {status} on SIGTERM");
    rig.wait_payload(mark, "bridge/state", "offline", secs(10))
        .await?;
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    let state = retained
        .get(&rig.topic("bridge/state"))
        .map(|m| m.text())
        .unwrap_or_default();
    anyhow::ensure!(
        state == "offline",
        "retained bridge/state is {state:?} after a clean stop"
    );
    Ok(())
}

/// kill -9: the broker publishes the last will `offline` (retained); a restarted bridge is
/// `online` again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_publishes_last_will_and_restart_comes_back() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.start_bridge_online().await?;
    let mark = rig.recorder.mark();
    rig.bridge().kill9()?;
    rig.recorder
        .wait_payload(mark, &rig.topic("bridge/state"), "offline", secs(30))
        .await?;
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    anyhow::ensure!(
        retained.get(&rig.topic("bridge/state")).map(|m| m.text()) == Some("offline".into()),
        "the last will must be retained"
    );
    rig.start_bridge_online().await?;
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    anyhow::ensure!(
        retained.get(&rig.topic("bridge/state")).map(|m| m.text()) == Some("online".into()),
        "restarted bridge must be retained online"
    );
    Ok(())
}

/// The broker restarts and forgets everything (no persistence): the bridge reconnects and
/// publishes its availability, discovery configs and states again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_broker_restart() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;

    // Marked before the restart: the bridge may be back (and its `online` delivered to the
    // recorder as it re-subscribes) before the recorder has noticed its own reconnection.
    let mark = rig.recorder.mark();
    rig.broker_mut()?.restart().await?;
    rig.recorder.wait_subscribed(2).await?;
    let back = rig
        .recorder
        .wait_payload(mark, &rig.topic("bridge/state"), "online", secs(90))
        .await;
    rig.with_log(back)?;
    rig.bridge().ensure_running()?;
    // Wait until the configs are all back, then check the broker holds them retained.
    let expected = inventory.expected_entities(&rig.config.instance_id);
    let topics: Vec<String> = expected
        .iter()
        .map(|(c, o)| crate::common::discovery_topic(&rig, c, o))
        .collect();
    let recorder = &rig.recorder;
    let all_back = dca_tests::wait::until("discovery after the broker restart", secs(60), || {
        let seen: std::collections::BTreeSet<String> =
            recorder.since(mark).into_iter().map(|m| m.topic).collect();
        let done = topics.iter().all(|t| seen.contains(t));
        async move { done.then_some(()) }
    })
    .await;
    rig.with_log(all_back)?;
    let m01 = inventory.domain("sfo-m01").slug.clone();
    rig.recorder
        .wait_topic(mark, &rig.domain_topic(&m01, "current_version"), secs(60))
        .await?;
    let prefix = rig.config.discovery_prefix.clone();
    let retained = Recorder::retained(rig.mqtt_port(), &[&prefix, &rig.config.base_topic]).await?;
    for t in &topics {
        anyhow::ensure!(
            retained.contains_key(t),
            "{t} not retained after the broker restart"
        );
    }
    anyhow::ensure!(
        retained.get(&rig.topic("bridge/state")).map(|m| m.text()) == Some("online".into()),
        "bridge/state not retained online after the broker restart"
    );
    Ok(())
}

/// SDDC Manager stops answering: connectivity goes `OFF` (VCF entities become unavailable in
/// HA through it), no usage is reported as a false 0, the bridge stays `online`; when SDDC
/// Manager is back, connectivity is `ON` and fresh values flow again, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sddc_manager_outage_and_recovery() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    let connectivity = rig.topic("bridge/connectivity");
    rig.recorder
        .wait_current(&connectivity, "ON", secs(60))
        .await?;

    // An outage that ends by itself: the simulator's own /sim endpoints go down with the API.
    let outage = rig.recorder.mark();
    rig.sim
        .fault(serde_json::json!({ "outage_seconds": 20, "unready_seconds": 0, "restart": false }))
        .await?;
    let off = rig
        .recorder
        .wait_payload(outage, &connectivity, "OFF", secs(60))
        .await;
    rig.with_log(off)?;
    let attrs = rig
        .recorder
        .wait_topic(
            outage,
            &rig.topic("bridge/connectivity/attributes"),
            secs(30),
        )
        .await?
        .json()?;
    anyhow::ensure!(
        attrs["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "connectivity attributes must name the error: {attrs}"
    );
    rig.bridge().ensure_running()?;

    let on = rig
        .recorder
        .wait_for(outage, "connectivity ON after the outage", secs(90), |m| {
            m.topic == connectivity && m.payload == b"ON"
        })
        .await;
    let recovered = rig.with_log(on)?;
    let during: Vec<_> = rig
        .recorder
        .since(outage)
        .into_iter()
        .filter(|m| m.seq < recovered.seq)
        .collect();
    for m in &during {
        if m.topic.ends_with("_usage") {
            anyhow::ensure!(
                number(m).is_none_or(|v| v != 0.0),
                "{} reported a false 0 during the outage",
                m.topic
            );
        }
        anyhow::ensure!(
            !(m.topic == rig.topic("bridge/state") && m.payload == b"offline"),
            "the bridge itself must stay online during an SDDC Manager outage"
        );
    }
    let m01 = inventory.domain("sfo-m01").slug.clone();
    rig.recorder
        .wait_current(
            &rig.domain_topic(&m01, "status"),
            "updates_available",
            secs(90),
        )
        .await?;
    Ok(())
}
