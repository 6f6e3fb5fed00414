//! The `/sim/` endpoints for tests and benchmarks: request counts and log, fault
//! injection, reset, and a state summary.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ApiResult, App, ok};
use crate::error::ApiError;
use crate::faults::{AnswerSpec, FaultPatch, Faults, OutageWindow};
use crate::state::SimState;

/// `GET /sim/requests`: `{"total": N, "by_endpoint": {"GET /v1/hosts": 3, ...}}`.
pub async fn requests(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    let total: u64 = s.counts.values().sum();
    ok(json!({"total": total, "by_endpoint": s.counts}))
}

/// `GET /sim/log`: `[{"method","path","query","status","at","endpoint","body"}]`, oldest
/// first; `body` is the JSON body of a write (never of the token endpoints).
pub async fn log(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    ok(serde_json::to_value(&s.log).unwrap_or(Value::Null))
}

fn faults_json(s: &SimState) -> Value {
    let f = &s.faults;
    json!({
        "error_rate": f.error_rate,
        "fail_component": f.fail_component,
        "fail_attempts": f.fail_attempts,
        "hang_component": f.hang_component,
        "fail_download": f.fail_download,
        "validation_failure": f.validation_failure,
        "validation_warnings": f.validation_warnings,
        "target_validation_failure": f.target_validation_failure,
        "unreachable": f.unreachable,
        "outage": f.outage.map(|o| json!({
            "refused_until": s.clock.iso_at(o.refused_until),
            "unready_until": s.clock.iso_at(o.unready_until),
            "restart": o.restart,
        })),
        "token_ttl_seconds": f.token_ttl,
        "garbage_refresh": f.garbage_refresh,
        "answers": f.answers.iter().map(|a| json!({
            "path": a.path, "status": a.status, "bytes": a.body.len(),
        })).collect::<Vec<_>>(),
        "unreadable": f.unreadable.iter()
            .map(|(endpoint, left)| json!({"endpoint": endpoint, "left": left}))
            .collect::<Vec<_>>(),
        "error_status": f.error_status,
        "hang": f.hang,
    })
}

/// `POST /sim/personalities` `{"name": "...", "esxi_version": "8.0.3-0.35.24280767"}`: an
/// image imported into SDDC Manager (as the UI's Image Management does); answers the new
/// `Personality`.
pub async fn add_personality(State(app): State<App>, body: Bytes) -> ApiResult {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("SIM_BAD_REQUEST", format!("body: {e}")))?;
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request("SIM_BAD_REQUEST", format!("{k} is required")))
    };
    let (name, esxi_version) = (field("name")?, field("esxi_version")?);
    let mut s = app.lock();
    let i = s.add_personality(&name, &esxi_version);
    ok(super::inventory::personality_json(&s, i))
}

/// `POST /sim/notifications` with a scenario `NotificationSpec` (JSON): a 9.x SDDC Manager
/// raises a notification now (created `hours_ago` before now). Answers the notification count.
pub async fn add_notification(State(app): State<App>, body: Bytes) -> ApiResult {
    let spec: crate::scenario::NotificationSpec = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("SIM_BAD_REQUEST", format!("body: {e}")))?;
    let mut s = app.lock();
    spec.validate(&s.scenario)
        .map_err(|e| ApiError::bad_request("SIM_BAD_REQUEST", format!("{e:#}")))?;
    s.add_notification(spec);
    ok(json!({"notifications": s.notifications.len()}))
}

/// `GET /sim/faults`: the faults in force.
pub async fn get_faults(State(app): State<App>) -> ApiResult {
    let mut s = app.lock();
    s.advance();
    ok(faults_json(&s))
}

/// `POST /sim/faults` with a [`FaultPatch`]; answers the faults now in force. The
/// simulator's own test API, not VCF: its 400s guard the test's input.
pub async fn faults(State(app): State<App>, body: Bytes) -> ApiResult {
    let patch: FaultPatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("SIM_FAULTS_INVALID", format!("bad fault body: {e}")))?;
    let mut s = app.lock();
    s.advance();
    if patch.clear == Some(true) {
        let seed = s.scenario.seed;
        s.faults = Faults::from_spec(&Default::default(), seed);
    }
    let f = &mut s.faults;
    if let Some(r) = patch.error_rate {
        if !(0.0..=1.0).contains(&r) {
            return Err(ApiError::bad_request(
                "SIM_FAULTS_INVALID",
                "error_rate must be within 0..1",
            ));
        }
        f.error_rate = r;
    }
    if let Some(v) = patch.unreachable {
        f.unreachable = v;
    }
    if let Some(v) = patch.fail_component {
        f.fail_component = v;
    }
    if let Some(v) = patch.fail_attempts {
        f.fail_attempts = v;
    }
    if let Some(v) = patch.hang_component {
        f.hang_component = v;
    }
    if let Some(v) = patch.fail_download {
        f.fail_download = v;
    }
    if let Some(v) = patch.validation_failure {
        f.validation_failure = v;
    }
    if let Some(v) = patch.validation_warnings {
        f.validation_warnings = v;
    }
    if let Some(v) = patch.target_validation_failure {
        f.target_validation_failure = v;
    }
    if let Some(v) = patch.token_ttl_seconds {
        f.token_ttl = Some(v.max(0.0));
    }
    if let Some(v) = patch.garbage_refresh {
        f.garbage_refresh = v;
    }
    if let Some(specs) = patch.answers {
        f.answers = specs
            .into_iter()
            .map(AnswerSpec::build)
            .collect::<Result<_, _>>()
            .map_err(|e| ApiError::bad_request("SIM_FAULTS_INVALID", e))?;
    }
    match (patch.unreadable_endpoint, patch.unreadable_count) {
        (Some(endpoint), count) => {
            f.unreadable.retain(|(e, _)| *e != endpoint);
            f.unreadable.push((endpoint, count.unwrap_or(1)));
        }
        (None, Some(_)) => {
            return Err(ApiError::bad_request(
                "SIM_FAULTS_INVALID",
                "unreadable_count needs unreadable_endpoint",
            ));
        }
        (None, None) => {}
    }
    if let Some(v) = patch.error_status {
        if !(500..=599).contains(&v) {
            return Err(ApiError::bad_request(
                "SIM_FAULTS_INVALID",
                "error_status must be within 500..=599",
            ));
        }
        f.error_status = Some(v);
    }
    if let Some(v) = patch.hang {
        f.hang = v;
    }
    let now = s.now();
    match (patch.outage_seconds, patch.restart) {
        (Some(secs), restart) => {
            let refused_until = now + secs.max(0.0);
            s.faults.outage = Some(OutageWindow {
                refused_until,
                unready_until: refused_until + patch.unready_seconds.unwrap_or(0.0).max(0.0),
                restart: restart.unwrap_or(true),
            });
        }
        (None, Some(true)) => s.tokens.restart(),
        (None, _) => {}
    }
    ok(faults_json(&s))
}

/// `POST /sim/reset`: back to the scenario's initial state (faults, tokens, log included).
pub async fn reset(State(app): State<App>) -> ApiResult {
    let fresh = SimState::new(app.scenario.clone(), app.time_scale);
    *app.lock() = fresh;
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::OK,
        axum::Json(json!({"reset": true})),
    )))
}

/// `GET /sim/state`: domains with versions and targets, SDDC Manager version, bundles
/// with download status, upgrades, runs, validations, the API phase.
pub async fn state(State(app): State<App>) -> ApiResult {
    let mut s = app.lock();
    let phase = s.api_phase();
    let t = s.now();
    let domains: Vec<Value> = s
        .inv
        .domains
        .iter()
        .enumerate()
        .map(|(di, d)| {
            let hosts: Vec<String> = (0..s.inv.hosts.len())
                .filter(|&h| s.inv.hosts[h].domain == di)
                .map(|h| s.host_version(h))
                .collect();
            json!({
                "id": d.id, "name": d.name, "type": d.domain_type, "version": d.version,
                "target_version": d.target, "nsx_version": d.nsx_version, "vcenter_version": d.vc_version,
                "esxi_versions": hosts, "upgrade_failed": d.upgrade_failed,
                "clusters": d.clusters.iter().map(|&c| json!({"id": s.inv.clusters[c].id, "name": s.inv.clusters[c].name, "hosts": s.inv.clusters[c].hosts.len()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let bundles: Vec<Value> = s
        .inv
        .bundles
        .iter()
        .enumerate()
        .map(|(b, info)| {
            json!({
                "id": info.id, "component": info.component, "release": info.release,
                "kind": format!("{:?}", info.kind).to_lowercase(), "version": info.version,
                "download_status": s.download_status(b), "listed": s.inv.bundle_visible(info),
            })
        })
        .collect();
    let upgrades: Vec<Value> = s
        .upgrades
        .iter()
        .map(|u| {
            json!({
                "id": u.id, "bundle_id": s.inv.bundles[u.bundle].id, "domain": s.inv.domains[u.domain].name,
                "component": u.target.component(), "status": u.status(t), "running": u.running(t),
            })
        })
        .collect();
    ok(json!({
        "scenario": s.scenario.name,
        "time_scale": s.clock.scale(),
        "simulated_seconds": t,
        "api_phase": format!("{phase:?}").to_lowercase(),
        "restarts": s.tokens.epoch(),
        "sddc_manager": {"id": s.inv.sddc.id, "fqdn": s.inv.sddc.fqdn, "version": s.inv.sddc.version, "applied_drift": s.inv.sddc.applied_drift},
        "domains": domains,
        "bundles": bundles,
        "upgrades": upgrades,
        "check_runs": s.runs.iter().map(|r| json!({"id": r.id, "done": t >= r.end, "findings": r.findings.len()})).collect::<Vec<_>>(),
        "validations": s.validations.iter().map(|v| json!({"id": v.id, "domain": s.inv.domains[v.domain].name, "version": v.version, "done": t >= v.end, "outcome": v.outcome.result_status(&s.inv.sddc.version)})).collect::<Vec<_>>(),
        "tasks": s.tasks.len(),
    }))
}
