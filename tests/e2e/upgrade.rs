//! The upgrade flow through the real binary, driven by `mosquitto_pub`-style presses on the
//! command topics and followed on the retained status, logs and event topics.

use dca_tests::recorder::Recorder;
use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::Inventory;
use crate::flow::{
    FAST, check_order, duplicated_requests, logs, logs_markdown, press, statuses_since,
    upgrades_started, wait_event, wait_status,
};

/// Starts a rig with the bridge online and the domain idle; returns the domain slug.
async fn ready(rig: &mut Rig, domain: &str) -> anyhow::Result<String> {
    let inventory = Inventory::read(&rig.sim).await?;
    let d = inventory.domain(domain).slug.clone();
    rig.start_bridge_online().await?;
    let topic = rig.domain_topic(&d, "upgrade/status");
    rig.recorder
        .wait_current(&topic, "waiting_for_initiation", secs(60))
        .await?;
    // The update check has found the release to go to.
    rig.recorder
        .wait_current(
            &rig.domain_topic(&d, "status"),
            "updates_available",
            secs(60),
        )
        .await?;
    Ok(d)
}

/// One press on Start Upgrade takes the management domain through every phase — SDDC Manager
/// first — to `successfully_completed`, and back to `waiting_for_initiation` with the logs reset;
/// the domain ends on the new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_to_completed_and_back_to_idle() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_event(&mut rig, &d, "upgrade_started", mark, 30).await?;
    rig.recorder
        .wait_payload(
            mark,
            &rig.domain_topic(&d, "status"),
            "update_process_started",
            secs(30),
        )
        .await?;
    wait_status(&mut rig, &d, "successfully_completed", mark, 300).await?;
    let completed_logs = logs(&rig, &d).unwrap_or_default();
    wait_event(&mut rig, &d, "completed", mark, 30).await?;
    let idle = rig.recorder.mark();
    wait_status(&mut rig, &d, "waiting_for_initiation", idle, 60).await?;
    let seq = statuses_since(&rig, &d, mark);
    check_order(
        &seq,
        &[
            "update_process_started",
            "downloading_bundles",
            "setting_new_vcf_version_target",
            "upgrading_sddcManager",
            "prechecks_done",
            "starting_upgrades",
            "successfully_completed",
            "waiting_for_initiation",
        ],
    )?;

    // Logs: markdown grew during the flow, and is back to the default afterwards.
    let entries = completed_logs["entries"].as_u64().unwrap_or(0);
    let markdown = completed_logs["markdown"].as_str().unwrap_or_default();
    anyhow::ensure!(
        entries >= 5,
        "only {entries} log entries for a whole upgrade: {markdown}"
    );
    anyhow::ensure!(markdown.contains('✅'), "no ✅ in the logs: {markdown}");
    anyhow::ensure!(markdown.len() < 16 * 1024, "logs attribute over 16 KiB");
    let reset = dca_tests::wait::until("the logs to reset", secs(30), || {
        let now = logs(&rig, &d).unwrap_or_default();
        let back = now["entries"].as_u64().unwrap_or(0) < entries;
        async move { back.then_some(()) }
    })
    .await;
    rig.with_log(reset)?;

    // Every Upgrade Status arrived with its attributes already there: when a subscriber (Home
    // Assistant) reads a new status, the attributes it holds are those of the same moment
    // (progress, detail), as the flow view published with them says.
    let status_topic = rig.domain_topic(&d, "upgrade/status");
    let attrs_topic = rig.domain_topic(&d, "upgrade/status/attributes");
    let view_topic = rig.domain_topic(&d, "upgrade/state");
    let (mut attrs, mut view) = (serde_json::Value::Null, serde_json::Value::Null);
    let mut checked = 0;
    for m in rig.recorder.since(mark) {
        if m.topic == attrs_topic {
            attrs = m.json()?;
        } else if m.topic == view_topic {
            view = m.json()?;
        } else if m.topic == status_topic {
            for key in ["progress_percent", "phase_detail", "in_progress"] {
                anyhow::ensure!(
                    attrs[key] == view[key],
                    "{} arrived with the {key} of another moment: attributes {attrs}, flow {view}",
                    m.text()
                );
            }
            checked += 1;
        }
    }
    anyhow::ensure!(checked >= 5, "only {checked} statuses seen");

    // SDDC Manager saw one target change, no duplicate downloads and accepted every upgrade.
    let log = rig.sim.log().await?;
    let dups = duplicated_requests(&log);
    anyhow::ensure!(dups.is_empty(), "duplicated requests: {dups:?}");
    anyhow::ensure!(
        log.iter()
            .any(|e| e.method == "PATCH" && e.path.starts_with("/v1/bundles/")),
        "no bundle was downloaded"
    );
    let state = rig.sim.state().await?;
    let twice = crate::flow::duplicated_in_state(&state);
    anyhow::ensure!(twice.is_empty(), "SDDC Manager holds {twice:?}");
    anyhow::ensure!(
        state["upgrades"].as_array().is_some_and(|u| u.len() >= 4),
        "SDDC Manager lists too few upgrades: {}",
        state["upgrades"]
    );
    anyhow::ensure!(
        state["check_runs"].as_array().is_some_and(|r| r.len() == 1),
        "expected exactly one check-set run: {}",
        state["check_runs"]
    );
    // Every bundle of the release, fallback bundles included, was downloaded.
    let missing = crate::flow::bundles_not_downloaded(&state, "5.2.1.0");
    anyhow::ensure!(missing.is_empty(), "bundles not downloaded: {missing:?}");
    anyhow::ensure!(
        upgrades_started(&log) >= 4,
        "SDDC Manager, NSX, vCenter and ESXi must be upgraded"
    );

    // Events are never retained (a reconnecting client must not replay "completed").
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    anyhow::ensure!(
        !retained.contains_key(&rig.domain_topic(&d, "upgrade/event")),
        "the event topic is retained"
    );
    // The flow state for Node-RED is retained JSON.
    let state = retained
        .get(&rig.domain_topic(&d, "upgrade/state"))
        .ok_or_else(|| anyhow::anyhow!("upgrade/state not retained"))?
        .json()?;
    anyhow::ensure!(state["status"] == "waiting_for_initiation", "{state}");

    // The new version shows after the next update check.
    rig.press("bridge/check_updates/set").await?;
    rig.recorder
        .wait_current(
            &rig.domain_topic(&d, "current_version"),
            "5.2.1.0",
            secs(60),
        )
        .await?;
    // Monitoring, the whole upgrade and the update check after it: every request fits both
    // official specs.
    crate::common::assert_requests_conform(&rig.sim, &["5.2.1", "9.0.2"]).await?;
    Ok(())
}

/// Precheck warnings with Ignore Alerts on: the flow does not stop, and the logs say the
/// warnings were ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_with_ignore_alerts_on_continue() -> anyhow::Result<()> {
    let mut rig = Rig::start("precheck-warnings", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let switch_mark = rig.recorder.mark();
    rig.recorder
        .publish(&rig.domain_topic(&d, "ignore_alerts/set"), "ON", false)
        .await?;
    rig.recorder
        .wait_payload(
            switch_mark,
            &rig.domain_topic(&d, "ignore_alerts"),
            "ON",
            secs(30),
        )
        .await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "successfully_completed", mark, 300).await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        !seq.iter().any(|s| s == "waiting_for_alert_acknowledgement"),
        "waited for acknowledgement although Ignore Alerts is on: {seq:?}"
    );
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(md.contains('⚠'), "the warnings are not in the logs: {md}");
    anyhow::ensure!(
        md.to_lowercase().contains("ignore"),
        "the logs do not say the alerts were ignored: {md}"
    );
    Ok(())
}

/// Precheck warnings with Ignore Alerts off: the flow waits (and asks through an event) until
/// Acknowledge Alerts is pressed, then continues to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_wait_for_acknowledgement() -> anyhow::Result<()> {
    let mut rig = Rig::start("precheck-warnings", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "waiting_for_alert_acknowledgement", mark, 300).await?;
    wait_event(&mut rig, &d, "acknowledgement_needed", mark, 30).await?;
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(md.contains('⚠'), "the warnings are not in the logs: {md}");
    // Nothing is upgraded beyond SDDC Manager while waiting.
    let before = upgrades_started(&rig.sim.log().await?);
    let ack = rig.recorder.mark();
    press(&rig, &d, "acknowledge").await?;
    wait_status(&mut rig, &d, "alerts_were_acknowledged", ack, 30).await?;
    wait_status(&mut rig, &d, "successfully_completed", ack, 300).await?;
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(
        md.contains("Alerts were acknowledged"),
        "the logs do not record the acknowledgement: {md}"
    );
    anyhow::ensure!(
        upgrades_started(&rig.sim.log().await?) > before,
        "nothing upgraded after the acknowledgement"
    );
    check_order(
        &statuses_since(&rig, &d, mark),
        &["prechecks_done", "starting_upgrades"],
    )?;
    Ok(())
}

/// Abort while waiting for acknowledgement ends the flow as `failed` ("aborted") and nothing
/// more is sent to SDDC Manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_while_waiting_fails_the_flow() -> anyhow::Result<()> {
    let mut rig = Rig::start("precheck-warnings", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "waiting_for_alert_acknowledgement", mark, 300).await?;
    let upgrades_before = upgrades_started(&rig.sim.log().await?);
    let abort = rig.recorder.mark();
    press(&rig, &d, "abort").await?;
    wait_status(&mut rig, &d, "failed", abort, 30).await?;
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(
        md.to_lowercase().contains("abort"),
        "the logs do not say aborted: {md}"
    );
    // A later acknowledgement must not revive it.
    press(&rig, &d, "acknowledge").await?;
    rig.recorder.sync().await?;
    rig.press("bridge/check_updates/set").await?;
    rig.recorder.sync().await?;
    let seq = statuses_since(&rig, &d, abort);
    anyhow::ensure!(
        !seq.iter()
            .any(|s| s == "alerts_were_acknowledged" || s == "starting_upgrades"),
        "the aborted flow continued: {seq:?}"
    );
    anyhow::ensure!(
        upgrades_started(&rig.sim.log().await?) == upgrades_before,
        "an upgrade was started after the abort"
    );
    Ok(())
}

/// Start Upgrade on a domain that is up to date: a message says so, nothing else happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_without_update_says_so_and_does_nothing() -> anyhow::Result<()> {
    let mut rig = Rig::start("up-to-date", FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let d = inventory.domains[0].slug.clone();
    rig.start_bridge_online().await?;
    rig.recorder
        .wait_current(&rig.domain_topic(&d, "status"), "up_to_date", secs(60))
        .await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    let event = wait_event(&mut rig, &d, "no_update_available", mark, 30).await?;
    anyhow::ensure!(
        event["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{event}"
    );
    rig.recorder.sync().await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        seq.iter().all(|s| s == "waiting_for_initiation"),
        "status changed without an update: {seq:?}"
    );
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        !log.iter()
            .any(|e| e.method == "PATCH" || (e.method == "POST" && e.path == "/v1/upgrades")),
        "requests were sent without an update"
    );
    Ok(())
}

/// Two presses on Start (and one on another domain) start exactly one flow; the others get an
/// "already running" message. The running flow is then aborted during its downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_press_starts_one_flow() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    let w01 = inventory.domain("sfo-w01").slug.clone();
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    press(&rig, &d, "start").await?;
    wait_event(&mut rig, &d, "already_running", mark, 30).await?;
    press(&rig, &w01, "start").await?;
    wait_event(&mut rig, &w01, "already_running", mark, 30).await?;
    wait_status(&mut rig, &d, "downloading_bundles", mark, 60).await?;
    let abort = rig.recorder.mark();
    press(&rig, &d, "abort").await?;
    wait_status(&mut rig, &d, "failed", abort, 60).await?;
    rig.recorder.sync().await?;
    let w01_seq = statuses_since(&rig, &w01, mark);
    anyhow::ensure!(
        w01_seq.iter().all(|s| s == "waiting_for_initiation"),
        "a second flow started on {w01}: {w01_seq:?}"
    );
    let log = rig.sim.log().await?;
    let dups = duplicated_requests(&log);
    anyhow::ensure!(dups.is_empty(), "duplicated requests: {dups:?}");
    Ok(())
}

/// A bundle download that fails fails the flow, with the reason in the logs; success is never
/// assumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_download_fails_the_flow() -> anyhow::Result<()> {
    let mut rig = Rig::start("download-failure", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "failed", mark, 300).await?;
    wait_event(&mut rig, &d, "failed", mark, 30).await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        !seq.iter()
            .any(|s| s == "setting_new_vcf_version_target" || s == "starting_upgrades"),
        "the flow went on after a failed download: {seq:?}"
    );
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(md.contains('❌'), "no ❌ line for the failure: {md}");
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        upgrades_started(&log) == 0,
        "an upgrade started after a failed download"
    );
    Ok(())
}

/// Runs an upgrade of `sfo-m01` in `scenario` (with `upgrade` settings changed) and expects it to
/// end `failed`, announced by an event and a ❌ line in the logs, without reaching
/// `successfully_completed`. Returns the logs markdown.
async fn expect_failure(scenario: &str, upgrade: &[(&str, toml::Value)]) -> anyhow::Result<String> {
    let mut rig = Rig::start(scenario, FAST).await?;
    for (key, value) in upgrade {
        rig.config.upgrade.insert((*key).to_string(), value.clone());
    }
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "failed", mark, 300).await?;
    wait_event(&mut rig, &d, "failed", mark, 30).await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        !seq.iter().any(|s| s == "successfully_completed"),
        "{scenario}: the flow completed although it failed: {seq:?}"
    );
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(
        md.contains('❌'),
        "{scenario}: no ❌ line for the failure: {md}"
    );
    let state = rig
        .recorder
        .latest(&rig.domain_topic(&d, "upgrade/state"))
        .map(|m| m.json())
        .transpose()?
        .unwrap_or_default();
    anyhow::ensure!(
        state["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{scenario}: the flow state must carry the reason: {state}"
    );
    Ok(md)
}

/// A component upgrade that fails in VCF fails the flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_component_upgrade_fails_the_flow() -> anyhow::Result<()> {
    expect_failure("component-failure", &[]).await.map(|_| ())
}

/// A component upgrade that never finishes fails the flow at its (configurable) timeout — one
/// long enough for every healthy component (the longest, NSX, takes about 11 s here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_component_upgrade_times_out() -> anyhow::Result<()> {
    let md = expect_failure("hanging-component", &[("component_timeout", "25s".into())]).await?;
    anyhow::ensure!(
        md.to_lowercase().contains("time"),
        "the logs do not say the upgrade timed out: {md}"
    );
    Ok(())
}

/// A final validation that does not end COMPLETED fails the flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_final_validation_fails_the_flow() -> anyhow::Result<()> {
    expect_failure("validation-failure", &[]).await.map(|_| ())
}

/// With `fail_on_precheck_errors`, precheck errors fail the flow instead of waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_errors_fail_when_configured() -> anyhow::Result<()> {
    expect_failure(
        "precheck-errors",
        &[("fail_on_precheck_errors", true.into())],
    )
    .await
    .map(|_| ())
}

/// Prechecks that take longer than `precheck_timeout` fail the flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precheck_timeout_fails_the_flow() -> anyhow::Result<()> {
    let md = expect_failure("default", &[("precheck_timeout", "100ms".into())]).await?;
    anyhow::ensure!(
        md.to_lowercase().contains("time"),
        "the logs do not say the prechecks timed out: {md}"
    );
    Ok(())
}

/// Download Bundles fetches every bundle of the next release (fallback included) without
/// starting an upgrade, then goes back to idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_bundles_only_downloads() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "download_bundles").await?;
    wait_status(&mut rig, &d, "downloading_bundles", mark, 60).await?;
    let state_topic = rig.domain_topic(&d, "upgrade/state");
    let mode = rig
        .recorder
        .wait_for(mark, "mode download_only", secs(60), |m| {
            m.topic == state_topic && m.json().is_ok_and(|v| v["mode"] == "download_only")
        })
        .await;
    rig.with_log(mode)?;
    let idle = rig.recorder.mark();
    wait_status(&mut rig, &d, "waiting_for_initiation", idle, 300).await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        seq.iter()
            .all(|s| s == "downloading_bundles" || s == "waiting_for_initiation"),
        "a download-only run went further: {seq:?}"
    );
    let state = rig.sim.state().await?;
    let missing = crate::flow::bundles_not_downloaded(&state, "5.2.1.0");
    anyhow::ensure!(missing.is_empty(), "bundles not downloaded: {missing:?}");
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        upgrades_started(&log) == 0
            && !log
                .iter()
                .any(|e| e.method == "PATCH" && e.path.starts_with("/v1/releases/domains/")),
        "a download-only run changed the target version or started an upgrade"
    );
    Ok(())
}

/// The HA update entity's Install is off by default: an `install` command only produces a
/// message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_install_is_refused_unless_enabled() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    rig.recorder
        .publish(&rig.domain_topic(&d, "update/install"), "install", false)
        .await?;
    wait_event(&mut rig, &d, "info", mark, 30).await?;
    rig.recorder.sync().await?;
    let seq = statuses_since(&rig, &d, mark);
    anyhow::ensure!(
        seq.iter().all(|s| s == "waiting_for_initiation"),
        "Install started a flow although it is disabled: {seq:?}"
    );
    let log = rig.sim.log().await?;
    anyhow::ensure!(
        !log.iter().any(|e| e.method == "PATCH"),
        "Install reached SDDC Manager although it is disabled"
    );
    Ok(())
}

/// The latest retained `upgrade/state` of a domain.
fn flow_state(rig: &Rig, d: &str) -> anyhow::Result<serde_json::Value> {
    Ok(rig
        .recorder
        .latest(&rig.domain_topic(d, "upgrade/state"))
        .map(|m| m.json())
        .transpose()?
        .unwrap_or_default())
}

/// A vCenter upgrade task that fails (and VCF marks retryable) is retried by a press on Retry
/// Upgrade: one `PATCH /v1/tasks/{id}`, no new upgrade of vCenter, and the flow continues at
/// that component to `successfully_completed`. A second press has nothing to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_button_retries_the_failed_task_and_completes() -> anyhow::Result<()> {
    let mut rig = Rig::start("component-failure", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "failed", mark, 300).await?;
    let retryable = dca_tests::wait::until("the failed task to be retryable", secs(30), || {
        let state = flow_state(&rig, &d).unwrap_or_default();
        async move { (state["retryable"] == true).then_some(state) }
    })
    .await;
    let state = rig.with_log(retryable)?;
    let error = state["last_error"].as_str().unwrap_or_default();
    anyhow::ensure!(error.contains("VCENTER_UPGRADE_FAILED"), "{state}");
    let attrs = rig
        .recorder
        .latest(&rig.domain_topic(&d, "upgrade/status/attributes"))
        .map(|m| m.json())
        .transpose()?
        .unwrap_or_default();
    anyhow::ensure!(attrs["retryable"] == true, "{attrs}");
    let posts = upgrades_started(&rig.sim.log().await?);

    let retry = rig.recorder.mark();
    press(&rig, &d, "retry").await?;
    wait_status(&mut rig, &d, "successfully_completed", retry, 300).await?;
    let seq = statuses_since(&rig, &d, retry);
    anyhow::ensure!(
        seq.first().map(String::as_str) == Some("starting_upgrades"),
        "the flow resumes at the component: {seq:?}"
    );
    let log = rig.sim.log().await?;
    let retries = log
        .iter()
        .filter(|e| e.method == "PATCH" && e.path.starts_with("/v1/tasks/") && e.succeeded())
        .count();
    anyhow::ensure!(retries == 1, "{retries} task retries");
    anyhow::ensure!(
        upgrades_started(&log) <= posts + 1,
        "only ESXi may be started after the retry: {posts} then {}",
        upgrades_started(&log)
    );
    let twice = crate::flow::duplicated_in_state(&rig.sim.state().await?);
    anyhow::ensure!(twice.is_empty(), "SDDC Manager holds {twice:?}");

    let again = rig.recorder.mark();
    press(&rig, &d, "retry").await?;
    let refused = wait_event(&mut rig, &d, "info", again, 30).await?;
    anyhow::ensure!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("Retry Upgrade refused")),
        "{refused}"
    );
    Ok(())
}

/// The domain Status attributes say why a release is not applicable, including VCF's rule that
/// a VI domain cannot go past the management domain's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_says_why_a_release_is_not_applicable() -> anyhow::Result<()> {
    let mut rig = Rig::start("vi-behind-management", FAST).await?;
    let d = ready(&mut rig, "sfo-w01").await?;
    let topic = rig.domain_topic(&d, "status/attributes");
    let found = dca_tests::wait::until("the not-applicable releases", secs(60), || {
        let attrs = rig
            .recorder
            .latest(&topic)
            .and_then(|m| m.json().ok())
            .unwrap_or_default();
        async move {
            attrs["releases_not_applicable"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
                .then_some(attrs)
        }
    })
    .await;
    let attrs = rig.with_log(found)?;
    anyhow::ensure!(attrs["next_version"] == "5.2.1.0", "{attrs}");
    let na = &attrs["releases_not_applicable"][0];
    anyhow::ensure!(na["version"] == "5.2.2.0", "{attrs}");
    anyhow::ensure!(na["applicability_status"] == "NOT_APPLICABLE", "{attrs}");
    anyhow::ensure!(
        na["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.contains("past the management domain")))),
        "{attrs}"
    );
    Ok(())
}

/// Waiting for acknowledgement, the Precheck Findings entity carries every finding (errors
/// first, with resource and remediation); switching Ignore Alerts on releases the flow, which
/// says so in its log and runs to the end. The finished flow is in the Upgrade History, which a
/// restarted bridge publishes again from its state directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_alerts_releases_a_waiting_flow_and_the_history_keeps_it() -> anyhow::Result<()> {
    let mut rig = Rig::start("precheck-warnings", FAST).await?;
    let d = ready(&mut rig, "sfo-m01").await?;
    let findings = rig.domain_topic(&d, "upgrade/findings");
    let history = rig.domain_topic(&d, "upgrade/history");
    rig.recorder.wait_current(&findings, "0", secs(30)).await?;
    rig.recorder
        .wait_current(&history, "none", secs(30))
        .await?;
    let mark = rig.recorder.mark();
    press(&rig, &d, "start").await?;
    wait_status(&mut rig, &d, "waiting_for_alert_acknowledgement", mark, 300).await?;
    rig.recorder.wait_current(&findings, "2", secs(30)).await?;
    let attrs_topic = format!("{findings}/attributes");
    rig.recorder.sync().await?;
    let attrs = rig
        .recorder
        .latest(&attrs_topic)
        .ok_or_else(|| anyhow::anyhow!("no {attrs_topic}"))?
        .json()?;
    anyhow::ensure!(
        attrs["waiting_for_acknowledgement"] == true
            && attrs["warnings"] == 2
            && attrs["errors"] == 0,
        "{attrs}"
    );
    let list = attrs["findings"].as_array().cloned().unwrap_or_default();
    anyhow::ensure!(list.len() == 2, "{attrs}");
    for f in &list {
        anyhow::ensure!(f["severity"] == "warning", "{f}");
        for key in ["resource", "check", "message", "remediation"] {
            anyhow::ensure!(
                f[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} missing: {f}"
            );
        }
    }

    let release = rig.recorder.mark();
    rig.recorder
        .publish(&rig.domain_topic(&d, "ignore_alerts/set"), "ON", false)
        .await?;
    wait_status(&mut rig, &d, "alerts_were_acknowledged", release, 30).await?;
    wait_status(&mut rig, &d, "successfully_completed", release, 300).await?;
    let md = logs_markdown(&rig, &d);
    anyhow::ensure!(
        md.contains("Ignore Alerts switched on: 0 error(s) and 2 warning(s) ignored"),
        "the logs do not say the alerts were ignored: {md}"
    );
    rig.recorder
        .wait_payload(release, &history, "completed", secs(120))
        .await?;
    rig.recorder.sync().await?;
    let runs = rig
        .recorder
        .latest(&format!("{history}/attributes"))
        .ok_or_else(|| anyhow::anyhow!("no history attributes"))?
        .json()?["runs"]
        .clone();
    anyhow::ensure!(
        runs[0]["result"] == "completed"
            && runs[0]["mode"] == "upgrade"
            && runs[0]["to_version"].is_string()
            && runs[0]["from_version"].is_string()
            && runs[0]["components"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["component"] == "SDDC_MANAGER")),
        "{runs}"
    );

    // A restarted bridge publishes the history again from its state directory.
    rig.bridge().terminate(secs(30)).await?;
    rig.recorder.publish(&history, "", true).await?;
    rig.recorder.sync().await?;
    let restart = rig.recorder.mark();
    rig.start_bridge_online().await?;
    rig.recorder
        .wait_payload(restart, &history, "completed", secs(60))
        .await?;
    Ok(())
}
