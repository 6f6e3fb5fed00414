//! SDDC Manager answering only with server errors, or not answering at all: connectivity turns
//! `OFF` with the reason and `/readyz` not ready, and both recover by themselves.

use std::time::Duration;

use dca_tests::rig::Rig;
use dca_tests::wait::secs;
use serde_json::json;

use crate::common::REAL_TIME;

/// `/readyz` answers 200 (`true`) or 503 (`false`).
async fn wait_ready(addr: &str, ready: bool, limit: Duration) -> anyhow::Result<()> {
    let url = format!("http://{addr}/readyz");
    dca_tests::wait::until_ok(&format!("/readyz ready = {ready}"), limit, || {
        let url = url.clone();
        async move {
            let status = reqwest::get(&url).await?.status();
            Ok((status.is_success() == ready).then_some(()))
        }
    })
    .await
}

/// Waits for connectivity `state` and, with it, a `last_error` attribute containing `reason`.
async fn wait_connectivity(rig: &mut Rig, state: &str, reason: &str) -> anyhow::Result<()> {
    let topic = rig.topic("bridge/connectivity");
    let waited = rig.recorder.wait_current(&topic, state, secs(30)).await;
    rig.with_log(waited)?;
    let attributes = rig.topic("bridge/connectivity/attributes");
    let recorder = &rig.recorder;
    let waited = dca_tests::wait::until(
        &format!("connectivity last_error naming {reason:?}"),
        secs(30),
        || {
            let last_error = recorder
                .latest(&attributes)
                .and_then(|m| m.json().ok())
                .and_then(|v| v["last_error"].as_str().map(str::to_owned))
                .unwrap_or_default();
            async move { last_error.contains(reason).then_some(()) }
        },
    )
    .await;
    rig.with_log(waited)
}

/// A run of HTTP 500 answers (which say nothing about availability one by one) turns
/// connectivity `OFF` naming the error, and `/readyz` not ready; so do requests that hang until
/// the bridge's timeout. Both come back by themselves when SDDC Manager answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sustained_server_errors_and_hangs_turn_connectivity_off_until_answers_are_good()
-> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    let listen = format!("127.0.0.1:{}", dca_tests::free_port()?);
    rig.config.http_listen = Some(listen.clone());
    rig.config.request_timeout = "1s".into();
    rig.start_bridge_online().await?;
    wait_connectivity(&mut rig, "ON", "").await?;
    wait_ready(&listen, true, secs(30)).await?;

    // Every /v1 request answered 500 with SDDC Manager's Error body.
    rig.sim
        .fault(json!({"error_rate": 1.0, "error_status": 500}))
        .await?;
    wait_connectivity(&mut rig, "OFF", "HTTP 500").await?;
    wait_connectivity(&mut rig, "OFF", "failed polls in a row").await?;
    wait_ready(&listen, false, secs(30)).await?;
    rig.sim.fault(json!({"clear": true})).await?;
    wait_connectivity(&mut rig, "ON", "").await?;
    wait_ready(&listen, true, secs(30)).await?;

    // Every request hangs: the bridge's 1 s timeout ends each.
    rig.sim.fault(json!({"hang": true})).await?;
    wait_connectivity(&mut rig, "OFF", "timed out").await?;
    wait_ready(&listen, false, secs(30)).await?;
    rig.sim.fault(json!({"hang": false})).await?;
    wait_connectivity(&mut rig, "ON", "").await?;
    wait_ready(&listen, true, secs(30)).await?;
    rig.bridge().ensure_running()?;
    Ok(())
}
