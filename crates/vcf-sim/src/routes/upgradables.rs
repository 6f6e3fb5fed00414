//! Upgradables of a domain for its target version (`/v1/upgradables/domains/{id}`) and the
//! cluster view ESXi upgrades need (`/v1/upgradables/domains/{id}/clusters`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::{ApiResult, App, ok, page};
use crate::error::ApiError;
use crate::state::{SimState, Step, Target};

fn step_json(s: &SimState, di: usize, step: &Step) -> Value {
    let d = &s.inv.domains[di];
    let b = &s.inv.bundles[step.bundle];
    let (resource, components) = match &step.target {
        Target::SddcManager | Target::Drift => (
            json!({"resourceId": s.inv.sddc.id, "fqdn": s.inv.sddc.fqdn, "type": "SDDC_MANAGER", "name": s.inv.sddc.fqdn}),
            vec![json!({"id": s.inv.sddc.id, "type": "SDDC_MANAGER"})],
        ),
        Target::Nsx => (
            json!({"resourceId": d.nsx_id, "fqdn": d.nsx_fqdn, "type": "NSXT_MANAGER", "name": d.nsx_fqdn}),
            vec![json!({"id": d.nsx_id, "type": "NSX_T_MANAGER"})],
        ),
        Target::Vcenter => (
            json!({"resourceId": d.vc_id, "fqdn": d.vc_fqdn, "type": "VCENTER", "name": d.vc_fqdn}),
            vec![json!({"id": d.vc_id, "type": "VCENTER"})],
        ),
        Target::Esx(c) => {
            let cl = &s.inv.clusters[c[0]];
            (
                json!({"resourceId": cl.id, "type": "ESXI", "name": cl.name}),
                cl.hosts
                    .iter()
                    .map(|&h| json!({"id": s.inv.hosts[h].id, "type": "HOST"}))
                    .collect(),
            )
        }
    };
    json!({
        "bundleId": b.id,
        "bundleType": b.bundle_type(),
        "resource": resource,
        "softwareComponents": components,
        "status": step.status,
        "errors": [],
    })
}

/// `GET /v1/upgradables/domains/{id}[?targetVersion=]`: empty until a target version is
/// set for the domain.
pub async fn domain(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let mut s = app.lock();
    let di = s
        .inv
        .domain_index(&id)
        // Source: spec `getUpgradablesByDomain` / `getUpgradablesClusters` 404 "Domain Not Found".
        .ok_or_else(|| ApiError::not_found("Domain", &id))?;
    // Source: see `SimState::take_unseeded_inventory` (spec 9.0.2, 409).
    if let Some(err) = s.take_unseeded_inventory() {
        return Err(err);
    }
    let Some(target) = s.inv.domains[di].target.clone() else {
        return ok(page(Vec::new()));
    };
    let version = q
        .get("targetVersion")
        .filter(|v| !v.is_empty())
        .cloned()
        .unwrap_or(target);
    let items = s
        .steps(di, &version)
        .iter()
        .map(|st| step_json(&s, di, st))
        .collect();
    ok(page(items))
}

/// `GET /v1/upgradables/domains/{id}/clusters`.
pub async fn clusters(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let di = s
        .inv
        .domain_index(&id)
        // Source: spec `getUpgradablesByDomain` / `getUpgradablesClusters` 404 "Domain Not Found".
        .ok_or_else(|| ApiError::not_found("Domain", &id))?;
    let items: Vec<Value> = s.inv.domains[di]
        .clusters
        .iter()
        .map(|&c| {
            let cl = &s.inv.clusters[c];
            let version = cl
                .hosts
                .first()
                .map(|&h| s.host_version(h))
                .unwrap_or_default();
            json!({
                "resourceId": cl.id,
                "resourceType": "CLUSTER",
                "primaryCluster": cl.is_default,
                "vlcmEnabled": true,
                "softwareInfo": {
                    "baseImage": {
                        "version": version,
                        "details": {"displayName": "ESXi", "displayVersion": crate::version::base(&version)},
                    }
                },
                "configuredHardwareSupportManagers": [],
                "availableHardwareSupportManagers": [],
            })
        })
        .collect();
    // PageOfUpgradablesClusterResource has no pageMetadata in the spec.
    ok(json!({"elements": items}))
}
