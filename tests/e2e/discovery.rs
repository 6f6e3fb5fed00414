//! Home Assistant discovery: every entity announced (retained, stable ids, devices), the exact
//! payloads (snapshots), re-announcement when Home Assistant comes online, and removal of the
//! entities of a host that disappeared from SDDC Manager.

use std::collections::{BTreeMap, BTreeSet};

use dca_tests::recorder::{Message, Recorder};
use dca_tests::rig::Rig;
use dca_tests::wait::secs;
use vcf_sim::Scenario;

use crate::common::{Inventory, REAL_TIME, discovery_topic, normalise, wait_discovery_complete};

/// Every expected entity has a retained config with its entity id, a unique `unique_id` made of
/// the instance and VCF ids, a named device (hosts `via_device` their domain), and availability
/// on the bridge state topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entity_is_announced_retained_with_stable_ids() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;

    let prefix = rig.config.discovery_prefix.clone();
    let retained = Recorder::retained(rig.mqtt_port(), &[&prefix]).await?;
    let instance = rig.config.instance_id.clone();
    let state_topic = rig.topic("bridge/state");
    let mut unique_ids = BTreeSet::new();
    for (component, object_id) in inventory.expected_entities(&instance) {
        let topic = discovery_topic(&rig, &component, &object_id);
        let msg = retained
            .get(&topic)
            .ok_or_else(|| anyhow::anyhow!("no retained discovery config on {topic}"))?;
        let cfg = msg.json()?;
        // A cluster's discovery topic keeps the id earlier releases announced; its entity id
        // is the clean one (`vcf_sfo_m01_cl01_host_count`).
        let entity_object_id = inventory.entity_object_id(&object_id);
        let entity_id = format!("{component}.{entity_object_id}");
        anyhow::ensure!(
            cfg["object_id"] == entity_object_id.as_str(),
            "{topic}: object_id in {cfg}"
        );
        anyhow::ensure!(
            cfg["default_entity_id"] == entity_id.as_str(),
            "{topic}: default_entity_id in {cfg}"
        );
        let unique_id = cfg["unique_id"].as_str().unwrap_or_default().to_string();
        anyhow::ensure!(
            unique_id.starts_with(&format!("dca_{instance}_")),
            "{topic}: unique_id {unique_id:?} must start with dca_{instance}_"
        );
        anyhow::ensure!(
            unique_ids.insert(unique_id.clone()),
            "duplicate unique_id {unique_id}"
        );
        let device = &cfg["device"];
        anyhow::ensure!(
            device["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{topic}: device name in {device}"
        );
        anyhow::ensure!(
            device["identifiers"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{topic}: device identifiers in {device}"
        );
        anyhow::ensure!(
            cfg["origin"]["name"].is_string(),
            "{topic}: origin block in {cfg}"
        );
        let availability = cfg["availability"].to_string();
        anyhow::ensure!(
            availability.contains(&state_topic),
            "{topic}: availability must include {state_topic}: {availability}"
        );
        if object_id.starts_with("vcf_host_") {
            anyhow::ensure!(
                device["via_device"].is_string(),
                "{topic}: host device needs via_device: {device}"
            );
            // Named by its host name, as vSphere shows it.
            anyhow::ensure!(
                inventory
                    .hosts
                    .iter()
                    .any(|h| object_id.starts_with(&format!("vcf_host_{}_", h.slug))
                        && device["name"] == h.fqdn.as_str()),
                "{topic}: host device name in {device}"
            );
        } else if let Some(d) = inventory
            .domains
            .iter()
            .find(|d| object_id.starts_with(&format!("vcf_{}_", d.slug)))
        {
            anyhow::ensure!(
                device["name"] == format!("VCF {}", d.name).as_str(),
                "{topic}: domain device name in {device}"
            );
            anyhow::ensure!(
                crate::common::redact_uuids(&unique_id) != unique_id,
                "{topic}: unique_id {unique_id} must carry a VCF id"
            );
        }
    }
    for d in &inventory.domains {
        let topic = discovery_topic(&rig, "sensor", &format!("vcf_{}_status", d.slug));
        let unique_id = retained[&topic].json()?["unique_id"].to_string();
        anyhow::ensure!(
            unique_id.contains(&d.id),
            "{topic}: unique_id {unique_id} lacks the domain id {}",
            d.id
        );
    }
    // Measurements keep long-term statistics in Home Assistant.
    let d = &inventory.domains[0].slug;
    let cpu = retained[&discovery_topic(&rig, "sensor", &format!("vcf_{d}_cpu_usage"))].json()?;
    anyhow::ensure!(cpu["state_class"] == "measurement", "cpu sensor: {cpu}");
    anyhow::ensure!(cpu["unit_of_measurement"] == "%", "cpu sensor: {cpu}");
    let conn = &retained[&discovery_topic(
        &rig,
        "binary_sensor",
        &format!("vcf_{instance}_connectivity"),
    )];
    anyhow::ensure!(
        conn.json()?["device_class"] == "connectivity",
        "connectivity: {}",
        conn.text()
    );
    Ok(())
}

/// The discovery payloads of the default scenario, as a reviewed snapshot (UUIDs, versions,
/// ports and the test's unique names redacted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_payloads_match_snapshot() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    // Domain devices carry no VCF version (a version is a state, never a config change), so
    // the configs are complete once discovery is.
    let prefix = rig.config.discovery_prefix.clone();
    let retained = Recorder::retained(rig.mqtt_port(), &[&prefix]).await?;
    let instance = rig.config.instance_id.clone();
    let mut by_key: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for (topic, msg) in &retained {
        if !topic.contains(&format!("/{instance}/")) {
            continue;
        }
        let key = topic.replace(&instance, "[instance]");
        by_key.insert(key, normalise(&msg.json()?, &rig));
    }
    // One domain, one host and the instance device in full; every other host and domain must
    // look the same modulo names, which the entity test checks.
    let m01 = &inventory.domain("sfo-m01").slug;
    let first_host = inventory
        .hosts
        .iter()
        .map(|h| h.slug.clone())
        .min()
        .unwrap_or_default();
    let shown: BTreeMap<&String, &serde_json::Value> = by_key
        .iter()
        .filter(|(k, _)| {
            k.contains(&format!("/vcf_{m01}_"))
                || k.contains(&format!("/vcf_host_{first_host}_"))
                || k.contains("/vcf_[instance]_")
        })
        .collect();
    insta::assert_json_snapshot!("discovery_default_scenario", shown);
    Ok(())
}

/// When Home Assistant announces itself (`homeassistant/status` = `online`, e.g. after its
/// restart) the bridge publishes every discovery config again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reannounces_everything_when_home_assistant_comes_online() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    let mark = rig.recorder.sync().await?;
    let birth = format!("{}/status", rig.config.discovery_prefix);
    rig.recorder.publish(&birth, "online", false).await?;
    let expected: Vec<String> = inventory
        .expected_entities(&rig.config.instance_id)
        .iter()
        .map(|(c, o)| discovery_topic(&rig, c, o))
        .collect();
    let recorder = &rig.recorder;
    let waited = dca_tests::wait::until("every config re-published", secs(60), || {
        let seen: BTreeSet<String> = recorder
            .since(mark)
            .into_iter()
            .filter(|m| !m.payload.is_empty())
            .map(|m| m.topic)
            .collect();
        let done = expected.iter().all(|t| seen.contains(t));
        async move { done.then_some(()) }
    })
    .await;
    rig.with_log(waited)?;
    // The states come back too, so HA shows values immediately and not "unknown".
    let state_topic = rig.domain_topic(&inventory.domains[0].slug, "current_version");
    anyhow::ensure!(
        !rig.recorder.on_topic_since(&state_topic, mark).is_empty(),
        "{state_topic} was not re-published after the birth message"
    );
    Ok(())
}

/// The default scenario after one host of sfo-w01 was decommissioned: the same SDDC Manager
/// (same URL, same ids) with one host fewer.
fn default_minus_one_host() -> anyhow::Result<Scenario> {
    Scenario::from_toml_str(
        r#"
name = "default-minus-one-host"
base = "default"

[[domains]]
name = "sfo-m01"
type = "MANAGEMENT"
version = "5.2.0.0"
[[domains.clusters]]
name = "sfo-m01-cl01"
host_count = 4

[[domains]]
name = "sfo-w01"
type = "VI"
version = "5.2.0.0"
[[domains.clusters]]
name = "sfo-w01-cl01"
host_count = 2
"#,
    )
}

/// The slug of the one host in `before` that `after` no longer has.
fn the_vanished_host<'a>(before: &'a Inventory, after: &Inventory) -> anyhow::Result<&'a str> {
    let remaining: BTreeSet<&str> = after.hosts.iter().map(|h| h.slug.as_str()).collect();
    let vanished: Vec<&str> = before
        .hosts
        .iter()
        .map(|h| h.slug.as_str())
        .filter(|s| !remaining.contains(s))
        .collect();
    anyhow::ensure!(
        vanished.len() == 1,
        "expected one vanished host, got {vanished:?}"
    );
    Ok(vanished[0])
}

/// A host that disappears from SDDC Manager loses its entities: empty retained configs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removes_entities_of_a_vanished_host() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let before = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &before, secs(60)).await?;

    // The same SDDC Manager (same URL, same ids) after one host of sfo-w01 was decommissioned.
    rig.sim.replace_scenario(default_minus_one_host()?).await?;
    let after = Inventory::read(&rig.sim).await?;
    let gone = the_vanished_host(&before, &after)?;
    for key in ["cpu_usage", "memory_usage", "storage_usage"] {
        let topic = discovery_topic(&rig, "sensor", &format!("vcf_host_{gone}_{key}"));
        let mark = dca_tests::recorder::Mark(0);
        let cleared = rig
            .recorder
            .wait_for(mark, &format!("empty config on {topic}"), secs(60), |m| {
                m.topic == topic && m.payload.is_empty()
            })
            .await;
        rig.with_log(cleared)?;
    }
    let prefix = rig.config.discovery_prefix.clone();
    let retained = Recorder::retained(rig.mqtt_port(), &[&prefix]).await?;
    anyhow::ensure!(
        !retained
            .keys()
            .any(|t| t.contains(&format!("vcf_host_{gone}_"))),
        "configs of {gone} are still retained"
    );
    for h in &after.hosts {
        let topic = discovery_topic(&rig, "sensor", &format!("vcf_host_{}_cpu_usage", h.slug));
        anyhow::ensure!(retained.contains_key(&topic), "{topic} must stay");
    }
    // The cluster's host count follows.
    let w01 = after.domain("sfo-w01");
    let (cluster, count) = w01.clusters.iter().next().expect("sfo-w01 has a cluster");
    let topic = rig.domain_topic(&w01.slug, &format!("cluster/{cluster}/host_count"));
    rig.recorder
        .wait_current(&topic, &count.to_string(), secs(60))
        .await?;
    Ok(())
}

/// The retained topics under `root` (e.g. one host's states).
fn retained_under(retained: &BTreeMap<String, Message>, root: &str) -> Vec<String> {
    retained
        .keys()
        .filter(|t| t.starts_with(root))
        .cloned()
        .collect()
}

/// A host decommissioned while the bridge was stopped: at the next start the bridge finds its
/// retained discovery configs and retained states on the broker and clears both, so neither Home
/// Assistant nor a Node-RED flow keeps a ghost. The other hosts' states stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clears_a_host_that_vanished_while_the_bridge_was_down() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let before = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &before, secs(60)).await?;
    let port = rig.mqtt_port();
    let base = rig.config.base_topic.clone();
    let prefix = rig.config.discovery_prefix.clone();
    let host_roots: BTreeMap<String, String> = before
        .hosts
        .iter()
        .map(|h| (h.slug.clone(), rig.topic(&format!("host/{}/", h.slug))))
        .collect();
    let states_of_every_host =
        dca_tests::wait::until("retained states of every host", secs(60), || {
            let (base, roots) = (base.clone(), host_roots.clone());
            async move {
                let retained = Recorder::retained(port, &[&base]).await.ok()?;
                let all = roots
                    .values()
                    .all(|root| retained_under(&retained, root).len() >= 3);
                all.then_some(())
            }
        })
        .await;
    rig.with_log(states_of_every_host)?;
    rig.bridge().terminate(secs(30)).await?;

    rig.sim.replace_scenario(default_minus_one_host()?).await?;
    let after = Inventory::read(&rig.sim).await?;
    let gone = the_vanished_host(&before, &after)?.to_owned();

    rig.start_bridge_online().await?;
    let gone_root = host_roots[&gone].clone();
    let ghost_config = format!("vcf_host_{gone}_");
    let cleared = dca_tests::wait::until(
        "the vanished host's retained topics cleared",
        secs(60),
        || {
            let (base, prefix) = (base.clone(), prefix.clone());
            let (gone_root, ghost_config) = (gone_root.clone(), ghost_config.clone());
            async move {
                let retained = Recorder::retained(port, &[&base, &prefix]).await.ok()?;
                let left = retained
                    .keys()
                    .any(|t| t.starts_with(&gone_root) || t.contains(&ghost_config));
                (!left).then_some(retained)
            }
        },
    )
    .await;
    let retained = rig.with_log(cleared)?;
    for h in &after.hosts {
        let states = retained_under(&retained, &host_roots[&h.slug]);
        anyhow::ensure!(
            states.len() >= 3,
            "{} lost its retained states: {states:?}",
            h.slug
        );
    }
    for d in &after.domains {
        let topic = rig.domain_topic(&d.slug, "current_version");
        anyhow::ensure!(retained.contains_key(&topic), "{topic} must stay");
    }
    Ok(())
}
