//! Test client: a thin reqwest wrapper that logs in again on 401 (like a real client),
//! records every answer for the conformance check, and the full upgrade walk used by
//! several tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use vcf_sim::{Scenario, SimOptions, SimServer};

/// One recorded answer.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// An answer: status and body (JSON, or a JSON string holding non-JSON text).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub user: String,
    pub pass: String,
    pub log: Arc<Mutex<Vec<Recorded>>>,
}

pub async fn start(scenario: &str, scale: f64) -> (SimServer, Api) {
    start_with(Scenario::builtin(scenario).unwrap(), scale).await
}

pub async fn start_with(scenario: Scenario, scale: f64) -> (SimServer, Api) {
    let mut opts = SimOptions::new("127.0.0.1:0".parse().unwrap());
    opts.time_scale = scale;
    let sim = vcf_sim::start(scenario, opts).await.unwrap();
    let mut api = Api {
        base: sim.url.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        token: String::new(),
        user: sim.username.clone(),
        pass: sim.password.clone(),
        log: Arc::new(Mutex::new(Vec::new())),
    };
    api.login().await;
    (sim, api)
}

impl Api {
    pub async fn login(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self
                .raw(
                    Method::POST,
                    "/v1/tokens",
                    Some(json!({"username": self.user, "password": self.pass})),
                    false,
                )
                .await;
            if let Ok(a) = r
                && a.status == 200
            {
                self.token = a.body["accessToken"].as_str().unwrap().to_string();
                return;
            }
            assert!(Instant::now() < deadline, "could not log in");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// One request without retries; `auth` adds the bearer token.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: bool,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        if auth {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await?;
        let only_path = path.split('?').next().unwrap_or(path).to_string();
        self.log.lock().unwrap().push(Recorded {
            method: method.to_string(),
            path: only_path,
            status,
            content_type,
            body: text.clone(),
        });
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Answer { status, body })
    }

    /// A request that rides out outages (transport errors, 503, and the 409 of a 9.x SDDC
    /// Manager whose inventory cache is not seeded yet) and logs in again on 401.
    pub async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "{method} {path}: no answer in time"
            );
            match self.raw(method.clone(), path, body.clone(), true).await {
                Err(_) => {}
                Ok(a) if a.status == 503 => {}
                Ok(a) if a.status == 409 && a.body["errorCode"] == "INVENTORY_CACHE_NOT_SEEDED" => {
                }
                Ok(a) if a.status == 401 => self.login().await,
                Ok(a) => return a,
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }

    pub async fn get(&mut self, path: &str) -> Value {
        let a = self.call(Method::GET, path, None).await;
        assert_eq!(a.status, 200, "GET {path}: {}", a.body);
        a.body
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Value) -> Answer {
        self.call(method, path, Some(body)).await
    }

    pub async fn domain_id(&mut self, name: &str) -> String {
        let d = self.get("/v1/domains").await;
        d["elements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Polls `path` until `done(body)`; sleeps a few real milliseconds between polls.
    pub async fn poll(&mut self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.get(path).await;
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "polling {path}: last {v}");
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
    }

    /// Downloads a bundle and waits for SUCCESSFUL.
    pub async fn download(&mut self, bundle_id: &str) {
        let path = format!("/v1/bundles/{bundle_id}");
        let b = self.get(&path).await;
        if b["downloadStatus"] != "SUCCESSFUL" {
            let a = self
                .send(
                    Method::PATCH,
                    &path,
                    json!({"bundleDownloadSpec": {"downloadNow": true}}),
                )
                .await;
            assert_eq!(a.status, 202, "{}", a.body);
            let task = a.body["id"].as_str().unwrap().to_string();
            self.get(&format!("/v1/tasks/{task}")).await;
        }
        let b = self
            .poll(&path, |b| {
                b["downloadStatus"] == "SUCCESSFUL" || b["downloadStatus"] == "FAILED"
            })
            .await;
        assert_eq!(b["downloadStatus"], "SUCCESSFUL");
    }
}

/// What a full upgrade walk saw.
#[derive(Debug, Default)]
pub struct WalkReport {
    /// Component type of each upgrade, in order ("SDDC_MANAGER", ..., "ESX_HOST").
    pub upgraded: Vec<String>,
    /// Statuses of the last check-set run.
    pub precheck_status: String,
    /// Number of findings (nested errors besides INFO) in the check-set result.
    pub findings: usize,
    /// Final validation execution status.
    pub validation: String,
    /// Token from before the SDDC Manager restart was refused afterwards.
    pub old_token_refused: bool,
    /// Components whose first attempt failed (and were retried).
    pub failures: Vec<String>,
    /// Upgrade id left running when the walk stopped early.
    pub stopped_at: Option<String>,
}

/// Options of the walk.
#[derive(Debug, Default, Clone)]
pub struct WalkOptions {
    /// Retry failed upgrades with `PATCH /v1/tasks/{id}`.
    pub retry_failures: bool,
    /// Start this component's upgrade and return without waiting for it.
    pub stop_at: Option<String>,
}

fn component_of(u: &Value) -> String {
    u["softwareComponents"][0]["type"]
        .as_str()
        .map(|t| if t == "HOST" { "ESX_HOST" } else { t })
        .unwrap_or("")
        .to_string()
}

/// Upgrades a domain to its next release through the API, the way the orchestrator does.
pub async fn upgrade_walk(api: &mut Api, domain: &str) -> WalkReport {
    upgrade_walk_with(api, domain, WalkOptions::default()).await
}

/// [`upgrade_walk`] with options.
pub async fn upgrade_walk_with(api: &mut Api, domain: &str, opts: WalkOptions) -> WalkReport {
    let mut report = WalkReport::default();
    let id = api.domain_id(domain).await;
    // Inventory, once each (also for the conformance recording).
    api.get(&format!("/v1/domains/{id}")).await;
    let clusters = api.get(&format!("/v1/clusters?domainId={id}")).await;
    let cid = clusters["elements"][0]["id"].as_str().unwrap().to_string();
    api.get(&format!("/v1/clusters/{cid}")).await;
    let hosts = api.get(&format!("/v1/hosts?domainId={id}")).await;
    let hid = hosts["elements"][0]["id"].as_str().unwrap().to_string();
    api.get(&format!("/v1/hosts/{hid}")).await;
    let managers = api.get("/v1/sddc-managers").await;
    let mid = managers["elements"][0]["id"].as_str().unwrap().to_string();
    api.get(&format!("/v1/sddc-managers/{mid}")).await;
    api.get(&format!("/v1/vcenters?domainId={id}")).await;
    api.get("/v1/nsxt-clusters").await;
    api.get("/v1/releases").await;
    api.get("/v1/releases/domains").await;
    api.get(&format!("/v1/releases/domains/{id}")).await;
    let current = api.get(&format!("/v1/releases?domainId={id}")).await["elements"][0]["version"]
        .as_str()
        .unwrap()
        .to_string();

    // Next release: the oldest applicable.
    let fr = api
        .get(&format!("/v1/releases/domains/{id}/future-releases"))
        .await;
    let next = fr["elements"]
        .as_array()
        .unwrap()
        .iter()
        // `isApplicable` is deprecated and absent on 9.x: the status decides then.
        .filter(|r| r["applicabilityStatus"] == "APPLICABLE" && r["isApplicable"] != false)
        .min_by(|a, b| {
            vcf_sim::version::cmp(
                a["version"].as_str().unwrap(),
                b["version"].as_str().unwrap(),
            )
        })
        .expect("an applicable release")
        .clone();
    let target = next["version"].as_str().unwrap().to_string();
    assert!(vcf_sim::version::cmp(&target, &current).is_gt());
    let date = next["releaseDate"].as_str().unwrap().to_string();

    // Download every bundle of the release (fallback included).
    let bundles = api.get("/v1/bundles").await;
    let ids: Vec<String> = bundles["elements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["releasedDate"] == date.as_str())
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!ids.is_empty());
    for b in &ids {
        api.download(b).await;
    }

    let a = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{id}"),
            json!({"targetVersion": target}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        api.get(&format!("/v1/releases/domains/{id}")).await["targetVersion"],
        target.as_str()
    );
    api.get(&format!("/v1/upgradables/domains/{id}/clusters"))
        .await;

    let upgradables = format!("/v1/upgradables/domains/{id}?targetVersion={target}");
    let mut prechecked = false;
    loop {
        let list = api.get(&upgradables).await;
        let items = list["elements"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        let available: Vec<&Value> = items
            .iter()
            .filter(|u| u["status"] == "AVAILABLE")
            .collect();
        assert_eq!(available.len(), 1, "exactly one AVAILABLE: {list}");
        let up = available[0].clone();
        let component = component_of(&up);
        if component != "SDDC_MANAGER" && !prechecked {
            prechecked = true;
            let (status, findings) = check_sets(api, &id, &target).await;
            report.precheck_status = status;
            report.findings = findings;
        }
        let bundle = up["bundleId"].as_str().unwrap().to_string();
        api.download(&bundle).await;
        let a = api
            .send(
                Method::POST,
                "/v1/upgrades",
                json!({"bundleId": bundle, "resourceType": "DOMAIN",
                       "resourceUpgradeSpecs": [{"resourceId": id, "upgradeNow": true}]}),
            )
            .await;
        assert_eq!(a.status, 202, "{}", a.body);
        let uid = a.body["id"].as_str().unwrap().to_string();
        // A fresh token (lives >= 1 s) so a 401 afterwards comes from the restart.
        api.login().await;
        let before_token = api.token.clone();
        if component == "NSX_T_MANAGER" {
            let p = api
                .send(
                    Method::POST,
                    &format!("/v1/upgrades/{uid}/prechecks"),
                    json!({}),
                )
                .await;
            assert_eq!(p.status, 202, "{}", p.body);
            let pid = p.body["id"].as_str().unwrap().to_string();
            api.poll(&format!("/v1/upgrades/{uid}/prechecks/{pid}"), |t| {
                t["status"] == "SUCCESSFUL"
            })
            .await;
        }
        if opts.stop_at.as_deref() == Some(component.as_str()) {
            report.stopped_at = Some(uid);
            return report;
        }
        let mut done = api
            .poll(&format!("/v1/upgrades/{uid}"), |u| {
                u["status"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("COMPLETED"))
            })
            .await;
        if done["status"] == "COMPLETED_WITH_FAILURE" && opts.retry_failures {
            report.failures.push(component.clone());
            let task = api.get(&format!("/v1/tasks/{uid}")).await;
            assert_eq!(task["status"], "FAILED");
            assert_eq!(task["isRetryable"], true);
            assert!(task["errors"][0]["errorCode"].is_string());
            let d = api.get(&format!("/v1/domains/{id}")).await;
            assert_eq!(d["upgradeState"], "FAILED");
            let again = api.get(&upgradables).await;
            assert!(
                again["elements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u["bundleId"] == up["bundleId"] && u["status"] == "AVAILABLE"),
                "a failed component is offered again: {again}"
            );
            let r = api
                .call(Method::PATCH, &format!("/v1/tasks/{uid}"), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            done = api
                .poll(&format!("/v1/upgrades/{uid}"), |u| {
                    u["status"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("COMPLETED"))
                })
                .await;
        }
        assert_eq!(done["status"], "COMPLETED_WITH_SUCCESS", "{done}");
        assert_eq!(done["taskId"], uid.as_str());
        let task = api.get(&format!("/v1/tasks/{uid}")).await;
        assert_eq!(task["status"], "SUCCESSFUL");
        if up["bundleType"] == "SDDC_MANAGER" && report.upgraded.is_empty() {
            let old = Api {
                base: api.base.clone(),
                http: api.http.clone(),
                token: before_token,
                user: String::new(),
                pass: String::new(),
                log: Arc::new(Mutex::new(Vec::new())),
            };
            let r = old
                .raw(Method::GET, "/v1/domains", None, true)
                .await
                .unwrap();
            report.old_token_refused = r.status == 401
                && r.body["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("restarted");
            // The new SDDC Manager lists bundles the old one did not: download them.
            let bundles = api.get("/v1/bundles").await;
            for b in bundles["elements"].as_array().unwrap() {
                if b["releasedDate"] == date.as_str() && b["downloadStatus"] != "SUCCESSFUL" {
                    api.download(b["id"].as_str().unwrap()).await;
                }
            }
        }
        report.upgraded.push(component);
    }
    api.get("/v1/upgrades").await;
    let runs = api
        .get(&format!("/v1/system/check-sets?domainId={id}"))
        .await;
    assert_eq!(
        runs[0]["metadata"]["targetVersion"],
        target.as_str(),
        "newest run first: {runs}"
    );
    api.get("/v1/tasks?pageNumber=0&pageSize=3").await;
    api.get("/v1/tasks").await;

    let v = api
        .send(
            Method::POST,
            &format!("/v1/releases/domains/{id}/validations"),
            json!({"targetVersion": target}),
        )
        .await;
    assert_eq!(v.status, 202, "{}", v.body);
    assert_eq!(v.body["executionStatus"], "IN_PROGRESS");
    let vid = v.body["id"].as_str().unwrap().to_string();
    let v = api
        .poll(&format!("/v1/releases/domains/validations/{vid}"), |v| {
            v["executionStatus"] != "IN_PROGRESS"
        })
        .await;
    report.validation = format!(
        "{}/{}",
        v["executionStatus"].as_str().unwrap(),
        v["resultStatus"].as_str().unwrap()
    );
    report
}

/// Runs the two-step check-set query and a run; returns (status, findings).
pub async fn check_sets(api: &mut Api, domain_id: &str, target: &str) -> (String, usize) {
    let q = api
        .send(
            Method::POST,
            "/v1/system/check-sets/queries",
            json!({"checkSetType": "UPGRADE", "domains": [{"domainId": domain_id}]}),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    let types: Vec<String> = q.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap().to_string())
        .collect();
    assert!(types.contains(&"VCENTER".to_string()));
    let resources: Vec<Value> = types
        .iter()
        .map(|t| json!({"resourceType": t, "resourceTargetVersion": target}))
        .collect();
    let q = api
        .send(
            Method::POST,
            "/v1/system/check-sets/queries",
            json!({"checkSetType": "UPGRADE", "domains": [{"domainId": domain_id, "resources": resources}]}),
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.body);
    let run_resources: Vec<Value> = q.body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            json!({
                "resourceName": r["resourceName"], "resourceId": r["resourceId"],
                "resourceType": r["resourceType"],
                "domain": {"domainId": r["domain"]["domainId"], "domainName": r["domain"]["domainName"], "domainType": r["domain"]["domainType"]},
                "checkSets": r["checkSets"].as_array().unwrap().iter().map(|c| json!({"checkSetId": c["checkSetId"]})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let run = api
        .send(
            Method::POST,
            "/v1/system/check-sets",
            json!({"queryId": q.body["queryId"], "resources": run_resources, "metadata": {"targetVersion": target}}),
        )
        .await;
    assert_eq!(run.status, 202, "{}", run.body);
    let rid = run.body["id"].as_str().unwrap().to_string();
    let first = api.get(&format!("/v1/system/check-sets/{rid}")).await;
    assert!(first["discoveryProgress"]["percentageComplete"].is_i64());
    let out = api
        .poll(&format!("/v1/system/check-sets/{rid}"), |r| {
            r["status"] != "IN_PROGRESS"
        })
        .await;
    let findings = out["validationResult"]["nestedErrors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["context"]["severity"] != "INFO")
        .count();
    (out["status"].as_str().unwrap().to_string(), findings)
}
