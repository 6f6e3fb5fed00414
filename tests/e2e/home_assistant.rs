//! Acceptance in a real Home Assistant (`../shared/ha-harness`), in both releases the harness
//! offers: 2025.4 and today's (`HA_FLAVOUR=current`, 2026.11 on Python 3.14). The entities as
//! HA shows them (the same ids in both), states, units, attributes, availability when the
//! bridge stops and while SDDC Manager is unreachable (the upgrade's own entities stay), every
//! control used from HA itself — Check for updates, Ignore Alerts, Start Upgrade followed to
//! `successfully_completed`, Acknowledge Alerts, the Upgrade Logs markdown — the update entity's
//! release after the version changed, and not one WARNING or ERROR about our entities in HA's
//! log.

use dca_tests::ha::{Flavour, HaState, HomeAssistant};
use dca_tests::recorder::Recorder;
use dca_tests::rig::Rig;
use dca_tests::sim::Sim;
use dca_tests::wait::secs;

use crate::common::Inventory;

mod lost_values;

/// Simulator speed for the acceptance run: the precheck-warnings upgrade takes about a minute.
const HA_TIME_SCALE: f64 = 0.002;

async fn entity(ha: &HomeAssistant, id: &str) -> anyhow::Result<HaState> {
    ha.wait_state(id, "to exist and be available", secs(90), |s| {
        s.state != "unavailable"
    })
    .await
}

/// Home Assistant 2025.4, the oldest release the bridge supports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptance_in_real_home_assistant() -> anyhow::Result<()> {
    acceptance_in(
        Flavour::Default,
        "home_assistant::acceptance_in_real_home_assistant",
    )
    .await
}

/// Today's Home Assistant (2026.11): `default_entity_id` instead of `object_id`, stricter
/// discovery validation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptance_in_current_home_assistant() -> anyhow::Result<()> {
    acceptance_in(
        Flavour::Current,
        "home_assistant::acceptance_in_current_home_assistant",
    )
    .await
}

async fn acceptance_in(flavour: Flavour, test: &str) -> anyhow::Result<()> {
    let shared = dca_tests::require_ha_harness(test)?;
    let mut ha = HomeAssistant::start_flavour(&shared, flavour).await?;
    let result = acceptance(&mut ha).await;
    if result.is_err() {
        eprintln!(
            "----- Home Assistant log tail -----\n{}",
            dca_tests::rig::tail(&ha.log(), 60)
        );
    }
    ha.stop();
    result
}

/// VCF 9 readiness in Home Assistant 2025.4: the notification sensor and event, each cluster's
/// image compliance, and a new SDDC Manager notification as an event HA shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_readiness_in_real_home_assistant() -> anyhow::Result<()> {
    vcf9_readiness_in(
        Flavour::Default,
        "home_assistant::vcf9_readiness_in_real_home_assistant",
    )
    .await
}

/// The same in today's Home Assistant (2026.11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_readiness_in_current_home_assistant() -> anyhow::Result<()> {
    vcf9_readiness_in(
        Flavour::Current,
        "home_assistant::vcf9_readiness_in_current_home_assistant",
    )
    .await
}

async fn vcf9_readiness_in(flavour: Flavour, test: &str) -> anyhow::Result<()> {
    let shared = dca_tests::require_ha_harness(test)?;
    let mut ha = HomeAssistant::start_flavour(&shared, flavour).await?;
    let result = vcf9_readiness(&mut ha).await;
    if result.is_err() {
        eprintln!(
            "----- Home Assistant log tail -----\n{}",
            dca_tests::rig::tail(&ha.log(), 60)
        );
    }
    ha.stop();
    result
}

async fn vcf9_readiness(ha: &mut HomeAssistant) -> anyhow::Result<()> {
    let sim = Sim::start("vcf9-readiness", HA_TIME_SCALE).await?;
    let inventory = Inventory::read(&sim).await?;
    let mut rig = Rig::with_sim_on_broker(sim, ha.mqtt_port).await?;
    let i = rig.config.instance_id.clone();
    rig.start_bridge_online().await?;

    let count = ha
        .wait_state(
            &format!("sensor.vcf_{i}_vcf_notifications"),
            "= 3",
            secs(120),
            |s| s.state == "3",
        )
        .await;
    let count = rig.with_log(count)?;
    let listed = count
        .attributes
        .get("notifications")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    anyhow::ensure!(listed == 3, "{count:?}");
    for (domain, state) in [("sfo-m01", "non_compliant"), ("sfo-w01", "incompatible")] {
        let d = inventory.domain(domain);
        let cluster = d
            .cluster_ids
            .values()
            .next()
            .ok_or_else(|| anyhow::anyhow!("{domain} has no cluster"))?;
        let id = format!("sensor.vcf_{}_{cluster}_image_compliance", d.slug);
        let s = ha
            .wait_state(&id, &format!("= {state}"), secs(60), |s| s.state == state)
            .await?;
        anyhow::ensure!(s.attributes.contains_key("options"), "not an enum: {s:?}");
        anyhow::ensure!(s.attributes.contains_key("findings"), "{s:?}");
    }
    let w01 = inventory.domain("sfo-w01").slug.clone();
    ha.wait_state(
        &format!("sensor.vcf_{w01}_upgrade_readiness"),
        "= blocked",
        secs(60),
        |s| s.state == "blocked",
    )
    .await?;
    entity(ha, &format!("event.vcf_{i}_operation_notification")).await?;

    // A new notification: pressed from HA, seen in HA as the event entity's state.
    let event_id = format!("event.vcf_{i}_vcf_notification");
    entity(ha, &event_id).await?;
    rig.sim
        .raise_notification(serde_json::json!({
            "severity": "CRITICAL",
            "type": "HOST_DISCONNECTED",
            "message": "Host sfo01-m01-esx02.sfo.rainpole.io is not responding",
            "domain": "sfo-m01",
        }))
        .await?;
    ha.press(&format!("button.vcf_{i}_check_for_updates"))
        .await?;
    let fired = ha
        .wait_state(&event_id, "a critical event", secs(60), |s| {
            s.attr_str("event_type") == Some("critical")
        })
        .await;
    let fired = rig.with_log(fired)?;
    anyhow::ensure!(
        fired.attr_str("message") == Some("Host sfo01-m01-esx02.sfo.rainpole.io is not responding"),
        "{fired:?}"
    );
    ha.wait_state(
        &format!("sensor.vcf_{i}_vcf_notifications"),
        "= 4",
        secs(60),
        |s| s.state == "4",
    )
    .await?;

    let base = rig.config.base_topic.clone();
    let problems = ha.log_problems(|record| {
        let r = record.to_lowercase();
        r.contains(&base.to_lowercase()) || r.contains("vcf") || r.contains("dca_")
    });
    anyhow::ensure!(
        problems.is_empty(),
        "Home Assistant logged {} WARNING/ERROR record(s) about our entities:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

/// Home Assistant's own blueprint and automation schemas, run by the harness's Python (the one
/// `tests/run.sh` installs): the blueprint loads, and an automation made from it validates.
const HA_BLUEPRINT_CHECK: &str = r#"
import sys
from homeassistant.helpers import frame
frame.report_usage = lambda *a, **k: None  # template checks outside a running instance
from homeassistant.util.yaml import loader
from homeassistant.components.blueprint import models
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA, PLATFORM_SCHEMA
bp = models.Blueprint(loader.load_yaml(sys.argv[1]), expected_domain="automation",
                      schema=AUTOMATION_BLUEPRINT_SCHEMA)
inputs = {"event_entities": ["event.vcf_sfo_w01_upgrade_notification"], "notify_device": "0123abcd"}
bi = models.BlueprintInputs(bp, {"use_blueprint": {"path": "x.yaml", "input": inputs}})
bi.validate()
automation = bi.async_substitute()
automation["alias"] = "check"
validated = PLATFORM_SCHEMA(automation)
print("ok", bp.name, len(validated["actions"]))
"#;

#[test]
fn blueprint_passes_home_assistants_own_validation() {
    dca_tests::require_ha_harness(
        "home_assistant::blueprint_passes_home_assistants_own_validation",
    )
    .expect("the Home Assistant harness");
    let venv = std::env::var_os("HA_HARNESS_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache"))
                })?;
            Some(cache.join("ha-harness").join("venv"))
        })
        .expect("HOME or HA_HARNESS_VENV");
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "{} missing: run ../shared/ha-harness/install.sh (tests/run.sh does)",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(HA_BLUEPRINT_CHECK)
        .arg(
            dca_tests::repo_root()
                .join("deploy/homeassistant/blueprints/vcf_upgrade_notifications.yaml"),
        )
        .output()
        .expect("run the harness's python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok "),
        "Home Assistant rejects the blueprint:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn acceptance(ha: &mut HomeAssistant) -> anyhow::Result<()> {
    // The bridge talks to HA's own broker with the standard discovery prefix.
    let sim = Sim::start("precheck-warnings", HA_TIME_SCALE).await?;
    let inventory = Inventory::read(&sim).await?;
    let mut rig = Rig::with_sim_on_broker(sim, ha.mqtt_port).await?;
    let i = rig.config.instance_id.clone();
    rig.start_bridge_online().await?;

    // --- every entity, as HA sees it (the same ids in every release) -----------------------
    for (component, object_id) in inventory.expected_entity_ids(&i) {
        let id = format!("{component}.{object_id}");
        let wait = ha.wait_state(&id, "to exist", secs(120), |_| true).await;
        rig.with_log(wait)?;
    }
    let m01 = inventory.domain("sfo-m01");
    let d = m01.slug.clone();
    // (A new entity has no value until the first update check has answered.)
    let status = ha
        .wait_state(
            &format!("sensor.vcf_{d}_status"),
            "= updates_available",
            secs(60),
            |s| s.state == "updates_available",
        )
        .await?;
    anyhow::ensure!(
        status
            .attributes
            .values()
            .any(|v| v.to_string().contains("5.2.1.0")),
        "status attributes must name the next version: {status:?}"
    );
    let version = ha
        .wait_state(
            &format!("sensor.vcf_{d}_current_version"),
            "= 5.2.0.0",
            secs(60),
            |s| s.state == "5.2.0.0",
        )
        .await?;
    anyhow::ensure!(
        version.attributes.contains_key("friendly_name"),
        "{version:?}"
    );
    for m in ["cpu_usage", "memory_usage", "storage_usage"] {
        let s = entity(ha, &format!("sensor.vcf_{d}_{m}")).await?;
        let v: f64 = s
            .state
            .parse()
            .map_err(|_| anyhow::anyhow!("{m} not numeric: {s:?}"))?;
        anyhow::ensure!((0.0..=100.0).contains(&v), "{s:?}");
        anyhow::ensure!(s.attr_str("unit_of_measurement") == Some("%"), "{s:?}");
        anyhow::ensure!(s.attr_str("state_class") == Some("measurement"), "{s:?}");
    }
    for (cluster, hosts) in &m01.clusters {
        let id = format!("sensor.vcf_{d}_{}_host_count", m01.cluster_ids[cluster]);
        let want = hosts.to_string();
        ha.wait_state(&id, &format!("= {want}"), secs(60), |s| s.state == want)
            .await?;
    }
    for h in &inventory.hosts {
        let s = entity(ha, &format!("sensor.vcf_host_{}_cpu_usage", h.slug)).await?;
        anyhow::ensure!(s.attr_str("unit_of_measurement") == Some("%"), "{s:?}");
    }
    let upgrade_status = entity(ha, &format!("sensor.vcf_{d}_upgrade_status")).await?;
    anyhow::ensure!(
        upgrade_status.state == "waiting_for_initiation",
        "{upgrade_status:?}"
    );
    let logs = entity(ha, &format!("sensor.vcf_{d}_upgrade_logs")).await?;
    anyhow::ensure!(
        logs.attr_str("markdown").is_some(),
        "logs without markdown: {logs:?}"
    );
    let update = entity(ha, &format!("update.vcf_{d}_update")).await?;
    anyhow::ensure!(update.state == "on", "an update is available: {update:?}");
    anyhow::ensure!(
        update.attr_str("installed_version") == Some("5.2.0.0"),
        "{update:?}"
    );
    anyhow::ensure!(
        update.attr_str("latest_version") == Some("5.2.1.0"),
        "{update:?}"
    );
    let conn = entity(ha, &format!("binary_sensor.vcf_{i}_connectivity")).await?;
    anyhow::ensure!(conn.state == "on", "{conn:?}");
    anyhow::ensure!(
        conn.attr_str("device_class") == Some("connectivity"),
        "{conn:?}"
    );
    let switch = entity(ha, &format!("switch.vcf_{d}_ignore_alerts")).await?;
    anyhow::ensure!(switch.state == "off", "{switch:?}");

    // --- Check for updates pressed in HA reaches the bridge -------------------------------
    let calls =
        |r: &dca_tests::sim::SimRequests| r.count("GET /v1/releases/domains/{id}/future-releases");
    let before = calls(&rig.sim.requests().await?);
    ha.press(&format!("button.vcf_{i}_check_for_updates"))
        .await?;
    let sim = &rig.sim;
    dca_tests::wait::until_ok("the update check pressed in HA", secs(60), || async move {
        Ok((calls(&sim.requests().await?) > before).then_some(()))
    })
    .await?;

    // --- Ignore Alerts switched in HA (and back) -------------------------------------------
    let switch_id = format!("switch.vcf_{d}_ignore_alerts");
    ha.switch(&switch_id, true).await?;
    ha.wait_state(&switch_id, "on", secs(60), |s| s.state == "on")
        .await?;
    ha.switch(&switch_id, false).await?;
    ha.wait_state(&switch_id, "off", secs(60), |s| s.state == "off")
        .await?;

    // --- Start Upgrade in HA, Acknowledge in HA, followed to successfully_completed --------
    let status_id = format!("sensor.vcf_{d}_upgrade_status");
    ha.press(&format!("button.vcf_{d}_start_upgrade")).await?;
    ha.wait_state(
        &status_id,
        "to leave waiting_for_initiation",
        secs(60),
        |s| s.state != "waiting_for_initiation",
    )
    .await?;
    ha.wait_state(
        &format!("sensor.vcf_{d}_status"),
        "= update_process_started",
        secs(60),
        |s| s.state == "update_process_started",
    )
    .await?;
    let waiting = ha
        .wait_state(
            &status_id,
            "= waiting_for_alert_acknowledgement",
            secs(300),
            |s| s.state == "waiting_for_alert_acknowledgement" || s.state == "failed",
        )
        .await?;
    anyhow::ensure!(
        waiting.state != "failed",
        "the upgrade failed in HA: {waiting:?}"
    );
    let logs = ha.state(&format!("sensor.vcf_{d}_upgrade_logs")).await?;
    let markdown = logs
        .as_ref()
        .and_then(|s| s.attr_str("markdown"))
        .unwrap_or_default()
        .to_string();
    anyhow::ensure!(
        markdown.contains('⚠'),
        "the warnings are not in the logs markdown: {markdown}"
    );
    ha.press(&format!("button.vcf_{d}_acknowledge_alerts"))
        .await?;
    let done = ha
        .wait_state(&status_id, "= successfully_completed", secs(300), |s| {
            s.state == "successfully_completed" || s.state == "failed"
        })
        .await?;
    anyhow::ensure!(
        done.state == "successfully_completed",
        "upgrade ended {done:?}"
    );
    let logs = ha
        .state(&format!("sensor.vcf_{d}_upgrade_logs"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("upgrade logs entity vanished"))?;
    let markdown = logs.attr_str("markdown").unwrap_or_default();
    anyhow::ensure!(
        markdown.contains("Alerts were acknowledged"),
        "the acknowledgement is not in the logs: {markdown}"
    );
    anyhow::ensure!(logs.state.len() <= 255, "{logs:?}");
    anyhow::ensure!(
        !logs.state.contains('`') && !logs.state.contains("**"),
        "markdown in the Upgrade Logs state: {logs:?}"
    );

    // --- the update entity keeps its release once the version changed ---------------------
    // Done: the bridge checks for updates at once and finds 5.2.1.0 installed and 5.2.2.0 next.
    let update_id = format!("update.vcf_{d}_update");
    let update = ha
        .wait_state(&update_id, "installed 5.2.1.0", secs(120), |s| {
            s.attr_str("installed_version") == Some("5.2.1.0")
                && s.attr_str("latest_version") == Some("5.2.2.0")
        })
        .await?;
    anyhow::ensure!(
        update.attr_str("title") == Some("VMware Cloud Foundation 5.2.2.0"),
        "the update entity lost its title: {update:?}"
    );
    anyhow::ensure!(
        update
            .attr_str("release_summary")
            .is_some_and(|s| s.contains("5.2.2")),
        "the update entity lost its release summary: {update:?}"
    );
    anyhow::ensure!(
        update
            .attr_str("release_url")
            .is_some_and(|u| u.starts_with("https://")),
        "the update entity lost its release link: {update:?}"
    );

    // --- availability when the bridge stops -------------------------------------------------
    rig.bridge().terminate(secs(30)).await?;
    let status_entity = format!("sensor.vcf_{d}_status");
    ha.wait_state(&status_entity, "unavailable after a stop", secs(60), |s| {
        s.state == "unavailable"
    })
    .await?;
    ha.wait_state(&status_id, "unavailable after a stop", secs(60), |s| {
        s.state == "unavailable"
    })
    .await?;
    rig.start_bridge_online().await?;
    entity(ha, &status_entity).await?;
    // SDDC Manager unreachable: connectivity off, VCF values unavailable (not a false 0).
    // An outage that ends by itself: the simulator's own /sim endpoints go down with the API.
    rig.sim
        .fault(serde_json::json!({
            // simulated seconds: 40 real seconds
            "outage_seconds": 40.0 / HA_TIME_SCALE,
            "unready_seconds": 0,
            "restart": false,
        }))
        .await?;
    let conn_id = format!("binary_sensor.vcf_{i}_connectivity");
    ha.wait_state(&conn_id, "off", secs(90), |s| s.state == "off")
        .await?;
    ha.wait_state(
        &format!("sensor.vcf_{d}_cpu_usage"),
        "unavailable",
        secs(60),
        |s| s.state == "unavailable",
    )
    .await?;
    // Meanwhile the upgrade's own entities are the bridge's knowledge: they stay.
    for id in [
        format!("sensor.vcf_{d}_upgrade_status"),
        format!("sensor.vcf_{d}_upgrade_logs"),
        format!("update.vcf_{d}_update"),
        format!("switch.vcf_{d}_ignore_alerts"),
        format!("button.vcf_{d}_start_upgrade"),
        format!("button.vcf_{d}_abort_upgrade"),
        format!("event.vcf_{d}_upgrade_notification"),
    ] {
        let s = ha
            .state(&id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{id} vanished"))?;
        anyhow::ensure!(
            s.state != "unavailable",
            "{id} is unavailable while SDDC Manager is unreachable: {s:?}"
        );
    }
    let update = ha
        .state(&format!("update.vcf_{d}_update"))
        .await?
        .ok_or_else(|| anyhow::anyhow!("update entity vanished"))?;
    anyhow::ensure!(
        update.attr_str("installed_version") == Some("5.2.1.0"),
        "{update:?}"
    );
    ha.wait_state(&conn_id, "on again", secs(120), |s| s.state == "on")
        .await?;
    let retained = Recorder::retained(ha.mqtt_port, &[&rig.config.base_topic]).await?;
    anyhow::ensure!(!retained.is_empty(), "nothing retained on HA's broker");

    // --- nothing in HA's log about our entities ---------------------------------------------
    // (The harness README lists the unrelated noise, e.g. ffmpeg in 2026.11: none names us.)
    let base = rig.config.base_topic.clone();
    let problems = ha.log_problems(|record| {
        let r = record.to_lowercase();
        r.contains(&base.to_lowercase()) || r.contains("vcf") || r.contains("dca_")
    });
    anyhow::ensure!(
        problems.is_empty(),
        "Home Assistant logged {} WARNING/ERROR record(s) about our entities:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}
