//! Resume: the bridge is killed with SIGKILL in the middle of each phase of an upgrade and
//! started again on the same state directory. The upgrade must finish, and SDDC Manager must
//! not have seen any download, check-set run, target change or upgrade requested twice (the
//! simulator's request log, which outlives both bridges, is the witness).

use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::Inventory;
use crate::flow::{FAST, duplicated_requests, press, upgrades_started, wait_status};

/// Runs an upgrade of `sfo-m01` in `scenario`, kills the bridge once Upgrade Status says
/// `phase`, restarts it, presses Acknowledge if the flow waits for it, and checks the result.
async fn kill_during(scenario: &str, phase: &str) -> anyhow::Result<()> {
    let mut rig = Rig::start(scenario, FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let d = inventory.domain("sfo-m01").slug.clone();
    rig.start_bridge_online().await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&d, "status"),
            "updates_available",
            secs(60),
        )
        .await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, phase, mark, 300).await?;
    let upgrades_at_kill = upgrades_started(&rig.sim.log().await?);
    rig.bridge().kill9()?;

    let restart = rig.recorder.mark();
    rig.start_bridge_online().await?;
    // The restarted bridge continues (it never falls back to idle or fails).
    let topic = rig.domain_topic(&d, "upgrade/status");
    let ended = rig
        .recorder
        .wait_for(restart, "the resumed flow to finish", secs(300), |m| {
            m.topic == topic
                && matches!(
                    m.text().as_str(),
                    "successfully_completed" | "failed" | "waiting_for_alert_acknowledgement"
                )
        })
        .await;
    let ended = rig.with_log(ended)?;
    match ended.text().as_str() {
        "successfully_completed" => {}
        "waiting_for_alert_acknowledgement" => {
            let ack = rig.recorder.mark();
            press(&rig, &d, "acknowledge").await?;
            wait_status(&mut rig, &d, "successfully_completed", ack, 300).await?;
        }
        other => anyhow::bail!(
            "resumed flow ended {other}: {}",
            crate::flow::logs_markdown(&rig, &d)
        ),
    }
    let after_restart = crate::flow::statuses_since(&rig, &d, restart);
    anyhow::ensure!(
        !after_restart.iter().any(|s| s == "update_process_started"),
        "the restarted bridge started the flow over: {after_restart:?}"
    );
    let log = rig.sim.log().await?;
    let dups = duplicated_requests(&log);
    anyhow::ensure!(
        dups.is_empty(),
        "after a kill -9 in {phase}: duplicated requests {dups:?}"
    );
    anyhow::ensure!(
        upgrades_started(&log) >= upgrades_at_kill,
        "upgrade count went backwards"
    );
    let state = rig.sim.state().await?;
    let twice = crate::flow::duplicated_in_state(&state);
    anyhow::ensure!(
        twice.is_empty(),
        "after a kill -9 in {phase}: SDDC Manager holds {twice:?}"
    );
    let domain = state["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["name"] == "sfo-m01")
        .cloned()
        .unwrap_or_default();
    anyhow::ensure!(
        domain["version"] == "5.2.1.0",
        "sfo-m01 did not end on 5.2.1.0: {domain}"
    );
    Ok(())
}

/// Killed while bundles download: the downloads are re-attached, not requested again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_while_downloading_bundles() -> anyhow::Result<()> {
    kill_during("default", "downloading_bundles").await
}

/// Killed while SDDC Manager upgrades itself (and its API is away).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_while_upgrading_sddc_manager() -> anyhow::Result<()> {
    kill_during("default", "upgrading_sddcManager").await
}

/// Killed while the check-set run is evaluated: the run is re-attached by id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_while_evaluating_prechecks() -> anyhow::Result<()> {
    kill_during("default", "evaluating_prechecks").await
}

/// Killed while waiting for the user to acknowledge precheck warnings: after the restart it
/// still waits, and Acknowledge finishes the upgrade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_while_waiting_for_acknowledgement() -> anyhow::Result<()> {
    kill_during("precheck-warnings", "waiting_for_alert_acknowledgement").await
}

/// Killed while component upgrades run: the running upgrade is followed, not started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_while_starting_upgrades() -> anyhow::Result<()> {
    kill_during("default", "starting_upgrades").await
}
