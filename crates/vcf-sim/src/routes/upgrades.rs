//! Upgrades: `POST /v1/upgrades` (202 `Task`, its id is also the upgrade id),
//! `GET /v1/upgrades[/{id}]`, `PATCH /v1/upgrades/{id}` (commit a draft) and the
//! per-upgrade prechecks.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{ApiResult, App, json_response, ok, page, parse_body};
use crate::error::ApiError;
use crate::state::{Progress, SimState, TaskKind};

/// Keeps the `ResourceUpgradeSpec` fields the simulator understands, with their spec types.
fn sanitize_spec(v: &Value) -> Result<Value, ApiError> {
    // Source: spec `performUpgrade` 400; `ResourceUpgradeSpec` is an object whose
    // `resourceId` is required.
    let Some(obj) = v.as_object() else {
        return Err(ApiError::bad_request(
            "UPGRADE_SPEC_INVALID",
            "resourceUpgradeSpecs[] must be objects",
        ));
    };
    let Some(id) = obj
        .get("resourceId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Err(ApiError::bad_request(
            "UPGRADE_SPEC_INVALID",
            "resourceUpgradeSpecs[].resourceId is required",
        ));
    };
    let mut out = Map::new();
    out.insert("resourceId".into(), json!(id));
    for k in [
        "upgradeNow",
        "shutdownVms",
        "enableQuickboot",
        "evacuateOfflineVms",
    ] {
        if let Some(b) = obj.get(k).and_then(Value::as_bool) {
            out.insert(k.into(), json!(b));
        }
    }
    for k in ["toVersion", "scheduledTimestamp"] {
        if let Some(s) = obj.get(k).and_then(Value::as_str) {
            out.insert(k.into(), json!(s));
        }
    }
    // Spec `PersonalitySpec`: `personalityId` (required) and `hardwareSupportSpecs`.
    if let Some(p) = obj
        .get("personalitySpec")
        .and_then(|p| p.get("personalityId"))
        .and_then(Value::as_str)
    {
        out.insert("personalitySpec".into(), json!({"personalityId": p}));
    }
    Ok(Value::Object(out))
}

/// `Upgrade` JSON.
pub fn upgrade_json(s: &SimState, ui: usize) -> Value {
    let u = &s.upgrades[ui];
    let t = s.now();
    let mut v = json!({
        "id": u.id,
        "bundleId": s.inv.bundles[u.bundle].id,
        "resourceType": u.resource_type,
        "parallelUpgrade": u.parallel,
        "resourceUpgradeSpecs": u.resource_specs,
        "status": u.status(t),
        "taskId": u.id,
        "bundle": super::bundles::bundle_json(s, u.bundle),
    });
    if let Some(end) = u.attempt.and_then(|a| a.end).filter(|e| *e <= t) {
        v["endTime"] = json!(s.clock.millis_at(end));
    }
    v
}

fn upgrade_index(s: &SimState, id: &str) -> Result<usize, ApiError> {
    s.upgrades
        .iter()
        .position(|u| u.id == id)
        // Source: spec `getUpgradeById` / `updateUpgradeSchedule` 404 "Upgrade Not Found"
        // (for the prechecks, which document 400 and 403, the 404 is inferred).
        .ok_or_else(|| ApiError::not_found("Upgrade", id))
}

/// `POST /v1/upgrades` with an `UpgradeSpec`.
pub async fn start(State(app): State<App>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    let bundle_id = v.get("bundleId").and_then(Value::as_str).unwrap_or("");
    let resource_type = v.get("resourceType").and_then(Value::as_str).unwrap_or("");
    // Source: spec `UpgradeSpec` requires `bundleId`, `resourceType` and
    // `resourceUpgradeSpecs`; 400 documented.
    if bundle_id.is_empty() || resource_type.is_empty() {
        return Err(ApiError::bad_request(
            "UPGRADE_SPEC_INVALID",
            "bundleId and resourceType are required",
        ));
    }
    let specs = v
        .get("resourceUpgradeSpecs")
        .and_then(Value::as_array)
        // Source: as above; an empty list names no resource to upgrade.
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("UPGRADE_SPEC_INVALID", "resourceUpgradeSpecs is required")
        })?
        .iter()
        .map(sanitize_spec)
        .collect::<Result<Vec<_>, _>>()?;
    let parallel = v
        .get("parallelUpgrade")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let draft = v.get("draftMode").and_then(Value::as_bool).unwrap_or(false);
    let mut s = app.lock();
    if let Some(domain_id) = specs
        .first()
        .and_then(|r| r.get("resourceId"))
        .and_then(Value::as_str)
    {
        // Source: see `SimState::check_vcenter_input` (spec 9.0.2 `VcenterUpgradeUserInputSpec`).
        s.check_vcenter_input(bundle_id, domain_id, &v)?;
    }
    let ui = s.start_upgrade(bundle_id, resource_type, specs, parallel, draft)?;
    let id = s.upgrades[ui].id.clone();
    let ti = s.task_index(&id).unwrap_or(s.tasks.len() - 1);
    Ok(json_response(
        StatusCode::ACCEPTED,
        super::tasks::task_json(&s, ti, true),
    ))
}

/// `GET /v1/upgrades[?status=&bundleId=&bundleType=]`.
pub async fn list(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let s = app.lock();
    let t = s.now();
    let items = (0..s.upgrades.len())
        .filter(|&ui| {
            let u = &s.upgrades[ui];
            let b = &s.inv.bundles[u.bundle];
            q.get("status").is_none_or(|w| w == u.status(t))
                && q.get("bundleId").is_none_or(|w| *w == b.id)
                && q.get("bundleType").is_none_or(|w| w == b.bundle_type())
        })
        .map(|ui| upgrade_json(&s, ui))
        .collect();
    ok(page(items))
}

/// `GET /v1/upgrades/{id}`.
pub async fn get_one(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let ui = upgrade_index(&s, &id)?;
    ok(upgrade_json(&s, ui))
}

/// `PATCH /v1/upgrades/{id}` with `UpgradeCommitSpec`: starts a draft upgrade.
pub async fn commit(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    let now_flag = v
        .get("upgradeNow")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let scheduled = v
        .get("scheduledTimestamp")
        .and_then(Value::as_str)
        .is_some();
    let mut s = app.lock();
    let ui = upgrade_index(&s, &id)?;
    if (now_flag || scheduled) && s.upgrades[ui].attempt.is_none() {
        s.run_upgrade(ui);
    }
    ok(upgrade_json(&s, ui))
}

/// `POST /v1/upgrades/{id}/prechecks`: 202 `Task`.
pub async fn start_precheck(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut s = app.lock();
    let ui = upgrade_index(&s, &id)?;
    let t = s.now();
    // Source: spec `startUpgradePrecheck` 403 "Operation not allowed" (for a completed
    // upgrade: inferred).
    if matches!(s.upgrades[ui].progress(t), Progress::Succeeded) && s.upgrades[ui].attempt.is_some()
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "UPGRADE_PRECHECK_NOT_ALLOWED",
            "Operation not allowed: the upgrade has already completed",
        ));
    }
    let ti = s.start_upgrade_precheck(ui);
    Ok(json_response(StatusCode::ACCEPTED, precheck_json(&s, ti)))
}

fn precheck_json(s: &SimState, ti: usize) -> Value {
    let mut v = super::tasks::task_json(s, ti, true);
    if let TaskKind::Precheck(ui, pi) = s.tasks[ti].kind {
        let p = &s.upgrades[ui].prechecks[pi];
        let done = s.now() >= p.end;
        let status = if done { "SUCCESSFUL" } else { "IN_PROGRESS" };
        let sub = |name: &str| {
            let mut x = json!({
                "name": name, "type": "PRECHECK", "description": name, "status": status,
                "creationTimestamp": s.clock.iso_at(p.start),
            });
            if done {
                x["completionTimestamp"] = json!(s.clock.iso_at(p.end));
            }
            x
        };
        v["subTasks"] = json!([
            sub("Bundle compatibility"),
            sub("Resource health"),
            sub("Disk space")
        ]);
        v["resources"] = json!([super::tasks::upgrade_resource(s, ui)]);
    }
    v
}

/// `GET /v1/upgrades/{id}/prechecks/{precheckId}`: `Task`.
pub async fn precheck(
    State(app): State<App>,
    Path((id, pid)): Path<(String, String)>,
) -> ApiResult {
    let s = app.lock();
    let ui = upgrade_index(&s, &id)?;
    // Source: spec `getUpgradePrecheckByID` documents 400 and 403; 404 for an unknown
    // precheck id is inferred from the other get-by-id operations.
    if !s.upgrades[ui].prechecks.iter().any(|p| p.id == pid) {
        return Err(ApiError::not_found("Precheck", &pid));
    }
    let ti = s
        .task_index(&pid)
        .ok_or_else(|| ApiError::not_found("Precheck", &pid))?;
    ok(precheck_json(&s, ti))
}
