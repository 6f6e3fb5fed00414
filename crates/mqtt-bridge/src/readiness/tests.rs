use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0)
        .single()
        .expect("valid date")
}

fn days(n: i64) -> DateTime<Utc> {
    now() + chrono::TimeDelta::days(n)
}

fn domains() -> Vec<(String, String)> {
    vec![
        ("m01".into(), "sfo-m01".into()),
        ("w01".into(), "sfo-w01".into()),
    ]
}

fn account(domain: &str, expires: Option<DateTime<Utc>>) -> Account {
    Account {
        id: format!("cred-{domain}"),
        username: "root".into(),
        resource: format!("{domain}-vc01.sfo.rainpole.io"),
        resource_type: "VCENTER".into(),
        domains: if domain.is_empty() {
            Vec::new()
        } else {
            vec![domain.into()]
        },
        expires,
        status: None,
        connectivity: Some("ACTIVE".into()),
    }
}

fn cert(not_after: DateTime<Utc>, alg: &str) -> Cert {
    Cert {
        resource: "sfo-w01-nsx01.sfo.rainpole.io".into(),
        resource_type: "NSXT_MANAGER".into(),
        not_after: Some(not_after),
        days_to_expire: None,
        expiration_status: None,
        signature_algorithm: Some(alg.into()),
    }
}

/// Everything fine: a fresh backup, a working depot, no failed task, no account issue.
fn healthy() -> Inputs {
    Inputs {
        accounts: Ok(vec![account("sfo-m01", Some(days(90)))]),
        certificates: BTreeMap::from([
            ("m01".into(), Ok(vec![cert(days(300), "SHA256withRSA")])),
            ("w01".into(), Ok(vec![cert(days(300), "SHA256withRSA")])),
        ]),
        backup: Ok(Backup {
            configured: Some(true),
            server: Some("backup.sfo.rainpole.io".into()),
            last_success: Some(now() - chrono::TimeDelta::hours(3)),
            last_task: None,
            truncated: false,
        }),
        depot: Ok(Depot {
            configured: true,
            status: Some("DEPOT_CONNECTION_SUCCESSFUL".into()),
            ..Depot::default()
        }),
        failed_tasks: Ok(FailedTasks::default()),
        notifications: None,
        image_compliance: Ok(BTreeMap::new()),
    }
}

/// A 9.x notification of `severity`, on domain `domain` (id; empty: SDDC-wide).
fn notice(severity: &str, domain: &str, expires: Option<DateTime<Utc>>) -> Notice {
    Notice {
        key: format!("{severity}-{domain}"),
        severity: severity.into(),
        kind: Some("SERVICE_HEALTH".into()),
        message: format!("vpxd is not running ({severity})"),
        created: Some(days(-1)),
        expires,
        domain_id: (!domain.is_empty()).then(|| domain.into()),
        domain: None,
        resources: Vec::new(),
    }
}

/// A 9.x cluster of `domain` (id) whose image compliance is `status` (`None`: no result).
fn image(domain: &str, status: Option<&str>) -> (String, ClusterImage) {
    let finding = ComplianceFinding {
        host: "sfo01-w01-esx01.sfo.rainpole.io".into(),
        component: "nvme-pcie".into(),
        status: status.unwrap_or_default().into(),
        message: Some("Component nvme-pcie differs".into()),
        ..ComplianceFinding::default()
    };
    (
        format!("cl-{domain}"),
        ClusterImage {
            name: format!("{domain}-cl01"),
            domain_id: domain.into(),
            read: Ok(ImageCompliance {
                cluster: format!("{domain}-cl01"),
                state: ImageCompliance::state_of(status),
                status: status.map(str::to_owned),
                findings: if status.is_some_and(|s| s != "COMPLIANT") {
                    vec![finding]
                } else {
                    Vec::new()
                },
                ..ImageCompliance::default()
            }),
        },
    )
}

fn with_images(i: &mut Inputs, list: Vec<(String, ClusterImage)>) {
    i.image_compliance = Ok(list.into_iter().collect());
}

/// One case: a change to the healthy inputs, and the expected (m01, w01) states plus a text the
/// reasons of the named domain must contain.
struct Case {
    name: &'static str,
    change: fn(&mut Inputs),
    m01: Level,
    w01: Level,
    reason_on: &'static str,
    reason: &'static str,
}

#[test]
fn readiness_table() {
    use Level::{Blocked, Ready, Warnings};
    let cases = [
        Case {
            name: "healthy",
            change: |_| {},
            m01: Ready,
            w01: Ready,
            reason_on: "",
            reason: "",
        },
        Case {
            name: "expired password blocks its own domain only",
            change: |i| i.accounts = Ok(vec![account("sfo-w01", Some(days(-2)))]),
            m01: Ready,
            w01: Blocked,
            reason_on: "w01",
            reason: "Password of root on sfo-w01-vc01.sfo.rainpole.io (VCENTER) expired on 2026-12-01",
        },
        Case {
            name: "status EXPIRED without a date blocks",
            change: |i| {
                let mut a = account("sfo-m01", None);
                a.status = Some("EXPIRED".into());
                i.accounts = Ok(vec![a]);
            },
            m01: Blocked,
            w01: Ready,
            reason_on: "m01",
            reason: "expired",
        },
        Case {
            name: "expiring password warns",
            change: |i| i.accounts = Ok(vec![account("sfo-m01", Some(days(5)))]),
            m01: Warnings,
            w01: Ready,
            reason_on: "m01",
            reason: "expires in 5 days (2026-12-08)",
        },
        Case {
            name: "password just outside the threshold is fine",
            change: |i| i.accounts = Ok(vec![account("sfo-m01", Some(days(15)))]),
            m01: Ready,
            w01: Ready,
            reason_on: "",
            reason: "",
        },
        Case {
            name: "disconnected account blocks",
            change: |i| {
                let mut a = account("sfo-w01", Some(days(90)));
                a.connectivity = Some("ERROR".into());
                i.accounts = Ok(vec![a]);
            },
            m01: Ready,
            w01: Blocked,
            reason_on: "w01",
            reason: "is disconnected",
        },
        Case {
            name: "an account without a domain concerns every domain",
            change: |i| i.accounts = Ok(vec![account("", Some(days(-1)))]),
            m01: Blocked,
            w01: Blocked,
            reason_on: "m01",
            reason: "expired",
        },
        Case {
            name: "expired certificate blocks",
            change: |i| {
                i.certificates
                    .insert("w01".into(), Ok(vec![cert(days(-1), "SHA256withRSA")]));
            },
            m01: Ready,
            w01: Blocked,
            reason_on: "w01",
            reason: "Certificate of sfo-w01-nsx01.sfo.rainpole.io (NSXT_MANAGER) expired",
        },
        Case {
            name: "expiring certificate warns",
            change: |i| {
                i.certificates
                    .insert("w01".into(), Ok(vec![cert(days(10), "SHA256withRSA")]));
            },
            m01: Ready,
            w01: Warnings,
            reason_on: "w01",
            reason: "expires in 10 days",
        },
        Case {
            name: "SHA-1 certificate blocks",
            change: |i| {
                i.certificates
                    .insert("m01".into(), Ok(vec![cert(days(300), "SHA1withRSA")]));
            },
            m01: Blocked,
            w01: Ready,
            reason_on: "m01",
            reason: "weak (SHA-1) signature",
        },
        Case {
            name: "old backup warns everywhere",
            change: |i| {
                if let Ok(b) = &mut i.backup {
                    b.last_success = Some(now() - chrono::TimeDelta::days(3));
                }
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "w01",
            reason: "backup is 3 days old",
        },
        Case {
            name: "no backup at all warns",
            change: |i| {
                if let Ok(b) = &mut i.backup {
                    b.last_success = None;
                }
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "No successful SDDC Manager backup",
        },
        Case {
            name: "backup not configured warns",
            change: |i| {
                i.backup = Ok(Backup {
                    configured: Some(false),
                    ..Backup::default()
                })
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "not configured",
        },
        Case {
            name: "depot with bad credentials warns with the reason",
            change: |i| {
                i.depot = Ok(Depot {
                    configured: true,
                    status: Some("DEPOT_INVALID_CREDENTIAL".into()),
                    message: Some("Invalid depot credentials".into()),
                    ..Depot::default()
                })
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "(DEPOT_INVALID_CREDENTIAL): Invalid depot credentials",
        },
        Case {
            name: "no depot account warns",
            change: |i| i.depot = Ok(Depot::default()),
            m01: Warnings,
            w01: Warnings,
            reason_on: "w01",
            reason: "No depot account",
        },
        Case {
            name: "9.x without a download token warns",
            change: |i| {
                i.depot = Ok(Depot {
                    configured: true,
                    status: Some("DEPOT_INVALID_CREDENTIAL".into()),
                    download_token: Some(false),
                    ..Depot::default()
                })
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "w01",
            reason: "download token",
        },
        Case {
            name: "failed task warns with its name",
            change: |i| {
                i.failed_tasks = Ok(FailedTasks {
                    tasks: vec![FailedTask {
                        id: "t1".into(),
                        name: "Add host".into(),
                        kind: None,
                        completed: Some(days(-1)),
                        retryable: true,
                    }],
                    truncated: false,
                })
            },
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "Task \"Add host\" failed on 2026-12-02 (retryable)",
        },
        Case {
            name: "9.x: compliant clusters and clusters without a result are fine",
            change: |i| {
                with_images(i, vec![image("m01", Some("COMPLIANT")), image("w01", None)]);
                i.notifications = Some(Ok(vec![
                    notice("INFO", "w01", None),
                    notice("WARNING", "", None),
                ]));
            },
            m01: Ready,
            w01: Ready,
            reason_on: "",
            reason: "",
        },
        Case {
            name: "9.x: a non-compliant cluster warns on its domain",
            change: |i| with_images(i, vec![image("w01", Some("NON_COMPLIANT"))]),
            m01: Ready,
            w01: Warnings,
            reason_on: "w01",
            reason: "Cluster w01-cl01 is not compliant with its image (1 host(s) differ): Component nvme-pcie differs",
        },
        Case {
            name: "9.x: an incompatible cluster image blocks its domain",
            change: |i| with_images(i, vec![image("m01", Some("INCOMPATIBLE"))]),
            m01: Blocked,
            w01: Ready,
            reason_on: "m01",
            reason: "The image of cluster m01-cl01 is incompatible with its hosts",
        },
        Case {
            name: "9.x: compliance VCF could not determine warns",
            change: |i| with_images(i, vec![image("m01", Some("UNAVAILABLE"))]),
            m01: Warnings,
            w01: Ready,
            reason_on: "m01",
            reason: "could not be determined (UNAVAILABLE)",
        },
        Case {
            name: "9.x: an unreadable cluster warns on its domain",
            change: |i| {
                let (id, mut c) = image("w01", None);
                c.read = Err("HTTP 500".into());
                with_images(i, vec![(id, c)]);
            },
            m01: Ready,
            w01: Warnings,
            reason_on: "w01",
            reason: "Could not read the image compliance of cluster w01-cl01: HTTP 500",
        },
        Case {
            name: "9.x: an unreadable cluster list warns everywhere",
            change: |i| i.image_compliance = Err("HTTP 503".into()),
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "Could not read the clusters for their image compliance",
        },
        Case {
            name: "9.x: an error notification warns on its domain",
            change: |i| i.notifications = Some(Ok(vec![notice("ERROR", "w01", None)])),
            m01: Ready,
            w01: Warnings,
            reason_on: "w01",
            reason: "SDDC Manager reports (ERROR): vpxd is not running (ERROR)",
        },
        Case {
            name: "9.x: a critical SDDC-wide notification warns everywhere",
            change: |i| i.notifications = Some(Ok(vec![notice("CRITICAL", "", None)])),
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "SDDC Manager reports (CRITICAL)",
        },
        Case {
            name: "9.x: an expired error notification says nothing",
            change: |i| i.notifications = Some(Ok(vec![notice("ERROR", "w01", Some(days(-1)))])),
            m01: Ready,
            w01: Ready,
            reason_on: "",
            reason: "",
        },
        Case {
            name: "9.x: unreadable notifications warn",
            change: |i| i.notifications = Some(Err("HTTP 500".into())),
            m01: Warnings,
            w01: Warnings,
            reason_on: "w01",
            reason: "Could not read the SDDC Manager notifications: HTTP 500",
        },
        Case {
            name: "an unreadable area is a warning, not ready",
            change: |i| i.depot = Err("503 Service Unavailable".into()),
            m01: Warnings,
            w01: Warnings,
            reason_on: "m01",
            reason: "Could not read the depot settings: 503",
        },
    ];
    for c in cases {
        let mut inputs = healthy();
        (c.change)(&mut inputs);
        let r = evaluate(&domains(), &inputs, &Thresholds::default(), now());
        assert_eq!(
            r.domains["m01"].state, c.m01,
            "{}: m01 {:?}",
            c.name, r.domains["m01"].reasons
        );
        assert_eq!(
            r.domains["w01"].state, c.w01,
            "{}: w01 {:?}",
            c.name, r.domains["w01"].reasons
        );
        assert_eq!(r.sddc.state, c.m01.max(c.w01), "{}: sddc", c.name);
        if !c.reason.is_empty() {
            let texts: Vec<&str> = r.domains[c.reason_on]
                .reasons
                .iter()
                .map(|x| x.text.as_str())
                .collect();
            assert!(
                texts.iter().any(|t| t.contains(c.reason)),
                "{}: {texts:?}",
                c.name
            );
        } else {
            assert!(
                r.domains["m01"].reasons.is_empty() && r.domains["w01"].reasons.is_empty(),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn blocking_reasons_come_first_and_the_sddc_names_the_domain() {
    let mut inputs = healthy();
    inputs.depot = Ok(Depot::default());
    inputs.accounts = Ok(vec![account("sfo-w01", Some(days(-2)))]);
    let r = evaluate(&domains(), &inputs, &Thresholds::default(), now());
    let w01 = &r.domains["w01"];
    assert_eq!(w01.reasons[0].level, Level::Blocked);
    assert_eq!(w01.blocking().len(), 1);
    assert_eq!(w01.accounts.len(), 1);
    assert!(
        r.sddc.reasons[0]
            .text
            .starts_with("sfo-w01: Password of root"),
        "{:?}",
        r.sddc.reasons
    );
}

#[test]
fn thresholds_are_honoured() {
    let mut inputs = healthy();
    inputs.accounts = Ok(vec![account("sfo-m01", Some(days(20)))]);
    let th = Thresholds {
        password_expiry_days: 30,
        ..Thresholds::default()
    };
    assert_eq!(
        evaluate(&domains(), &inputs, &th, now()).domains["m01"].state,
        Level::Warnings
    );
    let th = Thresholds {
        backup_max_age: Duration::from_secs(3600),
        ..Thresholds::default()
    };
    assert_eq!(
        evaluate(&domains(), &healthy(), &th, now()).domains["m01"].state,
        Level::Warnings
    );
}

#[test]
fn notification_event_types_follow_the_severity() {
    for (severity, want) in [
        ("ERROR", "error"),
        ("critical", "critical"),
        ("Warning", "warning"),
        ("WARN", "warning"),
        ("INFO", "info"),
        ("INFORMATIONAL", "info"),
        ("MAJOR", "other"),
        ("", "other"),
    ] {
        assert_eq!(notice(severity, "", None).event_type(), want, "{severity}");
        assert!(NOTIFICATION_EVENT_TYPES.contains(&want));
    }
}

#[test]
fn the_report_lists_active_notifications_newest_first() {
    let mut inputs = healthy();
    let mut old = notice("INFO", "", None);
    old.created = Some(days(-3));
    let gone = notice("ERROR", "m01", Some(days(-1)));
    inputs.notifications = Some(Ok(vec![old, notice("WARNING", "w01", None), gone]));
    let r = evaluate(&domains(), &inputs, &Thresholds::default(), now());
    let list = r.notifications.expect("9.x notifications");
    let severities: Vec<&str> = list.iter().map(|n| n.severity.as_str()).collect();
    assert_eq!(severities, ["WARNING", "INFO"]);
    // 5.2: nothing to show, and no entity for it.
    assert!(
        evaluate(&domains(), &healthy(), &Thresholds::default(), now())
            .notifications
            .is_none()
    );
}

#[test]
fn compliance_answers_become_states_and_findings_errors_first() {
    use vcf_client::{ClusterImageCompliance, ClusterImageComplianceDetail, NamedReference};
    let detail = |host: &str, severity: &str, status: &str| ClusterImageComplianceDetail {
        entity_name: Some(host.into()),
        component_name: Some("c".into()),
        compliance_status: Some(status.into()),
        severity: Some(severity.into()),
        ..ClusterImageComplianceDetail::default()
    };
    let answer = ClusterImageCompliance {
        cluster: Some(NamedReference {
            id: Some("cl".into()),
            name: Some("sfo-m01-cl01".into()),
        }),
        status: "INCOMPATIBLE".into(),
        image_compliance_details: vec![
            detail("h1", "WARNING", "NON_COMPLIANT"),
            detail("h2", "INFO", "COMPLIANT"),
            detail("h3", "ERROR", "INCOMPATIBLE"),
        ],
        timestamp: "2026-12-03T10:00:00.000Z".into(),
        ..ClusterImageCompliance::default()
    };
    let c = poll::image_compliance("fallback", Some(&answer));
    assert_eq!(c.state, "incompatible");
    assert_eq!(c.cluster, "sfo-m01-cl01");
    let hosts: Vec<&str> = c.findings.iter().map(|f| f.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["h3", "h1"],
        "compliant entries dropped, errors first"
    );
    assert!(c.checked.is_some());
    let none = poll::image_compliance("sfo-w01-cl01", None);
    assert_eq!((none.state, none.status), ("not_available", None));
    for (status, state) in [
        ("COMPLIANT", "compliant"),
        ("non_compliant", "non_compliant"),
        ("UNAVAILABLE", "not_available"),
        ("SOMETHING_NEW", "not_available"),
    ] {
        assert_eq!(ImageCompliance::state_of(Some(status)), state);
        assert!(IMAGE_COMPLIANCE_STATES.contains(&state));
    }
}

/// Requests of one readiness poll against the simulator, as the module documents them:
/// `1 + 2T + D + 4` on 5.2 and `1 + 2T + D + 7 + C` on 9.x (T resource types, D domains,
/// C clusters); nothing per host, account or certificate, also on the 1,152-host estate.
#[tokio::test]
async fn a_readiness_poll_costs_the_documented_number_of_requests() {
    for (scenario, types, domains, clusters, vcf9) in [
        ("default", 2, 2, 2, false),
        ("large", 2, 12, 48, false),
        ("vcf9-readiness", 2, 2, 2, true),
    ] {
        let sim = vcf_sim::start(
            vcf_sim::Scenario::builtin(scenario).expect("scenario"),
            vcf_sim::SimOptions::new("127.0.0.1:0".parse().expect("addr")),
        )
        .await
        .expect("simulator");
        let client = vcf_client::VcfClient::new(vcf_client::ClientConfig::new(
            &sim.url,
            &sim.username,
            sim.password.as_str(),
        ))
        .expect("client");
        let list: Vec<(String, String)> = client
            .domains()
            .await
            .expect("domains")
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        assert_eq!(list.len(), domains, "{scenario}");
        // As the update check before every readiness poll does.
        client
            .detect_sddc_manager_version()
            .await
            .expect("SDDC Manager version");
        let total = || {
            sim.with_state(|s| {
                s.counts
                    .iter()
                    .filter(|(k, _)| !k.starts_with("POST /v1/tokens"))
                    .map(|(_, n)| *n)
                    .sum::<u64>()
            })
        };
        let before = total();
        let poller = poll::Poller::new(client, Thresholds::default());
        let inputs = poller.read(&list, Utc::now()).await;
        let spent = total() - before;
        let want = if vcf9 {
            1 + 2 * types + domains + 7 + clusters
        } else {
            1 + 2 * types + domains + 4
        };
        assert_eq!(
            spent,
            want as u64,
            "{scenario}: {:?}",
            sim.with_state(|s| s.counts.clone())
        );
        assert_eq!(inputs.notifications.is_some(), vcf9, "{scenario}");
        let images = inputs.image_compliance.expect("clusters read");
        assert_eq!(images.len(), if vcf9 { clusters } else { 0 }, "{scenario}");
        sim.shutdown().await;
    }
}
