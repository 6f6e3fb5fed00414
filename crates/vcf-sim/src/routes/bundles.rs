//! Bundle endpoints: the depot's bundles with their download status, and
//! `PATCH /v1/bundles/{id}` to download one (202 `Task`, 409 while already downloading).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ApiResult, App, json_response, ok, page, parse_body};
use crate::error::ApiError;
use crate::inventory::public_name;
use crate::scenario::BundleKind;
use crate::state::SimState;
use crate::version;

/// `Bundle` JSON.
pub fn bundle_json(s: &SimState, b: usize) -> Value {
    let info = &s.inv.bundles[b];
    let name = public_name(&info.component);
    let (description, image_type, order) = match info.kind {
        BundleKind::Upgrade => (
            format!("The upgrade bundle for {name} {}", info.version),
            "PATCH",
            match info.component.as_str() {
                "SDDC_MANAGER" => 1,
                "NSX_T_MANAGER" => 3,
                "VCENTER" => 4,
                _ => 5,
            },
        ),
        BundleKind::Drift => (
            format!("The configuration drift bundle for {name} {}", info.version),
            "PATCH",
            2,
        ),
        BundleKind::Fallback => (
            format!("The install bundle for {name} {}", info.version),
            "INSTALL",
            6,
        ),
    };
    let component_id = match info.component.as_str() {
        "SDDC_MANAGER" => s.inv.sddc.id.clone(),
        _ => crate::ids::stable(s.scenario.seed, &format!("component/{}", info.id)),
    };
    let mut component = json!({
        "description": name,
        "vendor": "VMware",
        "releasedDate": info.released_date,
        "toVersion": info.version,
        "imageType": image_type,
        "id": component_id,
        "type": info.component,
    });
    if info.kind != BundleKind::Fallback
        && let Some(from) = &info.from_version
    {
        component["fromVersion"] = json!(from);
    }
    let applied = applied_everywhere(s, b);
    json!({
        "id": info.id,
        "type": info.bundle_type(),
        "description": description,
        "version": info.version,
        "severity": info.severity,
        "vendor": "VMware",
        "releasedDate": info.released_date,
        "isCumulative": false,
        "isCompliant": true,
        "sizeMB": info.size_mb,
        "downloadStatus": s.download_status(b),
        "components": [component],
        "applicabilityStatus": if info.kind == BundleKind::Fallback { "PENDING" } else if applied { "SUCCESS" } else { "AVAILABLE" },
        "applicabilityOrder": order,
        "isPartiallyUpgraded": false,
    })
}

/// Whether every component the bundle targets already runs its version.
fn applied_everywhere(s: &SimState, b: usize) -> bool {
    let info = &s.inv.bundles[b];
    let at = |have: &str| version::cmp(have, &info.version).is_ge();
    match (info.component.as_str(), info.kind) {
        ("SDDC_MANAGER", BundleKind::Drift) => s.inv.sddc.applied_drift.contains(&info.id),
        ("SDDC_MANAGER", _) => at(&s.inv.sddc.version),
        ("NSX_T_MANAGER", _) => s.inv.domains.iter().all(|d| at(&d.nsx_version)),
        ("VCENTER", _) => s.inv.domains.iter().all(|d| at(&d.vc_version)),
        _ => s.inv.hosts.iter().all(|h| at(&h.esxi_version)),
    }
}

/// `GET /v1/bundles[?bundleType=&productType=]`.
pub async fn list(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let s = app.lock();
    let bundle_type = q.get("bundleType");
    let product: Option<Vec<&str>> = q.get("productType").map(|p| p.split(',').collect());
    let items = (0..s.inv.bundles.len())
        .filter(|&b| {
            let info = &s.inv.bundles[b];
            s.inv.bundle_visible(info)
                && bundle_type.is_none_or(|t| t == info.bundle_type())
                && product
                    .as_ref()
                    .is_none_or(|p| p.iter().any(|p| *p == info.component))
        })
        .map(|b| bundle_json(&s, b))
        .collect();
    ok(page(items))
}

/// `GET /v1/bundles/{id}`.
pub async fn get_one(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let b = s
        .bundle_index(&id)
        // Source: spec `getBundle` 404 "Bundle Not Found".
        .ok_or_else(|| ApiError::not_found("Bundle", &id))?;
    ok(bundle_json(&s, b))
}

/// `PATCH /v1/bundles/{id}` with `{"bundleDownloadSpec": {"downloadNow": true}}`.
pub async fn download(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    // Source: spec `startBundleDownloadByID` documents 400; without `bundleDownloadSpec`
    // (the only non-deprecated key of `BundleUpdateSpec`) the request asks for nothing.
    let Some(spec) = v.get("bundleDownloadSpec").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            "BUNDLE_DOWNLOAD_SPEC_INVALID",
            "bundleDownloadSpec is required",
        ));
    };
    let now_flag = spec
        .get("downloadNow")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cancel = spec
        .get("cancelNow")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let scheduled = spec
        .get("scheduledTimestamp")
        .and_then(Value::as_str)
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&chrono::Utc))
                // Source: spec 400; `scheduledTimestamp` is a time (ISO 8601, ENDPOINTS.md §0).
                .map_err(|_| {
                    ApiError::bad_request(
                        "BUNDLE_DOWNLOAD_SPEC_INVALID",
                        format!("scheduledTimestamp {t} is not an ISO-8601 time"),
                    )
                })
        })
        .transpose()?;
    let mut s = app.lock();
    let b = s
        .bundle_index(&id)
        // Source: spec `getBundle` 404 for the same unknown id (`startBundleDownloadByID`
        // documents 400 and 409 only: the status is inferred).
        .ok_or_else(|| ApiError::not_found("Bundle", &id))?;
    if cancel {
        s.cancel_download(b);
        let ti = s.tasks.iter().rposition(
            |t| matches!(t.kind, crate::state::TaskKind::Download { bundle, .. } if bundle == b),
        );
        return match ti {
            Some(ti) => Ok(json_response(
                StatusCode::ACCEPTED,
                super::tasks::task_json(&s, ti, true),
            )),
            // Source: spec 400; a cancel answers the download's `Task`, and there is none.
            None => Err(ApiError::bad_request(
                "BUNDLE_NOT_DOWNLOADING",
                "The bundle is not being downloaded",
            )),
        };
    }
    let at = if now_flag {
        None
    } else if let Some(when) = scheduled {
        Some(s.clock.sim_of_utc(when))
    } else {
        // Source: spec 400; `BundleDownloadSpec` asks for a download now, at a time, or a
        // cancel, and this one asks for none of them.
        return Err(ApiError::bad_request(
            "BUNDLE_DOWNLOAD_SPEC_INVALID",
            "Set downloadNow, scheduledTimestamp or cancelNow",
        ));
    };
    let ti = s.start_download(b, at)?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        super::tasks::task_json(&s, ti, true),
    ))
}
