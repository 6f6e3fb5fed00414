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
