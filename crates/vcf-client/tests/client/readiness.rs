//! The readiness models against both official specs (every field a model reads exists in the
//! schema it is named after, in 5.2.1 and 9.0.2), and the readiness calls against the simulator's
//! `readiness-warnings` scenario: what the bridge reads parses into what it expects.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use vcf_client::*;
use vcf_sim::{Scenario, SimOptions};

fn spec_of(version: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../tests/data/vcf-api/vcf-{version}-openapi.json"
    ));
    serde_json::from_slice(&std::fs::read(&path).expect("spec readable")).expect("spec is JSON")
}

fn fields<T: Serialize>(model: &T) -> Vec<String> {
    serde_json::to_value(model)
        .expect("serialize")
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect()
}

#[test]
fn readiness_model_fields_exist_in_both_specs() {
    let checks: Vec<(&str, Vec<String>, &[&str])> = vec![
        ("Credential", fields(&Credential::default()), &[]),
        (
            "AuthenticatedResource",
            fields(&AuthenticatedResource::default()),
            &[],
        ),
        (
            "ExpirationDetails",
            fields(&ExpirationDetails::default()),
            &[],
        ),
        (
            "CredentialsExpirationSpec",
            fields(&CredentialsExpirationSpec::default()),
            &[],
        ),
        (
            "CredentialsExpiration",
            fields(&CredentialsExpiration::default()),
            &[],
        ),
        (
            "CredentialExpirationCheck",
            fields(&CredentialExpirationCheck::default()),
            &[],
        ),
        ("Certificate", fields(&Certificate::default()), &[]),
        (
            "BackupConfiguration",
            fields(&BackupConfiguration::default()),
            &[],
        ),
        ("BackupLocation", fields(&BackupLocation::default()), &[]),
        ("BackupSchedule", fields(&BackupSchedule::default()), &[]),
        ("BackupSpec", fields(&BackupSpec::default()), &[]),
        ("BackupResource", fields(&BackupResource::default()), &[]),
        ("BackupTask", fields(&BackupTask::default()), &[]),
        ("DepotSettings", fields(&DepotSettings::default()), &[]),
        // `downloadToken` is 9.x only (5.2.1 has no token).
        (
            "DepotAccount",
            fields(&DepotAccount::default()),
            &["downloadToken"],
        ),
    ];
    for version in ["5.2.1", "9.0.2"] {
        let spec = spec_of(version);
        for (name, keys, extra_in_52) in &checks {
            let props = spec["components"]["schemas"][name]["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{version}: schema {name} missing"));
            for k in keys {
                let tolerated = version == "5.2.1" && extra_in_52.contains(&k.as_str());
                assert!(
                    props.contains_key(k) || tolerated,
                    "{version}: {name}.{k} is not in the spec"
                );
            }
        }
    }
    let spec = spec_of("9.0.2");
    let props = spec["components"]["schemas"]["DepotSyncInfo"]["properties"]
        .as_object()
        .expect("DepotSyncInfo in 9.0.2");
    for k in fields(&DepotSyncInfo::default()) {
        assert!(props.contains_key(&k), "9.0.2: DepotSyncInfo.{k}");
    }
}

#[tokio::test]
async fn readiness_calls_parse_the_simulators_answers() {
    let sim = vcf_sim::start(
        Scenario::builtin("readiness-warnings").expect("scenario"),
        SimOptions {
            listen: "127.0.0.1:0".parse().expect("addr"),
            tls: false,
            time_scale: 0.001,
        },
    )
    .await
    .expect("simulator");
    let client = VcfClient::new(ClientConfig::new(
        &sim.url,
        &sim.username,
        sim.password.as_str(),
    ))
    .expect("client");

    let creds = client.credentials().await.expect("credentials");
    assert_eq!(creds.len(), 4, "two accounts per domain");
    let disconnected: Vec<_> = creds
        .iter()
        .filter(|c| {
            c.expiry
                .as_ref()
                .and_then(|e| e.connectivity_status.as_deref())
                == Some("ERROR")
        })
        .collect();
    assert_eq!(disconnected.len(), 1);
    let check = client
        .start_credentials_expiration("VCENTER")
        .await
        .expect("expiration check");
    assert_eq!(check.status.as_deref(), Some("IN_PROGRESS"));
    let id = check.id.expect("check id");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let done = client.credentials_expiration(&id).await.expect("result");
    assert_eq!(done.status.as_deref(), Some("COMPLETED"));
    assert_eq!(done.elements.len(), 2, "one vCenter root per domain");
    assert!(
        done.elements
            .iter()
            .any(|e| e.expiry.as_ref().and_then(|x| x.status.as_deref()) == Some("EXPIRING"))
    );

    let domains = client.domains().await.expect("domains");
    let w01 = domains.iter().find(|d| d.name == "sfo-w01").expect("w01");
    let certs = client
        .resource_certificates(&w01.id)
        .await
        .expect("certificates");
    assert!(
        certs
            .iter()
            .any(|c| c.signature_algorithm.as_deref() == Some("SHA1withRSA"))
    );
    assert!(
        certs
            .iter()
            .any(|c| c.number_of_days_to_expire.is_some_and(|d| d < 30))
    );

    let backup = client
        .backup_configuration()
        .await
        .expect("backup configuration");
    assert_eq!(backup.is_configured, Some(true));
    let history = client.backup_tasks().await.expect("backup tasks");
    assert_eq!(history.tasks.len(), 1);
    assert!(
        history.tasks[0]
            .status
            .as_ref()
            .is_some_and(Status::is_success)
    );

    let depot = client.depot_settings().await.expect("depot");
    let account = depot.vmware_account.expect("online account");
    assert_eq!(account.status.as_deref(), Some("DEPOT_INVALID_CREDENTIAL"));

    let since = chrono::Utc::now() - chrono::TimeDelta::days(7);
    let window = client.tasks_completed_after(since).await.expect("tasks");
    let failed: Vec<_> = window
        .tasks
        .iter()
        .filter(|t| t.status.as_ref().is_some_and(Status::is_failure))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].is_retryable, Some(true));
    // The 3-day-old backup completed before a 1-day window: not listed.
    let recent = client
        .tasks_completed_after(chrono::Utc::now() - chrono::TimeDelta::days(1))
        .await
        .expect("tasks");
    assert!(
        recent
            .tasks
            .iter()
            .all(|t| t.kind.as_deref() != Some(BACKUP_TASK_TYPE))
    );

    let started = client.start_backup().await.expect("Back Up Now");
    assert_eq!(started.status.as_deref(), Some("IN_PROGRESS"));
    let task = client
        .task(&started.id.expect("task id"))
        .await
        .expect("task");
    assert_eq!(task.kind.as_deref(), Some(BACKUP_TASK_TYPE));
}

/// The 9.x readiness calls against the simulator's `vcf9-readiness` scenario: notifications
/// parse with their domain and resources; each cluster's image compliance parses, and a
/// cluster without a result (`vcf9`'s VI cluster, the spec's 404) is `None`, not an error.
#[tokio::test]
async fn vcf9_notifications_and_image_compliance_parse() {
    for (scenario, want) in [
        (
            "vcf9-readiness",
            [
                ("sfo-m01-cl01", Some("NON_COMPLIANT")),
                ("sfo-w01-cl01", Some("INCOMPATIBLE")),
            ],
        ),
        (
            "vcf9",
            [("sfo-m01-cl01", Some("COMPLIANT")), ("sfo-w01-cl01", None)],
        ),
    ] {
        let sim = vcf_sim::start(
            Scenario::builtin(scenario).expect("scenario"),
            SimOptions {
                listen: "127.0.0.1:0".parse().expect("addr"),
                tls: false,
                time_scale: 0.001,
            },
        )
        .await
        .expect("simulator");
        let client = VcfClient::new(ClientConfig::new(
            &sim.url,
            &sim.username,
            sim.password.as_str(),
        ))
        .expect("client");
        let notes = client.notifications().await.expect("notifications");
        assert!(!notes.is_empty(), "{scenario}");
        if scenario == "vcf9-readiness" {
            let error = notes
                .iter()
                .find(|n| n.severity.as_deref() == Some("ERROR"))
                .expect("an ERROR notification");
            assert_eq!(
                error.domain.as_ref().and_then(|d| d.name.as_deref()),
                Some("sfo-w01")
            );
            assert_eq!(error.resources.len(), 1);
            assert!(
                error
                    .message
                    .as_ref()
                    .and_then(|m| m.localized_message.as_deref())
                    .is_some_and(|m| m.contains("vpxd"))
            );
        }
        let clusters = client.clusters().await.expect("clusters");
        for (name, status) in want {
            let c = clusters.iter().find(|c| c.name == name);
            let c = c.expect("cluster");
            let got = client
                .cluster_image_compliance(&c.id)
                .await
                .expect("image compliance");
            assert_eq!(
                got.as_ref().map(|x| x.status.as_str()),
                status,
                "{scenario} {name}"
            );
            if status == Some("NON_COMPLIANT") {
                let details = &got.expect("result").image_compliance_details;
                assert_eq!(details.len(), 4, "one per host");
            }
        }
        sim.shutdown().await;
    }
}
