//! Task endpoints: `GET /v1/tasks` (paged with `pageNumber` from 0 and `pageSize` up to
//! 100), `GET /v1/tasks/{id}`, `PATCH /v1/tasks/{id}` (retry a failed task).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{ApiResult, App, ok};
use crate::error::ApiError;
use crate::state::{Progress, SimState, Target, TaskKind};

/// Spelling of a task status: upper case (`IN_PROGRESS`) or the mixed case workflow tasks
/// use (`In Progress`).
pub fn task_status(p: Progress, upper: bool) -> &'static str {
    match (p, upper) {
        (Progress::Pending, true) => "PENDING",
        (Progress::Running, true) => "IN_PROGRESS",
        (Progress::Succeeded, true) => "SUCCESSFUL",
        (Progress::Failed, true) => "FAILED",
        (Progress::Pending, false) => "Pending",
        (Progress::Running, false) => "In Progress",
        (Progress::Succeeded, false) => "Successful",
        (Progress::Failed, false) => "Failed",
    }
}

fn sub_status(p: Progress) -> &'static str {
    task_status(p, true)
}

/// The `Resource` an upgrade works on.
pub fn upgrade_resource(s: &SimState, ui: usize) -> Value {
    let u = &s.upgrades[ui];
    let d = &s.inv.domains[u.domain];
    match &u.target {
        Target::SddcManager | Target::Drift => json!({
            "resourceId": s.inv.sddc.id, "fqdn": s.inv.sddc.fqdn, "type": "SDDC_MANAGER", "name": s.inv.sddc.fqdn,
        }),
        Target::Nsx => {
            json!({"resourceId": d.nsx_id, "fqdn": d.nsx_fqdn, "type": "NSXT_MANAGER", "name": d.nsx_fqdn})
        }
        Target::Vcenter => {
            json!({"resourceId": d.vc_id, "fqdn": d.vc_fqdn, "type": "VCENTER", "name": d.vc_fqdn})
        }
        Target::Esx(c) => {
            let cl = &s.inv.clusters[c[0]];
            json!({"resourceId": cl.id, "type": "ESXI", "name": cl.name})
        }
    }
}

/// `Task` JSON; `upper` forces upper-case statuses (202 bodies).
pub fn task_json(s: &SimState, ti: usize, upper: bool) -> Value {
    let task = &s.tasks[ti];
    let upper = upper || s.scenario.system.task_status_case != "mixed";
    let p = s.task_progress(ti);
    let clock = &s.clock;
    let mut v = json!({
        "id": task.id,
        "name": task.name,
        "localizableDescriptionPack": {
            "component": "LCM",
            "messageKey": format!("lcm.task.{}", task.task_type.to_lowercase()),
            "arguments": [],
            "message": task.name,
        },
        "type": task.task_type,
        "status": task_status(p, upper),
        "creationTimestamp": clock.iso_at(task.created),
        "errors": [],
        "isCancellable": false,
        "isRetryable": p == Progress::Failed && matches!(task.kind, TaskKind::Upgrade(_) | TaskKind::Download { .. } | TaskKind::Past { retryable: true, .. }),
    });
    if let Some(end) = s.task_end(ti) {
        v["completionTimestamp"] = json!(clock.iso_at(end));
        v["resolutionStatus"] = json!(if p == Progress::Failed {
            "UNRESOLVED"
        } else {
            "RESOLVED"
        });
    }
    match &task.kind {
        TaskKind::Upgrade(ui) => {
            let u = &s.upgrades[*ui];
            v["resources"] = json!([upgrade_resource(s, *ui)]);
            if let Some(a) = u.attempt {
                let t = s.now();
                let pre_end = a.running_at;
                let pre = json!({
                    "name": "Upgrade precheck", "type": "PRECHECK", "description": "Validate the upgrade prerequisites",
                    "status": sub_status(if t < pre_end { Progress::Running } else { Progress::Succeeded }),
                    "creationTimestamp": clock.iso_at(a.start),
                });
                let mut main = json!({
                    "name": task.name, "type": "UPGRADE", "description": task.name,
                    "status": if t < pre_end { "PENDING" } else { sub_status(p) },
                    "creationTimestamp": clock.iso_at(pre_end),
                });
                if let Some(end) = s.task_end(ti) {
                    main["completionTimestamp"] = json!(clock.iso_at(end));
                }
                if p == Progress::Failed {
                    let err = ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("{}_UPGRADE_FAILED", u.target.component()),
                        format!("{} failed", task.name),
                    )
                    .with_remediation(
                        "Check the component's logs, fix the cause and retry the task",
                    )
                    .body();
                    main["errors"] = json!([err.clone()]);
                    v["errors"] = json!([err]);
                }
                v["subTasks"] = json!([pre, main]);
            }
        }
        TaskKind::Download { bundle, .. } => {
            if p == Progress::Failed {
                v["errors"] = json!([ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "BUNDLE_DOWNLOAD_FAILED",
                    format!(
                        "Download of bundle {} failed: checksum mismatch",
                        s.inv.bundles[*bundle].id
                    ),
                )
                .with_remediation("Check the depot connection and retry the download")
                .body()]);
            }
        }
        TaskKind::Past {
            created,
            completed,
            retried_at,
            ..
        } => {
            // Scenario history: the wall-clock times the scenario gave it.
            v["creationTimestamp"] = json!(crate::clock::iso(*created));
            if retried_at.is_none() {
                v["completionTimestamp"] = json!(crate::clock::iso(*completed));
            }
            if p == Progress::Failed {
                v["errors"] = json!([ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "TASK_FAILED",
                    format!("{} failed", task.name),
                )
                .with_remediation("Fix the cause and retry the task")
                .body()]);
            }
        }
        TaskKind::Backup { .. } => {
            v["resources"] = json!([{
                "resourceId": s.inv.sddc.id, "fqdn": s.inv.sddc.fqdn, "type": "SDDC_MANAGER", "name": s.inv.sddc.fqdn,
            }]);
        }
        TaskKind::CheckRun(_) | TaskKind::Precheck(..) => {}
    }
    v
}

/// `GET /v1/tasks[?pageNumber=&pageSize=&taskStatus=&taskType=]`, newest first.
pub async fn list(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let s = app.lock();
    let status = q
        .get("taskStatus")
        .map(|x| x.to_uppercase().replace([' ', '_'], ""));
    let ttype = q.get("taskType");
    // Source: spec `getTasks` `completedAfter`: "tasks which are completed after the given
    // timestamp. A task is completed if its status is 'Successful' or 'Failed'. Time is in
    // milliseconds."
    let completed_after = q.get("completedAfter").and_then(|c| c.parse::<i64>().ok());
    let completed_ms = |t: &Value| {
        t["completionTimestamp"]
            .as_str()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|c| c.timestamp_millis())
    };
    let mut all: Vec<Value> = (0..s.tasks.len())
        .rev()
        .map(|ti| task_json(&s, ti, false))
        .filter(|t| {
            status.as_ref().is_none_or(|w| {
                t["status"]
                    .as_str()
                    .unwrap_or("")
                    .to_uppercase()
                    .replace([' ', '_'], "")
                    == *w
            }) && ttype.is_none_or(|w| t["type"].as_str() == Some(w.as_str()))
                && completed_after.is_none_or(|after| completed_ms(t).is_some_and(|c| c > after))
        })
        .collect();
    if let Some(limit) = q.get("limit").and_then(|l| l.parse::<usize>().ok()) {
        all.truncate(limit);
    }
    let total = all.len();
    let size = q
        .get("pageSize")
        .and_then(|p| p.parse::<usize>().ok())
        .map(|p| p.clamp(1, 100));
    let number = q
        .get("pageNumber")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0);
    let (elements, size, pages) = match size {
        None => (all, total, 1),
        Some(size) => {
            let pages = total.div_ceil(size).max(1);
            let elements = all.into_iter().skip(number * size).take(size).collect();
            (elements, size, pages)
        }
    };
    ok(json!({
        "elements": elements,
        "pageMetadata": {"pageNumber": number, "pageSize": size, "totalElements": total, "totalPages": pages},
    }))
}

/// `GET /v1/tasks/{id}`.
pub async fn get_one(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let s = app.lock();
    let ti = s
        .task_index(&id)
        // Source: spec `getTask` / `retryTask` 404 "Task not found".
        .ok_or_else(|| ApiError::not_found("Task", &id))?;
    ok(task_json(&s, ti, false))
}

/// `PATCH /v1/tasks/{id}`: retry a failed task; 200, no body; 409 otherwise.
pub async fn retry(State(app): State<App>, Path(id): Path<String>) -> ApiResult {
    let mut s = app.lock();
    let ti = s
        .task_index(&id)
        // Source: spec `getTask` / `retryTask` 404 "Task not found".
        .ok_or_else(|| ApiError::not_found("Task", &id))?;
    s.retry_task(ti)?;
    Ok(StatusCode::OK.into_response())
}
