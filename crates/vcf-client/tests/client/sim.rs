//! The client against the real simulator (`vcf_sim`) on 127.0.0.1:0: every endpoint once,
//! outage and recovery, tokens invalidated by a restart, renewal in the middle of a sequence,
//! and TLS with the simulator's CA and with a wrong one.

use std::time::Duration;

use serde_json::{Value, json};
use vcf_client::{
    CheckSetDomain, CheckSetQueryDomain, CheckSetQueryInput, CheckSetRunInput, CheckSetSelection,
    ClientConfig, ResourceUpgradeSpec, RetryPolicy, SelectedCheckSetCandidate, Status, TlsOptions,
    UpgradeSpec, VcfClient, VcfError, release_bundles, select_next_release,
};
use vcf_sim::{Scenario, SimOptions, SimServer};

use crate::support::ManualClock;

async fn start(tls: bool, time_scale: f64) -> SimServer {
    vcf_sim::start(
        Scenario::builtin("default").expect("default scenario"),
        SimOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            tls,
            time_scale,
        },
    )
    .await
    .expect("simulator")
}

fn sim_config(sim: &SimServer) -> ClientConfig {
    let mut cfg = ClientConfig::new(&sim.url, &sim.username, sim.password.as_str());
    cfg.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    cfg.request_timeout = Duration::from_secs(2);
    if let Some(ca) = &sim.ca_pem {
        cfg.tls.ca_pem = Some(ca.clone().into_bytes());
    }
    cfg
}

/// Plain reqwest for the `/sim/` endpoints (not part of the VCF API).
async fn sim_get(sim: &SimServer, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.url))
        .await
        .expect("sim endpoint")
        .json()
        .await
        .expect("json")
}

async fn sim_post(sim: &SimServer, path: &str, body: Value) {
    let status = reqwest::Client::new()
        .post(format!("{}{path}", sim.url))
        .json(&body)
        .send()
        .await
        .expect("sim endpoint")
        .status();
    assert!(status.is_success(), "{path}: {status}");
}

async fn requests(sim: &SimServer, endpoint: &str) -> u64 {
    sim_get(sim, "/sim/requests").await["by_endpoint"][endpoint]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test]
async fn every_endpoint_once_against_the_simulator() {
    // 0.001: the SDDC Manager bundle downloads in well under a second; tokens live 3.6 s.
    let sim = start(false, 0.001).await;
    let client = VcfClient::new(sim_config(&sim)).expect("client");

    let domains = client.domains().await.expect("domains");
    let mgmt = domains
        .iter()
        .find(|d| d.kind.as_deref() == Some("MANAGEMENT"))
        .expect("management domain");
    assert_eq!(mgmt.name, "sfo-m01");
    assert!(domains.iter().any(|d| d.name == "sfo-w01"));
    let id = mgmt.id.clone();
    assert_eq!(client.domain(&id).await.expect("domain").name, "sfo-m01");
    let clusters = client.clusters().await.expect("clusters");
    assert!(!clusters.is_empty());
    let hosts = client.hosts().await.expect("hosts");
    assert!(hosts.len() >= 7, "{} hosts", hosts.len());
    assert!(
        hosts
            .iter()
            .all(|h| h.cpu.as_ref().and_then(|c| c.frequency_mhz).is_some())
    );
    let managers = client.sddc_managers().await.expect("sddc managers");
    assert!(
        managers[0]
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("5.2.0.0"))
    );

    let current = client.releases(Some(&id)).await.expect("current release");
    assert_eq!(current.len(), 1);
    let current_version = current[0].version.parse().expect("version");
    let future = client.future_releases(&id).await.expect("future releases");
    let next = select_next_release(&current_version, &future).expect("an upgrade is available");
    assert_eq!(next.version, "5.2.1.0");
    assert!(
        next.raw.get("applicabilityStatus").is_some(),
        "raw JSON kept"
    );
    assert!(
        future.iter().any(|r| r.version == "5.2.2.0"
            && r.applicability_status.as_deref() == Some("NOT_APPLICABLE"))
    );
    let views = client.domain_release_views().await.expect("views");
    assert_eq!(views.len(), domains.len());
    assert_eq!(
        client
            .domain_release_view(&id)
            .await
            .expect("view")
            .target_version,
        ""
    );

    let bundles = client.bundles().await.expect("bundles");
    let of_release = release_bundles(next, &bundles);
    assert!(
        of_release.len() >= 5,
        "SDDC Manager, NSX, vCenter, ESXi and the fallback: {}",
        of_release.len()
    );
    assert!(
        of_release
            .iter()
            .all(|b| b.version.as_deref() != Some("5.2.2.0-24936865"))
    );
    // The SDDC Manager bundle of the release: the one that becomes AVAILABLE first.
    let first = of_release
        .iter()
        .find(|b| b.kind.as_deref() == Some("SDDC_MANAGER"))
        .expect("SDDC Manager bundle")
        .id
        .clone();
    assert_eq!(client.bundle(&first).await.expect("bundle").id, first);
    let download = client.download_bundle(&first).await.expect("download");
    assert!(download.status.expect("status").is_running());
    let task = client.task(&download.id).await.expect("task");
    assert_eq!(task.id, download.id);
    let err = client
        .retry_task(&download.id)
        .await
        .expect_err("a running task cannot be retried");
    assert_eq!(err.http_status(), Some(409), "{err}");
    let tasks = client.tasks().await.expect("tasks");
    assert!(tasks.iter().any(|t| t.id == download.id));

    client
        .set_target_version(&id, &next.version)
        .await
        .expect("target");
    assert_eq!(
        client
            .domain_release_view(&id)
            .await
            .expect("view")
            .target_version,
        "5.2.1.0"
    );
    let validation = client
        .start_validation(&id, &next.version)
        .await
        .expect("validation");
    let polled = client
        .validation(&validation.id)
        .await
        .expect("validation poll");
    assert_eq!(polled.id, validation.id);

    // Upgrades need the bundle downloaded: poll it (scaled time).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = client
            .bundle(&first)
            .await
            .expect("bundle poll")
            .download_status;
        if status.as_ref().is_some_and(Status::is_success) {
            break;
        }
        assert!(
            !status.as_ref().is_some_and(Status::is_failure),
            "download failed"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "download did not finish: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let upgradables = client
        .upgradables(&id, Some(&next.version))
        .await
        .expect("upgradables");
    let available: Vec<_> = upgradables
        .iter()
        .filter(|u| u.status == Some(Status::Available))
        .collect();
    assert_eq!(available.len(), 1, "exactly one AVAILABLE upgradable");
    assert_eq!(available[0].bundle_type.as_deref(), Some("SDDC_MANAGER"));
    assert_eq!(available[0].bundle_id, first);
    client
        .cluster_upgradables(&id)
        .await
        .expect("cluster upgradables");

    let query = client
        .query_check_sets(&CheckSetQueryInput {
            check_set_type: "UPGRADE".into(),
            domains: vec![CheckSetQueryDomain {
                domain_id: id.clone(),
                resources: vec![],
            }],
        })
        .await
        .expect("check-set query");
    assert!(!query.resources.is_empty());
    let run = CheckSetRunInput {
        query_id: query.query_id.clone(),
        resources: query
            .resources
            .iter()
            .map(|r| CheckSetSelection {
                resource_name: r.resource_name.clone().unwrap_or_default(),
                resource_id: r.resource_id.clone().unwrap_or_default(),
                resource_type: r.resource_type.clone().unwrap_or_default(),
                domain: r.domain.as_ref().map(|d| CheckSetDomain {
                    domain_id: d.domain_id.clone(),
                    domain_name: d.domain_name.clone(),
                    domain_type: d.domain_type.clone(),
                }),
                check_sets: r
                    .check_sets
                    .iter()
                    .map(|c| SelectedCheckSetCandidate {
                        check_set_id: c.check_set_id.clone(),
                    })
                    .collect(),
            })
            .collect(),
        metadata: Some(json!({ "targetVersion": next.version })),
    };
    let run_task = client.start_check_run(&run).await.expect("check run");
    let result = client.check_run(&run_task.id).await.expect("check result");
    assert!(result.status.is_some());

    // A draft upgrade: created, prechecked, not started (no SDDC Manager outage here).
    let spec = UpgradeSpec {
        bundle_id: available[0].bundle_id.clone(),
        resource_type: "DOMAIN".into(),
        draft_mode: Some(true),
        resource_upgrade_specs: vec![ResourceUpgradeSpec {
            resource_id: id.clone(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let upgrade_task = client.start_upgrade(&spec).await.expect("upgrade");
    let upgrade = client
        .upgrade(&upgrade_task.id)
        .await
        .expect("upgrade record");
    assert_eq!(upgrade.id, upgrade_task.id);
    assert!(
        client
            .upgrades()
            .await
            .expect("upgrades")
            .iter()
            .any(|u| u.id == upgrade.id)
    );
    let precheck = client
        .start_upgrade_precheck(&upgrade.id)
        .await
        .expect("precheck");
    let polled = client
        .upgrade_precheck(&upgrade.id, &precheck.id)
        .await
        .expect("precheck poll");
    assert_eq!(polled.id, precheck.id);

    // Listing calls are one request each, whatever the inventory size.
    assert_eq!(requests(&sim, "GET /v1/hosts").await, 1);
    assert_eq!(requests(&sim, "GET /v1/bundles").await, 1);
    assert_eq!(requests(&sim, "POST /v1/tokens").await, 1);
    // Last, because it starts the SDDC Manager upgrade (and its outage, moments later).
    let committed = client
        .commit_upgrade(&upgrade.id)
        .await
        .expect("commit the draft");
    assert_eq!(committed.id, upgrade.id);
    assert_ne!(committed.status, Some(Status::Draft));
    let runs = client.check_runs(&[id.as_str()]).await.expect("check runs");
    assert!(
        runs.iter().any(|r| r.id == run_task.id),
        "the run is listed"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn restart_invalidates_tokens_and_the_client_logs_in_again() {
    let sim = start(false, 1.0).await;
    let client = VcfClient::new(sim_config(&sim)).expect("client");
    client.domains().await.expect("before restart");
    sim_post(&sim, "/sim/faults", json!({ "restart": true })).await;
    client.domains().await.expect("after restart");
    assert_eq!(requests(&sim, "POST /v1/tokens").await, 2);
    assert_eq!(
        requests(&sim, "GET /v1/domains").await,
        3,
        "one 401, one retry"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn renewal_in_the_middle_of_a_sequence_against_the_simulator() {
    let sim = start(false, 1.0).await;
    let clock = ManualClock::new();
    let client = VcfClient::with_clock(sim_config(&sim), clock.clone()).expect("client");
    client.hosts().await.expect("call 1");
    client.clusters().await.expect("call 2");
    let first_exp = client.token_expires_at().expect("exp");
    // 59 minutes later by the client's clock: the next call refreshes first, with the wire
    // format the simulator accepts, and never sees a 401.
    clock.advance(3600 - 60);
    client.hosts().await.expect("call 3 after a refresh");
    // The refreshed token's lifetime counts on our (skewed) clock: no refresh on every call.
    client.clusters().await.expect("call 4");
    assert_eq!(
        requests(&sim, "PATCH /v1/tokens/access-token/refresh").await,
        1
    );
    assert_eq!(requests(&sim, "POST /v1/tokens").await, 1);
    assert_eq!(requests(&sim, "GET /v1/hosts").await, 2, "no 401 and retry");
    assert_eq!(requests(&sim, "GET /v1/clusters").await, 2);
    assert!(client.token_expires_at().expect("exp") >= first_exp);
    sim.shutdown().await;
}

#[tokio::test]
async fn outage_and_recovery() {
    // 0.0005: a 3000 s outage lasts 1.5 s, then 2000 s of 503 last 1 s.
    let sim = start(false, 0.0005).await;
    let mut cfg = sim_config(&sim);
    cfg.request_timeout = Duration::from_millis(500);
    let client = VcfClient::new(cfg).expect("client");
    client.domains().await.expect("before the outage");
    sim_post(
        &sim,
        "/sim/faults",
        json!({ "outage_seconds": 3000.0, "unready_seconds": 2000.0, "restart": true }),
    )
    .await;

    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match client.domains().await {
            Ok(d) => {
                assert!(!d.is_empty());
                break;
            }
            Err(e) => {
                assert!(
                    e.is_transient(),
                    "only transient errors during an outage: {e}"
                );
                let class = match e {
                    VcfError::Unreachable { .. } => "unreachable",
                    VcfError::Unavailable {
                        status: Some(503), ..
                    } => "unavailable",
                    other => panic!("unexpected {other:?}"),
                };
                if seen.last() != Some(&class) {
                    seen.push(class);
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery; saw {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ["unreachable", "unavailable"]);
    // Tokens from before the restart were rejected; the client logged in again.
    assert_eq!(requests(&sim, "POST /v1/tokens").await, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn tls_with_the_simulator_ca_and_with_a_wrong_ca() {
    let sim = start(true, 1.0).await;
    assert!(sim.url.starts_with("https://"));
    let client = VcfClient::new(sim_config(&sim)).expect("client");
    assert!(!client.domains().await.expect("trusted CA").is_empty());

    let mut wrong = sim_config(&sim);
    wrong.tls = TlsOptions {
        ca_pem: Some(crate::tls::ca().cert.pem().into_bytes()),
        ..TlsOptions::default()
    };
    let err = VcfClient::new(wrong)
        .expect("client")
        .domains()
        .await
        .expect_err("wrong CA");
    assert!(matches!(err, VcfError::Unreachable { .. }), "{err:?}");
    sim.shutdown().await;
}
