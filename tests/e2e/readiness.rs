//! Upgrade readiness through the real binary: a domain with an expired password is `blocked`
//! and Start Upgrade is refused with that reason until Override Readiness is on; Back Up Now runs
//! the SDDC Manager backup task to completion; a failed task is retried from its command topic.

use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::Inventory;
use crate::flow::{FAST, logs_markdown, press, wait_event};

fn attributes(rig: &Rig, topic: &str) -> anyhow::Result<serde_json::Value> {
    rig.recorder
        .latest(topic)
        .ok_or_else(|| anyhow::anyhow!("nothing on {topic}"))?
        .json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_domain_refuses_start_until_override() -> anyhow::Result<()> {
    let mut rig = Rig::start("readiness-blocked", FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01 = inventory.domain("sfo-w01").slug.clone();
    let m01 = inventory.domain("sfo-m01").slug.clone();
    rig.start_bridge_online().await?;
    let readiness = rig.domain_topic(&w01, "readiness");
    let got = rig
        .recorder
        .wait_current(&readiness, "blocked", secs(60))
        .await;
    rig.with_log(got)?;
    rig.recorder
        .wait_current(&rig.domain_topic(&m01, "readiness"), "ready", secs(30))
        .await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&w01, "status"),
            "updates_available",
            secs(60),
        )
        .await?;
    let attrs = attributes(&rig, &format!("{readiness}/attributes"))?;
    let blocking = attrs["blocking"].to_string();
    assert!(
        blocking.contains("Password of root on") && blocking.contains("(VCENTER) expired"),
        "{attrs}"
    );

    // Start is refused, with the reason, and nothing starts.
    let mark = rig.recorder.mark();
    press(&rig, &w01, "start").await?;
    let refusal = wait_event(&mut rig, &w01, "info", mark, 30).await?;
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Start Upgrade refused: sfo-w01 is blocked: Password of root on"),
        "{refusal}"
    );
    rig.recorder.sync().await?;
    let started = rig
        .recorder
        .on_topic_since(&rig.domain_topic(&w01, "upgrade/event"), mark)
        .iter()
        .any(|m| m.text().contains("upgrade_started"));
    assert!(!started, "the flow started although the domain is blocked");
    assert_eq!(
        rig.sim.requests().await?.count("GET /v1/bundles"),
        0,
        "a refused Start must not reach VCF"
    );

    // Override Readiness on: the same press starts the flow, and the upgrade log says why.
    rig.recorder
        .publish(
            &rig.domain_topic(&w01, "override_readiness/set"),
            "ON",
            false,
        )
        .await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&w01, "override_readiness"),
            "ON",
            secs(30),
        )
        .await?;
    let mark = rig.recorder.mark();
    press(&rig, &w01, "start").await?;
    wait_event(&mut rig, &w01, "upgrade_started", mark, 30).await?;
    let noted = dca_tests::wait::until_ok("the override in the upgrade log", secs(30), || {
        let md = logs_markdown(&rig, &w01);
        async move { Ok(md.contains("Override Readiness is on").then_some(md)) }
    })
    .await?;
    assert!(noted.contains("(VCENTER) expired"), "{noted}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_up_now_runs_the_backup_to_completion() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    rig.start_bridge_online().await?;
    let last = rig.topic("bridge/last_backup");
    let before = dca_tests::wait::until_ok("a last backup", secs(60), || {
        let v = rig.recorder.latest(&last).map(|m| m.text());
        async move { Ok(v.filter(|t| t != "None")) }
    })
    .await?;
    let mark = rig.recorder.mark();
    rig.press("bridge/backup/set").await?;
    let attrs = format!("{last}/attributes");
    let done = rig
        .recorder
        .wait_for(mark, "Back Up Now SUCCESSFUL", secs(60), |m| {
            m.topic == attrs
                && m.json()
                    .is_ok_and(|v| v["back_up_now"]["status"] == "SUCCESSFUL")
        })
        .await;
    let done = rig.with_log(done)?.json()?;
    let id = done["back_up_now"]["task_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The readiness poll afterwards sees the new backup as the last one.
    let after = rig
        .recorder
        .wait_for(mark, "a newer last backup", secs(60), |m| {
            m.topic == last && m.text() != before
        })
        .await?;
    assert!(after.text() > before, "{} !> {before}", after.text());
    // Operation Notification says it ended, once.
    let event = rig.topic("bridge/event");
    rig.recorder
        .wait_for(mark, "a backup_completed event", secs(30), |m| {
            m.topic == event
                && m.json()
                    .is_ok_and(|v| v["event_type"] == "backup_completed")
        })
        .await?;
    rig.recorder.sync().await?;
    assert_eq!(rig.recorder.on_topic_since(&event, mark).len(), 1);
    let log = rig.sim.log().await?;
    assert_eq!(
        log.iter()
            .filter(|e| e.method == "POST" && e.path == "/v1/backups/tasks")
            .count(),
        1
    );
    assert!(
        log.iter()
            .any(|e| e.method == "GET" && e.path == format!("/v1/tasks/{id}")),
        "the backup task was followed"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_task_is_retried_by_command() -> anyhow::Result<()> {
    let mut rig = Rig::start("readiness-warnings", FAST).await?;
    rig.start_bridge_online().await?;
    let failed = rig.topic("bridge/failed_tasks");
    let got = rig.recorder.wait_current(&failed, "1", secs(60)).await;
    rig.with_log(got)?;
    let topic = format!("{failed}/attributes");
    let recorder = &rig.recorder;
    let attrs = dca_tests::wait::until_ok("the failed task listed", secs(30), || {
        let v = recorder.latest(&topic).and_then(|m| m.json().ok());
        async move { Ok(v.filter(|v| v["tasks"][0]["id"].is_string())) }
    })
    .await?;
    assert_eq!(attrs["retryable"], 1, "{attrs}");
    assert!(
        attrs["names"][0]
            .as_str()
            .is_some_and(|n| n.starts_with("Commissioning host(s)")),
        "{attrs}"
    );
    let id = attrs["tasks"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let retry_topic = attrs["retry_topic"].as_str().unwrap_or_default().to_owned();
    assert_eq!(retry_topic, rig.topic("bridge/task_retry/set"));
    rig.recorder.publish(&retry_topic, &id, false).await?;
    let got = rig.recorder.wait_current(&failed, "0", secs(60)).await;
    rig.with_log(got)?;
    let log = rig.sim.log().await?;
    assert!(
        log.iter().any(|e| e.method == "PATCH"
            && e.path == format!("/v1/tasks/{id}")
            && e.status == Some(200)),
        "the task was retried in VCF"
    );
    Ok(())
}

/// VCF 9 readiness through the real binary (`vcf9-readiness`): each cluster's image compliance
/// is a sensor, the incompatible image blocks its domain; SDDC Manager's notifications are a
/// sensor, the ones listed at the first start are not replayed, a new one fires one event with
/// its severity, and neither a restart nor the next poll fires it again, while one raised during
/// the restart fires once after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vcf9_notifications_fire_once_and_an_incompatible_image_blocks() -> anyhow::Result<()> {
    let mut rig = Rig::start("vcf9-readiness", FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01 = inventory.domain("sfo-w01").slug.clone();
    let m01 = inventory.domain("sfo-m01").slug.clone();
    let start = rig.recorder.mark();
    rig.start_bridge_online().await?;

    let readiness = rig.domain_topic(&w01, "readiness");
    let got = rig
        .recorder
        .wait_current(&readiness, "blocked", secs(60))
        .await;
    rig.with_log(got)?;
    let attrs = attributes(&rig, &format!("{readiness}/attributes"))?;
    assert!(
        attrs["blocking"].to_string().contains(
            "The image of cluster sfo-w01-cl01 is incompatible with its hosts (the ESXi upgrade would fail)"
        ),
        "{attrs}"
    );
    assert!(
        attrs["reasons"]
            .to_string()
            .contains("SDDC Manager reports (ERROR): vCenter sfo-w01-vc01.sfo.rainpole.io"),
        "{attrs}"
    );
    let m01_readiness = rig.domain_topic(&m01, "readiness");
    rig.recorder
        .wait_current(&m01_readiness, "warnings", secs(90))
        .await?;
    for (domain, cluster, state) in [
        (&m01, "sfo_m01_cl01", "non_compliant"),
        (&w01, "sfo_w01_cl01", "incompatible"),
    ] {
        let topic = rig.domain_topic(domain, &format!("cluster/{cluster}/image_compliance"));
        rig.recorder.wait_current(&topic, state, secs(90)).await?;
        let a = attributes(&rig, &format!("{topic}/attributes"))?;
        assert!(a["hosts_affected"].as_u64().is_some_and(|n| n >= 1), "{a}");
    }
    let count = rig.topic("bridge/notifications");
    rig.recorder.wait_current(&count, "3", secs(90)).await?;
    // Their discovery configs go out once the first readiness poll has read them.
    let i = rig.config.instance_id.clone();
    for (component, object_id) in [
        ("sensor", format!("vcf_{i}_vcf_notifications")),
        ("event", format!("vcf_{i}_vcf_notification")),
        ("sensor", format!("vcf_{m01}_sfo_m01_cl01_image_compliance")),
        ("sensor", format!("vcf_{w01}_sfo_w01_cl01_image_compliance")),
    ] {
        let topic = crate::common::discovery_topic(&rig, component, &object_id);
        let recorder = &rig.recorder;
        dca_tests::wait::until(&format!("the config of {object_id}"), secs(90), || {
            let got = recorder.latest(&topic).filter(|m| !m.payload.is_empty());
            async move { got.map(|_| ()) }
        })
        .await?;
    }

    // The three listed at the first start are the baseline: no event.
    let events = rig.topic("bridge/notifications/event");
    rig.recorder.sync().await?;
    assert!(
        rig.recorder.on_topic_since(&events, start).is_empty(),
        "notifications listed before the first start were replayed"
    );

    // A new one: one event, severity as its type, and the count moves.
    let mark = rig.recorder.mark();
    rig.sim
        .raise_notification(serde_json::json!({
            "severity": "CRITICAL",
            "type": "HOST_DISCONNECTED",
            "message": "Host sfo01-m01-esx02.sfo.rainpole.io is not responding",
            "domain": "sfo-m01",
        }))
        .await?;
    rig.press("bridge/check_updates/set").await?;
    let got = rig
        .recorder
        .wait_for(mark, "a critical notification event", secs(60), |m| {
            m.topic == events && m.json().is_ok_and(|v| v["event_type"] == "critical")
        })
        .await;
    let event = rig.with_log(got)?.json()?;
    assert_eq!(event["domain"], "sfo-m01");
    assert_eq!(
        event["message"],
        "Host sfo01-m01-esx02.sfo.rainpole.io is not responding"
    );
    rig.recorder.wait_current(&count, "4", secs(90)).await?;

    // The next poll sends nothing again.
    let polls = rig.sim.requests().await?.count("GET /v1/notifications");
    rig.press("bridge/check_updates/set").await?;
    dca_tests::wait::until("one more notifications poll", secs(60), || async {
        let n = rig
            .sim
            .requests()
            .await
            .ok()?
            .count("GET /v1/notifications");
        (n > polls).then_some(())
    })
    .await?;
    rig.recorder.sync().await?;
    assert_eq!(rig.recorder.on_topic_since(&events, mark).len(), 1);

    // A restart: nothing replayed; one raised while it was down fires once.
    rig.bridge().terminate(secs(90)).await?;
    rig.sim
        .raise_notification(serde_json::json!({
            "severity": "WARNING",
            "type": "CERTIFICATE_EXPIRY",
            "message": "The certificate of sfo-m01-nsx01.sfo.rainpole.io expires in 10 days",
            "domain": "sfo-m01",
            "resource_type": "NSXT_MANAGER",
        }))
        .await?;
    let restart = rig.recorder.mark();
    rig.start_bridge_online().await?;
    let got = rig
        .recorder
        .wait_for(
            restart,
            "the warning raised during the restart",
            secs(60),
            |m| m.topic == events && m.json().is_ok_and(|v| v["event_type"] == "warning"),
        )
        .await;
    rig.with_log(got)?;
    rig.recorder.wait_current(&count, "5", secs(90)).await?;
    rig.recorder.sync().await?;
    let after: Vec<String> = rig
        .recorder
        .on_topic_since(&events, restart)
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(after.len(), 1, "replayed after the restart: {after:?}");
    Ok(())
}
