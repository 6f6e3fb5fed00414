//! Wiring of the upgrade orchestrator: the [`FlowObserver`] that turns flow views and
//! notifications into hub messages, and the [`UpgradeActions`] that route command-topic presses
//! into [`Orchestrator::command`].
//!
//! The observer never blocks: it converts the view and queues it for the hub, which renders and
//! publishes Upgrade Status, Upgrade Logs, `upgrade/state`, the switch, the `update` entity and
//! the domain Status (`update_process_started` while a flow runs).

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use upgrade_orchestrator::{
    Command, CommandOutcome, DomainRef, FlowObserver, FlowView, Notification,
};

use crate::commands::{UpgradeAction, UpgradeActions};
use crate::hub::FlowSource;
use crate::messages::HubMsg;
use crate::model::FlowInfo;
use upgrade_orchestrator::Orchestrator;

/// Converts an orchestrator view into what the bridge renders.
pub fn flow_info(view: &FlowView) -> FlowInfo {
    let attributes = json!({
        "phase_detail": view.phase_detail,
        "mode": view.mode,
        "target_version": view.target_version,
        "component": view.component,
        "progress_done": view.progress_done,
        "progress_total": view.progress_total,
        "progress_percent": view.progress_percent,
        "started_at": view.started_at,
        "deadline": view.deadline,
        "timeout": view.deadline,
        "last_error": view.last_error,
        "state_error": view.state_error,
        "retryable": view.retryable,
        "blocked_reasons": view.blocked_reasons,
        "in_progress": view.in_progress,
        "ignore_alerts": view.ignore_alerts,
        "next_window_start": view.next_window_start,
        "maintenance_windows": view.maintenance_windows,
    });
    FlowInfo {
        status: view.status.clone(),
        in_progress: view.in_progress,
        ignore_alerts: view.ignore_alerts,
        target_version: view.target_version.clone(),
        progress_percent: view.progress_percent,
        logs_markdown: view.logs_markdown.clone(),
        log_entries: view.log_entries,
        attributes,
        state_error: view.state_error.clone(),
        view: serde_json::to_value(view).unwrap_or(Value::Null),
        findings: view.findings.clone(),
        history: view.history.clone(),
    }
}

/// Forwards flow changes and notifications to the hub (and failed flows to Upgrade All
/// Domains, once it exists).
pub struct BridgeObserver {
    hub: mpsc::UnboundedSender<HubMsg>,
    sequencer: Arc<std::sync::OnceLock<upgrade_orchestrator::sequence::Sequencer>>,
}

impl BridgeObserver {
    /// New observer feeding `hub`.
    pub fn new(hub: mpsc::UnboundedSender<HubMsg>) -> Self {
        Self {
            hub,
            sequencer: Arc::default(),
        }
    }

    /// Where the sequencer goes once it is built (it needs the orchestrator this observer is
    /// given to).
    pub fn sequencer_slot(
        &self,
    ) -> Arc<std::sync::OnceLock<upgrade_orchestrator::sequence::Sequencer>> {
        self.sequencer.clone()
    }
}

impl FlowObserver for BridgeObserver {
    fn flow_changed(&self, view: &FlowView) {
        let _ = self
            .hub
            .send(HubMsg::Flow(view.domain_id.clone(), flow_info(view)));
        // A failed flow may give a fuller reason after it failed (VCF's task error): Upgrade
        // All Domains shows it. On a task of its own, never under the orchestrator's locks.
        if view.status == "failed"
            && let Some(seq) = self.sequencer.get().cloned()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let view = view.clone();
            rt.spawn(async move { seq.flow_changed(&view) });
        }
    }

    fn notify(&self, domain: &DomainRef, notification: &Notification) {
        let _ = self.hub.send(HubMsg::Event {
            domain_name: domain.name.clone(),
            event_type: notification.kind.as_str().to_owned(),
            message: notification.message.clone(),
        });
    }
}

/// Routes upgrade actions to the orchestrator.
pub struct OrchestratorActions(pub Orchestrator);

impl UpgradeActions for OrchestratorActions {
    fn perform(
        &self,
        domain_id: String,
        domain_name: String,
        action: UpgradeAction,
    ) -> futures::future::BoxFuture<'static, Result<(), String>> {
        let orch = self.0.clone();
        Box::pin(async move {
            let cmd = match action {
                UpgradeAction::Start | UpgradeAction::Install => Command::Start,
                UpgradeAction::Acknowledge => Command::Acknowledge,
                UpgradeAction::Abort => Command::Abort,
                UpgradeAction::Retry => Command::Retry,
                UpgradeAction::DownloadBundles => Command::DownloadBundles,
                UpgradeAction::SetIgnoreAlerts(on) => Command::SetIgnoreAlerts(on),
                UpgradeAction::Plan => Command::Plan,
            };
            let domain = DomainRef {
                id: domain_id,
                name: domain_name,
            };
            match orch.command(&domain, cmd).await {
                CommandOutcome::Accepted => Ok(()),
                CommandOutcome::Rejected { reason } => Err(reason),
            }
        })
    }

    fn note(
        &self,
        domain_id: String,
        domain_name: String,
        text: String,
    ) -> futures::future::BoxFuture<'static, ()> {
        let orch = self.0.clone();
        Box::pin(async move {
            let domain = DomainRef {
                id: domain_id,
                name: domain_name,
            };
            orch.note(&domain, text).await;
        })
    }

    fn set_windows(
        &self,
        domain_id: String,
        domain_name: String,
        windows: Option<Vec<upgrade_orchestrator::windows::Window>>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>> {
        let orch = self.0.clone();
        Box::pin(async move {
            let domain = DomainRef {
                id: domain_id,
                name: domain_name,
            };
            match orch.set_windows(&domain, windows).await {
                CommandOutcome::Accepted => Ok(()),
                CommandOutcome::Rejected { reason } => Err(reason),
            }
        })
    }
}

/// Default views (idle, restored Ignore Alerts) for domains without a flow notification yet.
pub fn flow_source(orch: Orchestrator) -> FlowSource {
    Arc::new(move |id: &str, name: &str| {
        let view = orch.view(&DomainRef {
            id: id.to_owned(),
            name: name.to_owned(),
        });
        Some(flow_info(&view))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> FlowView {
        FlowView {
            domain_id: "d1".into(),
            domain_name: "sfo-w01".into(),
            status: "running_prechecks".into(),
            phase_detail: None,
            mode: None,
            target_version: Some("5.2.1.0".into()),
            component: None,
            progress_done: Some(1),
            progress_total: Some(4),
            progress_percent: Some(40),
            started_at: None,
            deadline: None,
            last_error: None,
            state_error: None,
            retryable: false,
            blocked_reasons: Vec::new(),
            ignore_alerts: true,
            next_window_start: None,
            maintenance_windows: Vec::new(),
            in_progress: true,
            logs_markdown: "- ℹ️ started\n- ✅ bundles downloaded\n".into(),
            log_entries: 2,
            from_version: Some("5.2.0.0".into()),
            findings: Vec::new(),
            history: Vec::new(),
        }
    }

    #[test]
    fn observer_queues_flow_and_event() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let obs = BridgeObserver::new(tx);
        obs.flow_changed(&view());
        obs.notify(
            &DomainRef {
                id: "d1".into(),
                name: "sfo-w01".into(),
            },
            &Notification::new(
                upgrade_orchestrator::NotificationKind::AcknowledgementNeeded,
                "ack",
            ),
        );
        match rx.try_recv() {
            Ok(HubMsg::Flow(id, f)) => {
                assert_eq!(id, "d1");
                assert_eq!(f.status, "running_prechecks");
                assert!(f.in_progress && f.ignore_alerts);
                assert_eq!(f.view["status"], "running_prechecks");
                assert_eq!(f.attributes["progress_percent"], 40);
            }
            other => panic!("expected flow, got {other:?}"),
        }
        match rx.try_recv() {
            Ok(HubMsg::Event { event_type, .. }) => {
                assert_eq!(event_type, "acknowledgement_needed");
            }
            other => panic!("expected event, got {other:?}"),
        }
    }

    #[test]
    fn status_attributes_carry_blocked_reasons_and_retryable() {
        let mut v = view();
        v.status = "starting_upgrades".into();
        v.phase_detail = Some("blocked".into());
        v.blocked_reasons = vec!["NSX_T_MANAGER: NSX Manager is not reachable".into()];
        let f = flow_info(&v);
        assert_eq!(f.attributes["phase_detail"], "blocked");
        assert_eq!(
            f.attributes["blocked_reasons"][0],
            "NSX_T_MANAGER: NSX Manager is not reachable"
        );
        assert_eq!(f.attributes["retryable"], false);
        v.status = "failed".into();
        v.retryable = true;
        assert_eq!(flow_info(&v).attributes["retryable"], true);
        assert_eq!(flow_info(&v).view["retryable"], true);
    }

    #[test]
    fn a_state_that_cannot_be_saved_shows_in_the_status_attributes() {
        let mut v = view();
        assert_eq!(flow_info(&v).attributes["state_error"], Value::Null);
        v.state_error = Some("state file /state/flow-d1.json.tmp: No space left on device".into());
        let f = flow_info(&v);
        assert_eq!(
            f.attributes["state_error"],
            "state file /state/flow-d1.json.tmp: No space left on device"
        );
        assert_eq!(f.state_error, v.state_error);
        assert_eq!(f.view["state_error"], f.attributes["state_error"]);
    }
}
