//! Several SDDC Managers in one bridge (`[[sddc_managers]]`): each has its own device, entities,
//! flows and state directory; an upgrade of one sends nothing to the other, and one that hangs
//! never delays the other's polls.

use std::net::TcpListener;
use std::time::Duration;

use dca_tests::bridge::SddcManagerEntry;
use dca_tests::rig::Rig;
use dca_tests::sim::Sim;
use dca_tests::wait::secs;

use crate::common::Inventory;
use crate::flow::{FAST, wait_status};

/// `<base>/<instance>/<rest>` of the second SDDC Manager.
fn topic_of(rig: &Rig, instance: &str, rest: &str) -> String {
    format!("{}/{instance}/{rest}", rig.config.base_topic)
}

fn second_entry(rig: &Rig, sim: &Sim) -> SddcManagerEntry {
    SddcManagerEntry {
        instance_id: format!("{}_lax", rig.config.instance_id),
        url: sim.url().to_owned(),
        username: sim.username().to_owned(),
        password: sim.password().to_owned(),
    }
}

/// Requests the bridge sent that change something in VCF.
fn mutating(log: &[dca_tests::sim::SimLogEntry]) -> Vec<String> {
    log.iter()
        .filter(|e| matches!(e.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE"))
        .filter(|e| e.path != "/v1/tokens" && !e.path.starts_with("/v1/tokens/"))
        // The readiness poll's password-expiration query only reads.
        .filter(|e| e.path != "/v1/credentials/expirations")
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// One bridge, two simulated SDDC Managers: both announce their domains under their own
/// instance, an upgrade of the first runs to completion while the second receives no
/// changing request, and each flow lives in its own state directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bridge_serves_two_sddc_managers_apart() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", FAST).await?;
    let lax = Sim::start("second-site", FAST).await?;
    let entry = second_entry(&rig, &lax);
    let lax_id = entry.instance_id.clone();
    rig.config.more_sddc_managers = vec![entry];
    let sfo_inventory = Inventory::read(&rig.sim).await?;
    let lax_inventory = Inventory::read(&lax).await?;
    let sfo_w01 = sfo_inventory.domain("sfo-w01").slug.clone();
    let lax_w01 = lax_inventory.domain("lax-w01").slug.clone();

    rig.start_bridge_online().await?;
    // Each instance: its own availability, connectivity and domains.
    for (instance, domain) in [
        (rig.config.instance_id.clone(), &sfo_w01),
        (lax_id.clone(), &lax_w01),
    ] {
        for (rest, payload) in [
            ("bridge/state".to_owned(), "online"),
            ("bridge/connectivity".to_owned(), "ON"),
            (format!("domain/{domain}/status"), "updates_available"),
            (
                format!("domain/{domain}/upgrade/status"),
                "waiting_for_initiation",
            ),
        ] {
            let waited = rig
                .recorder
                .wait_current(&topic_of(&rig, &instance, &rest), payload, secs(60))
                .await;
            rig.with_log(waited)?;
        }
    }
    // Discovery: the second instance's entities carry its own instance in their unique ids.
    let lax_configs: Vec<_> = rig
        .recorder
        .latest_by_topic()
        .into_iter()
        .filter(|(t, m)| {
            t.starts_with("homeassistant/") && t.ends_with("/config") && !m.payload.is_empty()
        })
        .filter_map(|(_, m)| m.json().ok())
        .filter(|c| {
            c["unique_id"]
                .as_str()
                .is_some_and(|u| u.starts_with(&format!("dca_{lax_id}_")))
        })
        .collect();
    let devices: std::collections::BTreeSet<String> = lax_configs
        .iter()
        .filter_map(|c| c["device"]["name"].as_str().map(str::to_owned))
        .collect();
    anyhow::ensure!(
        devices.contains("VCF lax-w01") && !devices.iter().any(|d| d.contains("sfo")),
        "the second SDDC Manager's entities are on devices {devices:?}"
    );

    // An upgrade of sfo-w01 on the first SDDC Manager.
    let before = lax.log().await?.len();
    let mark = rig.recorder.mark();
    rig.press(&format!("domain/{sfo_w01}/upgrade/start/set"))
        .await?;
    wait_status(&mut rig, &sfo_w01, "successfully_completed", mark, 300).await?;
    let lax_log = lax.log().await?;
    let changed = mutating(&lax_log[before.min(lax_log.len())..]);
    anyhow::ensure!(
        changed.is_empty(),
        "the second SDDC Manager received changing requests during the first's upgrade: {changed:?}"
    );
    let lax_status = rig
        .recorder
        .latest(&topic_of(
            &rig,
            &lax_id,
            &format!("domain/{lax_w01}/upgrade/status"),
        ))
        .map(|m| m.text());
    anyhow::ensure!(
        lax_status.as_deref() == Some("waiting_for_initiation"),
        "the second SDDC Manager's lax-w01 flow moved: {lax_status:?}"
    );
    // State files: the first instance's flow in its directory, none for the second.
    let state = rig.config.state_dir.clone();
    let files = |dir: std::path::PathBuf| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with("flow-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let sfo_files = files(state.join(&rig.config.instance_id));
    anyhow::ensure!(
        !sfo_files.is_empty(),
        "no flow file in {}",
        state.join(&rig.config.instance_id).display()
    );
    let lax_files = files(state.join(&lax_id));
    anyhow::ensure!(
        lax_files
            .iter()
            .all(|f| !f.contains(&sfo_inventory.domain("sfo-w01").id)),
        "the first instance's flow was written into the second's state directory: {lax_files:?}"
    );
    lax.shutdown().await;
    Ok(())
}

/// The first SDDC Manager accepts connections and never answers (a hung appliance or a black-hole
/// firewall): the second's polls keep their 1 s cadence, its values arrive, and only the first
/// shows connectivity OFF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_sddc_manager_never_delays_another() -> anyhow::Result<()> {
    // Accepts and holds every connection without a byte of answer.
    let hole = TcpListener::bind("127.0.0.1:0")?;
    let hole_url = format!("http://{}", hole.local_addr()?);
    // The thread ends with the test process; it only ever holds sockets open.
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in hole.incoming().flatten() {
            open.push(stream);
        }
    });
    let mut rig = Rig::start("second-site", 1.0).await?;
    // Instance 1 = the black hole; instance 2 = the working simulator.
    let working = SddcManagerEntry {
        instance_id: format!("{}_ok", rig.config.instance_id),
        url: rig.sim.url().to_owned(),
        username: rig.sim.username().to_owned(),
        password: rig.sim.password().to_owned(),
    };
    let ok_id = working.instance_id.clone();
    rig.config.vcf_url = hole_url;
    rig.config.more_sddc_managers = vec![working];
    let lax_w01 = Inventory::read(&rig.sim)
        .await?
        .domain("lax-w01")
        .slug
        .clone();

    rig.spawn_bridge()?;
    let started = std::time::Instant::now();
    let status = topic_of(&rig, &ok_id, &format!("domain/{lax_w01}/status"));
    let waited = rig
        .recorder
        .wait_current(&status, "updates_available", secs(30))
        .await;
    rig.with_log(waited)?;
    let first_values = started.elapsed();
    // The working instance's values came before the hung one's first request could time out (5 s).
    anyhow::ensure!(
        first_values < Duration::from_secs(5),
        "the working SDDC Manager's first values took {first_values:?}"
    );
    // Its resource polls (every 1 s) keep their cadence while the other hangs: 8 more within
    // 12 s, each of the hung instance's requests taking the whole 5 s request timeout.
    let hosts_before = rig.sim.requests().await?.count("GET /v1/hosts");
    let window = std::time::Instant::now();
    let mut polled = 0;
    while polled < 8 && window.elapsed() < Duration::from_secs(12) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        polled = rig.sim.requests().await?.count("GET /v1/hosts") - hosts_before;
    }
    anyhow::ensure!(
        polled >= 8,
        "only {polled} host polls of the working SDDC Manager in {:?} while the other hung",
        window.elapsed()
    );
    let hung = topic_of(&rig, &rig.config.instance_id, "bridge/connectivity");
    // Login and request attempts each wait out the 5 s request timeout before OFF.
    let off = rig.recorder.wait_current(&hung, "OFF", secs(90)).await;
    rig.with_log(off)?;
    let ok = topic_of(&rig, &ok_id, "bridge/connectivity");
    let on = rig.recorder.wait_current(&ok, "ON", secs(5)).await;
    rig.with_log(on)?;
    Ok(())
}
