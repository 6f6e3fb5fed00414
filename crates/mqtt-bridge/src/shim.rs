//! Temporary stand-ins for APIs other crates are still writing (removed once they land).
#![allow(missing_docs, dead_code, clippy::unused_async)]
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use upgrade_orchestrator::{
    Command, CommandOutcome, DomainRef, FlowObserver, FlowView, OrchestratorConfig,
};

#[derive(Clone)]
pub struct Orchestrator;
#[derive(Debug)]
pub struct OrchestratorError;
impl std::fmt::Display for OrchestratorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x")
    }
}
impl std::error::Error for OrchestratorError {}
impl Orchestrator {
    pub fn new(
        _c: vcf_client::VcfClient,
        _cfg: OrchestratorConfig,
        _d: PathBuf,
        _o: Arc<dyn FlowObserver>,
        _s: CancellationToken,
    ) -> Result<Self, OrchestratorError> {
        Ok(Self)
    }
    pub async fn resume(&self) -> Result<Vec<FlowView>, OrchestratorError> {
        Ok(vec![])
    }
    pub async fn command(&self, _d: &DomainRef, _c: Command) -> CommandOutcome {
        CommandOutcome::Rejected {
            reason: "shim".into(),
        }
    }
    pub fn view(&self, d: &DomainRef) -> FlowView {
        FlowView {
            domain_id: d.id.clone(),
            domain_name: d.name.clone(),
            status: "waiting_for_initiation".into(),
            phase_detail: None,
            mode: None,
            target_version: None,
            component: None,
            progress_done: None,
            progress_total: None,
            progress_percent: None,
            started_at: None,
            deadline: None,
            last_error: None,
            ignore_alerts: false,
            in_progress: false,
            logs_markdown: "No Messages".into(),
            log_entries: 0,
        }
    }
}
pub mod vcf_sim {
    use super::*;
    pub struct Scenario;
    impl Scenario {
        pub fn builtin(_n: &str) -> anyhow::Result<Self> {
            Ok(Self)
        }
        pub fn from_file(_p: &Path) -> anyhow::Result<Self> {
            Ok(Self)
        }
    }
    pub struct SimOptions {
        pub listen: std::net::SocketAddr,
        pub tls: bool,
        pub time_scale: f64,
    }
    pub struct SimServer {
        pub url: String,
        pub username: String,
        pub password: String,
    }
    impl SimServer {
        pub async fn shutdown(self) {}
    }
    pub async fn start(_s: Scenario, _o: SimOptions) -> anyhow::Result<SimServer> {
        anyhow::bail!("simulator not available yet")
    }
}
