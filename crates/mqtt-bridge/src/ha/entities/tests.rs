//! Discovery snapshots and state rendering checks.

use super::*;
use crate::model::{
    BomItem, Capacity, ClusterInfo, ComponentUpdate, ComponentsSource, Connectivity, NextRelease,
    UpdateInfo,
};

const D1: &str = "2f1f6ab4-5a4e-4c1b-8d4e-0c5b1e0a7d11";
const H1: &str = "e1b6b2a0-1a2b-4c3d-8e9f-000000000001";
const C1: &str = "7c3e0f22-8b1d-4c57-a0e8-3d3c1a2b9f10";

fn rc(allow: bool) -> RenderContext {
    RenderContext {
        readiness: false,
        topics: Topics::new("datacenter_assistant", "homeassistant", "sfo_vcf01"),
        vcf_url: "https://sfo-vcf01.sfo.rainpole.io".into(),
        allow_update_install: allow,
    }
}

fn usage(used: f64, total: f64, unit: &str) -> Option<Usage> {
    Some(Usage {
        used,
        total,
        unit: unit.into(),
    })
}

fn inventory() -> Inventory {
    let mut inv = Inventory::default();
    inv.domains.insert(
        D1.into(),
        DomainInfo {
            id: D1.into(),
            name: "sfo-m01".into(),
            kind: Some("MANAGEMENT".into()),
            capacity: Capacity {
                cpu: usage(18.4, 268.8, "GHz"),
                memory: usage(612.3, 2047.6, "GB"),
                storage: None,
            },
        },
    );
    inv.clusters.insert(
        C1.into(),
        ClusterInfo {
            id: C1.into(),
            name: "sfo-m01-cl01".into(),
            domain_id: Some(D1.into()),
            host_count: 4,
        },
    );
    inv.hosts.insert(
        H1.into(),
        HostInfo {
            id: H1.into(),
            fqdn: "sfo01-m01-esx01.sfo.rainpole.io".into(),
            domain_id: Some(D1.into()),
            cluster_name: Some("sfo-m01-cl01".into()),
            esxi_version: Some("8.0.3-24022510".into()),
            vendor: Some("Dell Inc.".into()),
            model: Some("PowerEdge R650".into()),
            cpu: usage(4610.0, 67200.0, "MHz"),
            memory: usage(156780.0, 524204.0, "MB"),
            storage: None,
        },
    );
    inv.updates.insert(
        D1.into(),
        UpdateInfo {
            current_version: Some("5.2.0.0".into()),
            next: Some(NextRelease {
                version: "5.2.1.0".into(),
                release_date: Some("2024-10-09T00:00:00.000Z".into()),
                description: Some("VMware Cloud Foundation 5.2.1".into()),
                bom: vec![BomItem {
                    name: "VCENTER".into(),
                    version: "8.0.3.00300-24305161".into(),
                    public_name: Some("VMware vCenter Server".into()),
                }],
                raw: serde_json::json!({"version": "5.2.1.0", "bom": [{"name": "VCENTER"}]}),
            }),
            components: vec![ComponentUpdate {
                name: "VCENTER".into(),
                public_name: Some("VMware vCenter Server".into()),
                from_version: Some("8.0.3.00000-1".into()),
                to_version: Some("8.0.3.00300-24305161".into()),
                status: None,
            }],
            components_source: ComponentsSource::Bom,
            error: None,
            not_applicable: Vec::new(),
            checked_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        },
    );
    inv.connectivity = Connectivity {
        reachable: Some(true),
        url: "https://sfo-vcf01.sfo.rainpole.io".into(),
        ..Connectivity::default()
    };
    inv
}

fn config_json(r: &Rendered, component: &str, object_id: &str) -> serde_json::Value {
    let c = r
        .configs
        .iter()
        .find(|c| c.component == component && c.object_id == object_id)
        .unwrap_or_else(|| panic!("no {component}.{object_id}"));
    serde_json::from_str(&c.payload).expect("json")
}

#[test]
fn every_contract_entity_id_is_announced() {
    let r = render(&inventory(), &rc(false));
    let ids: Vec<String> = r
        .configs
        .iter()
        .map(|c| {
            let j: serde_json::Value = serde_json::from_str(&c.payload).expect("json");
            j["default_entity_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    for want in [
        "sensor.vcf_sfo_m01_status",
        "sensor.vcf_sfo_m01_current_version",
        "sensor.vcf_sfo_m01_components_to_update",
        "sensor.vcf_sfo_m01_cpu_usage",
        "sensor.vcf_sfo_m01_memory_usage",
        "sensor.vcf_sfo_m01_storage_usage",
        "sensor.vcf_sfo_m01_cl01_host_count",
        "sensor.vcf_sfo_m01_upgrade_status",
        "sensor.vcf_sfo_m01_upgrade_logs",
        "button.vcf_sfo_m01_start_upgrade",
        "button.vcf_sfo_m01_acknowledge_alerts",
        "button.vcf_sfo_m01_download_bundles",
        "button.vcf_sfo_m01_abort_upgrade",
        "switch.vcf_sfo_m01_ignore_alerts",
        "update.vcf_sfo_m01_update",
        "event.vcf_sfo_m01_upgrade_notification",
        "sensor.vcf_host_sfo01_m01_esx01_cpu_usage",
        "sensor.vcf_host_sfo01_m01_esx01_memory_usage",
        "sensor.vcf_host_sfo01_m01_esx01_storage_usage",
        "binary_sensor.vcf_sfo_vcf01_connectivity",
        "button.vcf_sfo_vcf01_check_for_updates",
        "button.vcf_sfo_vcf01_refresh_token",
    ] {
        assert!(ids.iter().any(|i| i == want), "missing {want} in {ids:?}");
    }
    // unique ids and object ids are unique
    let mut uids: Vec<String> = r
        .configs
        .iter()
        .map(|c| config_json(&r, c.component, &c.object_id)["unique_id"].to_string())
        .collect();
    let n = uids.len();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), n);
    for c in &r.configs {
        let j = config_json(&r, c.component, &c.object_id);
        let object_id = j["object_id"].as_str().unwrap_or_default();
        assert_eq!(
            j["default_entity_id"],
            format!("{}.{object_id}", c.component)
        );
        // The discovery topic is the entity id, except for a cluster's, which keeps the
        // topic an earlier release announced it on (so HA updates the same entity).
        if !c.object_id.ends_with("_host_count") {
            assert_eq!(c.object_id, object_id);
        }
        assert!(j["device"]["name"].is_string(), "device needs a name");
        assert!(j["origin"]["name"].is_string());
    }
}

#[test]
fn cluster_entities_are_named_by_cluster_without_the_domain_again() {
    let r = render(&inventory(), &rc(false));
    let j = config_json(&r, "sensor", "vcf_sfo_m01_sfo_m01_cl01_host_count");
    assert_eq!(j["name"], "cl01 Host Count");
    assert_eq!(j["default_entity_id"], "sensor.vcf_sfo_m01_cl01_host_count");
    assert_eq!(j["device"]["name"], "VCF sfo-m01");
    assert!(
        j["unique_id"]
            .as_str()
            .is_some_and(|u| u.ends_with("_host_count")),
        "{j}"
    );
    let siblings = ["sfo-m01-cl01", "cl01", "sfo-m01-cl02"];
    assert_eq!(cluster_label("sfo-m01", "sfo-m01-cl02", &siblings), "cl02");
    // Two clusters would read the same: both keep their full names.
    assert_eq!(
        cluster_label("sfo-m01", "sfo-m01-cl01", &siblings),
        "sfo-m01-cl01"
    );
    assert_eq!(cluster_label("sfo-m01", "cl01", &siblings), "cl01");
    // Not the domain name followed by a separator.
    assert_eq!(cluster_label("sfo", "sfo01-cl01", &[]), "sfo01-cl01");
    assert_eq!(cluster_label("sfo-m01", "sfo-m01", &[]), "sfo-m01");
}

#[test]
fn host_devices_are_named_by_host_name() {
    let r = render(&inventory(), &rc(false));
    let j = config_json(&r, "sensor", "vcf_host_sfo01_m01_esx01_cpu_usage");
    assert_eq!(j["device"]["name"], "sfo01-m01-esx01.sfo.rainpole.io");
    assert_eq!(
        j["default_entity_id"],
        "sensor.vcf_host_sfo01_m01_esx01_cpu_usage"
    );
}

#[test]
fn discovery_snapshots() {
    let r = render(&inventory(), &rc(false));
    let settings = {
        let mut s = insta::Settings::clone_current();
        s.add_redaction(".origin.sw_version", "[version]");
        s.add_redaction(".device.sw_version", "[version]");
        s.set_sort_maps(true);
        s
    };
    settings.bind(|| {
        for (component, object_id) in [
            ("sensor", "vcf_sfo_m01_status"),
            ("sensor", "vcf_sfo_m01_cpu_usage"),
            ("sensor", "vcf_sfo_m01_sfo_m01_cl01_host_count"),
            ("sensor", "vcf_sfo_m01_upgrade_status"),
            ("sensor", "vcf_sfo_m01_upgrade_logs"),
            ("sensor", "vcf_host_sfo01_m01_esx01_cpu_usage"),
            ("button", "vcf_sfo_m01_start_upgrade"),
            ("switch", "vcf_sfo_m01_ignore_alerts"),
            ("update", "vcf_sfo_m01_update"),
            ("event", "vcf_sfo_m01_upgrade_notification"),
            ("binary_sensor", "vcf_sfo_vcf01_connectivity"),
            ("button", "vcf_sfo_vcf01_refresh_token"),
        ] {
            let json = config_json(&r, component, object_id);
            insta::assert_json_snapshot!(format!("{component}.{object_id}"), json);
        }
    });
}

#[test]
fn update_install_only_when_allowed() {
    let off = render(&inventory(), &rc(false));
    let j = config_json(&off, "update", "vcf_sfo_m01_update");
    assert!(j.get("command_topic").is_none());
    let on = render(&inventory(), &rc(true));
    let j = config_json(&on, "update", "vcf_sfo_m01_update");
    assert_eq!(
        j["command_topic"],
        "datacenter_assistant/sfo_vcf01/domain/sfo_m01/update/install"
    );
    assert_eq!(j["payload_install"], "install");
}

#[test]
fn states_render() {
    let rc = rc(false);
    let r = render(&inventory(), &rc);
    let t = &rc.topics;
    let s = |topic: String| r.states.get(&topic).cloned().unwrap_or_default();
    assert_eq!(s(t.domain_leaf("sfo_m01", "status")), "updates_available");
    assert_eq!(s(t.domain_leaf("sfo_m01", "current_version")), "5.2.0.0");
    assert_eq!(s(t.domain_leaf("sfo_m01", "components_to_update")), "1");
    assert_eq!(s(t.domain_leaf("sfo_m01", "cpu_usage")), "6.8");
    assert_eq!(s(t.domain_leaf("sfo_m01", "storage_usage")), NONE);
    assert_eq!(s(t.cluster_host_count("sfo_m01", "sfo_m01_cl01")), "4");
    assert_eq!(s(t.host_metric("sfo01_m01_esx01", "cpu_usage")), "6.9");
    assert_eq!(s(t.host_metric("sfo01_m01_esx01", "storage_usage")), NONE);
    assert_eq!(s(t.connectivity()), "ON");
    let attrs: serde_json::Value =
        serde_json::from_str(&s(Topics::attributes(&t.domain_leaf("sfo_m01", "status"))))
            .expect("json");
    assert_eq!(attrs["next_version"], "5.2.1.0");
    assert_eq!(attrs["next_vcf_bom"]["version"], "5.2.1.0");
    let upd: serde_json::Value = serde_json::from_str(&s(t.update_state("sfo_m01"))).expect("json");
    assert_eq!(upd["installed_version"], "5.2.0.0");
    assert_eq!(upd["latest_version"], "5.2.1.0");
    assert_eq!(upd["in_progress"], false);
    assert!(
        upd.as_object()
            .is_some_and(|o| o.values().all(|v| !v.is_null())),
        "HA rejects nulls in update state: {upd}"
    );
    // every state fits HA's limit
    for (topic, payload) in &r.states {
        if !topic.ends_with("/attributes") && !topic.ends_with("/state") {
            assert!(payload.chars().count() <= 255, "{topic}");
        }
    }
}

#[test]
fn unknown_connectivity_publishes_no_connectivity_state() {
    let mut inv = inventory();
    inv.connectivity.reachable = None;
    let rc = rc(false);
    let r = render(&inv, &rc);
    assert!(!r.states.contains_key(&rc.topics.connectivity()));
    inv.connectivity.reachable = Some(false);
    let r = render(&inv, &rc);
    assert_eq!(
        r.states.get(&rc.topics.connectivity()).map(String::as_str),
        Some("OFF")
    );
}

fn flow(status: &str, in_progress: bool, md: &str) -> FlowInfo {
    FlowInfo {
        status: status.into(),
        in_progress,
        ignore_alerts: true,
        target_version: Some("5.2.1.0".into()),
        progress_percent: Some(42),
        logs_markdown: md.into(),
        log_entries: md.lines().count(),
        attributes: serde_json::json!({"phase_detail": null}),
        state_error: None,
        view: serde_json::json!({"status": status}),
        findings: vec![],
        history: vec![],
    }
}

#[test]
fn running_flow_drives_domain_status_and_update_entity() {
    let mut inv = inventory();
    let long_line = format!("- ✅ {}", "x".repeat(400));
    inv.flows.insert(
        D1.into(),
        flow(
            "running_prechecks",
            true,
            &format!("- ℹ️ started\n{long_line}\n"),
        ),
    );
    let rc = rc(false);
    let r = render(&inv, &rc);
    let t = &rc.topics;
    let s = |topic: String| r.states.get(&topic).cloned().unwrap_or_default();
    assert_eq!(
        s(t.domain_leaf("sfo_m01", "status")),
        "update_process_started"
    );
    assert_eq!(s(t.upgrade("sfo_m01", "status")), "running_prechecks");
    assert_eq!(s(t.ignore_alerts("sfo_m01")), "ON");
    let logs = s(t.upgrade("sfo_m01", "logs"));
    assert_eq!(
        logs.chars().count(),
        255,
        "long log line truncated in the state"
    );
    let attrs: serde_json::Value =
        serde_json::from_str(&s(Topics::attributes(&t.upgrade("sfo_m01", "logs")))).expect("json");
    assert!(
        attrs["markdown"]
            .as_str()
            .unwrap_or_default()
            .contains(&"x".repeat(400))
    );
    assert_eq!(attrs["entries"], 2);
    let upd: serde_json::Value = serde_json::from_str(&s(t.update_state("sfo_m01"))).expect("json");
    assert_eq!(upd["in_progress"], true);
    assert_eq!(upd["update_percentage"], 42);
    assert_eq!(
        s(t.upgrade("sfo_m01", "state")),
        r#"{"status":"running_prechecks"}"#
    );
}

#[test]
fn logs_state_defaults() {
    assert_eq!(logs_state(""), "No Messages");
    assert_eq!(logs_state("No Messages"), "No Messages");
    assert_eq!(
        logs_state("### Upgrade Logs\n\n_No Messages_"),
        "No Messages"
    );
    assert_eq!(logs_state("- a\n- b\n\n"), "b");
}

#[test]
fn logs_state_is_the_newest_entry_in_plain_words() {
    let md = "### Upgrade Logs\n\n- `2026-01-01 10:00:00 UTC` ✅ Download of the NSX bundle \
              started (bundle `6f1e-42`)\n- `2026-01-01 10:01:00 UTC` ⚠️ **NSX precheck** · \
              *Disk space*: low on `sfo_m01`\n  _Remediation:_ free some space";
    assert_eq!(
        logs_state(md),
        "⚠️ NSX precheck · Disk space: low on sfo_m01"
    );
    let state = logs_state(&format!(
        "- `2026-01-01 10:00:00 UTC` ℹ️ {}",
        "x".repeat(400)
    ));
    assert_eq!(state.chars().count(), 255);
    assert!(!state.contains('`') && !state.contains("UTC"), "{state}");
}

#[test]
fn vanished_host_is_not_rendered() {
    let mut inv = inventory();
    let rc = rc(false);
    let before = render(&inv, &rc).into_messages(&rc.topics);
    inv.hosts.clear();
    let after = render(&inv, &rc).into_messages(&rc.topics);
    let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
    assert!(gone.iter().any(|k| k.as_str()
        == "homeassistant/sensor/sfo_vcf01/vcf_host_sfo01_m01_esx01_cpu_usage/config"));
    assert!(gone.iter().all(|k| k.contains("esx01")), "{gone:?}");
}

#[test]
fn unchanged_inventory_renders_identically() {
    let inv = inventory();
    let rc = rc(false);
    let a = render(&inv, &rc).into_messages(&rc.topics);
    let b = render(&inv, &rc).into_messages(&rc.topics);
    assert_eq!(a, b);
}

fn matches_pattern(pattern: &str, topic: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    p.len() == t.len()
        && p.iter()
            .zip(&t)
            .all(|(a, b)| (a.starts_with('<') && a.ends_with('>')) || a == b)
}

#[test]
fn every_published_topic_is_documented() {
    let docs = include_str!("../../../../../docs/mqtt.md");
    let patterns = Topics::documented_patterns();
    for p in &patterns {
        assert!(
            docs.contains(&format!("`{p}`")),
            "{p} missing from docs/mqtt.md"
        );
    }
    let rc = rc(true);
    let mut inv = inventory();
    inv.flows
        .insert(D1.into(), flow("starting_upgrades", true, "- x"));
    let r = render(&inv, &rc);
    let to_pattern = |t: &str| {
        t.replacen("datacenter_assistant", "<b>", 1)
            .replacen("homeassistant", "<prefix>", 1)
    };
    let mut topics: Vec<String> = r.clone().into_messages(&rc.topics).into_keys().collect();
    for action in ["start", "acknowledge", "abort", "download_bundles"] {
        topics.push(rc.topics.upgrade_command("sfo_m01", action));
    }
    topics.push(rc.topics.check_updates_set());
    topics.push(rc.topics.refresh_token_set());
    topics.push(rc.topics.ignore_alerts_set("sfo_m01"));
    topics.push(rc.topics.update_install("sfo_m01"));
    topics.push(rc.topics.ha_status());
    topics.push(rc.topics.upgrade("sfo_m01", "event"));
    for topic in topics {
        let generic = to_pattern(&topic);
        assert!(
            patterns.iter().any(|p| matches_pattern(p, &generic)),
            "{topic} matches no documented pattern"
        );
    }
}

#[test]
fn every_config_key_is_documented() {
    let docs = include_str!("../../../../../docs/configuration.md");
    for key in crate::config::KEYS {
        assert!(
            docs.contains(&format!("`{key}`")),
            "{key} missing from docs/configuration.md"
        );
        if crate::config::FILE_ONLY_KEYS.contains(key) {
            continue;
        }
        let env = crate::config::env_name(key);
        assert!(
            docs.contains(&format!("`{env}`")),
            "{env} missing from docs/configuration.md"
        );
    }
}

#[test]
fn every_entity_is_documented() {
    let docs = include_str!("../../../../../docs/home-assistant.md");
    let r = render(&inventory(), &rc(true));
    for c in &r.configs {
        let generic = format!("{}.{}", c.component, c.object_id)
            .replace("sfo_vcf01", "<i>")
            .replace("host_sfo01_m01_esx01", "host_<h>")
            .replace("sfo_m01_sfo_m01_cl01", "<d>_<c>")
            .replace("sfo_m01", "<d>");
        assert!(
            docs.contains(&generic),
            "{generic} missing from docs/home-assistant.md"
        );
    }
}

#[test]
fn upgrade_status_options_hold_every_status_the_orchestrator_reports() {
    let r = render(&inventory(), &rc(false));
    let j = config_json(&r, "sensor", "vcf_sfo_m01_upgrade_status");
    let options: Vec<&str> = j["options"]
        .as_array()
        .expect("options")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    // The orchestrator's own list, in its flow order; its tests prove every phase's status is
    // in that list.
    assert_eq!(options, upgrade_orchestrator::phase::STATUSES);
}

#[test]
fn every_entity_command_is_a_row_of_the_command_table() {
    for rows in [
        table::BRIDGE,
        table::DOMAIN,
        table::CLUSTER,
        table::HOST,
        table::UPGRADE,
    ] {
        for e in rows {
            if let Some(leaf) = e.command {
                assert!(
                    crate::commands::command(leaf).is_some(),
                    "{} names command {leaf}, which is not in COMMANDS",
                    e.key
                );
            }
        }
    }
}

#[test]
fn every_button_comes_from_a_command_row() {
    let mut rc = rc(true);
    rc.readiness = true;
    let r = render(&inventory(), &rc);
    let buttons: Vec<serde_json::Value> = r
        .configs
        .iter()
        .filter(|c| c.component == "button")
        .map(|c| serde_json::from_str(&c.payload).expect("json"))
        .collect();
    let rows: Vec<_> = crate::commands::COMMANDS
        .iter()
        .filter(|c| c.button.is_some())
        .collect();
    assert_eq!(buttons.len(), rows.len());
    for c in rows {
        let topic = rc.topics.command(c, "sfo_m01");
        let b = buttons
            .iter()
            .find(|b| b["command_topic"] == topic)
            .unwrap_or_else(|| panic!("no button for {topic}"));
        assert_eq!(b["name"], c.label);
        assert_eq!(b["icon"], c.icon);
        assert_eq!(b["payload_press"], c.payloads[0].0);
        let parsed = rc.topics.parse_command(&topic).expect("parses");
        assert_eq!(parsed.kind, c);
    }
}

#[test]
fn state_storage_is_a_problem_while_the_flow_state_cannot_be_saved() {
    let mut inv = inventory();
    let mut f = flow("starting_upgrades", true, "- ℹ️ started\n");
    f.state_error = Some("state file /state/flow-d1.json.tmp: Read-only file system".into());
    inv.flows.insert(D1.into(), f);
    let rc = rc(false);
    let t = &rc.topics;
    let topic = t.upgrade("sfo_m01", "state_storage");
    let r = render(&inv, &rc);
    assert_eq!(r.states.get(&topic).map(String::as_str), Some("ON"));
    let attrs: serde_json::Value =
        serde_json::from_str(&r.states[&Topics::attributes(&topic)]).expect("json");
    assert_eq!(
        attrs["error"],
        "state file /state/flow-d1.json.tmp: Read-only file system"
    );
    // saved again: the problem clears by itself
    if let Some(f) = inv.flows.get_mut(D1) {
        f.state_error = None;
    }
    let r = render(&inv, &rc);
    assert_eq!(r.states.get(&topic).map(String::as_str), Some("OFF"));
}

fn finding(
    severity: upgrade_orchestrator::api::FindingSeverity,
    resource: &str,
    message: &str,
) -> upgrade_orchestrator::api::Finding {
    upgrade_orchestrator::api::Finding {
        severity,
        resource: resource.into(),
        check: "Some check".into(),
        message: message.into(),
        remediation: Some("Do this".into()),
    }
}

#[test]
fn precheck_findings_count_as_state_and_list_as_attributes() {
    use upgrade_orchestrator::api::FindingSeverity::{Error, Warning};
    let mut inv = inventory();
    let mut f = flow("waiting_for_alert_acknowledgement", true, "- ⚠️ waiting\n");
    f.findings = vec![
        finding(Error, "esx02", "Host cannot enter maintenance mode"),
        finding(Warning, "sfo-m01-vc01", "vSAN HCL database is old"),
    ];
    inv.flows.insert(D1.into(), f);
    let rc = rc(false);
    let r = render(&inv, &rc);
    let topic = rc.topics.upgrade("sfo_m01", "findings");
    assert_eq!(r.states.get(&topic).map(String::as_str), Some("2"));
    let attrs: serde_json::Value =
        serde_json::from_str(&r.states[&Topics::attributes(&topic)]).expect("json");
    assert_eq!(attrs["errors"], 1);
    assert_eq!(attrs["warnings"], 1);
    assert_eq!(attrs["waiting_for_acknowledgement"], true);
    assert_eq!(attrs["more"], 0);
    assert_eq!(attrs["findings"][0]["severity"], "error");
    assert_eq!(attrs["findings"][0]["resource"], "esx02");
    assert_eq!(attrs["findings"][0]["remediation"], "Do this");
    assert_eq!(attrs["findings"][1]["severity"], "warning");
    assert_eq!(attrs["findings"][1]["message"], "vSAN HCL database is old");
    let j = config_json(&r, "sensor", "vcf_sfo_m01_precheck_findings");
    assert_eq!(j["name"], "Precheck Findings");
    assert_eq!(j["json_attributes_topic"], Topics::attributes(&topic));
}

#[test]
fn many_long_findings_stay_under_the_attribute_limit_and_say_how_many_are_left_out() {
    use upgrade_orchestrator::api::FindingSeverity::Warning;
    let mut inv = inventory();
    let mut f = flow("waiting_for_alert_acknowledgement", true, "");
    f.findings = (0..200)
        .map(|i| finding(Warning, &format!("esx{i:03}"), &"x".repeat(900)))
        .collect();
    inv.flows.insert(D1.into(), f);
    let rc = rc(false);
    let r = render(&inv, &rc);
    let text = &r.states[&Topics::attributes(&rc.topics.upgrade("sfo_m01", "findings"))];
    assert!(text.len() < MAX_ATTRIBUTES_LEN, "{}", text.len());
    let attrs: serde_json::Value = serde_json::from_str(text).expect("json");
    let shown = attrs["findings"].as_array().expect("list").len();
    assert!(shown > 5, "{shown}");
    assert_eq!(attrs["more"], 200 - shown);
    assert_eq!(attrs["warnings"], 200);
    assert!(
        attrs["findings"][0]["message"]
            .as_str()
            .unwrap_or("")
            .chars()
            .count()
            <= 500
    );
}

#[test]
fn upgrade_history_says_how_the_last_flow_ended_and_lists_the_runs() {
    use upgrade_orchestrator::history::{ComponentDuration, RunResult, UpgradeRecord};
    let mut inv = inventory();
    inv.flows
        .insert(D1.into(), flow("waiting_for_initiation", false, ""));
    let rc = rc(false);
    let topic = rc.topics.upgrade("sfo_m01", "history");
    let r = render(&inv, &rc);
    assert_eq!(r.states.get(&topic).map(String::as_str), Some("none"));
    let at = |h: i64| chrono::DateTime::from_timestamp(1_780_000_000 + h * 3600, 0).expect("valid");
    let run = |result, h| UpgradeRecord {
        started_at: Some(at(h)),
        finished_at: at(h + 2),
        mode: "upgrade".into(),
        from_version: Some("5.2.0.0".into()),
        to_version: Some("5.2.1.0".into()),
        result,
        duration_seconds: Some(7200),
        components: vec![ComponentDuration {
            component: "VCENTER".into(),
            seconds: 1800,
        }],
        error: (result == RunResult::Failed).then(|| "e".repeat(2000)),
    };
    if let Some(f) = inv.flows.get_mut(D1) {
        f.history = vec![run(RunResult::Completed, 10), run(RunResult::Failed, 1)];
    }
    let r = render(&inv, &rc);
    assert_eq!(r.states.get(&topic).map(String::as_str), Some("completed"));
    let attrs: serde_json::Value =
        serde_json::from_str(&r.states[&Topics::attributes(&topic)]).expect("json");
    let runs = attrs["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["result"], "completed");
    assert_eq!(runs[0]["from_version"], "5.2.0.0");
    assert_eq!(runs[0]["to_version"], "5.2.1.0");
    assert_eq!(runs[0]["components"][0]["component"], "VCENTER");
    assert_eq!(runs[0]["components"][0]["seconds"], 1800);
    assert_eq!(runs[1]["result"], "failed");
    assert!(runs[1]["error"].as_str().unwrap_or("").chars().count() <= 500);
    // Every result the orchestrator records is one of the announced options.
    let j = config_json(&r, "sensor", "vcf_sfo_m01_upgrade_history");
    for result in [
        RunResult::Completed,
        RunResult::Downloaded,
        RunResult::Failed,
        RunResult::Aborted,
    ] {
        assert!(
            j["options"]
                .as_array()
                .expect("options")
                .contains(&serde_json::json!(result.as_str())),
            "{result:?}"
        );
    }
}

#[test]
fn readiness_states_and_switch_render_only_when_enabled() {
    use crate::readiness::{Account, Inputs, Thresholds, evaluate};
    let inv0 = inventory();
    let (id, name) = inv0
        .domains
        .iter()
        .next()
        .map(|(id, d)| (id.clone(), d.name.clone()))
        .expect("a domain");
    let mut inv = inv0.clone();
    let now = chrono::Utc::now();
    let inputs = Inputs {
        accounts: Ok(vec![Account {
            id: "c1".into(),
            username: "root".into(),
            resource: "vc01".into(),
            resource_type: "VCENTER".into(),
            domains: vec![name.clone()],
            expires: Some(now - chrono::TimeDelta::days(1)),
            status: None,
            connectivity: None,
        }]),
        certificates: std::collections::BTreeMap::new(),
        backup: Err("not read".into()),
        depot: Err("not read".into()),
        failed_tasks: Err("not read".into()),
        notifications: None,
        image_compliance: Ok(std::collections::BTreeMap::new()),
    };
    let report = evaluate(
        &[(id.clone(), name.clone())],
        &inputs,
        &Thresholds::default(),
        now,
    );
    inv.readiness.report = Some(report);
    inv.readiness.overrides.insert(id);
    let off = render(&inv, &rc(false));
    assert!(!off.states.keys().any(|t| t.ends_with("/readiness")));
    let mut on_rc = rc(false);
    on_rc.readiness = true;
    let on = render(&inv, &on_rc);
    let slug = crate::topics::slug(&name);
    let state = |leaf: &str| {
        on.states
            .iter()
            .find(|(t, _)| t.ends_with(&format!("/domain/{slug}/{leaf}")))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {leaf}"))
    };
    assert_eq!(state("readiness"), "blocked");
    assert_eq!(state("override_readiness"), "ON");
    assert!(state("readiness/attributes").contains("Password of root on vc01 (VCENTER) expired"));
    assert!(
        on.configs
            .iter()
            .any(|c| c.object_id.ends_with("_override_readiness"))
    );
    assert!(
        on.configs
            .iter()
            .any(|c| c.object_id.ends_with("_back_up_now"))
    );
}

/// On a 9.x SDDC Manager the first readiness report announces the SDDC Manager Notifications
/// sensor and event and each cluster's Image Compliance; on 5.2 (nothing read) none of them.
#[test]
fn vcf9_readiness_entities_appear_with_what_was_read() {
    use crate::readiness::{
        ClusterImage, ComplianceFinding, ImageCompliance, Inputs, Notice, Thresholds, evaluate,
    };
    let mut inv = inventory();
    let now = chrono::Utc::now();
    let mut inputs = Inputs {
        accounts: Ok(Vec::new()),
        certificates: std::collections::BTreeMap::new(),
        backup: Err("not read".into()),
        depot: Err("not read".into()),
        failed_tasks: Err("not read".into()),
        notifications: None,
        image_compliance: Ok(std::collections::BTreeMap::new()),
    };
    let domains = [(D1.to_owned(), "sfo-m01".to_owned())];
    let mut on = rc(false);
    on.readiness = true;
    inv.readiness.report = Some(evaluate(&domains, &inputs, &Thresholds::default(), now));
    let five = render(&inv, &on);
    let five_structure = super::structure_fingerprint(&inv, &on);
    for key in [
        "_vcf_notifications",
        "_vcf_notification",
        "_image_compliance",
    ] {
        assert!(
            !five.configs.iter().any(|c| c.object_id.ends_with(key)),
            "5.2 announces no {key}"
        );
    }

    inputs.notifications = Some(Ok(vec![Notice {
        key: "k".into(),
        severity: "ERROR".into(),
        message: "vpxd is not running".into(),
        domain_id: Some(D1.into()),
        domain: Some("sfo-m01".into()),
        ..Notice::default()
    }]));
    inputs.image_compliance = Ok(std::collections::BTreeMap::from([(
        C1.to_owned(),
        ClusterImage {
            name: "sfo-m01-cl01".into(),
            domain_id: D1.into(),
            read: Ok(ImageCompliance {
                cluster: "sfo-m01-cl01".into(),
                state: "non_compliant",
                status: Some("NON_COMPLIANT".into()),
                findings: vec![ComplianceFinding {
                    host: "sfo01-m01-esx01.sfo.rainpole.io".into(),
                    component: "nvme-pcie".into(),
                    status: "NON_COMPLIANT".into(),
                    ..ComplianceFinding::default()
                }],
                ..ImageCompliance::default()
            }),
        },
    )]));
    inv.readiness.report = Some(evaluate(&domains, &inputs, &Thresholds::default(), now));
    let nine = render(&inv, &on);
    // The hub re-sends discovery configs only when the structure changes: these entities are
    // part of it.
    assert_ne!(super::structure_fingerprint(&inv, &on), five_structure);
    let config = |suffix: &str| {
        nine.configs
            .iter()
            .find(|c| c.object_id.ends_with(suffix))
            .unwrap_or_else(|| panic!("no config {suffix}"))
    };
    let event: serde_json::Value =
        serde_json::from_str(&config("_vcf_notification").payload).expect("json");
    assert_eq!(
        event["event_types"],
        serde_json::json!(["info", "warning", "error", "critical", "other"])
    );
    assert!(event.get("retain").is_none_or(|r| r == false));
    let sensor: serde_json::Value =
        serde_json::from_str(&config("_cl01_image_compliance").payload).expect("json");
    assert_eq!(sensor["name"], "cl01 Image Compliance");
    assert_eq!(sensor["device_class"], "enum");
    let state = |suffix: &str| {
        nine.states
            .iter()
            .find(|(t, _)| t.ends_with(suffix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no state {suffix}"))
    };
    assert_eq!(state("/bridge/notifications"), "1");
    assert!(state("/bridge/notifications/attributes").contains("vpxd is not running"));
    assert_eq!(
        state("/cluster/sfo_m01_cl01/image_compliance"),
        "non_compliant"
    );
    assert!(state("/cluster/sfo_m01_cl01/image_compliance/attributes").contains("nvme-pcie"));
    assert_eq!(state("/domain/sfo_m01/readiness"), "warnings");
}
