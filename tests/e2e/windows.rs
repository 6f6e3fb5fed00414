//! Maintenance windows through the real bridge, on the test-only simulated clock
//! (`VCF_MQTT_BRIDGE_TEST_CLOCK`, 60 times real speed): a flow started outside its window
//! downloads and prechecks at once, then waits and shows when it goes on; windows changed from
//! Home Assistant apply at once and survive a restart; when the clock enters the window, the
//! component upgrades start and the flow completes.

use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use dca_tests::bridge::fast_upgrade_settings;
use dca_tests::rig::Rig;
use dca_tests::wait::secs;
use serde_json::Value;

use crate::flow::{FAST, press, upgrades_started, wait_event, wait_status};

/// The simulated clock starts on a Thursday at noon, UTC.
const CLOCK_START: &str = "2026-12-03T12:00:00Z";
/// Simulated seconds per real second.
const SPEED: f64 = 60.0;

/// The fast test timings, in simulated time (each interval 60 times longer, so in real time
/// they are what every other upgrade test uses).
fn upgrade_settings() -> toml::Table {
    let mut t = fast_upgrade_settings();
    for (key, value) in [
        ("bundle_poll_interval", "12s"),
        ("download_timeout", "600h"),
        ("sddc_manager_poll_interval", "12s"),
        ("sddc_manager_settle", "30s"),
        ("sddc_manager_timeout", "600h"),
        ("precheck_poll_interval", "12s"),
        ("precheck_timeout", "600h"),
        ("upgrade_poll_interval", "12s"),
        ("component_timeout", "600h"),
        ("validation_poll_interval", "12s"),
        ("validation_timeout", "600h"),
        ("completed_hold", "3m"),
    ] {
        t.insert(key.into(), value.into());
    }
    let mut windows = toml::Table::new();
    windows.insert(
        "sfo-m01".into(),
        toml::Value::Array(vec!["Sat 22:00-Sun 04:00".into()]),
    );
    t.insert("windows".into(), windows.into());
    t
}

fn flow_state(rig: &Rig, d: &str) -> Value {
    rig.recorder
        .latest(&rig.domain_topic(d, "upgrade/state"))
        .and_then(|m| m.json().ok())
        .unwrap_or_default()
}

fn weekday(t: DateTime<Utc>) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][t.weekday().num_days_from_monday() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_outside_its_window_waits_and_proceeds_when_the_clock_enters_it()
-> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    rig.config.upgrade = upgrade_settings();
    rig.config.env = vec![(
        "VCF_MQTT_BRIDGE_TEST_CLOCK".into(),
        format!("{CLOCK_START} x{SPEED}"),
    )];
    let spawned = Instant::now();
    rig.start_bridge_online().await?;
    let d = "sfo_m01";
    rig.recorder
        .wait_current(
            &rig.domain_topic(d, "status"),
            "updates_available",
            secs(60),
        )
        .await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(d, "upgrade/windows"),
            "Sat 22:00-Sun 04:00",
            secs(10),
        )
        .await?;

    let mark = rig.recorder.mark();
    press(&rig, d, "start").await?;
    // Downloads, SDDC Manager and the prechecks run at once; then the flow waits.
    let topic = rig.domain_topic(d, "upgrade/state");
    let waiting = rig
        .recorder
        .wait_for(mark, "the flow to wait for its window", secs(300), |m| {
            m.topic == topic
                && m.json()
                    .is_ok_and(|v| v["phase_detail"] == "waiting_for_window")
        })
        .await
        .and_then(|m| m.json());
    let waiting = rig.with_log(waiting)?;
    anyhow::ensure!(waiting["status"] == "starting_upgrades", "{waiting}");
    anyhow::ensure!(
        waiting["next_window_start"] == "2026-12-05T22:00:00Z",
        "{waiting}"
    );
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        log.iter()
            .filter(|e| e.method == "POST" && e.path == "/v1/system/check-sets")
            .count()
            == 1,
        "the prechecks did not run before the wait"
    );
    let sddc_only = upgrades_started(&log);
    let state = rig.sim.state().await?;
    let components: Vec<&str> = state["upgrades"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["component"].as_str())
        .collect();
    anyhow::ensure!(
        components.iter().all(|c| *c == "SDDC_MANAGER"),
        "a component upgrade started outside the window: {components:?}"
    );
    // The Upgrade Status attributes and the update entity say when it goes on.
    let attrs = rig
        .recorder
        .latest(&rig.domain_topic(d, "upgrade/status/attributes"))
        .and_then(|m| m.json().ok())
        .unwrap_or_default();
    anyhow::ensure!(
        attrs["next_window_start"] == "2026-12-05T22:00:00Z",
        "{attrs}"
    );
    let update = rig
        .recorder
        .wait_for(mark, "the update entity to say when", secs(30), |m| {
            m.topic == rig.domain_topic(d, "update/state")
                && m.text().contains("Waiting for the maintenance window")
        })
        .await;
    rig.with_log(update)?;

    // A window that cannot be read is refused by name, and nothing changes.
    let bad = rig.recorder.mark();
    rig.recorder
        .publish(
            &rig.domain_topic(d, "upgrade/windows/set"),
            "Sat 25:00-Sun 04:00",
            false,
        )
        .await?;
    let event = wait_event(&mut rig, d, "info", bad, 30).await?;
    let msg = event["message"].as_str().unwrap_or_default();
    anyhow::ensure!(msg.contains("\"Sat 25:00-Sun 04:00\""), "{msg}");
    anyhow::ensure!(flow_state(&rig, d)["next_window_start"] == "2026-12-05T22:00:00Z");

    // A window from Home Assistant that opens about two simulated minutes from now (two real
    // seconds): the flow shows the new start, still waits, and goes on once the clock is there.
    let clock_now = DateTime::parse_from_rfc3339(CLOCK_START)?.with_timezone(&Utc)
        + Duration::milliseconds((spawned.elapsed().as_secs_f64() * SPEED * 1000.0) as i64);
    let opens = (clock_now + Duration::minutes(3))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .ok_or_else(|| anyhow::anyhow!("bad time"))?;
    let closes = opens + Duration::hours(2);
    let window = format!(
        "{} {}-{} {}",
        weekday(opens),
        opens.format("%H:%M"),
        weekday(closes),
        closes.format("%H:%M")
    );
    let set = rig.recorder.mark();
    rig.recorder
        .publish(&rig.domain_topic(d, "upgrade/windows/set"), &window, false)
        .await?;
    let expected = opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let moved = rig
        .recorder
        .wait_for(set, "the new window to be shown", secs(30), |m| {
            m.topic == topic && m.json().is_ok_and(|v| v["next_window_start"] == expected)
        })
        .await;
    rig.with_log(moved)?;
    rig.recorder
        .wait_current(&rig.domain_topic(d, "upgrade/windows"), &window, secs(10))
        .await?;
    anyhow::ensure!(
        upgrades_started(&rig.sim.log().await?) == sddc_only,
        "a component upgrade started before the new window opened"
    );
    wait_status(&mut rig, d, "successfully_completed", set, 300).await?;
    let logs = flow_state(&rig, d)["logs_markdown"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    anyhow::ensure!(
        logs.contains("Maintenance window of sfo-m01 open"),
        "{logs}"
    );
    anyhow::ensure!(upgrades_started(&rig.sim.log().await?) > sddc_only);
    let state = rig.sim.state().await?;
    let version = state["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["name"] == "sfo-m01")
        .map(|x| x["version"].clone())
        .unwrap_or_default();
    anyhow::ensure!(version == "5.2.1.0", "sfo-m01 ended on {version}");

    // The window set from Home Assistant outlives a kill -9 of the bridge.
    rig.bridge().kill9()?;
    let restart = rig.recorder.mark();
    rig.start_bridge_online().await?;
    let kept = rig
        .recorder
        .wait_payload(
            restart,
            &rig.domain_topic(d, "upgrade/windows"),
            &window,
            secs(30),
        )
        .await;
    rig.with_log(kept)?;
    Ok(())
}
