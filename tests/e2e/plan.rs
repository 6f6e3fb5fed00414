//! Planning before anything changes: `vcf-mqtt-bridge plan`, the Plan Upgrade button, and
//! `read_only = true`. Each test asserts on the simulator's request log that nothing but reads
//! and the token login / refresh was sent.

use dca_tests::bridge::run_to_exit;
use dca_tests::rig::Rig;
use dca_tests::sim::SimLogEntry;
use dca_tests::wait::secs;

use crate::common::{Inventory, REAL_TIME};
use crate::flow::{logs_markdown, wait_event};

/// Every request that is not a read, a login or a token refresh.
fn mutating(log: &[SimLogEntry]) -> Vec<String> {
    log.iter()
        .filter(|e| e.method != "GET")
        .filter(|e| !(e.method == "POST" && e.path == "/v1/tokens"))
        .filter(|e| !(e.method == "PATCH" && e.path == "/v1/tokens/access-token/refresh"))
        // The readiness poll's password-expiration query: a POST that only reads (the spec's
        // `CredentialsExpirationSpec` starts a check that changes nothing).
        .filter(|e| !(e.method == "POST" && e.path == "/v1/credentials/expirations"))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_command_prints_the_plan_and_changes_nothing() -> anyhow::Result<()> {
    let rig = Rig::start("default", REAL_TIME).await?;
    let path = rig.config.write(rig.dir())?;
    let path = path.display().to_string();
    let out = run_to_exit(
        &["plan", "--config", &path, "--domain", "sfo-w01"],
        &[],
        secs(60),
    )
    .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Plan for sfo-w01"), "{text}");
    assert!(text.contains("Bundles to download"), "{text}");
    assert!(text.contains("fallback, never applied"), "{text}");
    assert!(text.contains("Check-set resources"), "{text}");

    let json = run_to_exit(&["plan", "--config", &path, "--json"], &[], secs(60)).await?;
    assert!(json.status.success());
    let plans: serde_json::Value = serde_json::from_slice(&json.stdout)?;
    assert_eq!(plans.as_array().map(Vec::len), Some(2), "{plans}");

    let unknown = run_to_exit(
        &["plan", "--config", &path, "--domain", "nope"],
        &[],
        secs(60),
    )
    .await?;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no domain named nope"));

    assert_eq!(mutating(&rig.sim.log().await?), Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_command_fails_clearly_when_sddc_manager_is_unreachable() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.vcf_url = "http://127.0.0.1:9".into();
    let path = rig.config.write(rig.dir())?;
    let out = run_to_exit(
        &["plan", "--config", &path.display().to_string()],
        &[],
        secs(60),
    )
    .await?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SDDC Manager"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_upgrade_button_logs_the_plan_and_changes_nothing() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01 = inventory.domain("sfo-w01").slug.clone();
    rig.start_bridge_online().await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&w01, "upgrade/status"),
            "waiting_for_initiation",
            secs(60),
        )
        .await?;
    rig.press(&format!("domain/{w01}/upgrade/plan/set")).await?;
    let topic = rig.domain_topic(&w01, "upgrade/logs/attributes");
    let got = rig
        .recorder
        .wait_for(
            dca_tests::recorder::Mark(0),
            "the plan in the Upgrade Logs",
            secs(60),
            |m| m.topic == topic && m.text().contains("Plan for sfo-w01"),
        )
        .await;
    rig.with_log(got)?;
    let md = logs_markdown(&rig, &w01);
    assert!(md.contains("Bundles to download"), "{md}");
    assert_eq!(
        rig.recorder
            .latest(&rig.domain_topic(&w01, "upgrade/status"))
            .map(|m| m.text())
            .as_deref(),
        Some("waiting_for_initiation")
    );
    assert_eq!(mutating(&rig.sim.log().await?), Vec::<String>::new());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_start_and_changes_nothing() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.config.read_only = true;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01 = inventory.domain("sfo-w01").slug.clone();
    rig.start_bridge_online().await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&w01, "upgrade/status"),
            "waiting_for_initiation",
            secs(60),
        )
        .await?;
    let mark = rig.recorder.mark();
    rig.press(&format!("domain/{w01}/upgrade/start/set"))
        .await?;
    let event = wait_event(&mut rig, &w01, "info", mark, 30).await?;
    let message = event["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("read_only = true"), "{message}");
    assert!(message.contains("Start Upgrade"), "{message}");
    // Plan Upgrade still works.
    rig.press(&format!("domain/{w01}/upgrade/plan/set")).await?;
    let topic = rig.domain_topic(&w01, "upgrade/logs/attributes");
    let got = rig
        .recorder
        .wait_for(mark, "the plan in the Upgrade Logs", secs(60), |m| {
            m.topic == topic && m.text().contains("Plan for sfo-w01")
        })
        .await;
    rig.with_log(got)?;
    assert_eq!(mutating(&rig.sim.log().await?), Vec::<String>::new());
    Ok(())
}
