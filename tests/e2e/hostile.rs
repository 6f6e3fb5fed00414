//! Hostile SDDC Manager answers, served by the simulator (`/sim/faults` `answers`) to the real
//! bridge: floods that once took the bridge to gigabytes, a page count of a billion, and
//! broken answers that once cleared or invented entities. What a user sees: memory stays
//! bounded, no value changes, no entity is removed or invented, and the connectivity sensor or
//! the domain's Status names the endpoint and what was wrong.

use dca_tests::recorder::Mark;
use dca_tests::rig::Rig;
use dca_tests::wait::secs;
use serde_json::{Value, json};

use crate::common::{Inventory, REAL_TIME, wait_discovery_complete};

/// The peak resident memory the bridge may reach through every hostile answer below.
const RSS_BOUND_KB: u64 = 100 * 1024;

use dca_tests::process::peak_rss_kib as peak_rss_kb;

/// `{"elements":[{},{},...]}` of about `bytes` bytes.
fn flood(path: &str, bytes: usize) -> Value {
    json!({"path": path, "body": "{\"elements\":[", "repeat": "{},",
           "times": bytes / 3, "suffix": "{}]}"})
}

/// Waits until the Status attributes of `domain_slug` carry a `last_error` containing every
/// one of `parts`, published after `mark`; returns that error.
async fn wait_status_error(
    rig: &mut Rig,
    mark: Mark,
    domain_slug: &str,
    parts: &[&str],
) -> anyhow::Result<String> {
    let topic = rig.domain_topic(domain_slug, "status/attributes");
    let what = format!("{topic} last_error with {parts:?}");
    let got = rig
        .recorder
        .wait_for(mark, &what, secs(60), |m| {
            m.topic == topic
                && m.json().is_ok_and(|v| {
                    v["last_error"]
                        .as_str()
                        .is_some_and(|e| parts.iter().all(|p| e.contains(p)))
                })
        })
        .await;
    let got = rig.with_log(got)?.json()?;
    Ok(got["last_error"].as_str().unwrap_or_default().to_owned())
}

/// Waits until the connectivity attributes carry a `last_error` containing every one of
/// `parts`, published after `mark`; returns that error.
async fn wait_connectivity_error(
    rig: &mut Rig,
    mark: Mark,
    parts: &[&str],
) -> anyhow::Result<String> {
    let topic = rig.topic("bridge/connectivity/attributes");
    let what = format!("connectivity last_error with {parts:?}");
    let got = rig
        .recorder
        .wait_for(mark, &what, secs(60), |m| {
            m.topic == topic
                && m.json().is_ok_and(|v| {
                    v["last_error"]
                        .as_str()
                        .is_some_and(|e| parts.iter().all(|p| e.contains(p)))
                })
        })
        .await;
    let got = rig.with_log(got)?.json()?;
    Ok(got["last_error"].as_str().unwrap_or_default().to_owned())
}

/// A bridge with every entity announced and the first update check done.
async fn settled_rig() -> anyhow::Result<(Rig, Inventory)> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let inventory = Inventory::read(&rig.sim).await?;
    rig.start_bridge_online().await?;
    wait_discovery_complete(&mut rig, &inventory, secs(60)).await?;
    for d in &inventory.domains {
        let topic = rig.domain_topic(&d.slug, "status");
        let got = rig
            .recorder
            .wait_current(&topic, "updates_available", secs(60))
            .await;
        rig.with_log(got)?;
        // Readiness is read right after the update check: settled once it is shown too.
        let topic = rig.domain_topic(&d.slug, "readiness");
        let got = rig.recorder.wait_current(&topic, "ready", secs(60)).await;
        rig.with_log(got)?;
    }
    let topic = rig.topic("bridge/connectivity");
    rig.recorder.wait_current(&topic, "ON", secs(60)).await?;
    Ok((rig, inventory))
}

/// Resource polls keep coming (every second in tests): waits for `n` more of `GET path`
/// after the count seen now, so a test knows the bridge has read the hostile answer again.
async fn wait_requests(rig: &Rig, endpoint: &str, n: u64) -> anyhow::Result<()> {
    let start = rig.sim.requests().await?.count(endpoint);
    let sim = &rig.sim;
    dca_tests::wait::until(&format!("{n} more {endpoint}"), secs(60), || async {
        let now = sim.requests().await.ok()?.count(endpoint);
        (now >= start + n).then_some(())
    })
    .await
}

/// Every message since `mark` that removes a discovery config (an empty retained payload)
/// or announces an entity that did not exist before `mark`.
fn discovery_changes(rig: &Rig, mark: Mark) -> Vec<String> {
    let before: std::collections::BTreeSet<String> = rig
        .recorder
        .until(mark)
        .into_iter()
        .map(|m| m.topic)
        .collect();
    let prefix = format!("{}/", rig.config.discovery_prefix);
    rig.recorder
        .since(mark)
        .into_iter()
        .filter(|m| m.topic.starts_with(&prefix) && m.topic.ends_with("/config"))
        .filter(|m| m.payload.is_empty() || !before.contains(&m.topic))
        .map(|m| format!("{} ({} bytes)", m.topic, m.payload.len()))
        .collect()
}

/// The flood answers on `GET /v1/upgradables/domains/{id}` (3, 12 and 24 MB of `{}`
/// elements), then a `pageMetadata.totalPages` of a billion: the bridge's peak memory stays
/// under 100 MB, it asks for no second page, and no domain ever shows a wrong component count
/// or "up to date".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_answers_keep_memory_bounded_and_publish_nothing_wrong() -> anyhow::Result<()> {
    let (mut rig, inventory) = settled_rig().await?;
    let pid = rig.bridge().pid();
    let components: Vec<(String, Option<Vec<u8>>)> = inventory
        .domains
        .iter()
        .map(|d| {
            let t = rig.domain_topic(&d.slug, "components_to_update");
            let now = rig.recorder.latest(&t).map(|m| m.payload);
            (t, now)
        })
        .collect();
    let start = rig.recorder.mark();
    let mut figures = vec![format!("settled: peak RSS {} KiB", peak_rss_kb(pid)?)];

    let floods: [(usize, &[&str]); 3] = [
        (3 << 20, &["more than 1000 elements", "an upgradable list"]),
        (
            12 << 20,
            &["answer of 12582929 bytes larger than 4194304", "not read"],
        ),
        (
            24 << 20,
            &["answer of 25165841 bytes larger than 4194304", "not read"],
        ),
    ];
    for (bytes, expected) in floods {
        let answers: Vec<Value> = inventory
            .domains
            .iter()
            .map(|d| flood(&format!("/v1/upgradables/domains/{}", d.id), bytes))
            .collect();
        // Marked first: a check already under way may read the new answer before the press.
        let mark = rig.recorder.mark();
        rig.sim.fault(json!({ "answers": answers })).await?;
        rig.press("bridge/check_updates/set").await?;
        for d in &inventory.domains {
            let mut parts = vec!["GET /v1/upgradables/domains/"];
            parts.extend_from_slice(expected);
            wait_status_error(&mut rig, mark, &d.slug, &parts).await?;
        }
        figures.push(format!(
            "{} MB of {{}} elements: peak RSS {} KiB",
            bytes >> 20,
            peak_rss_kb(pid)?
        ));
    }

    // A billion pages announced: refused on the first page.
    let answers: Vec<Value> = inventory
        .domains
        .iter()
        .map(|d| {
            json!({"path": format!("/v1/upgradables/domains/{}", d.id),
                   "body": json!({"elements": [{"bundleId": "b-1", "status": "AVAILABLE",
                                                "softwareComponents": [{"type": "VCENTER"}]}],
                                  "pageMetadata": {"pageNumber": 0, "pageSize": 1,
                                                   "totalPages": 1_000_000_000}}).to_string()})
        })
        .collect();
    let mark = rig.recorder.mark();
    rig.sim.fault(json!({ "answers": answers })).await?;
    rig.press("bridge/check_updates/set").await?;
    for d in &inventory.domains {
        wait_status_error(
            &mut rig,
            mark,
            &d.slug,
            &[
                "pageMetadata.totalPages is 1000000000",
                "more than the 20 pages",
            ],
        )
        .await?;
    }
    let peak = peak_rss_kb(pid)?;
    figures.push(format!("totalPages 1e9: peak RSS {peak} KiB"));
    println!("{}", figures.join("\n"));

    let second_pages: Vec<String> = rig
        .sim
        .log()
        .await?
        .into_iter()
        .filter(|e| {
            e.path.starts_with("/v1/upgradables/")
                && e.query.as_deref().is_some_and(|q| q.contains("pageNumber"))
        })
        .map(|e| format!("{}?{}", e.path, e.query.unwrap_or_default()))
        .collect();
    anyhow::ensure!(
        second_pages.is_empty(),
        "further pages asked for: {second_pages:?}"
    );
    anyhow::ensure!(
        peak < RSS_BOUND_KB,
        "peak RSS {peak} KiB over the {RSS_BOUND_KB} KiB bound:\n{}",
        figures.join("\n")
    );
    for (topic, before) in &components {
        for m in rig.recorder.on_topic_since(topic, start) {
            anyhow::ensure!(
                Some(&m.payload) == before.as_ref(),
                "{topic} changed to {:?} during the floods",
                m.text()
            );
        }
    }
    for d in &inventory.domains {
        let topic = rig.domain_topic(&d.slug, "status");
        for m in rig.recorder.on_topic_since(&topic, start) {
            anyhow::ensure!(m.payload == b"error", "{topic} showed {:?}", m.text());
        }
    }
    anyhow::ensure!(
        discovery_changes(&rig, start).is_empty(),
        "{:?}",
        discovery_changes(&rig, start)
    );

    // Well-formed answers again: the update shows as before, by itself after a check.
    rig.sim.fault(json!({ "answers": [] })).await?;
    rig.press("bridge/check_updates/set").await?;
    for d in &inventory.domains {
        let topic = rig.domain_topic(&d.slug, "status");
        let got = rig
            .recorder
            .wait_current(&topic, "updates_available", secs(60))
            .await;
        rig.with_log(got)?;
    }
    rig.bridge().ensure_running()
}

/// One `200 {}` on `GET /v1/domains` (kept up for several polls) clears nothing: every
/// discovery config stays, no domain state changes, and the connectivity sensor names the
/// endpoint and the missing field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_elements_clears_nothing() -> anyhow::Result<()> {
    let (mut rig, _inventory) = settled_rig().await?;
    let mark = rig.recorder.mark();
    rig.sim
        .fault(json!({ "answers": [{"path": "/v1/domains", "body": "{}"}] }))
        .await?;
    let e = wait_connectivity_error(
        &mut rig,
        mark,
        &["GET /v1/domains", "missing field `elements`"],
    )
    .await?;
    wait_requests(&rig, "GET /v1/domains", 3).await?;
    rig.recorder.sync().await?;
    anyhow::ensure!(
        discovery_changes(&rig, mark).is_empty(),
        "{:?}",
        discovery_changes(&rig, mark)
    );
    let base = rig.topic("domain/");
    let changed: Vec<String> = rig
        .recorder
        .since(mark)
        .into_iter()
        .filter(|m| m.topic.starts_with(&base))
        .map(|m| format!("{} = {}", m.topic, m.text()))
        .collect();
    anyhow::ensure!(changed.is_empty(), "domain states changed: {changed:?}");
    let topic = rig.topic("bridge/connectivity");
    anyhow::ensure!(
        rig.recorder
            .latest(&topic)
            .is_some_and(|m| m.payload == b"ON"),
        "SDDC Manager answered: connectivity stays ON ({e})"
    );
    rig.bridge().ensure_running()
}

/// A domain without a name (and, separately, a duplicated host id) is refused: no
/// `domain/unnamed/*` entity appears, nothing is removed, and the connectivity sensor says which
/// element and field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elements_without_names_or_with_repeated_ids_invent_and_clear_nothing() -> anyhow::Result<()>
{
    let (mut rig, _inventory) = settled_rig().await?;
    let client = rig.sim.client()?;
    let mut domains = serde_json::to_value(client.domains().await?)?;
    if let Some(first) = domains.get_mut(0).and_then(Value::as_object_mut) {
        first.remove("name");
    }
    let mut hosts = serde_json::to_value(client.hosts().await?)?;
    if let Some(list) = hosts.as_array_mut() {
        let first = list.first().cloned().unwrap_or(Value::Null);
        list.push(first);
    }
    let mark = rig.recorder.mark();
    for (path, elements, expected) in [
        (
            "/v1/domains",
            domains,
            "elements[0]: a domain without `name`",
        ),
        ("/v1/hosts", hosts, "a host `id`"),
    ] {
        let body = json!({ "elements": elements }).to_string();
        rig.sim
            .fault(json!({ "answers": [{"path": path, "body": body}] }))
            .await?;
        let m = rig.recorder.mark();
        wait_connectivity_error(&mut rig, m, &[&format!("GET {path}"), expected]).await?;
        wait_requests(&rig, &format!("GET {path}"), 2).await?;
    }
    rig.recorder.sync().await?;
    let invented: Vec<String> = rig
        .recorder
        .since(mark)
        .into_iter()
        .map(|m| m.topic)
        .filter(|t| t.contains("unnamed"))
        .collect();
    anyhow::ensure!(invented.is_empty(), "entities invented: {invented:?}");
    anyhow::ensure!(
        discovery_changes(&rig, mark).is_empty(),
        "{:?}",
        discovery_changes(&rig, mark)
    );
    rig.bridge().ensure_running()
}

/// Future releases without `elements` while an update exists: the domain's Status says
/// `error` naming the endpoint and the field, never `up_to_date`, and the component count stays
/// what the last good check found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_releases_without_elements_never_show_up_to_date() -> anyhow::Result<()> {
    let (mut rig, inventory) = settled_rig().await?;
    let d = inventory
        .domains
        .first()
        .ok_or_else(|| anyhow::anyhow!("the default scenario has domains"))?
        .clone();
    let components = rig.domain_topic(&d.slug, "components_to_update");
    let before = rig.recorder.latest(&components).map(|m| m.text());
    anyhow::ensure!(
        before
            .as_deref()
            .is_some_and(|c| c != "0" && c != "unknown"),
        "the default scenario offers components to update ({before:?})"
    );
    let mark = rig.recorder.mark();
    rig.sim
        .fault(json!({ "answers": [{
            "path": format!("/v1/releases/domains/{}/future-releases", d.id),
            "body": "{\"pageMetadata\":{\"pageNumber\":0,\"pageSize\":0,\"totalElements\":0,\"totalPages\":1}}"
        }] }))
        .await?;
    rig.press("bridge/check_updates/set").await?;
    let e = wait_status_error(
        &mut rig,
        mark,
        &d.slug,
        &["future-releases", "missing field `elements`"],
    )
    .await?;
    rig.recorder.sync().await?;
    let status = rig.domain_topic(&d.slug, "status");
    let shown: Vec<String> = rig
        .recorder
        .on_topic_since(&status, mark)
        .iter()
        .map(|m| m.text())
        .collect();
    anyhow::ensure!(shown == ["error"], "Status showed {shown:?} ({e})");
    for m in rig.recorder.on_topic_since(&components, mark) {
        anyhow::ensure!(
            Some(m.text()) == before,
            "components_to_update changed to {:?}",
            m.text()
        );
    }
    rig.bridge().ensure_running()
}
