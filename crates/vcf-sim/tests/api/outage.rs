//! The API outage during an SDDC Manager upgrade and injected outages: connections
//! refused, then 503 with an HTML body, then back with older tokens refused.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::common::{Api, start};

/// What one probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Ok,
    Refused,
    Unready,
    Unauthorized,
}

async fn probe(client: &reqwest::Client, api: &Api, token: &str) -> Seen {
    let r = client
        .get(format!("{}/v1/domains", api.base))
        .bearer_auth(token)
        .send()
        .await;
    match r {
        Err(_) => Seen::Refused,
        Ok(r) => {
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let text = r.text().await.unwrap_or_default();
            match status {
                200 => Seen::Ok,
                503 => {
                    assert!(ct.starts_with("text/html"), "{ct}");
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&text).is_err(),
                        "not JSON"
                    );
                    Seen::Unready
                }
                401 => {
                    assert!(text.contains("restarted"), "{text}");
                    Seen::Unauthorized
                }
                other => panic!("unexpected {other}: {text}"),
            }
        }
    }
}

/// Probes until `until` is seen (or a deadline); returns the sequence without repeats.
async fn watch(api: &Api, token: &str, until: Seen) -> Vec<Seen> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let s = probe(&client, api, token).await;
        if seen.last() != Some(&s) {
            seen.push(s);
        }
        if s == until {
            return seen;
        }
        assert!(Instant::now() < deadline, "no {until:?} in time: {seen:?}");
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
}

#[tokio::test]
async fn sddc_manager_upgrade_takes_the_api_away_and_back() {
    // Phases of 1.2 s each (scale 0.002), long enough to be seen on a loaded machine.
    let scenario = vcf_sim::Scenario::from_toml_str(
        "base = \"default\"\nname = \"outage\"\n[timing]\nsddc_manager_staging = \"2m\"\noutage = \"10m\"\nunready = \"10m\"\n",
    )
    .unwrap();
    let (sim, mut api) = crate::common::start_with(scenario, 0.002).await;
    let id = api.domain_id("sfo-m01").await;
    let a = api
        .send(
            Method::PATCH,
            &format!("/v1/releases/domains/{id}"),
            json!({"targetVersion": "5.2.1.0"}),
        )
        .await;
    assert_eq!(a.status, 200);
    let ups = api.get(&format!("/v1/upgradables/domains/{id}")).await;
    let bundle = ups["elements"][0]["bundleId"].as_str().unwrap().to_string();
    api.download(&bundle).await;
    api.login().await;
    let a = api
        .send(
            Method::POST,
            "/v1/upgrades",
            json!({"bundleId": bundle, "resourceType": "DOMAIN", "resourceUpgradeSpecs": [{"resourceId": id, "upgradeNow": true}]}),
        )
        .await;
    assert_eq!(a.status, 202);
    let uid = a.body["id"].as_str().unwrap().to_string();
    let token = api.token.clone();
    let port = sim.local_addr().port();
    let seen = watch(&api, &token, Seen::Unauthorized).await;
    assert_eq!(
        seen,
        [Seen::Ok, Seen::Refused, Seen::Unready, Seen::Unauthorized],
        "outage phases in order"
    );
    assert_eq!(sim.local_addr().port(), port);
    api.login().await;
    let u = api.get(&format!("/v1/upgrades/{uid}")).await;
    assert_eq!(u["status"], "COMPLETED_WITH_SUCCESS");
    assert!(u["endTime"].is_i64());
    let m = api.get("/v1/sddc-managers").await;
    assert_eq!(m["elements"][0]["version"], "5.2.1.0-24307856");
    let state = api.get("/sim/state").await;
    assert_eq!(state["restarts"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_outage_and_unreachable() {
    let (sim, api) = start("default", 0.001).await;
    let token = api.token.clone();
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"outage_seconds": 1000, "unready_seconds": 1000})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.status, 200);
    let seen = watch(&api, &token, Seen::Unauthorized).await;
    assert_eq!(seen, [Seen::Refused, Seen::Unready, Seen::Unauthorized]);

    let mut api = api;
    api.login().await;
    let client = reqwest::Client::new();
    // A kept-alive connection is dropped too when the API goes away.
    assert_eq!(probe(&client, &api, &api.token).await, Seen::Ok);
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"unreachable": true})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.status, 200, "the switch itself is still answered");
    assert_eq!(probe(&client, &api, &api.token).await, Seen::Refused);
    // The control endpoints keep answering, so the fault can be ended over HTTP.
    let state = api
        .raw(Method::GET, "/sim/state", None, false)
        .await
        .unwrap();
    assert_eq!(state.body["api_phase"], "refused");
    let f = api
        .raw(
            Method::POST,
            "/sim/faults",
            Some(json!({"unreachable": false})),
            false,
        )
        .await
        .unwrap();
    assert_eq!(f.status, 200);
    assert_eq!(probe(&client, &api, &api.token).await, Seen::Ok);
    sim.with_state(|s| assert!(!s.faults.unreachable));
    sim.shutdown().await;
}
