//! States: what the bridge publishes for domains, clusters and hosts, retained, and only when a
//! value changes.

use std::collections::BTreeMap;

use dca_tests::recorder::{Mark, Recorder};
use dca_tests::rig::Rig;
use dca_tests::wait::secs;

use crate::common::{Inventory, REAL_TIME, number, wait_discovery_complete};

/// Every domain, cluster and host state is published retained with a sensible value: the
/// version, the upgrade offered by the default scenario, percentages, host counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_retained_states_for_domains_clusters_and_hosts() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    for d in &inventory.domains {
        for (leaf, want) in [
            ("current_version", "5.2.0.0"),
            ("status", "updates_available"),
            ("upgrade/status", "waiting_for_initiation"),
            ("ignore_alerts", "OFF"),
        ] {
            let topic = rig.domain_topic(&d.slug, leaf);
            let got = rig.recorder.wait_current(&topic, want, secs(60)).await;
            rig.with_log(got)?;
        }
        for (cluster, hosts) in &d.clusters {
            let topic = rig.domain_topic(&d.slug, &format!("cluster/{cluster}/host_count"));
            rig.recorder
                .wait_current(&topic, &hosts.to_string(), secs(60))
                .await?;
        }
    }
    rig.recorder
        .wait_current(&rig.topic("bridge/connectivity"), "ON", secs(60))
        .await?;
    // Percentages: wait until every usage topic has a value, then check the range.
    let mut usage_topics = Vec::new();
    for d in &inventory.domains {
        for m in ["cpu_usage", "memory_usage", "storage_usage"] {
            usage_topics.push(rig.domain_topic(&d.slug, m));
        }
    }
    for h in &inventory.hosts {
        for m in ["cpu_usage", "memory_usage", "storage_usage"] {
            usage_topics.push(rig.topic(&format!("host/{}/{m}", h.slug)));
        }
    }
    for topic in &usage_topics {
        let msg = rig.recorder.wait_topic(Mark(0), topic, secs(60)).await?;
        let latest = rig.recorder.latest(topic).unwrap_or(msg);
        let v = number(&latest)
            .ok_or_else(|| anyhow::anyhow!("{topic} = {:?} is not a number", latest.text()))?;
        anyhow::ensure!(
            (0.0..=100.0).contains(&v),
            "{topic} = {v} is not a percentage"
        );
        anyhow::ensure!(
            latest
                .text()
                .split('.')
                .nth(1)
                .is_none_or(|dec| dec.len() <= 1),
            "{topic} = {} has more than one decimal",
            latest.text()
        );
    }
    // Status attributes name the next release and carry its BOM.
    let m01 = &inventory.domain("sfo-m01").slug;
    let attrs_topic = rig.domain_topic(m01, "status/attributes");
    let attrs = rig
        .recorder
        .wait_topic(Mark(0), &attrs_topic, secs(60))
        .await?;
    let attrs_text = rig.recorder.latest(&attrs_topic).unwrap_or(attrs).text();
    anyhow::ensure!(
        attrs_text.contains("5.2.1.0"),
        "{attrs_topic}: {attrs_text}"
    );
    // The HA update entity shows installed and latest version.
    let update_topic = rig.domain_topic(m01, "update/state");
    let update = rig
        .recorder
        .wait_topic(Mark(0), &update_topic, secs(60))
        .await?;
    let update = rig
        .recorder
        .latest(&update_topic)
        .unwrap_or(update)
        .json()?;
    anyhow::ensure!(update["installed_version"] == "5.2.0.0", "{update}");
    anyhow::ensure!(update["latest_version"] == "5.2.1.0", "{update}");

    // All of it is retained: a client connecting now (Home Assistant after a restart) gets it.
    let retained = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    for topic in usage_topics.iter().chain([
        &rig.domain_topic(m01, "current_version"),
        &rig.domain_topic(m01, "upgrade/status"),
        &rig.topic("bridge/state"),
        &rig.topic("bridge/connectivity"),
    ]) {
        anyhow::ensure!(retained.contains_key(topic), "{topic} is not retained");
    }
    // Every state fits Home Assistant's 255-character limit.
    for (topic, m) in &retained {
        let is_state = !topic.ends_with("/attributes")
            && !topic.ends_with("/upgrade/state")
            && !topic.ends_with("/update/state");
        if is_state {
            anyhow::ensure!(
                m.payload.len() <= 255,
                "{topic} state is {} bytes",
                m.payload.len()
            );
        }
    }
    Ok(())
}

/// A resource cycle that finds nothing new publishes nothing: no discovery config and no state
/// is sent again with the value it already has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_cycles_publish_nothing_again() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    let m01 = inventory.domain("sfo-m01").slug.clone();
    rig.recorder
        .wait_current(
            &rig.domain_topic(&m01, "status"),
            "updates_available",
            secs(60),
        )
        .await?;

    // Everything recorded so far is the "previous value" of each topic.
    let start = rig.recorder.sync().await?;
    let mut last: BTreeMap<String, Vec<u8>> = rig
        .recorder
        .latest_by_topic()
        .into_iter()
        .map(|(t, m)| (t, m.payload))
        .collect();
    // Let at least three more resource cycles run (each reads the host list once).
    let hosts_before = rig.sim.requests().await?.count("GET /v1/hosts");
    let sim = &rig.sim;
    let cycles = dca_tests::wait::until_ok("three more resource cycles", secs(60), || async move {
        let n = sim.requests().await?.count("GET /v1/hosts");
        Ok((n >= hosts_before + 4).then_some(n))
    })
    .await;
    rig.with_log(cycles)?;
    rig.recorder.sync().await?;

    let prefix = format!("{}/", rig.config.discovery_prefix);
    let mut repeats = Vec::new();
    for m in rig.recorder.since(start) {
        if m.topic.starts_with(&prefix) {
            repeats.push(format!("discovery re-published: {}", m.topic));
        } else if last.get(&m.topic) == Some(&m.payload) {
            repeats.push(format!("same value again: {} = {}", m.topic, m.text()));
        }
        last.insert(m.topic.clone(), m.payload.clone());
    }
    anyhow::ensure!(
        repeats.is_empty(),
        "unchanged values were published again:\n{}",
        repeats.join("\n")
    );
    Ok(())
}

/// A restarted bridge never takes a known value back to `unknown` (`None` or an empty payload)
/// while it reads SDDC Manager again: what the broker retains stays shown until the new value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_never_shows_a_known_value_as_unknown() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    let status_topics: Vec<String> = inventory
        .domains
        .iter()
        .map(|d| rig.domain_topic(&d.slug, "status"))
        .collect();
    for topic in &status_topics {
        rig.recorder
            .wait_current(topic, "updates_available", secs(60))
            .await?;
    }
    let before = Recorder::retained(rig.mqtt_port(), &[&rig.config.base_topic]).await?;
    let known = |t: &str| {
        before
            .get(t)
            .is_some_and(|m| !m.payload.is_empty() && m.text() != "None")
    };
    rig.bridge().terminate(secs(30)).await?;
    let mark = rig.recorder.mark();
    rig.start_bridge_online().await?;
    // Everything is read again once each domain's status has been published anew.
    for topic in &status_topics {
        rig.recorder
            .wait_payload(mark, topic, "updates_available", secs(60))
            .await?;
    }
    rig.recorder.sync().await?;
    let flicker: Vec<String> = rig
        .recorder
        .since(mark)
        .into_iter()
        .filter(|m| known(&m.topic) && (m.payload.is_empty() || m.text() == "None"))
        .map(|m| format!("{} = {:?}", m.topic, m.text()))
        .collect();
    anyhow::ensure!(
        flicker.is_empty(),
        "known values shown as unknown after a restart: {flicker:?}"
    );
    Ok(())
}
