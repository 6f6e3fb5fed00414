//! Helpers for following an upgrade flow through MQTT, as Node-RED or a dashboard would.

use std::collections::BTreeMap;

use dca_tests::recorder::{Mark, Message};
use dca_tests::rig::Rig;
use dca_tests::sim::SimLogEntry;
use dca_tests::wait::secs;

/// Simulator time scale for upgrade tests: one simulated hour takes 7.2 s, a whole domain
/// upgrade well under a minute.
pub const FAST: f64 = 0.002;

/// Upgrade Status values in flow order.
pub const ORDER: &[&str] = &[
    "waiting_for_initiation",
    "update_process_started",
    "downloading_bundles",
    "setting_new_vcf_version_target",
    "downloading_sddcManager_bundle",
    "upgrading_sddcManager",
    "initializing_prechecks",
    "running_prechecks",
    "evaluating_prechecks",
    "prechecks_done",
    "waiting_for_alert_acknowledgement",
    "alerts_were_acknowledged",
    "starting_upgrades",
    "successfully_completed",
];

/// Publishes `PRESS` on `domain/<d>/upgrade/<action>/set` (start, acknowledge, abort,
/// download_bundles).
pub async fn press(rig: &Rig, domain: &str, action: &str) -> anyhow::Result<()> {
    rig.press(&format!("domain/{domain}/upgrade/{action}/set"))
        .await
}

/// Waits for Upgrade Status `status` after `mark`.
pub async fn wait_status(
    rig: &mut Rig,
    domain: &str,
    status: &str,
    mark: Mark,
    limit_secs: u64,
) -> anyhow::Result<Message> {
    let topic = rig.domain_topic(domain, "upgrade/status");
    let got = rig
        .recorder
        .wait_payload(mark, &topic, status, secs(limit_secs))
        .await;
    if got.is_err() {
        // A flow that failed will never get there: say why.
        if let Some(state) = rig
            .recorder
            .latest(&rig.domain_topic(domain, "upgrade/state"))
        {
            let got = got.map_err(|e| e.context(format!("flow state: {}", state.text())));
            return rig.with_log(got);
        }
    }
    rig.with_log(got)
}

/// Waits for an event of `event_type` on `domain/<d>/upgrade/event` after `mark`.
pub async fn wait_event(
    rig: &mut Rig,
    domain: &str,
    event_type: &str,
    mark: Mark,
    limit_secs: u64,
) -> anyhow::Result<serde_json::Value> {
    let topic = rig.domain_topic(domain, "upgrade/event");
    let got = rig
        .recorder
        .wait_for(
            mark,
            &format!("{event_type} event on {topic}"),
            secs(limit_secs),
            |m| m.topic == topic && m.json().is_ok_and(|v| v["event_type"] == event_type),
        )
        .await
        .and_then(|m| m.json());
    rig.with_log(got)
}

/// The Upgrade Status values published after `mark`, consecutive repeats folded.
pub fn statuses_since(rig: &Rig, domain: &str, mark: Mark) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in rig
        .recorder
        .on_topic_since(&rig.domain_topic(domain, "upgrade/status"), mark)
    {
        let s = m.text();
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

/// Checks that `seq` follows the flow order and contains `required`.
///
/// The one way back: after `upgrading_sddcManager` the new SDDC Manager may list more bundles
/// (a second SDDC Manager "drift" bundle, bundles only it knows), so the flow may return to
/// `downloading_bundles`, `setting_new_vcf_version_target` or `downloading_sddcManager_bundle`.
pub fn check_order(seq: &[String], required: &[&str]) -> anyhow::Result<()> {
    let pos = |s: &str| ORDER.iter().position(|o| *o == s);
    let mut prev = 0;
    for s in seq {
        if s == "waiting_for_initiation" && prev > 0 {
            // back to idle: the end of the flow
            prev = 0;
            continue;
        }
        let p = pos(s).ok_or_else(|| anyhow::anyhow!("unknown status {s:?} in {seq:?}"))?;
        let after_sddc_manager = ORDER[prev] == "upgrading_sddcManager"
            && matches!(
                s.as_str(),
                "downloading_bundles"
                    | "setting_new_vcf_version_target"
                    | "downloading_sddcManager_bundle"
            );
        anyhow::ensure!(
            p >= prev || after_sddc_manager,
            "status {s} came after {} in {seq:?}",
            ORDER[prev]
        );
        prev = p;
    }
    for r in required {
        anyhow::ensure!(
            seq.iter().any(|s| s == r),
            "status {r} never published: {seq:?}"
        );
    }
    Ok(())
}

/// The Upgrade Logs attributes (`{"markdown": .., "entries": n}`) as last published.
pub fn logs(rig: &Rig, domain: &str) -> Option<serde_json::Value> {
    rig.recorder
        .latest(&rig.domain_topic(domain, "upgrade/logs/attributes"))
        .and_then(|m| m.json().ok())
}

/// The markdown of the Upgrade Logs.
pub fn logs_markdown(rig: &Rig, domain: &str) -> String {
    logs(rig, domain)
        .and_then(|v| v["markdown"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Requests that must never be sent twice for one flow, with how often they were:
/// a bundle download (`PATCH /v1/bundles/<id>`), a check-set run (`POST /v1/system/check-sets`),
/// a target-version change, and upgrades rejected by SDDC Manager (a repeated
/// `POST /v1/upgrades` for a component already upgrading or upgraded).
pub fn duplicated_requests(log: &[SimLogEntry]) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in log {
        let key = format!("{} {}", e.method, e.path);
        let once = (e.method == "PATCH" && e.path.starts_with("/v1/bundles/"))
            || (e.method == "POST" && e.path == "/v1/system/check-sets")
            || (e.method == "PATCH" && e.path.starts_with("/v1/releases/domains/"));
        if once {
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut out: Vec<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(k, n)| format!("{k} sent {n} times"))
        .collect();
    for e in log {
        if e.method == "POST" && e.path == "/v1/upgrades" && !e.succeeded() {
            out.push(format!("POST /v1/upgrades rejected with {:?}", e.status));
        }
    }
    out
}

/// How many `POST /v1/upgrades` SDDC Manager accepted.
pub fn upgrades_started(log: &[SimLogEntry]) -> usize {
    log.iter()
        .filter(|e| e.method == "POST" && e.path == "/v1/upgrades" && e.succeeded())
        .count()
}

/// What SDDC Manager itself holds twice (from `GET /sim/state`): two upgrades of the same bundle
/// in a domain, or more than one check-set run.
pub fn duplicated_in_state(state: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for u in state["upgrades"].as_array().into_iter().flatten() {
        let key = format!(
            "upgrade of bundle {} ({}) in {}",
            u["bundle_id"].as_str().unwrap_or("?"),
            u["component"].as_str().unwrap_or("?"),
            u["domain"].as_str().unwrap_or("?")
        );
        *seen.entry(key).or_default() += 1;
    }
    out.extend(
        seen.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, n)| format!("{k} exists {n} times")),
    );
    let runs = state["check_runs"].as_array().map_or(0, Vec::len);
    if runs > 1 {
        out.push(format!("{runs} check-set runs"));
    }
    out
}

/// Bundles of `release` that SDDC Manager lists but never finished downloading.
pub fn bundles_not_downloaded(state: &serde_json::Value, release: &str) -> Vec<String> {
    state["bundles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["release"] == release && b["listed"] == true)
        .filter(|b| b["download_status"] != "SUCCESSFUL")
        .map(|b| {
            format!(
                "{} {} ({}): {}",
                b["component"], b["kind"], b["id"], b["download_status"]
            )
        })
        .collect()
}
