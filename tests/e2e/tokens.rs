//! Tokens: a refresh that hands out garbage (not a JWT, long enough to trip nginx's header
//! limit) never keeps the bridge offline; it logs in again by itself and says why in the
//! connectivity attributes.

use dca_tests::rig::Rig;
use dca_tests::wait::{secs, until};

use crate::common::REAL_TIME;

const REFRESH: &str = "PATCH /v1/tokens/access-token/refresh";

/// Short-lived tokens and a broken refresh, then an outage during which the token expires:
/// every refresh answer is refused, a fresh login follows, no request ever carries the garbage,
/// and connectivity comes back `ON` by itself once SDDC Manager answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_refresh_recovers_by_itself() -> anyhow::Result<()> {
    let mut rig = Rig::start("default", REAL_TIME).await?;
    rig.start_bridge_online().await?;
    let connectivity = rig.topic("bridge/connectivity");
    let attributes = rig.topic("bridge/connectivity/attributes");
    rig.recorder
        .wait_current(&connectivity, "ON", secs(60))
        .await?;

    // Tokens live 8 s from now on (renewed 2 s before expiry), and every refresh is garbage.
    rig.sim
        .fault(serde_json::json!({ "token_ttl_seconds": 8, "garbage_refresh": true }))
        .await?;
    let mark = rig.recorder.mark();
    rig.press("bridge/refresh_token/set").await?;
    let sim = &rig.sim;
    let refreshed = until("two refused refreshes", secs(60), || async {
        let requests = sim.requests().await.ok()?;
        (requests.count(REFRESH) >= 2).then_some(())
    })
    .await;
    rig.with_log(refreshed)?;
    let shown = rig
        .recorder
        .wait_for(mark, "last_auth_error in the attributes", secs(30), |m| {
            m.topic == attributes
                && m.json().is_ok_and(|v| {
                    v["last_auth_error"]
                        .as_str()
                        .is_some_and(|e| e.contains("/v1/tokens/access-token/refresh"))
                })
        })
        .await;
    let shown = rig.with_log(shown)?.json()?;
    anyhow::ensure!(
        shown["last_auth_error"]
            .as_str()
            .is_some_and(|e| e.contains("not a JWT")),
        "the reason names what was wrong: {shown}"
    );
    anyhow::ensure!(
        !rig.recorder
            .on_topic_since(&connectivity, mark)
            .iter()
            .any(|m| m.payload == b"OFF"),
        "a refused refresh answer must not take connectivity OFF"
    );

    // An outage longer than the token's life: after it, renewal is a refresh (garbage) and a
    // login, and connectivity is back without any button.
    let outage = rig.recorder.mark();
    rig.sim
        .fault(serde_json::json!({ "outage_seconds": 12, "unready_seconds": 0, "restart": false }))
        .await?;
    let off = rig
        .recorder
        .wait_payload(outage, &connectivity, "OFF", secs(60))
        .await;
    rig.with_log(off)?;
    let on = rig
        .recorder
        .wait_for(outage, "connectivity ON after the outage", secs(60), |m| {
            m.topic == connectivity && m.payload == b"ON"
        })
        .await;
    rig.with_log(on)?;
    rig.bridge().ensure_running()?;

    let log = rig.sim.log().await?;
    let refused: Vec<_> = log
        .iter()
        .filter(|e| e.status == Some(400) && e.path != "/v1/tokens/access-token/refresh")
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    anyhow::ensure!(
        refused.is_empty(),
        "the garbage token was sent back: {refused:?}"
    );
    let logins = log
        .iter()
        .filter(|e| e.method == "POST" && e.path == "/v1/tokens" && e.succeeded())
        .count();
    anyhow::ensure!(
        logins >= 3,
        "each refused refresh is followed by a login ({logins} logins)"
    );
    Ok(())
}
