//! Inventory endpoints: `/v1/domains`, `/v1/clusters`, `/v1/hosts`, `/v1/sddc-managers`,
//! with capacity and usage that move with simulated time.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::{ApiResult, App, ok, page};
use crate::error::ApiError;
use crate::state::SimState;
use crate::usage;

/// CPU (GHz), memory (GB), storage (TB) totals and usage, plus cores and hosts.
#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    cpu_total: f64,
    cpu_used: f64,
    mem_total: f64,
    mem_used: f64,
    sto_total: f64,
    sto_used: f64,
    cores: u32,
    hosts: u32,
}

impl Usage {
    fn add(&mut self, o: Usage) {
        self.cpu_total += o.cpu_total;
        self.cpu_used += o.cpu_used;
        self.mem_total += o.mem_total;
        self.mem_used += o.mem_used;
        self.sto_total += o.sto_total;
        self.sto_used += o.sto_used;
        self.cores += o.cores;
        self.hosts += o.hosts;
    }

    fn capacity(&self) -> Value {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "cpu": {
                "used": {"value": r(self.cpu_used), "unit": "GHz"},
                "total": {"value": r(self.cpu_total), "unit": "GHz"},
                "numberOfCores": self.cores,
                "numberOfCPUPackages": self.hosts * 2,
            },
            "memory": {
                "used": {"value": r(self.mem_used), "unit": "GB"},
                "total": {"value": r(self.mem_total), "unit": "GB"},
            },
            "storage": {
                "used": {"value": r(self.sto_used), "unit": "TB"},
                "total": {"value": r(self.sto_total), "unit": "TB"},
            }
        })
    }
}

fn host_usage(s: &SimState, h: usize, t: f64) -> Usage {
    let host = &s.inv.hosts[h];
    let cpu_total = host.cpu_mhz / 1000.0;
    let mem_total = host.memory_mb / 1024.0;
    let sto_total = host.storage_mb / 1024.0 / 1024.0;
    Usage {
        cpu_total,
        cpu_used: cpu_total * usage::cpu(t, host.index),
        mem_total,
        mem_used: mem_total * usage::memory(t, host.index),
        sto_total,
        sto_used: sto_total * usage::storage(t, host.index),
        cores: host.cores,
        hosts: 1,
    }
}

fn cluster_usage(s: &SimState, c: usize, t: f64) -> Usage {
    let mut u = Usage::default();
    for &h in &s.inv.clusters[c].hosts {
        u.add(host_usage(s, h, t));
    }
    u
}

fn domain_ref(s: &SimState, di: usize) -> Value {
    let d = &s.inv.domains[di];
    json!({"id": d.id, "name": d.name, "type": d.domain_type})
}

/// `Domain` JSON.
pub fn domain_json(s: &SimState, di: usize) -> Value {
    let t = s.now();
    let d = &s.inv.domains[di];
    let mut u = Usage::default();
    for &c in &d.clusters {
        u.add(cluster_usage(s, c, t));
    }
    let running = s.upgrades.iter().any(|x| x.domain == di && x.running(t));
    let steps = d
        .target
        .as_deref()
        .map(|v| s.steps(di, v))
        .unwrap_or_default();
    let completed = d
        .target
        .as_deref()
        .map(|v| {
            s.upgrades
                .iter()
                .filter(|x| {
                    x.domain == di
                        && x.applied
                        && !x.attempt.is_some_and(|a| a.fails)
                        && s.inv.bundles[x.bundle].release == v
                })
                .count()
        })
        .unwrap_or(0);
    let status = if running {
        "IN_PROGRESS"
    } else if super::releases::has_applicable_future(s, di) {
        "AVAILABLE"
    } else {
        "UP_TO_DATE"
    };
    json!({
        "id": d.id,
        "name": d.name,
        "orgName": s.scenario.system.org_name,
        "status": "ACTIVE",
        "type": d.domain_type,
        "upgradeState": if d.upgrade_failed { "FAILED" } else { "AVAILABLE" },
        "upgradeStatus": {
            "status": status,
            "completedResources": completed,
            "totalResources": completed + steps.len(),
        },
        "owners": [],
        "vcenters": [{"id": d.vc_id, "fqdn": d.vc_fqdn, "vcInstanceId": d.vc_instance_id}],
        "ssoId": d.sso_id,
        "ssoName": "vsphere.local",
        "isManagementSsoDomain": d.domain_type == "MANAGEMENT",
        "clusters": d.clusters.iter().map(|&c| json!({"id": s.inv.clusters[c].id, "name": s.inv.clusters[c].name})).collect::<Vec<_>>(),
        "nsxtCluster": {"id": d.nsx_id, "vipFqdn": d.nsx_fqdn, "vip": d.nsx_vip},
        "licensingInfo": {
            "licensingMode": "SUBSCRIPTION",
            "subscriptionStatus": "ACTIVE",
            "isRegistered": true,
            "isSubscribed": true,
            "daysRemainingToSubscribe": 0,
        },
        "capacity": u.capacity(),
        "tags": [],
        "elmStatus": "ISOLATED",
        "lifecycleManagementMode": "IMAGES",
        "isNetworkSeparationEnabled": false,
        "isSecurityEnabled": false,
        "isPrimaryDomainForNsx": true,
    })
}

/// `Cluster` JSON.
pub fn cluster_json(s: &SimState, c: usize) -> Value {
    let t = s.now();
    let cl = &s.inv.clusters[c];
    let d = &s.inv.domains[cl.domain];
    let hosts: Vec<Value> = cl
        .hosts
        .iter()
        .map(|&h| {
            let host = &s.inv.hosts[h];
            json!({"id": host.id, "ipAddress": host.ip_address, "fqdn": host.fqdn})
        })
        .collect();
    json!({
        "id": cl.id,
        "domain": domain_ref(s, cl.domain),
        "name": cl.name,
        "status": "ACTIVE",
        "primaryDatastoreName": format!("{}-ds-vsan01", cl.name),
        "primaryDatastoreType": cl.datastore_type,
        "hosts": hosts,
        "isStretched": false,
        "isDefault": cl.is_default,
        "failuresToTolerate": 1,
        "tags": [],
        "isImageBased": cl.image_based,
        "capacity": cluster_usage(s, c, t).capacity(),
        "vcenter": {"id": d.vc_id, "fqdn": d.vc_fqdn, "vcInstanceId": d.vc_instance_id},
        "managedObjectReferenceId": cl.moref,
    })
}

/// `Host` JSON.
pub fn host_json(s: &SimState, h: usize) -> Value {
    let t = s.now();
    let host = &s.inv.hosts[h];
    let u = host_usage(s, h, t);
    let cl = &s.inv.clusters[host.cluster];
    let d = &s.inv.domains[host.domain];
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let esxi_version = s.host_version(h);
    let base = crate::version::base(&esxi_version).to_string();
    let mut v = json!({
        "id": host.id,
        "serialNumber": host.serial,
        "esxiVersion": esxi_version,
        "fqdn": host.fqdn,
        "hardwareVendor": "Dell Inc.",
        "hardwareModel": "PowerEdge R650",
        "isPrimary": false,
        "isVsanEsaEligible": false,
        "ipAddresses": [{"ipAddress": host.ip_address, "type": "MANAGEMENT"}],
        "cpu": {
            "frequencyMHz": r1(host.cpu_mhz),
            "usedFrequencyMHz": r1(u.cpu_used * 1000.0),
            "cores": host.cores,
        },
        "memory": {
            "totalCapacityMB": r1(host.memory_mb),
            "usedCapacityMB": r1(u.mem_used * 1024.0),
        },
        "storage": {
            "totalCapacityMB": r1(host.storage_mb),
            "usedCapacityMB": r1(u.sto_used * 1024.0 * 1024.0),
        },
        "physicalNics": [
            {"deviceName": "vmnic0", "macAddress": mac(host.index, 0), "speed": 25000, "unit": "MB", "state": "ACTIVE_IN_USE"},
            {"deviceName": "vmnic1", "macAddress": mac(host.index, 1), "speed": 25000, "unit": "MB", "state": "ACTIVE_IN_USE"},
        ],
        "domain": domain_ref(s, host.domain),
        "networkpool": {"id": d.network_pool_id, "name": format!("{}-np01", d.name)},
        "cluster": {"id": cl.id, "name": cl.name},
        "status": "ASSIGNED",
        "compatibleStorageType": "VSAN",
        "hybrid": false,
        "softwareInfo": {
            "baseImage": {
                "version": esxi_version,
                "details": {"displayName": "ESXi", "displayVersion": base},
            }
        },
        "tags": [],
        "configurationStatus": "ACTIVE",
        "datastoreType": if cl.datastore_type == "VSAN_ESA" { "VSAN_ESA" } else { "VSAN" },
    });
    // The 9.0.2 spec's `Host` no longer has `isPrimary` and `isVsanEsaEligible`.
    if s.vcf9()
        && let Some(o) = v.as_object_mut()
    {
        o.remove("isPrimary");
        o.remove("isVsanEsaEligible");
    }
    v
}

fn mac(index: usize, nic: usize) -> String {
    format!(
        "00:50:56:{:02x}:{:02x}:{:02x}",
        (index >> 8) & 0xff,
        index & 0xff,
        nic
    )
}

/// `SddcManager` JSON.
pub fn sddc_json(s: &SimState) -> Value {
    let m = &s.inv.sddc;
    let di = s
        .inv
        .domains
        .iter()
        .position(|d| d.domain_type == "MANAGEMENT")
        .unwrap_or(0);
    json!({
        "id": m.id,
        "fqdn": m.fqdn,
        "version": m.version,
        "ipAddress": m.ip_address,
        "domain": domain_ref(s, di),
        "basicAuthDetails": {"status": "ENABLED", "username": "admin"},
    })
}

/// `GET /v1/domains[?type=]`.
pub async fn domains(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let s = app.lock();
    let want = q.get("type");
    let items = (0..s.inv.domains.len())
        .filter(|&i| want.is_none_or(|w| &s.inv.domains[i].domain_type == w))
        .map(|i| domain_json(&s, i))
        .collect();
    ok(page(items))
}

/// `GET /v1/domains/{id}`.
pub async fn domain(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let di = s
        .inv
        .domain_index(&id)
        // Source: spec `getDomain` 404 "Domain not found".
        .ok_or_else(|| ApiError::not_found("Domain", &id))?;
    ok(domain_json(&s, di))
}

/// `GET /v1/clusters[?domainId=]`.
pub async fn clusters(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let s = app.lock();
    let want = q.get("domainId");
    let items = (0..s.inv.clusters.len())
        .filter(|&c| want.is_none_or(|w| &s.inv.domains[s.inv.clusters[c].domain].id == w))
        .map(|c| cluster_json(&s, c))
        .collect();
    ok(page(items))
}

/// `GET /v1/clusters/{id}`.
pub async fn cluster(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let c = s
        .inv
        .clusters
        .iter()
        .position(|c| c.id == id)
        // Source: spec `getCluster` 404 "Not Found".
        .ok_or_else(|| ApiError::not_found("Cluster", &id))?;
    ok(cluster_json(&s, c))
}

/// `GET /v1/hosts[?domainId=&clusterId=&status=]`.
pub async fn hosts(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let s = app.lock();
    let domain = q.get("domainId");
    let cluster = q.get("clusterId");
    let status = q.get("status");
    let items = (0..s.inv.hosts.len())
        .filter(|&h| {
            let host = &s.inv.hosts[h];
            domain.is_none_or(|w| &s.inv.domains[host.domain].id == w)
                && cluster.is_none_or(|w| &s.inv.clusters[host.cluster].id == w)
                && status.is_none_or(|w| w == "ASSIGNED")
        })
        .map(|h| host_json(&s, h))
        .collect();
    ok(page(items))
}

/// `GET /v1/hosts/{id}`.
pub async fn host(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let h = s
        .inv
        .hosts
        .iter()
        .position(|h| h.id == id)
        // Source: spec `getHost` documents only 400; 404 is how every other get-by-id of
        // the spec answers an unknown id (inferred, see docs/simulator.md).
        .ok_or_else(|| ApiError::not_found("Host", &id))?;
    ok(host_json(&s, h))
}

/// `GET /v1/sddc-managers`.
pub async fn sddc_managers(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    ok(page(vec![sddc_json(&s)]))
}

/// `GET /v1/sddc-managers/{id}`.
pub async fn sddc_manager(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    // Source: spec `getSddcManager` 404 "Sddc Manager not found".
    if s.inv.sddc.id != id {
        return Err(ApiError::not_found("SDDC Manager", &id));
    }
    ok(sddc_json(&s))
}

/// `GET /v1/vcenters[?domainId=]`: vCenters with their versions.
pub async fn vcenters(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let s = app.lock();
    let want = q.get("domainId");
    let items = (0..s.inv.domains.len())
        .filter(|&di| want.is_none_or(|w| &s.inv.domains[di].id == w))
        .map(|di| {
            let d = &s.inv.domains[di];
            json!({
                "id": d.vc_id,
                "fqdn": d.vc_fqdn,
                "ipAddress": format!("172.16.{}.62", 11 + di),
                "domain": domain_ref(&s, di),
                "version": d.vc_version,
            })
        })
        .collect();
    ok(page(items))
}

/// `GET /v1/nsxt-clusters`: NSX Manager clusters (one per domain) with their versions.
pub async fn nsxt_clusters(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    let items = (0..s.inv.domains.len())
        .map(|di| {
            let d = &s.inv.domains[di];
            let nodes: Vec<Value> = (1..=3)
                .map(|n| {
                    let name = format!("{}-nsx01{}", d.name, (b'a' + n - 1) as char);
                    json!({
                        "id": crate::ids::stable(s.scenario.seed, &format!("nsx-node/{name}")),
                        "fqdn": format!("{name}.{}", s.scenario.system.dns_suffix),
                        "ipAddress": format!("172.16.{}.{}", 11 + di, 65 + n),
                        "name": name,
                    })
                })
                .collect();
            json!({
                "id": d.nsx_id,
                "vipFqdn": d.nsx_fqdn,
                "vip": d.nsx_vip,
                "domains": [domain_ref(&s, di)],
                "nodes": nodes,
                "version": d.nsx_version,
                "isShared": false,
                "isShareable": true,
                "isVlcmCompatible": true,
                "status": "STABLE",
            })
        })
        .collect();
    ok(page(items))
}

/// `Personality` JSON (the spec's required fields, plus `importTimestamp`).
pub fn personality_json(s: &SimState, i: usize) -> Value {
    let p = &s.personalities[i];
    let depot = format!("/nfs/vmware/vcf/nfs-mount/personality/{}", p.id);
    json!({
        "personalityId": p.id,
        "personalityName": p.name,
        "displayName": p.name,
        "description": format!("ESXi {} image", p.esxi_version),
        "version": "1",
        "createdBy": "admin@local",
        "imageSize": "391.4 MB",
        "imageChecksum": crate::ids::stable(s.scenario.seed, &format!("checksum/{}", p.id)).replace('-', ""),
        "vsphereExportedZipPath": format!("{depot}/image.zip"),
        "vsphereExportedIsoPath": format!("{depot}/image.iso"),
        "vsphereExportedJsonPath": format!("{depot}/image.json"),
        "importTimestamp": s.clock.iso_at(p.imported),
        "tags": [],
        "softwareInfo": { "baseImage": { "version": p.esxi_version } },
    })
}

/// `GET /v1/personalities[?personalityName=]`: `PageOfPersonality`.
pub async fn personalities(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let s = app.lock();
    let items = (0..s.personalities.len())
        .filter(|&i| {
            q.get("personalityName")
                .is_none_or(|n| *n == s.personalities[i].name)
        })
        .map(|i| personality_json(&s, i))
        .collect();
    ok(page(items))
}
