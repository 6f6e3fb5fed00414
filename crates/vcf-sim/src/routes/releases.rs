//! Release endpoints: the catalogue (`/v1/releases`), a domain's future releases with
//! their applicability, the domain's target version (`/v1/releases/domains`) and domain
//! release validations.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{ApiResult, App, json_response, ok, page, parse_body};
use crate::error::ApiError;
use crate::inventory::Release;
use crate::state::{SimState, ValidationOutcome};
use crate::version;

/// `Release` JSON. A 9.x SDDC Manager (`vcf9`) writes the 9.0.2 spec's `ProductVersion`:
/// `changeId` (the build) and `lifecycleManagedBy` added, `version` left out where the
/// scenario says so (no longer required by the 9.0.2 spec).
pub fn release_json(r: &Release, vcf9: bool) -> Value {
    let bom = r
        .bom
        .iter()
        .map(|b| {
            let mut e = json!({
                "name": b.name,
                "version": b.version,
                "publicName": b.public_name,
                "releaseURL": format!("https://docs.vmware.com/en/VMware-Cloud-Foundation/{}/rn/vmware-cloud-foundation-{}-release-notes/index.html", crate::version::base(&r.version), r.version.replace('.', "")),
            });
            if vcf9 {
                if let Some((_, build)) = b.version.split_once('-') {
                    e["changeId"] = json!(build);
                }
                e["lifecycleManagedBy"] = json!("SDDC_MANAGER_VCF");
                if b.hide_version {
                    if let Some(o) = e.as_object_mut() {
                        o.remove("version");
                    }
                }
            }
            e
        })
        .collect::<Vec<_>>();
    let mut v = json!({
        "product": "VCF",
        "version": r.version,
        "minCompatibleVcfVersion": r.min_compatible,
        "description": r.description,
        "releaseDate": r.release_date,
        "bom": bom,
        "sku": [],
        "updates": [],
        "patchBundles": [],
    });
    if let Some(eol) = &r.eol {
        v["eol"] = json!(eol);
    }
    v
}

/// Why a release is not applicable to a domain: `(messageKey, message, arguments)` for each
/// reason (none: applicable).
pub fn not_applicable(
    s: &SimState,
    di: usize,
    r: &Release,
) -> Vec<(&'static str, String, Vec<String>)> {
    let mut reasons = Vec::new();
    let current = &s.inv.domains[di].version;
    if version::cmp(current, &r.min_compatible).is_lt() {
        reasons.push((
            "release.not.applicable.min.compatible.version",
            format!(
                "Domain version {current} is older than the minimum compatible version {}",
                r.min_compatible
            ),
            vec![current.clone(), r.min_compatible.clone()],
        ));
    }
    if let Some(req) = &r.requires
        && version::cmp(current, req).is_lt()
    {
        reasons.push((
            "release.not.applicable.stepping.stone",
            format!("Upgrade to {req} is required first"),
            vec![req.clone()],
        ));
    }
    // The documented VCF rule: the management domain is upgraded first, and a VI workload
    // domain cannot run a newer VCF version than the management domain (VCF 5.2 Lifecycle
    // Management, "Upgrade the management domain before VI workload domains"). The message
    // key and wording are inferred.
    let d = &s.inv.domains[di];
    if s.scenario.system.vi_limited_by_management
        && d.domain_type != "MANAGEMENT"
        && let Some(m) = s.inv.domains.iter().find(|m| m.domain_type == "MANAGEMENT")
        && version::cmp(&r.version, &m.version).is_gt()
    {
        reasons.push((
            "release.not.applicable.vi.domain.above.management.domain",
            format!(
                "VI workload domain {} cannot be upgraded to {} past the management domain {} \
                 ({}); upgrade the management domain first",
                d.name, r.version, m.name, m.version
            ),
            vec![r.version.clone(), m.name.clone(), m.version.clone()],
        ));
    }
    reasons
}

/// Releases newer than the domain's current version.
fn future(s: &SimState, di: usize) -> Vec<&Release> {
    let current = &s.inv.domains[di].version;
    s.inv
        .releases
        .iter()
        .filter(|r| version::cmp(&r.version, current).is_gt())
        .collect()
}

/// Whether the domain has an applicable future release.
pub fn has_applicable_future(s: &SimState, di: usize) -> bool {
    future(s, di)
        .into_iter()
        .any(|r| not_applicable(s, di, r).is_empty())
}

fn future_json(s: &SimState, di: usize, r: &Release) -> Value {
    let mut v = release_json(r, s.vcf9());
    let reasons = not_applicable(s, di, r);
    let packs: Vec<Value> = reasons
        .iter()
        .map(|(key, message, args)| {
            json!({"component": "LCM", "messageKey": key, "arguments": args, "message": message})
        })
        .collect();
    match reasons.first() {
        None => {
            v["applicabilityStatus"] = json!("APPLICABLE");
            v["isApplicable"] = json!(true);
            v["reasonsNotApplicable"] = json!([]);
        }
        Some((_, message, _)) => {
            v["applicabilityStatus"] = json!("NOT_APPLICABLE");
            v["isApplicable"] = json!(false);
            v["notApplicableReason"] = json!(message);
            v["reasonNotApplicable"] = packs[0].clone();
            v["reasonsNotApplicable"] = json!(packs);
        }
    }
    v["warnings"] = json!([]);
    // Spec 9.0.2 marks `isApplicable` deprecated; a 9.x SDDC Manager is modelled without it
    // (the product must decide on `applicabilityStatus`).
    if s.vcf9()
        && let Some(o) = v.as_object_mut()
    {
        o.remove("isApplicable");
        o.remove("notApplicableReason");
    }
    v
}

/// Source of the 404: spec `getReleaseByDomain` "Domain not found", `getFutureReleases`
/// "Domain not found with given ID.", `updateReleaseByDomainID` "Domain or VCF target
/// release not found", `getReleases` "Release Not Found" (for `domainId`). For
/// `validateReleaseByDomainID` (400 and 500 only) the 404 is inferred.
fn domain_index(s: &SimState, id: &str) -> Result<usize, ApiError> {
    s.inv
        .domain_index(id)
        .ok_or_else(|| ApiError::not_found("Domain", id))
}

/// `GET /v1/releases[?domainId=&versionEq=&versionGt=]`.
pub async fn releases(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let s = app.lock();
    let mut list: Vec<&Release> = s.inv.releases.iter().collect();
    if let Some(id) = q.get("domainId") {
        let di = domain_index(&s, id)?;
        let current = &s.inv.domains[di].version;
        list.retain(|r| &r.version == current);
    }
    if let Some(v) = q.get("versionEq") {
        list.retain(|r| &r.version == v);
    }
    if let Some(v) = q.get("versionGt") {
        list.retain(|r| version::cmp(&r.version, v).is_gt());
    }
    let vcf9 = s.vcf9();
    ok(page(
        list.into_iter().map(|r| release_json(r, vcf9)).collect(),
    ))
}

fn view_json(s: &SimState, di: usize) -> Value {
    let d = &s.inv.domains[di];
    json!({
        "domainId": d.id,
        "targetVersion": d.target.clone().unwrap_or_default(),
        "patches": [],
        "isCustomizedBom": false,
    })
}

/// `GET /v1/releases/domains`.
pub async fn domain_views(State(app): State<App>) -> ApiResult {
    let s = app.lock();
    ok(page(
        (0..s.inv.domains.len()).map(|i| view_json(&s, i)).collect(),
    ))
}

/// `GET /v1/releases/domains/{id}`.
pub async fn domain_view(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let di = domain_index(&s, &id)?;
    ok(view_json(&s, di))
}

/// The target version of a `DomainRelease` body. The spec's other keys
/// (`targetVxRailVersion`, `targetSddcManagerVersion`, `patches`) are optional and ignored,
/// whatever their value, and so are keys the spec does not know.
fn target_from_body(body: &Bytes) -> Result<String, ApiError> {
    let v = parse_body(body)?;
    match v.get("targetVersion").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        // Source: the operation sets the target version, and the 9.0.2 spec documents
        // 400 for `updateReleaseByDomainID` (5.2.1's `validateReleaseByDomainID` too).
        _ => Err(ApiError::bad_request(
            "INVALID_DOMAIN_RELEASE_SPEC",
            "targetVersion is required",
        )),
    }
}

fn check_target(
    s: &SimState,
    di: usize,
    target: &str,
    unknown_status: StatusCode,
) -> Result<(), ApiError> {
    let Some(r) = s.inv.release(target) else {
        // Source: spec `updateReleaseByDomainID` 404 "Domain or VCF target release not found".
        return Err(ApiError::new(
            unknown_status,
            "RELEASE_NOT_FOUND",
            format!("VCF target release {target} not found"),
        )
        .with_args(&[target]));
    };
    let current = &s.inv.domains[di].version;
    // Source: spec `getFutureReleases` ("If some of them are not allowed (e.g. stepping
    // stone) includes message why") with the 400 the 9.0.2 spec documents for
    // `updateReleaseByDomainID`; an older or equal version is no upgrade target.
    if version::cmp(target, current).is_le() {
        return Err(ApiError::bad_request(
            "TARGET_VERSION_NOT_APPLICABLE",
            format!("Target version {target} is not newer than the domain version {current}"),
        )
        .with_args(&[target, current]));
    }
    // Source: as above; a `NOT_APPLICABLE` future release carries its reason.
    if let Some((_, message, _)) = not_applicable(s, di, r).into_iter().next() {
        return Err(ApiError::bad_request(
            "TARGET_VERSION_NOT_APPLICABLE",
            format!("Target version {target} is not applicable: {message}"),
        )
        .with_args(&[target]));
    }
    Ok(())
}

/// `PATCH /v1/releases/domains/{id}` with `{"targetVersion": V}`: 200, no body.
pub async fn set_target(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let target = target_from_body(&body)?;
    let mut s = app.lock();
    let di = domain_index(&s, &id)?;
    let same = s.inv.domains[di].target.as_deref() == Some(target.as_str());
    if !same {
        check_target(&s, di, &target, StatusCode::NOT_FOUND)?;
        s.inv.domains[di].target = Some(target);
    }
    Ok(StatusCode::OK.into_response())
}

/// `Validation` JSON (spec `Validation`, `ValidationCheck`). Running: `IN_PROGRESS`/`UNKNOWN`.
/// Finished: `executionStatus` `COMPLETED`, and `resultStatus` says what it found; a failed
/// check carries the spec's `Error` with a message and a remediation.
pub fn validation_json(s: &SimState, vi: usize) -> Value {
    let v = &s.validations[vi];
    let done = s.now() >= v.end;
    let domain = &s.inv.domains[v.domain].name;
    let check = |description: &str, severity: &str, fails: bool| {
        json!({
            "description": description,
            "severity": severity,
            "resultStatus": match (done, fails) {
                (false, _) => "IN_PROGRESS",
                (true, false) => "SUCCEEDED",
                (true, true) => "FAILED",
            },
        })
    };
    let compatible = check(
        "Target version is compatible with current domain BOM",
        "INFO",
        false,
    );
    let mut bundles = check(
        "Required bundles are downloaded",
        "ERROR",
        v.outcome == ValidationOutcome::Failed,
    );
    let mut capacity = check(
        "Datastore free space for the upgrade",
        "WARNING",
        v.outcome == ValidationOutcome::Warnings,
    );
    if done {
        match v.outcome {
            ValidationOutcome::Succeeded => {}
            ValidationOutcome::Failed => {
                bundles["errorResponse"] = ApiError::bad_request(
                    "DOMAIN_RELEASE_VALIDATION_FAILED",
                    format!(
                        "Domain {domain} failed validation against {}: component versions do not match the target BOM",
                        v.version
                    ),
                )
                .with_remediation("Review the domain's component versions and retry the upgrade")
                .body();
            }
            ValidationOutcome::Warnings => {
                capacity["errorResponse"] = ApiError::bad_request(
                    "DOMAIN_RELEASE_VALIDATION_WARNING",
                    format!("Domain {domain}: a datastore has less than 20% free space"),
                )
                .with_remediation("Free datastore space before the next upgrade")
                .body();
            }
        }
    }
    json!({
        "id": v.id,
        "description": format!("Validating domain {domain} target version {}", v.version),
        "executionStatus": if done { "COMPLETED" } else { "IN_PROGRESS" },
        "resultStatus": if done { v.outcome.result_status(&s.inv.sddc.version) } else { "UNKNOWN" },
        "validationChecks": [compatible, bundles, capacity],
    })
}

/// `POST /v1/releases/domains/{id}/validations`: 202 `Validation` (`IN_PROGRESS`).
pub async fn start_validation(
    State(app): State<App>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let target = target_from_body(&body)?;
    let mut s = app.lock();
    let di = domain_index(&s, &id)?;
    // Source: spec `validateReleaseByDomainID` documents 400 (no 404) for a bad body.
    if s.inv.release(&target).is_none() {
        return Err(ApiError::bad_request(
            "RELEASE_NOT_FOUND",
            format!("VCF target release {target} not found"),
        )
        .with_args(&[&target]));
    }
    let vi = s.start_validation(di, &target);
    Ok(json_response(StatusCode::ACCEPTED, validation_json(&s, vi)))
}

/// `GET /v1/releases/domains/validations/{id}`.
pub async fn validation(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let vi = s
        .validations
        .iter()
        .position(|v| v.id == id)
        // Source: spec `getDomainReleaseViewValidation` 404 "Not Found".
        .ok_or_else(|| ApiError::not_found("Validation", &id))?;
    ok(validation_json(&s, vi))
}

/// `GET /v1/releases/domains/{id}/future-releases`.
pub async fn future_releases(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let di = domain_index(&s, &id)?;
    let items = future(&s, di)
        .into_iter()
        .map(|r| future_json(&s, di, r))
        .collect();
    ok(page(items))
}
