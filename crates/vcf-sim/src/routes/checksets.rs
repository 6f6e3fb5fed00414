//! Check-sets (the LCM upgrade prechecks): `POST /v1/system/check-sets/queries`,
//! `POST /v1/system/check-sets` (202 `Task`, its id is the run id) and
//! `GET /v1/system/check-sets/{id}` (`AssessmentOutput` with the findings).

use axum::body::Bytes;
use std::collections::HashMap;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{ApiResult, App, json_response, ok, parse_body};
use crate::error::ApiError;
use crate::ids;
use crate::state::{CheckQuery, QueryResource, SimState};

fn check_set(resource_type: &str) -> (String, String) {
    let (id, name) = match resource_type {
        "SDDC_MANAGER" => (
            "sddc-manager-upgrade-prechecks",
            "SDDC Manager Upgrade Prechecks",
        ),
        "NSX_T_MANAGER" => ("nsx-upgrade-prechecks", "NSX Upgrade Prechecks"),
        "VCENTER" => ("vcenter-upgrade-prechecks", "vCenter Upgrade Prechecks"),
        _ => (
            "cluster-upgrade-prechecks",
            "Cluster and ESXi Upgrade Prechecks",
        ),
    };
    (id.to_string(), name.to_string())
}

fn resource_json(s: &SimState, r: &QueryResource) -> Value {
    let d = &s.inv.domains[r.domain];
    let (id, name) = check_set(&r.resource_type);
    let mut v = json!({
        "resourceName": r.name,
        "resourceId": r.id,
        "resourceType": r.resource_type,
        "resourceVersion": r.version,
        "domain": {"domainId": d.id, "domainName": d.name, "domainType": d.domain_type},
        "checkSets": [{"checkSetId": id, "checkSetName": name, "checkSetType": "UPGRADE"}],
    });
    // `extraContext` is `map<string, object>` in the spec (`CheckSetQueryResourceResult`):
    // every value is a JSON object, so the target sits in one.
    if let Some(t) = &r.target_version {
        v["extraContext"] = json!({"targetVersion": {"version": t}});
    }
    v
}

/// `POST /v1/system/check-sets/queries` with `CheckSetQueryInput`.
pub async fn query(State(app): State<App>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    // Source: spec `CheckSetQueryInput` requires `checkSetType` and `domains`; 400
    // documented for `queryCheckSets`.
    let check_set_type = v
        .get("checkSetType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    let Some(check_set_type) = check_set_type else {
        return Err(ApiError::bad_request(
            "CHECK_SET_QUERY_INVALID",
            "checkSetType is required",
        ));
    };
    let Some(domains) = v.get("domains").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            "CHECK_SET_QUERY_INVALID",
            "domains is required",
        ));
    };
    let mut s = app.lock();
    let mut resources = Vec::new();
    // The simulator has upgrade check-sets only: other types find no resources.
    let domains: &[Value] = if check_set_type == "UPGRADE" {
        domains
    } else {
        &[]
    };
    for d in domains {
        let id = d.get("domainId").and_then(Value::as_str).unwrap_or("");
        // Source: spec `CheckSetQueryDomainResources.domainId` ("Id of the domain to
        // search for resources in", required); `queryCheckSets` documents 400, no 404.
        let di = s.inv.domain_index(id).ok_or_else(|| {
            ApiError::bad_request("DOMAIN_NOT_FOUND", format!("Domain with ID {id} not found"))
                .with_args(&[id])
        })?;
        let all = s.domain_check_resources(di);
        match d
            .get("resources")
            .and_then(Value::as_array)
            .filter(|r| !r.is_empty())
        {
            None => resources.extend(all),
            Some(wanted) => {
                for w in wanted {
                    // Source: spec `CheckSetQueryResource` requires `resourceType`.
                    let Some(rt) = w.get("resourceType").and_then(Value::as_str) else {
                        return Err(ApiError::bad_request(
                            "CHECK_SET_QUERY_INVALID",
                            "resources[].resourceType is required",
                        ));
                    };
                    let rid = w.get("resourceId").and_then(Value::as_str);
                    let target = w.get("resourceTargetVersion").and_then(Value::as_str);
                    for r in all
                        .iter()
                        .filter(|r| r.resource_type == rt && rid.is_none_or(|x| x == r.id))
                    {
                        let mut r = r.clone();
                        r.target_version = target.map(str::to_string);
                        resources.push(r);
                    }
                }
            }
        }
    }
    let id = ids::fresh();
    let body = json!({
        "queryId": id,
        "resources": resources.iter().map(|r| resource_json(&s, r)).collect::<Vec<_>>(),
    });
    s.queries.push(CheckQuery { id, resources });
    ok(body)
}

/// `POST /v1/system/check-sets` with `CheckSetRunInput`: 202 `Task` whose id is the run id.
pub async fn run(State(app): State<App>, body: Bytes) -> ApiResult {
    let v = parse_body(&body)?;
    let query_id = v.get("queryId").and_then(Value::as_str).unwrap_or("");
    // Source: spec `CheckSetRunInput` requires `queryId` and `resources`; 400 documented
    // for `triggerCheckRun`.
    let Some(wanted) = v.get("resources").and_then(Value::as_array) else {
        return Err(ApiError::bad_request(
            "CHECK_SET_RUN_INVALID",
            "resources is required",
        ));
    };
    let target = v
        .pointer("/metadata/targetVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut s = app.lock();
    // Source: as above; `queryId` is "Id of the query the selection was based on".
    let Some(q) = s.queries.iter().find(|q| q.id == query_id).cloned() else {
        return Err(ApiError::bad_request(
            "CHECK_SET_QUERY_NOT_FOUND",
            format!("Query {query_id} not found"),
        )
        .with_args(&[query_id]));
    };
    let mut chosen = Vec::new();
    for w in wanted {
        let rid = w.get("resourceId").and_then(Value::as_str).unwrap_or("");
        let sets = w
            .get("checkSets")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        // Source: as above; the selection is taken from that query's resources.
        let Some(r) = q.resources.iter().find(|r| r.id == rid) else {
            return Err(ApiError::bad_request(
                "CHECK_SET_RUN_INVALID",
                format!("Resource {rid} is not part of query {query_id}"),
            )
            .with_args(&[rid]));
        };
        // A resource without a selected check set has nothing to run.
        if sets > 0 {
            chosen.push(r.clone());
        }
    }
    let ri = s.start_check_run(chosen, target);
    let ti = s
        .task_index(&s.runs[ri].id.clone())
        .unwrap_or(s.tasks.len() - 1);
    Ok(json_response(
        StatusCode::ACCEPTED,
        super::tasks::task_json(&s, ti, true),
    ))
}

fn severity_rank(sev: &str) -> u8 {
    match sev {
        "ERROR" | "CRITICAL" => 2,
        "WARNING" => 1,
        _ => 0,
    }
}

/// `AssessmentOutput` JSON of a run.
pub fn assessment_json(s: &SimState, ri: usize) -> Value {
    let run = &s.runs[ri];
    let t = s.now();
    let clock = &s.clock;
    let done = t >= run.end;
    let pct =
        (((t - run.start) / (run.end - run.start).max(1e-9)) * 100.0).clamp(0.0, 100.0) as i64;
    let children: Vec<Value> = run
        .domains
        .iter()
        .map(|&di| {
            let d = &s.inv.domains[di];
            // `EntityRest.properties` is `map<string, object>` in the spec: the domain is
            // one object value (the spec's `ResourceDomainInfo` fields).
            let domain = json!({"domainId": d.id, "domainName": d.name, "domainType": d.domain_type});
            json!({"id": ids::stable(s.scenario.seed, &format!("entity/{}", d.id)), "type": "domain", "name": d.name, "properties": {"domain": domain}})
        })
        .collect();
    let mut v = json!({
        "status": "IN_PROGRESS",
        "discoveryProgress": {
            "percentageComplete": if done { 100 } else { pct.min(99) },
            "progressMessages": if done { vec![] } else { vec![format!("Running {} check sets", run.resources.len())] },
        },
        "timestamp": clock.iso_at(run.start),
        "physicalPresentedData": {
            "id": ids::stable(s.scenario.seed, "entity/vsphere"),
            "type": "Vsphere",
            "name": "vSphere",
            "childEntities": children,
        },
        "inputValidationErrors": [],
    });
    if !done {
        return v;
    }
    let worst = run
        .findings
        .iter()
        .map(|f| severity_rank(&f.severity))
        .max()
        .unwrap_or(0);
    // `presentedArtifactsMap` is `map<string, object>` in the spec: the
    // `validation-domain-summary` value is an object keyed by domain name.
    let mut summaries = serde_json::Map::new();
    for &di in &run.domains {
        let name = &s.inv.domains[di].name;
        let mine: Vec<_> = run
            .findings
            .iter()
            .filter(|f| f.domain.as_deref().is_none_or(|d| d == name))
            .collect();
        let errors = mine
            .iter()
            .filter(|f| severity_rank(&f.severity) == 2)
            .count() as f64;
        let warnings = mine
            .iter()
            .filter(|f| severity_rank(&f.severity) == 1)
            .count() as f64;
        let run_count = (run.resources.iter().filter(|r| r.domain == di).count() * 12) as f64
            + errors
            + warnings;
        summaries.insert(
            name.clone(),
            json!({
                "domainName": name,
                "validationsRunCount": run_count,
                "successfulValidationsCount": run_count - errors - warnings,
                "errorValidationsCount": errors,
                "internalErrorValidationsCount": 0.0,
                "silencedValidationsCount": 0.0,
                "criticalGapsCount": 0.0,
                "warningGapsCount": warnings,
                "optionalGapsCount": 0.0,
            }),
        );
    }
    let mut nested = vec![json!({
        "errorCode": "BASELINER_CONSTRAINT_VALIDATION.info",
        "context": {"severity": "INFO", "validationName": "Out-of-band upgrade", "validationStatus": "VALIDATION_SUCCESSFUL"},
        "message": "No out-of-band upgrade detected",
    })];
    for (i, f) in run.findings.iter().enumerate() {
        let (suffix, status) = match severity_rank(&f.severity) {
            2 => ("error", "VALIDATION_FAILED"),
            1 => ("warning", "VALIDATION_WARNING"),
            _ => ("info", "VALIDATION_SUCCESSFUL"),
        };
        let mut ctx =
            json!({"severity": f.severity, "validationName": f.check, "validationStatus": status});
        if let Some(r) = &f.resource {
            ctx["resourceName"] = json!(r);
        }
        let mut e = json!({
            "errorCode": format!("{}.{suffix}", f.code),
            "context": ctx,
            "message": f.message,
            "referenceToken": ids::reference_token(ids::hash(s.scenario.seed, &format!("{}/{i}", run.id))),
        });
        if let Some(r) = &f.remediation {
            e["remediationMessage"] = json!(r);
        }
        nested.push(e);
    }
    let (top_suffix, top_sev, top_msg) = match worst {
        2 => ("error", "ERROR", "Target state validation failed"),
        1 => (
            "warning",
            "WARNING",
            "Target state validation completed with warnings",
        ),
        _ => ("info", "INFO", "Target state validation successful"),
    };
    v["status"] = json!(if worst == 2 {
        "COMPLETED_WITH_FAILURE"
    } else {
        "COMPLETED_WITH_SUCCESS"
    });
    v["completionTimestamp"] = json!(clock.iso_at(run.end));
    v["presentedArtifactsMap"] = json!({"validation-domain-summary": summaries});
    v["validationResult"] = json!({
        "errorCode": format!("BASELINER_TARGET_STATE_VALIDATION.{top_suffix}"),
        "context": {"severity": top_sev},
        "message": top_msg,
        "nestedErrors": nested,
    });
    v
}

/// The `severity` values of a query string (`severity=ERROR&severity=WARNING`, or
/// comma-separated); `None` when absent or `ALL`.
fn severity_filter(query: Option<&str>) -> Option<Vec<String>> {
    let wanted: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.strip_prefix("severity="))
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_uppercase())
        .filter(|v| !v.is_empty())
        .collect();
    (!wanted.is_empty() && !wanted.iter().any(|v| v == "ALL")).then_some(wanted)
}

/// `GET /v1/system/check-sets/{runId}[?severity=…]`.
///
/// Source for `severity`: the 9.1 SDK's `CheckSets.get_result(run_id, severity=[ERROR |
/// WARNING | INFO | ALL])` (a form query parameter); the 5.2.1 and 9.0.2 specs have no such
/// parameter, so without it every finding is sent, as before. With it, `nestedErrors` keeps
/// only the findings of those severities (the summary and counts are unchanged).
pub async fn result(
    State(app): State<App>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let s = app.lock();
    // Source: spec `getResult` 404 "Invalid task for this UUID".
    let ri = s.runs.iter().position(|r| r.id == id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "CHECK_SET_RUN_NOT_FOUND",
            format!("Invalid task for this UUID {id}"),
        )
        .with_args(&[&id])
    })?;
    let mut v = assessment_json(&s, ri);
    if let (Some(wanted), Some(nested)) = (
        severity_filter(query.as_deref()),
        v.pointer_mut("/validationResult/nestedErrors")
            .and_then(Value::as_array_mut),
    ) {
        nested.retain(|e| {
            e.pointer("/context/severity")
                .and_then(Value::as_str)
                .is_some_and(|sev| wanted.iter().any(|w| w == sev))
        });
    }
    ok(v)
}

/// `GET /v1/system/check-sets[?domainId=a,b]`: a bare array of `AssessmentTaskInfo`, the
/// runs that cover one of the domains, newest first.
pub async fn list(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let s = app.lock();
    let t = s.now();
    let wanted: Option<Vec<&str>> = q
        .get("domainId")
        .map(|d| d.split(',').map(str::trim).collect());
    let items: Vec<Value> = s
        .runs
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, r)| {
            wanted.as_ref().is_none_or(|w| {
                r.domains.iter().any(|&d| w.contains(&s.inv.domains[d].id.as_str()))
            })
        })
        .map(|(ri, r)| {
            let state = assessment_json(&s, ri)["status"].clone();
            let mut v = json!({
                "id": r.id,
                "state": state,
                "timestamp": s.clock.millis_at(r.start),
                "domainInputs": r.domains.iter().map(|&d| {
                    let d = &s.inv.domains[d];
                    json!({"domainName": d.name, "domainType": d.domain_type, "domainId": d.id})
                }).collect::<Vec<_>>(),
                "metadata": {
                    "resources": r.resources.iter().map(|x| {
                        let mut res = json!({"type": x.resource_type, "id": x.id, "name": x.name, "domainId": s.inv.domains[x.domain].id});
                        if let Some(tv) = &x.target_version {
                            res["targetVersion"] = json!(tv);
                        }
                        res
                    }).collect::<Vec<_>>(),
                },
            });
            if let Some(tv) = &r.target_version {
                v["metadata"]["targetVersion"] = json!(tv);
            }
            if t >= r.end {
                v["completionTimestamp"] = json!(s.clock.millis_at(r.end));
            }
            v
        })
        .collect();
    ok(Value::Array(items))
}
