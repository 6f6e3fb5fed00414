//! What upgrade readiness reads: `GET /v1/credentials`, `POST /v1/credentials/expirations` and
//! `GET /v1/credentials/expirations/{id}`, `GET /v1/domains/{id}/resource-certificates`,
//! `GET /v1/system/backup-configuration`, `POST /v1/backups/tasks`,
//! `GET /v1/system/settings/depot` and (9.x) `GET /v1/system/settings/depot/depot-sync-info`,
//! `GET /v1/notifications` and `GET /v1/clusters/{id}/image-compliance`.
//!
//! Shapes: the 5.2.1 and 9.0.2 specs' `PageOfCredential`, `CredentialsExpiration`,
//! `PageOfCertificate`, `BackupConfiguration`, `BackupTask`, `DepotSettings` and
//! `DepotSyncInfo`, with every field each spec marks required. What the specs leave open
//! (account sets, check durations, masked secrets, depot messages) is listed as inferred in
//! `docs/simulator.md`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{ApiResult, App, json_response, ok, page, parse_body};
use crate::error::ApiError;
use crate::state::{EXPIRATION_CHECK_SECS, ExpirationCheck, SimState, Task, TaskKind};

/// The task type of an SDDC Manager backup. Not in the spec; observed in VMware's reporting
/// module (`Request-SddcManagerBackupStatus` filters tasks on `type -eq 'SDDCMANAGER_BACKUP'`).
pub const BACKUP_TASK_TYPE: &str = "SDDCMANAGER_BACKUP";

/// What the GET answers put in place of a secret (inferred: SDDC Manager never returns them).
const MASKED: &str = "**********";

/// One account of the simulated inventory.
struct Account {
    id: String,
    domain: String,
    resource_id: String,
    resource_name: String,
    resource_ip: String,
    resource_type: &'static str,
    username: &'static str,
    credential_type: &'static str,
    expires: DateTime<Utc>,
    disconnected: bool,
}

fn days(d: f64) -> Duration {
    Duration::milliseconds((d * 86_400_000.0) as i64)
}

/// Every domain's vCenter `root` (SSH) and NSX `admin` (API) account (inferred: the accounts
/// PowerVCF's `Get-VCFCredential` examples list per domain), with the scenario's changes.
fn accounts(s: &SimState) -> Vec<Account> {
    let start = s.clock.utc_at(0.0);
    let spec = &s.scenario.readiness;
    let mut out = Vec::new();
    for (i, d) in s.inv.domains.iter().enumerate() {
        for (rtype, user, ctype, rid, name) in [
            ("VCENTER", "root", "SSH", &d.vc_id, &d.vc_fqdn),
            ("NSXT_MANAGER", "admin", "API", &d.nsx_id, &d.nsx_fqdn),
        ] {
            let over = spec
                .credentials
                .iter()
                .find(|c| c.domain == d.name && c.resource_type == rtype && c.username == user);
            out.push(Account {
                id: crate::ids::stable(s.scenario.seed, &format!("cred-{}-{rtype}-{user}", d.name)),
                domain: d.name.clone(),
                resource_id: rid.clone(),
                resource_name: name.clone(),
                resource_ip: format!(
                    "172.16.{}.{}",
                    11 + i,
                    if rtype == "VCENTER" { 62 } else { 65 }
                ),
                resource_type: rtype,
                username: user,
                credential_type: ctype,
                expires: start + days(over.map_or(90.0, |c| c.expires_in_days)),
                disconnected: over.is_some_and(|c| c.disconnected),
            });
        }
    }
    out
}

/// The spec's `ExpirationDetails` of an account at the simulated now.
fn expiry(s: &SimState, a: &Account) -> Value {
    let now = s.clock.utc_at(s.now());
    let left = a.expires - now;
    // Source: spec `ExpirationDetails.status` "One among: ACTIVE, EXPIRING, EXPIRED, UNKNOWN";
    // 14 days as EXPIRING is [INF].
    let status = if left <= Duration::zero() {
        "EXPIRED"
    } else if left < Duration::days(14) {
        "EXPIRING"
    } else {
        "ACTIVE"
    };
    json!({
        "expiryDate": crate::clock::iso(a.expires),
        "lastCheckedDate": crate::clock::iso(s.clock.utc_at(0.0)),
        "connectivityStatus": if a.disconnected { "ERROR" } else { "ACTIVE" },
        "status": status,
    })
}

fn resource(a: &Account) -> Value {
    json!({
        "resourceId": a.resource_id,
        "resourceName": a.resource_name,
        "resourceIp": a.resource_ip,
        "resourceType": a.resource_type,
        "domainNames": [a.domain],
    })
}

/// `GET /v1/credentials` (every account in one page; the filters are not needed by clients
/// of the simulator and are ignored).
pub async fn credentials(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    let created = crate::clock::iso(s.clock.utc_at(0.0) - Duration::days(200));
    let elements = accounts(&s)
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "credentialType": a.credential_type,
                "accountType": "USER",
                "username": a.username,
                "creationTimestamp": created,
                "modificationTimestamp": created,
                "expiry": expiry(&s, a),
                "resource": resource(a),
            })
        })
        .collect();
    ok(page(elements))
}

/// `POST /v1/credentials/expirations`: 202 with an `IN_PROGRESS` check.
pub async fn start_expiration(State(app): State<App>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    // Source: spec `CredentialsExpirationSpec.required: [resourceType]`.
    let Some(rtype) = body["resourceType"].as_str() else {
        return Err(ApiError::bad_request(
            "RESOURCE_TYPE_REQUIRED",
            "resourceType is required",
        ));
    };
    let mut s = app.lock();
    let check = ExpirationCheck {
        id: crate::ids::fresh(),
        resource_type: rtype.to_owned(),
        created: s.now(),
    };
    let answer = json!({
        "id": check.id,
        "status": "IN_PROGRESS",
        "elements": [],
        "creationTimestamp": s.clock.iso_at(check.created),
    });
    s.expiration_checks.push(check);
    Ok(json_response(StatusCode::ACCEPTED, answer))
}

/// `GET /v1/credentials/expirations/{id}`: `IN_PROGRESS` for [`EXPIRATION_CHECK_SECS`], then
/// `COMPLETED` with one element per account of the type.
pub async fn expiration(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let Some(c) = s.expiration_checks.iter().find(|c| c.id == id) else {
        // Source: spec `getPasswordExpirationByTaskID` 404 "Not Found".
        return Err(ApiError::not_found("Credentials expiration", &id));
    };
    let end = c.created + EXPIRATION_CHECK_SECS;
    if s.now() < end {
        return ok(json!({
            "id": c.id, "status": "IN_PROGRESS", "elements": [],
            "creationTimestamp": s.clock.iso_at(c.created),
        }));
    }
    let elements: Vec<Value> = accounts(&s)
        .iter()
        .filter(|a| a.resource_type == c.resource_type)
        .map(|a| {
            json!({
                "id": a.id,
                "username": a.username,
                "resource": resource(a),
                "expiry": expiry(&s, a),
                "creationTimestamp": s.clock.iso_at(c.created),
                "completionTimestamp": s.clock.iso_at(end),
            })
        })
        .collect();
    ok(json!({
        "id": c.id, "status": "COMPLETED", "elements": elements,
        "creationTimestamp": s.clock.iso_at(c.created),
        "completionTimestamp": s.clock.iso_at(end),
    }))
}

/// `GET /v1/domains/{id}/resource-certificates`: the vCenter and NSX certificates.
pub async fn certificates(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let Some(d) = s.inv.domains.iter().find(|d| d.id == id) else {
        // Source: spec `getResourceCertificatesByDomain` 404.
        return Err(ApiError::not_found("Domain", &id));
    };
    let start = s.clock.utc_at(0.0);
    let now = s.clock.utc_at(s.now());
    let spec = &s.scenario.readiness;
    let elements = [("VCENTER", &d.vc_fqdn), ("NSXT_MANAGER", &d.nsx_fqdn)]
        .into_iter()
        .enumerate()
        .map(|(i, (rtype, fqdn))| {
            let over = spec
                .certificates
                .iter()
                .find(|c| c.domain == d.name && c.resource_type == rtype);
            let not_after = start + days(over.map_or(365.0, |c| c.expires_in_days));
            let alg = over.map_or("SHA256withRSA", |c| c.signature_algorithm.as_str());
            let left = (not_after - now).num_days();
            // Source: spec `Certificate.expirationStatus` "One among: ACTIVE, ABOUT_TO_EXPIRE,
            // EXPIRED"; 30 days as ABOUT_TO_EXPIRE is [INF].
            let status = if not_after <= now {
                "EXPIRED"
            } else if left < 30 {
                "ABOUT_TO_EXPIRE"
            } else {
                "ACTIVE"
            };
            json!({
                "isInstalled": true,
                "version": "V3",
                "serialNumber": format!("46:85:19:77:36:12:67:{i:02X}"),
                "issuedTo": fqdn,
                "resourceType": rtype,
                "resourceName": fqdn,
                "issuedBy": "CN=rainpole-CA, DC=rainpole, DC=io",
                "notBefore": crate::clock::iso(not_after - Duration::days(730)),
                "notAfter": crate::clock::iso(not_after),
                "signatureAlgorithm": alg,
                "subject": format!("CN={fqdn}, OU=VCF, O=Rainpole, C=US"),
                "domain": d.id,
                "subjectAlternativeName": [fqdn],
                "publicKey": "D6:FD:DF:33:F1:...",
                "publicKeyAlgorithm": "RSA",
                "keySize": "2048",
                "thumbprintAlgorithm": "SHA-256",
                "thumbprint": format!("59:24:D5:18:04:A0:26:B0:A4:05:EA:82:60:95:82:A2:4B:F6:31:FB:81:93:01:F3:29:7D:34:9C:D3:05:39:{i:02X}"),
                "numberOfDaysToExpire": left,
                "expirationStatus": status,
                "pemEncoded": "-----BEGIN CERTIFICATE-----\nMIIFq...\n-----END CERTIFICATE-----",
                "getCertificateError": "",
            })
        })
        .collect();
    ok(page(elements))
}

/// `GET /v1/system/backup-configuration`.
pub async fn backup_configuration(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    if !s.scenario.readiness.backup_configured {
        return ok(json!({"isConfigured": false, "backupLocations": [], "backupSchedules": []}));
    }
    ok(json!({
        "isConfigured": true,
        "backupLocations": [{
            "server": "backup.sfo.rainpole.io", "port": 22, "protocol": "SFTP",
            "username": "svc-vcf-bck", "password": MASKED, "directoryPath": "/backups/vcf",
        }],
        "backupSchedules": [{
            "resourceType": "SDDC_MANAGER", "takeScheduledBackups": true, "frequency": "WEEKLY",
            "daysOfWeek": ["SUNDAY"], "hourOfDay": 2, "minuteOfHour": 0,
            "takeBackupOnStateChange": false,
            "retentionPolicy": {"numberOfMostRecentBackups": 15},
        }],
    }))
}

/// `POST /v1/backups/tasks`: 202 `BackupTask`; the task runs `readiness.backup_secs` on the
/// simulator's clock, then `SUCCESSFUL`. 400 when no backup server is configured (inferred).
pub async fn start_backup(State(app): State<App>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    // Source: spec `BackupSpec.required: [elements]`, `BackupResource.required: [resourceType]`.
    let valid = body["elements"]
        .as_array()
        .is_some_and(|e| !e.is_empty() && e.iter().all(|x| x["resourceType"].is_string()));
    if !valid {
        return Err(ApiError::bad_request(
            "INVALID_BACKUP_SPEC",
            "elements with a resourceType are required",
        ));
    }
    let mut s = app.lock();
    if !s.scenario.readiness.backup_configured {
        return Err(ApiError::bad_request(
            "BACKUP_NOT_CONFIGURED",
            "Backup is not configured: set a backup server first",
        ));
    }
    let now = s.now();
    let id = crate::ids::fresh();
    let end = now + s.scenario.readiness.backup_secs;
    s.tasks.push(Task {
        id: id.clone(),
        name: "SDDC Manager backup".into(),
        task_type: BACKUP_TASK_TYPE.into(),
        created: now,
        kind: TaskKind::Backup { end },
    });
    Ok(json_response(
        StatusCode::ACCEPTED,
        json!({
            "id": id,
            "name": "SDDC Manager backup",
            // Source: spec `BackupTask.status` "One among: IN_PROGRESS".
            "status": "IN_PROGRESS",
            "resources": [{
                "resourceId": s.inv.sddc.id, "fqdn": s.inv.sddc.fqdn, "type": "SDDC_MANAGER",
            }],
        }),
    ))
}

/// `GET /v1/system/settings/depot`. Statuses from the spec's `DepotAccount.status` list; the
/// messages are (inferred).
pub async fn depot(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    let vcf9 = s.vcf9();
    let account = |status: &str, message: &str| {
        let mut a = json!({"status": status, "message": message});
        if vcf9 {
            // 9.x: a download token authenticates the online depot (spec 9.0.2 `DepotAccount`).
            a["downloadToken"] = json!(MASKED);
        } else {
            // 5.2.1: `username` and `password` are required.
            a["username"] = json!("vcf-depot@rainpole.io");
            a["password"] = json!(MASKED);
        }
        a
    };
    let body = match s.scenario.readiness.depot.as_str() {
        "not_configured" => json!({}),
        "bad_credentials" => json!({"vmwareAccount": account(
            "DEPOT_INVALID_CREDENTIAL",
            "Depot credentials are invalid: the depot refused the login",
        )}),
        "token_expired" => json!({"vmwareAccount": account(
            "DEPOT_INVALID_CREDENTIAL",
            "The download token has expired; generate a new one on the Broadcom support portal",
        )}),
        _ => json!({"vmwareAccount": account(
            "DEPOT_CONNECTION_SUCCESSFUL",
            "Depot connection successful",
        )}),
    };
    ok(body)
}

/// `GET /v1/system/settings/depot/depot-sync-info` (9.x only; 404 on 5.2 like any unknown
/// path). `syncStatus` values are (inferred): the spec types it as free text.
pub async fn depot_sync_info(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    if !s.vcf9() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            "No endpoint GET /v1/system/settings/depot/depot-sync-info",
        ));
    }
    let at = crate::clock::iso(s.clock.utc_at(0.0) - Duration::hours(1));
    ok(match s.scenario.readiness.depot.as_str() {
        "ok" => json!({"syncStatus": "SUCCEEDED", "lastSyncCompletionTimestamp": at}),
        "not_configured" => json!({"syncStatus": "NOT_STARTED"}),
        _ => json!({
            "syncStatus": "FAILED",
            "errorMessage": "Depot sync failed: the depot refused the credentials",
            "lastSyncCompletionTimestamp": at,
        }),
    })
}

fn not_on_52(s: &SimState, endpoint: &str) -> Result<(), ApiError> {
    if s.vcf9() {
        return Ok(());
    }
    // Neither path is in the 5.2.1 spec: a 5.2 SDDC Manager answers 404 like any unknown path.
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        format!("No endpoint {endpoint}"),
    ))
}

/// `GET /v1/notifications` (9.x only): a bare array of the 9.0.2 spec's `Notification`
/// (`getNotifications`). The spec gives no id, no filter and no paging; expired notifications
/// are still listed with their `expirationTimestamp` (inferred: the spec says nothing about
/// removal). Types, severities and messages are the scenario's (inferred values).
pub async fn notifications(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    not_on_52(&s, "GET /v1/notifications")?;
    let list: Vec<Value> = s
        .notifications
        .iter()
        .map(|n| {
            let domain = n
                .spec
                .domain
                .as_ref()
                .and_then(|name| s.inv.domains.iter().find(|d| &d.name == name));
            let resources: Vec<Value> = match (domain, n.spec.resource_type.as_deref()) {
                (Some(d), Some("VCENTER")) => {
                    vec![json!({"id": d.vc_id, "type": "VCENTER", "name": d.vc_fqdn})]
                }
                (Some(d), Some(_)) => {
                    vec![json!({"id": d.nsx_id, "type": "NSXT_MANAGER", "name": d.nsx_fqdn})]
                }
                _ => Vec::new(),
            };
            let mut v = json!({
                "type": n.spec.kind,
                "severity": n.spec.severity,
                "message": {
                    "id": format!("vcf.notification.{}", n.spec.kind.to_ascii_lowercase()),
                    "localizedMessage": n.spec.message,
                    "arguments": resources.iter().filter_map(|r| r["name"].as_str()).collect::<Vec<_>>(),
                },
                "creationTimestamp": crate::clock::iso(n.created),
                "resources": resources,
            });
            if let Some(days) = n.spec.expires_in_days {
                v["expirationTimestamp"] = json!(crate::clock::iso(n.created + self::days(days)));
            }
            if let Some(d) = domain {
                v["domain"] = json!({"id": d.id, "name": d.name});
            }
            v
        })
        .collect();
    ok(Value::Array(list))
}

/// `GET /v1/clusters/{id}/image-compliance` (9.x only, `getClusterImageCompliance`): the
/// 9.0.2 spec's `ClusterImageCompliance` with its three required fields, or its 404 `Error`
/// ("Cluster image compliance not found") for a cluster without a result. Which clusters have
/// one, and the detail entries (one per host for a drifted driver component or an
/// incompatible hardware support package), are inferred (docs/simulator.md).
pub async fn image_compliance(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    not_on_52(&s, "GET /v1/clusters/{id}/image-compliance")?;
    let c = s
        .inv
        .clusters
        .iter()
        .find(|c| c.id == id)
        // Source: spec 9.0.2 `getClusterImageCompliance` 404 "Cluster image compliance not
        // found" (an `Error`), also for an unknown cluster.
        .ok_or_else(|| ApiError::not_found("Cluster image compliance", &id))?;
    let listed = s
        .scenario
        .readiness
        .image_compliance
        .iter()
        .find(|x| x.cluster == c.name)
        .map(|x| x.status.as_str());
    let status = match listed {
        Some(st) => st,
        None if c.image_based => "COMPLIANT",
        None => "NO_RESULT",
    };
    if status == "NO_RESULT" {
        return Err(ApiError::not_found("Cluster image compliance", &id));
    }
    let hosts: Vec<&crate::inventory::Host> = c.hosts.iter().map(|&h| &s.inv.hosts[h]).collect();
    let esx = hosts
        .first()
        .map(|h| h.esxi_version.clone())
        .unwrap_or_default();
    let details: Vec<Value> = match status {
        "NON_COMPLIANT" => hosts
            .iter()
            .map(|h| {
                json!({
                    "entityName": h.fqdn,
                    "componentType": "COMPONENTS",
                    "complianceStatus": "NON_COMPLIANT",
                    "severity": "WARNING",
                    "componentCurrentVersion": "1.2.3.11-1vmw",
                    "componentTargetVersion": "1.2.4.1-1vmw",
                    "componentName": "nvme-pcie",
                    "componentVendor": "VMware",
                    "message": format!("Component nvme-pcie on {} differs from the cluster image", h.fqdn),
                    "impact": "Remediation installs the image's version; the host enters maintenance mode",
                })
            })
            .collect(),
        "INCOMPATIBLE" => hosts
            .iter()
            .take(1)
            .map(|h| {
                json!({
                    "entityName": h.fqdn,
                    "componentType": "HARDWARE_SUPPORT",
                    "complianceStatus": "INCOMPATIBLE",
                    "severity": "ERROR",
                    "componentCurrentVersion": "7.4.1-1",
                    "componentTargetVersion": "8.1.0-1",
                    "componentName": "hsm-firmware",
                    "componentVendor": "Dell",
                    "message": format!("The image's hardware support package is not supported on {}", h.fqdn),
                    "impact": "The image cannot be applied to this host",
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    ok(json!({
        "cluster": {"id": c.id, "name": c.name},
        "clusterImage": {
            "id": crate::ids::stable(s.scenario.seed, &format!("cluster-image/{}", c.name)),
            "name": format!("{}-image", c.name),
        },
        "clusterImageDetails": {"baseImage": {"version": esx}},
        "status": status,
        "imageComplianceDetails": details,
        "timestamp": crate::clock::iso(s.clock.utc_at(0.0)),
    }))
}
