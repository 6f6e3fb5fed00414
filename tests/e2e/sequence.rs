//! Upgrade All Domains through the real bridge: the management domain first (with SDDC
//! Manager), then the VI domain, across a kill -9 of the bridge; a failed domain stops the
//! sequence and Retry Upgrade All continues it.

use dca_tests::rig::Rig;
use dca_tests::wait::secs;
use serde_json::Value;

use crate::common::Inventory;
use crate::flow::{FAST, upgrades_started};

/// The sequence's retained JSON.
const STATE: &str = "bridge/upgrade_all/state";

/// Waits for the sequence JSON (published after `mark`) to satisfy `pred`.
async fn wait_sequence(
    rig: &mut Rig,
    what: &str,
    mark: dca_tests::recorder::Mark,
    limit_secs: u64,
    pred: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let topic = rig.topic(STATE);
    let got = rig
        .recorder
        .wait_for(mark, what, secs(limit_secs), |m| {
            m.topic == topic && m.json().is_ok_and(|v| pred(&v))
        })
        .await
        .and_then(|m| m.json());
    if got.is_err()
        && let Some(last) = rig.recorder.latest(&topic)
    {
        let got = got.map_err(|e| e.context(format!("last sequence state: {}", last.text())));
        return rig.with_log(got);
    }
    rig.with_log(got)
}

async fn ready(rig: &mut Rig) -> anyhow::Result<()> {
    rig.start_bridge_online().await?;
    for d in ["sfo_m01", "sfo_w01"] {
        let topic = rig.domain_topic(d, "status");
        rig.recorder
            .wait_current(&topic, "updates_available", secs(60))
            .await?;
    }
    Ok(())
}

/// The position in the recording of the first message on `topic` after `from` whose payload
/// is one of `payloads`.
fn first_of(
    rig: &Rig,
    topic: &str,
    from: dca_tests::recorder::Mark,
    payloads: &[&str],
) -> Option<usize> {
    rig.recorder
        .on_topic_since(topic, from)
        .into_iter()
        .find(|m| payloads.contains(&m.text().as_str()))
        .map(|m| m.seq)
}

fn domain_version(state: &Value, name: &str) -> String {
    state["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["name"] == name)
        .and_then(|d| d["version"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Both demo domains go to 5.2.1.0, the management domain first; the bridge is killed with
/// SIGKILL while the management domain's components upgrade, and the restarted bridge continues
/// the sequence (the VI domain is started by it) without repeating anything in VCF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_all_domains_goes_management_first_and_survives_kill9() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01_id = inventory.domain("sfo-w01").id.clone();
    ready(&mut rig).await?;
    let mark = rig.recorder.mark();
    rig.press("bridge/upgrade_all/start/set").await?;
    let first = wait_sequence(&mut rig, "the sequence to start", mark, 30, |v| {
        v["status"] == "running"
    })
    .await?;
    anyhow::ensure!(first["current_domain"] == "sfo-m01", "{first}");
    anyhow::ensure!(first["domains_total"] == 2, "{first}");
    anyhow::ensure!(first["domains"][0]["management"] == true, "{first}");
    // The sensor's state follows.
    rig.recorder
        .wait_current(&rig.topic("bridge/upgrade_all/status"), "running", secs(10))
        .await?;

    // Killed while the management domain's components upgrade.
    let m01_status = rig.domain_topic("sfo_m01", "upgrade/status");
    rig.recorder
        .wait_payload(mark, &m01_status, "starting_upgrades", secs(300))
        .await?;
    let upgrades_at_kill = upgrades_started(&rig.sim.log().await?);
    rig.bridge().kill9()?;
    let w01_started_before = rig
        .sim
        .log()
        .await?
        .iter()
        .any(|e| e.path == format!("/v1/releases/domains/{w01_id}") && e.method == "PATCH");
    anyhow::ensure!(
        !w01_started_before,
        "sfo-w01 was touched before sfo-m01 finished"
    );

    let restart = rig.recorder.mark();
    rig.start_bridge_online().await?;
    let done = wait_sequence(&mut rig, "the sequence to complete", restart, 600, |v| {
        v["status"] == "completed" || v["status"] == "failed"
    })
    .await?;
    anyhow::ensure!(done["status"] == "completed", "{done}");
    anyhow::ensure!(
        done["domains_done"] == 2 && done["domains_total"] == 2,
        "{done}"
    );
    let results: Vec<&str> = done["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["result"].as_str().unwrap_or_default())
        .collect();
    anyhow::ensure!(results == ["upgraded", "upgraded"], "{done}");

    // Management first: the VI domain's flow began only after the management domain's ended.
    let m01_done = first_of(&rig, &m01_status, restart, &["successfully_completed"])
        .ok_or_else(|| anyhow::anyhow!("sfo-m01 never completed after the restart"))?;
    let w01_status = rig.domain_topic("sfo_w01", "upgrade/status");
    let w01_began = first_of(&rig, &w01_status, mark, &["update_process_started"])
        .ok_or_else(|| anyhow::anyhow!("sfo-w01 never started"))?;
    anyhow::ensure!(
        m01_done < w01_began,
        "sfo-w01 started before sfo-m01 completed"
    );

    let state = rig.sim.state().await?;
    for d in ["sfo-m01", "sfo-w01"] {
        anyhow::ensure!(
            domain_version(&state, d) == "5.2.1.0",
            "{d} not on 5.2.1.0: {state}"
        );
    }
    // SDDC Manager was upgraded with the management domain only; the VI domain skipped it.
    let sddc: Vec<&Value> = state["upgrades"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["component"] == "SDDC_MANAGER")
        .collect();
    anyhow::ensure!(!sddc.is_empty(), "no SDDC Manager upgrade: {state}");
    anyhow::ensure!(
        sddc.iter().all(|u| u["domain"] == "sfo-m01"),
        "SDDC Manager upgraded with a VI domain: {sddc:?}"
    );
    // Nothing was requested twice across the kill: no upgrade exists twice in a domain, and
    // exactly one check-set run per domain.
    let twice: Vec<String> = crate::flow::duplicated_in_state(&state)
        .into_iter()
        .filter(|s| !s.ends_with("check-set runs"))
        .collect();
    anyhow::ensure!(twice.is_empty(), "SDDC Manager holds {twice:?}");
    anyhow::ensure!(
        state["check_runs"].as_array().map_or(0, Vec::len) == 2,
        "expected one check-set run per domain: {}",
        state["check_runs"]
    );
    anyhow::ensure!(upgrades_started(&rig.sim.log().await?) > upgrades_at_kill);
    Ok(())
}

/// The management domain's vCenter upgrade fails (once): the sequence stops there with the
/// reason and leaves the VI domain alone; Retry Upgrade All retries the failed task and goes on
/// to the VI domain. Abort with nothing running is refused and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_all_stops_at_the_first_failure_and_retry_continues() -> anyhow::Result<()> {
    let mut rig = Rig::start("component-failure", FAST).await?;
    ready(&mut rig).await?;
    let mark = rig.recorder.mark();
    rig.press("bridge/upgrade_all/start/set").await?;
    let failed = wait_sequence(&mut rig, "the sequence to stop", mark, 300, |v| {
        v["status"] == "failed" || v["status"] == "completed"
    })
    .await?;
    anyhow::ensure!(failed["status"] == "failed", "{failed}");
    anyhow::ensure!(failed["current_domain"] == "sfo-m01", "{failed}");
    operation_events(&mut rig, mark, &["upgrade_all_failed"]).await?;
    anyhow::ensure!(failed["domains_done"] == 0, "{failed}");
    anyhow::ensure!(failed["domains"][0]["result"] == "failed", "{failed}");
    anyhow::ensure!(failed["domains"][1]["result"] == "pending", "{failed}");
    // The flow fails first on the upgrade's status, then reads its VCF task for the error:
    // the sequence takes that fuller reason too.
    let refined = wait_sequence(&mut rig, "VCF's reason in the sequence", mark, 60, |v| {
        v["last_error"]
            .as_str()
            .is_some_and(|w| w.contains("VCENTER"))
    })
    .await?;
    let why = refined["last_error"].as_str().unwrap_or_default();
    anyhow::ensure!(
        why.starts_with("sfo-m01: ") && refined["status"] == "failed",
        "{refined}"
    );
    anyhow::ensure!(
        refined["domains"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("VCENTER")),
        "{refined}"
    );
    // The VI domain was not touched.
    let w01 = rig.domain_topic("sfo_w01", "upgrade/status");
    anyhow::ensure!(
        first_of(&rig, &w01, mark, &["update_process_started"]).is_none(),
        "sfo-w01 started although sfo-m01 failed"
    );

    // Abort has nothing to stop now: refused, with the reason in `notice`.
    let abort = rig.recorder.mark();
    rig.press("bridge/upgrade_all/abort/set").await?;
    let refused = wait_sequence(&mut rig, "the abort to be refused", abort, 30, |v| {
        v["notice"]
            .as_str()
            .is_some_and(|n| n.contains("nothing to abort"))
    })
    .await?;
    anyhow::ensure!(refused["status"] == "failed", "{refused}");

    // Retry continues at sfo-m01 (its failed VCF task is retried) and then does sfo-w01.
    let posts_before = upgrades_started(&rig.sim.log().await?);
    let retry = rig.recorder.mark();
    rig.press("bridge/upgrade_all/retry/set").await?;
    let done = wait_sequence(&mut rig, "the sequence to complete", retry, 600, |v| {
        v["status"] == "completed" || v["status"] == "failed"
    })
    .await?;
    anyhow::ensure!(done["status"] == "completed", "{done}");
    anyhow::ensure!(done["domains_done"] == 2, "{done}");
    operation_events(&mut rig, retry, &["upgrade_all_completed"]).await?;
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        log.iter()
            .any(|e| e.method == "PATCH" && e.path.starts_with("/v1/tasks/")),
        "the failed task was not retried"
    );
    anyhow::ensure!(
        upgrades_started(&log) > posts_before,
        "sfo-w01 was not upgraded"
    );
    let state = rig.sim.state().await?;
    for d in ["sfo-m01", "sfo-w01"] {
        anyhow::ensure!(domain_version(&state, d) == "5.2.1.0", "{d}: {state}");
    }
    Ok(())
}

/// `readiness-blocked`: sfo-w01's vCenter root password has expired. Upgrade All Domains takes
/// the management domain to the target, then stops at sfo-w01 with readiness's reason and never
/// starts its flow; with sfo-w01's Override Readiness on, Retry Upgrade All takes it through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_all_stops_at_a_blocked_domain_until_its_override() -> anyhow::Result<()> {
    let mut rig = Rig::start("readiness-blocked", FAST).await?;
    ready(&mut rig).await?;
    let readiness = rig.domain_topic("sfo_w01", "readiness");
    let blocked = rig
        .recorder
        .wait_current(&readiness, "blocked", secs(60))
        .await;
    rig.with_log(blocked)?;
    let mark = rig.recorder.mark();
    rig.press("bridge/upgrade_all/start/set").await?;
    let stopped = wait_sequence(&mut rig, "the sequence to stop", mark, 300, |v| {
        v["status"] == "failed" || v["status"] == "completed"
    })
    .await?;
    anyhow::ensure!(stopped["status"] == "failed", "{stopped}");
    anyhow::ensure!(stopped["current_domain"] == "sfo-w01", "{stopped}");
    anyhow::ensure!(stopped["domains_done"] == 1, "{stopped}");
    let why = stopped["last_error"].as_str().unwrap_or_default();
    anyhow::ensure!(why.contains("is blocked"), "{why}");
    let w01 = rig.domain_topic("sfo_w01", "upgrade/status");
    anyhow::ensure!(
        first_of(&rig, &w01, mark, &["update_process_started"]).is_none(),
        "sfo-w01 started although readiness blocks it"
    );

    rig.recorder
        .publish(
            &rig.domain_topic("sfo_w01", "override_readiness/set"),
            "ON",
            false,
        )
        .await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic("sfo_w01", "override_readiness"),
            "ON",
            secs(30),
        )
        .await?;
    let retry = rig.recorder.mark();
    rig.press("bridge/upgrade_all/retry/set").await?;
    let done = wait_sequence(&mut rig, "the sequence to complete", retry, 300, |v| {
        v["status"] == "completed" || v["status"] == "failed"
    })
    .await?;
    anyhow::ensure!(done["status"] == "completed", "{done}");
    anyhow::ensure!(done["domains_done"] == 2, "{done}");
    Ok(())
}

/// The Operation Notification events since `mark` are exactly `want` (waits for the last one).
async fn operation_events(
    rig: &mut Rig,
    mark: dca_tests::recorder::Mark,
    want: &[&str],
) -> anyhow::Result<()> {
    let topic = rig.topic("bridge/event");
    if let Some(last) = want.last() {
        rig.recorder
            .wait_for(mark, &format!("an {last} event"), secs(30), |m| {
                m.topic == topic && m.json().is_ok_and(|v| v["event_type"] == *last)
            })
            .await?;
    }
    rig.recorder.sync().await?;
    let got: Vec<String> = rig
        .recorder
        .on_topic_since(&topic, mark)
        .iter()
        .filter_map(|m| m.json().ok()?["event_type"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(
        got == want,
        "Operation Notification events {got:?}, expected {want:?}"
    );
    Ok(())
}
