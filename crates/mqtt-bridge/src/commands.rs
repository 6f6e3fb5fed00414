//! Commands arriving on command topics: payload validation and dispatch.
//!
//! Retained messages are filtered out before they get here (see [`crate::hub`]); this module
//! checks them again so no code path can act on one. A bad payload is logged with its topic and
//! payload and otherwise ignored. Which topics, payloads and actions exist is the [`COMMANDS`]
//! table (`commands/table.rs`).

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::messages::{CommandRequest, DomainDirectory, HubMsg};
use crate::topics::CommandTopic;

mod table;

pub use table::{
    ANY_TEXT, BridgeAction, ButtonEntity, COMMANDS, Command, CommandUnit, Does, ReadinessAction,
    TASK_ID, command,
};
use upgrade_orchestrator::sequence::Sequencer;
use upgrade_orchestrator::windows::{Window, parse_list};

/// An upgrade action for one domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeAction {
    /// Start Upgrade.
    Start,
    /// Acknowledge Alerts.
    Acknowledge,
    /// Abort Upgrade.
    Abort,
    /// Retry Upgrade: retry the VCF task that failed the flow.
    Retry,
    /// Download Bundles.
    DownloadBundles,
    /// Ignore Alerts switch.
    SetIgnoreAlerts(bool),
    /// Update entity Install (routed to Start when allowed).
    Install,
    /// Plan Upgrade: log what an upgrade would do (reads only).
    Plan,
}

impl UpgradeAction {
    /// True for every action that changes something in VCF or in a flow: all but Plan Upgrade.
    /// `read_only = true` refuses these.
    pub fn is_mutating(self) -> bool {
        !matches!(self, Self::Plan)
    }
}

/// A validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Poll for updates now.
    CheckUpdates,
    /// Fresh login.
    RefreshToken,
    /// Upgrade All Domains, Retry Upgrade All or Abort Upgrade All.
    Sequence(BridgeAction),
    /// New maintenance windows for a domain (by slug), as typed.
    SetWindows {
        /// Domain slug from the topic.
        domain: String,
        /// The text.
        text: String,
    },
    /// Upgrade action on a domain (by slug).
    Upgrade {
        /// Domain slug from the topic.
        domain: String,
        /// What to do.
        action: UpgradeAction,
    },
    /// Readiness action.
    Readiness {
        /// Domain slug from the topic (the Override Readiness switch).
        domain: Option<String>,
        /// What to do.
        action: ReadinessAction,
        /// The payload (a task id for Retry Task).
        payload: String,
    },
}

/// Whether `text` can be a VCF task id (UUIDs in practice; nothing guarantees it).
fn is_task_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Why a command was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Retained message: never acted on.
    Retained,
    /// Empty payload (e.g. the bridge clearing a retained command): ignored silently.
    Empty,
    /// Payload not valid for the topic.
    BadPayload(String),
}

/// Validates a command message: `PRESS` for buttons, `ON`/`OFF` for the switch, `install` for
/// the update entity (case-insensitive, surrounding whitespace ignored).
///
/// # Errors
/// A [`Rejection`] saying why nothing happens.
pub fn validate(cmd: &CommandTopic, payload: &[u8], retain: bool) -> Result<Action, Rejection> {
    if retain {
        return Err(Rejection::Retained);
    }
    let text = std::str::from_utf8(payload)
        .map_err(|_| Rejection::BadPayload("payload is not UTF-8".into()))?
        .trim();
    if text.is_empty() {
        return Err(Rejection::Empty);
    }
    let row = cmd.kind;
    if let [(TASK_ID, Does::Readiness(action))] = row.payloads {
        if !is_task_id(text) {
            return Err(Rejection::BadPayload(
                "expected a VCF task id (letters, digits, '-', '_', '.', ':'; at most 128)".into(),
            ));
        }
        return Ok(Action::Readiness {
            domain: cmd.domain.clone(),
            action: *action,
            payload: text.to_owned(),
        });
    }
    if let [(ANY_TEXT, Does::SetWindows)] = row.payloads {
        if text.chars().count() > crate::ha::MAX_STATE_LEN {
            return Err(Rejection::BadPayload(format!(
                "longer than {} characters",
                crate::ha::MAX_STATE_LEN
            )));
        }
        return Ok(Action::SetWindows {
            domain: cmd.domain.clone().unwrap_or_default(),
            text: text.to_owned(),
        });
    }
    let Some((_, does)) = row
        .payloads
        .iter()
        .find(|(want, _)| text.eq_ignore_ascii_case(want))
    else {
        let wants: Vec<&str> = row.payloads.iter().map(|(want, _)| *want).collect();
        return Err(Rejection::BadPayload(format!(
            "expected {}",
            wants.join(" or ")
        )));
    };
    Ok(match *does {
        Does::Bridge(BridgeAction::CheckUpdates) => Action::CheckUpdates,
        Does::Bridge(BridgeAction::RefreshToken) => Action::RefreshToken,
        Does::Bridge(a) => Action::Sequence(a),
        Does::SetWindows => Action::SetWindows {
            domain: cmd.domain.clone().unwrap_or_default(),
            text: text.to_owned(),
        },
        Does::Orchestrator(action) => Action::Upgrade {
            domain: cmd.domain.clone().unwrap_or_default(),
            action,
        },
        Does::Readiness(action) => Action::Readiness {
            domain: cmd.domain.clone(),
            action,
            payload: text.to_owned(),
        },
    })
}

/// The name a user knows an upgrade action by: its command's label, plus `on`/`off` for a switch.
fn action_label(action: UpgradeAction) -> String {
    COMMANDS
        .iter()
        .find_map(|c| {
            let (payload, _) = c
                .payloads
                .iter()
                .find(|(_, does)| *does == Does::Orchestrator(action))?;
            Some(if c.payloads.len() > 1 {
                format!("{} {}", c.label, payload.to_ascii_lowercase())
            } else {
                c.label.to_owned()
            })
        })
        .unwrap_or_else(|| format!("{action:?}"))
}

/// Executes upgrade actions (implemented over the orchestrator in [`crate::upgrade`]).
pub trait UpgradeActions: Send + Sync + 'static {
    /// Performs `action` on the domain; returns `Err(reason)` when it was rejected.
    fn perform(
        &self,
        domain_id: String,
        domain_name: String,
        action: UpgradeAction,
    ) -> futures::future::BoxFuture<'static, Result<(), String>>;

    /// Adds a line to the domain's upgrade log.
    fn note(
        &self,
        domain_id: String,
        domain_name: String,
        text: String,
    ) -> futures::future::BoxFuture<'static, ()>;

    /// Sets the domain's maintenance windows (`None`: the configured ones).
    fn set_windows(
        &self,
        _domain_id: String,
        _domain_name: String,
        _windows: Option<Vec<Window>>,
    ) -> futures::future::BoxFuture<'static, Result<(), String>> {
        Box::pin(async { Err("maintenance windows cannot be set here".to_owned()) })
    }
}

/// The readiness actions (implemented over `vcf-client` in [`crate::readiness::actions`]).
pub trait ReadinessActions: Send + Sync + 'static {
    /// Back Up Now; `Ok` with the task id once SDDC Manager accepted it.
    fn back_up_now(&self) -> futures::future::BoxFuture<'static, Result<String, String>>;
    /// Retries a failed task.
    fn retry_task(&self, id: String) -> futures::future::BoxFuture<'static, Result<(), String>>;
}

/// What the command task needs for readiness: the latest evaluation, the switches, the actions.
#[derive(Clone)]
pub struct ReadinessContext {
    /// The latest readiness report (the monitor writes it).
    pub board: crate::readiness::Board,
    /// The Override Readiness switches.
    pub overrides: crate::readiness::overrides::Overrides,
    /// Back Up Now and Retry Task.
    pub actions: Arc<dyn ReadinessActions>,
}

/// Everything the command task needs.
pub struct CommandContext {
    /// slug → (id, name).
    pub directory: DomainDirectory,
    /// Wakes the updates loop.
    pub check_now: Arc<Notify>,
    /// Runs Refresh Token.
    pub refresh_token: Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>,
    /// Upgrade actions.
    pub upgrades: Option<Arc<dyn UpgradeActions>>,
    /// `upgrade.allow_update_install`.
    pub allow_update_install: bool,
    /// `read_only`: every mutating upgrade action is refused.
    pub read_only: bool,
    /// For notifications.
    pub hub: mpsc::UnboundedSender<HubMsg>,
    /// Readiness (`None` with `readiness.enabled = false`).
    pub readiness: Option<ReadinessContext>,
    /// Upgrade All Domains, when the orchestrator runs.
    pub sequence: Option<Sequencer>,
}

/// Handles commands in arrival order until `shutdown`.
pub async fn run(
    cx: CommandContext,
    mut rx: mpsc::UnboundedReceiver<CommandRequest>,
    shutdown: CancellationToken,
) {
    loop {
        let req = tokio::select! {
            () = shutdown.cancelled() => break,
            r = rx.recv() => match r { Some(r) => r, None => break },
        };
        handle(&cx, req).await;
    }
}

/// A received payload as it may appear in a log line: at most 80 characters, always recorded
/// with `?` so that control characters are escaped (a `\n` in a payload cannot forge a line).
pub(crate) fn payload_for_log(payload: &[u8]) -> String {
    crate::ha::truncate_chars(&String::from_utf8_lossy(payload), 80)
}

/// A received topic (or a part of one) as it may appear in a log line: control characters
/// escaped, so a `\n` in a topic level cannot forge a line even where it is recorded with `%`,
/// and at most 200 characters (a topic may be 65,535 bytes long).
pub(crate) fn topic_for_log(topic: &str) -> String {
    let escaped: String = topic
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    crate::ha::truncate_chars(&escaped, 200)
}

async fn handle(cx: &CommandContext, req: CommandRequest) {
    let action = match validate(&req.command, &req.payload, req.retain) {
        Ok(a) => a,
        Err(Rejection::Empty) => return,
        Err(Rejection::Retained) => {
            warn!(topic = %topic_for_log(&req.topic), "ignoring retained command message");
            return;
        }
        Err(Rejection::BadPayload(why)) => {
            warn!(
                topic = %topic_for_log(&req.topic),
                payload = ?payload_for_log(&req.payload),
                "ignoring command with invalid payload: {why}"
            );
            return;
        }
    };
    match action {
        Action::CheckUpdates => {
            info!("Check for updates pressed: polling now");
            cx.check_now.notify_one();
        }
        Action::RefreshToken => {
            info!("Refresh Token pressed: logging in again");
            (cx.refresh_token)().await;
        }
        Action::Readiness {
            domain,
            action,
            payload,
        } => readiness_action(cx, &req.topic, domain, action, payload).await,
        Action::Sequence(a) => sequence(cx, &req.topic, a).await,
        Action::SetWindows { domain, text } => set_windows(cx, &req.topic, &domain, &text).await,
        Action::Upgrade { domain, action } => {
            let found = cx
                .directory
                .read()
                .ok()
                .and_then(|d| d.get(&domain).cloned());
            let Some((id, name)) = found else {
                warn!(
                    topic = %topic_for_log(&req.topic),
                    domain = %topic_for_log(&domain),
                    "command for an unknown domain (not (yet) seen in VCF); ignored"
                );
                return;
            };
            if cx.read_only && action.is_mutating() {
                let msg = format!(
                    "{} refused: the bridge runs with read_only = true (monitoring only)",
                    action_label(action)
                );
                warn!(topic = %topic_for_log(&req.topic), domain = name, "{msg}");
                let _ = cx.hub.send(HubMsg::Event {
                    domain_name: name,
                    event_type: "info".into(),
                    message: msg,
                });
                return;
            }
            let action = if action == UpgradeAction::Install {
                if !cx.allow_update_install {
                    let msg = format!(
                        "Install from the update entity is disabled for {name} \
                         (set upgrade.allow_update_install = true); use Start Upgrade"
                    );
                    warn!(topic = %topic_for_log(&req.topic), "{msg}");
                    let _ = cx.hub.send(HubMsg::Event {
                        domain_name: name,
                        event_type: "info".into(),
                        message: msg,
                    });
                    return;
                }
                UpgradeAction::Start
            } else {
                action
            };
            let Some(up) = &cx.upgrades else {
                warn!(topic = %topic_for_log(&req.topic), "upgrade commands are not available");
                return;
            };
            let note = if action == UpgradeAction::Start {
                match readiness_gate(cx, &id, &name) {
                    Gate::Open => None,
                    Gate::Overridden(note) => Some(note),
                    Gate::Refused(msg) => {
                        warn!(topic = req.topic, domain = name, "{msg}");
                        let _ = cx.hub.send(HubMsg::Event {
                            domain_name: name,
                            event_type: "info".into(),
                            message: msg,
                        });
                        return;
                    }
                }
            } else {
                None
            };
            info!(domain = name, ?action, "upgrade command");
            let result = up.perform(id.clone(), name.clone(), action).await;
            if let (Ok(()), Some(note)) = (&result, note) {
                warn!(domain = name, "{note}");
                up.note(id, name.clone(), note).await;
            }
            if let Err(reason) = result {
                warn!(domain = name, ?action, "upgrade command rejected: {reason}");
                // Start/Download Bundles refusals ("no update available", "already running") are
                // notified by the orchestrator itself; only the others need an `info` event here.
                if !matches!(
                    action,
                    UpgradeAction::Start | UpgradeAction::DownloadBundles
                ) {
                    let _ = cx.hub.send(HubMsg::Event {
                        domain_name: name,
                        event_type: "info".into(),
                        message: format!("{} refused: {reason}", action_label(action)),
                    });
                }
            }
        }
    }
}

/// What the readiness gate decided about Start Upgrade.
#[derive(Debug, PartialEq, Eq)]
enum Gate {
    /// Not blocked (or readiness not known yet, or readiness off).
    Open,
    /// Blocked but overridden: the note for the upgrade log.
    Overridden(String),
    /// Blocked: the refusal, with every blocking reason.
    Refused(String),
}

fn readiness_gate(cx: &CommandContext, id: &str, name: &str) -> Gate {
    let Some(r) = &cx.readiness else {
        return Gate::Open;
    };
    let blocking: Vec<String> = {
        let board = r.board.read().unwrap_or_else(|e| e.into_inner());
        match board.as_ref().and_then(|report| report.domains.get(id)) {
            Some(s) => s.blocking().into_iter().map(str::to_owned).collect(),
            None => Vec::new(),
        }
    };
    if blocking.is_empty() {
        return Gate::Open;
    }
    let reasons = blocking.join("; ");
    if r.overrides.is_on(id) {
        Gate::Overridden(format!(
            "Override Readiness is on: upgrade of {name} started although it is blocked: {reasons}"
        ))
    } else {
        Gate::Refused(format!(
            "Start Upgrade refused: {name} is blocked: {reasons}. Fix the cause, or turn \
             Override Readiness on to upgrade anyway"
        ))
    }
}

async fn readiness_action(
    cx: &CommandContext,
    topic: &str,
    domain: Option<String>,
    action: ReadinessAction,
    payload: String,
) {
    let Some(r) = &cx.readiness else {
        warn!(
            topic,
            "readiness commands are off (readiness.enabled = false)"
        );
        return;
    };
    if cx.read_only && !matches!(action, ReadinessAction::Override(_)) {
        warn!(
            topic,
            "{action:?} refused: the bridge runs with read_only = true (monitoring only)"
        );
        return;
    }
    match action {
        ReadinessAction::BackUpNow => {
            info!("Back Up Now pressed: starting an SDDC Manager backup");
            match r.actions.back_up_now().await {
                Ok(id) => info!(task = id, "SDDC Manager backup started"),
                Err(e) => warn!("Back Up Now failed: {e}"),
            }
        }
        ReadinessAction::RetryTask => {
            info!(task = payload, "retrying a failed task");
            match r.actions.retry_task(payload.clone()).await {
                Ok(()) => {
                    info!(
                        task = payload,
                        "task retry accepted; checking readiness again"
                    );
                    cx.check_now.notify_one();
                }
                Err(e) => warn!(task = payload, "task retry refused: {e}"),
            }
        }
        ReadinessAction::Override(on) => {
            let found = domain
                .as_ref()
                .and_then(|d| cx.directory.read().ok().and_then(|dir| dir.get(d).cloned()));
            let Some((id, name)) = found else {
                warn!(topic, "Override Readiness for an unknown domain; ignored");
                return;
            };
            if let Err(e) = r.overrides.set(&id, on) {
                warn!(
                    domain = name,
                    "could not save the Override Readiness switch: {e}"
                );
            }
            info!(domain = name, on, "Override Readiness switched");
            let _ = cx.hub.send(HubMsg::ReadinessOverride(id, on));
        }
    }
}

/// Upgrade All Domains, Retry Upgrade All, Abort Upgrade All. A refusal is logged and shown
/// in the sequence's `notice` attribute.
async fn sequence(cx: &CommandContext, topic: &str, action: BridgeAction) {
    let Some(seq) = &cx.sequence else {
        warn!(topic, "Upgrade All Domains is not available");
        return;
    };
    if cx.read_only {
        warn!(
            topic,
            "Upgrade All Domains refused: the bridge runs with read_only = true (monitoring only)"
        );
        return;
    }
    info!(?action, "Upgrade All Domains command");
    let result = match action {
        BridgeAction::UpgradeAll => seq.start().await,
        BridgeAction::RetryAll => seq.retry().await,
        BridgeAction::AbortAll => seq.abort().await,
        BridgeAction::CheckUpdates | BridgeAction::RefreshToken => Ok(()),
    };
    if let Err(reason) = result {
        warn!(?action, "Upgrade All Domains command refused: {reason}");
    }
}

/// The Maintenance Windows text: `default` returns to the configured windows, `always` means
/// any time; a text that is not windows is refused with an `info` event naming it.
async fn set_windows(cx: &CommandContext, topic: &str, slug: &str, text: &str) {
    let found = cx.directory.read().ok().and_then(|d| d.get(slug).cloned());
    let Some((id, name)) = found else {
        warn!(
            topic,
            domain = slug,
            "command for an unknown domain (not (yet) seen in VCF); ignored"
        );
        return;
    };
    let refuse = |msg: String| {
        warn!(topic, domain = name, "{msg}");
        let _ = cx.hub.send(HubMsg::Event {
            domain_name: name.clone(),
            event_type: "info".into(),
            message: msg,
        });
    };
    if cx.read_only {
        return refuse(
            "Maintenance Windows refused: the bridge runs with read_only = true (monitoring only)"
                .to_owned(),
        );
    }
    let windows = if text.eq_ignore_ascii_case("default") {
        None
    } else {
        match parse_list(text) {
            Ok(w) => Some(w),
            Err(e) => return refuse(format!("Maintenance Windows of {name} not changed: {e}")),
        }
    };
    let Some(up) = &cx.upgrades else {
        warn!(topic, "upgrade commands are not available");
        return;
    };
    info!(domain = name, windows = text, "maintenance windows set");
    if let Err(reason) = up.set_windows(id, name.clone(), windows).await {
        refuse(format!("Maintenance Windows refused: {reason}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_logged_short_and_escaped() {
        let huge = vec![b'x'; 256 * 1024];
        assert_eq!(payload_for_log(&huge).chars().count(), 80);
        // Recorded with `?`: a newline cannot start a forged log line.
        let logged = format!("{:?}", payload_for_log(b"PRESS\n2026-12-03 INFO forged"));
        assert!(!logged.contains('\n') && logged.contains("\\n"), "{logged}");
    }

    #[test]
    fn topics_are_logged_short_and_escaped() {
        let forged = topic_for_log(
            "dca/i/domain/x\n2026-12-03T00:00:00Z INFO forged\r\u{1b}[31m/upgrade/start/set",
        );
        assert!(
            !forged.chars().any(char::is_control),
            "control character left in {forged:?}"
        );
        assert!(
            forged.contains("\\n") && forged.contains("\\u{1b}"),
            "{forged}"
        );
        assert_eq!(
            topic_for_log("datacenter_assistant/i/domain/sfo_w01/upgrade/start/set"),
            "datacenter_assistant/i/domain/sfo_w01/upgrade/start/set",
            "an ordinary topic is logged as it is"
        );
        assert_eq!(topic_for_log(&"a/".repeat(40_000)).chars().count(), 200);
    }
    use bytes::Bytes;

    fn row(leaf: &str) -> &'static Command {
        command(leaf).unwrap_or_else(|| panic!("no command {leaf}"))
    }

    fn topic(kind: &'static Command) -> CommandTopic {
        CommandTopic {
            kind,
            domain: Some("sfo_w01".into()),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]
        /// Any bytes on any command topic: never a panic, and an action only for a payload that
        /// the command's row lists (or the free text / task id rows accept), never retained.
        #[test]
        fn any_payload_on_any_command_topic_is_an_action_or_a_named_refusal(
            index in 0usize..COMMANDS.len(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            retain in proptest::prelude::any::<bool>(),
        ) {
            let kind = &COMMANDS[index];
            let result = validate(&topic(kind), &payload, retain);
            if retain {
                proptest::prop_assert!(matches!(result, Err(Rejection::Retained)));
            }
            if result.is_ok() {
                let text = std::str::from_utf8(&payload).expect("accepted payloads are UTF-8").trim();
                let listed = kind.payloads.iter().any(|(want, _)| {
                    *want == ANY_TEXT || *want == TASK_ID || text.eq_ignore_ascii_case(want)
                });
                proptest::prop_assert!(listed, "{} accepted {:?}", kind.leaf, text);
            }
            if let Err(Rejection::BadPayload(why)) = &result {
                proptest::prop_assert!(!why.is_empty());
            }
        }
    }

    #[test]
    fn press_payloads() {
        assert_eq!(
            validate(&topic(row("upgrade/start/set")), b"PRESS", false),
            Ok(Action::Upgrade {
                domain: "sfo_w01".into(),
                action: UpgradeAction::Start
            })
        );
        assert_eq!(
            validate(&topic(row("check_updates/set")), b" press\n", false),
            Ok(Action::CheckUpdates)
        );
        assert!(matches!(
            validate(&topic(row("upgrade/abort/set")), b"GO", false),
            Err(Rejection::BadPayload(_))
        ));
        assert!(matches!(
            validate(&topic(row("upgrade/abort/set")), &[0xff, 0xfe], false),
            Err(Rejection::BadPayload(_))
        ));
        assert_eq!(
            validate(&topic(row("upgrade/abort/set")), b"", false),
            Err(Rejection::Empty)
        );
    }

    #[test]
    fn switch_and_install_payloads() {
        assert_eq!(
            validate(&topic(row("ignore_alerts/set")), b"ON", false),
            Ok(Action::Upgrade {
                domain: "sfo_w01".into(),
                action: UpgradeAction::SetIgnoreAlerts(true)
            })
        );
        assert_eq!(
            validate(&topic(row("ignore_alerts/set")), b"off", false),
            Ok(Action::Upgrade {
                domain: "sfo_w01".into(),
                action: UpgradeAction::SetIgnoreAlerts(false)
            })
        );
        assert!(validate(&topic(row("ignore_alerts/set")), b"PRESS", false).is_err());
        assert!(validate(&topic(row("update/install")), b"install", false).is_ok());
        assert!(validate(&topic(row("update/install")), b"PRESS", false).is_err());
    }

    #[test]
    fn retained_never_acts() {
        for kind in [
            row("check_updates/set"),
            row("refresh_token/set"),
            row("upgrade/start/set"),
            row("upgrade/acknowledge/set"),
            row("upgrade/abort/set"),
            row("upgrade/download_bundles/set"),
        ] {
            assert_eq!(
                validate(&topic(kind), b"PRESS", true),
                Err(Rejection::Retained)
            );
        }
        assert_eq!(
            validate(&topic(row("ignore_alerts/set")), b"ON", true),
            Err(Rejection::Retained)
        );
    }

    struct Recorder(std::sync::Mutex<Vec<UpgradeAction>>);
    impl UpgradeActions for Recorder {
        fn perform(
            &self,
            _id: String,
            _name: String,
            action: UpgradeAction,
        ) -> futures::future::BoxFuture<'static, Result<(), String>> {
            self.0.lock().expect("lock").push(action);
            // Abort and Start are refused (as with no flow / no update), the rest accepted.
            let refused = matches!(action, UpgradeAction::Abort | UpgradeAction::Start);
            Box::pin(async move {
                if refused {
                    Err("nothing to do".to_owned())
                } else {
                    Ok(())
                }
            })
        }

        fn note(
            &self,
            _id: String,
            _name: String,
            _text: String,
        ) -> futures::future::BoxFuture<'static, ()> {
            Box::pin(async {})
        }
    }

    fn context(
        allow: bool,
    ) -> (
        CommandContext,
        Arc<Recorder>,
        mpsc::UnboundedReceiver<HubMsg>,
    ) {
        let rec = Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        let (tx, rx) = mpsc::unbounded_channel();
        let dir: DomainDirectory = Arc::default();
        dir.write()
            .expect("lock")
            .insert("sfo_w01".into(), ("id-w01".into(), "sfo-w01".into()));
        let cx = CommandContext {
            directory: dir,
            check_now: Arc::new(Notify::new()),
            refresh_token: Arc::new(|| Box::pin(async {})),
            upgrades: Some(rec.clone()),
            allow_update_install: allow,
            read_only: false,
            hub: tx,
            readiness: None,
            sequence: None,
        };
        (cx, rec, rx)
    }

    fn req(kind: &'static Command, payload: &'static [u8], retain: bool) -> CommandRequest {
        CommandRequest {
            topic: "t".into(),
            command: topic(kind),
            payload: Bytes::from_static(payload),
            retain,
        }
    }

    #[tokio::test]
    async fn retained_start_does_not_reach_orchestrator() {
        let (cx, rec, _rx) = context(false);
        handle(&cx, req(row("upgrade/start/set"), b"PRESS", true)).await;
        assert!(rec.0.lock().expect("lock").is_empty());
        handle(&cx, req(row("upgrade/start/set"), b"PRESS", false)).await;
        assert_eq!(*rec.0.lock().expect("lock"), vec![UpgradeAction::Start]);
    }

    #[tokio::test]
    async fn refusals_become_info_events_unless_the_orchestrator_notifies() {
        let (cx, _rec, mut rx) = context(false);
        handle(&cx, req(row("upgrade/abort/set"), b"PRESS", false)).await;
        match rx.try_recv() {
            Ok(HubMsg::Event {
                event_type,
                message,
                ..
            }) => {
                assert_eq!(event_type, "info");
                assert!(message.contains("Abort Upgrade"), "{message}");
            }
            other => panic!("expected an event, got {other:?}"),
        }
        handle(&cx, req(row("upgrade/start/set"), b"PRESS", false)).await;
        assert!(
            rx.try_recv().is_err(),
            "Start refusals are notified by the orchestrator"
        );
    }

    #[tokio::test]
    async fn unknown_domain_is_ignored() {
        let (cx, rec, _rx) = context(false);
        let mut r = req(row("upgrade/acknowledge/set"), b"PRESS", false);
        r.command.domain = Some("nope".into());
        handle(&cx, r).await;
        assert!(rec.0.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn install_rejected_unless_allowed() {
        let (cx, rec, mut rx) = context(false);
        handle(&cx, req(row("update/install"), b"install", false)).await;
        assert!(rec.0.lock().expect("lock").is_empty());
        match rx.try_recv() {
            Ok(HubMsg::Event { event_type, .. }) => assert_eq!(event_type, "info"),
            other => panic!("expected an event, got {other:?}"),
        }
        let (cx, rec, _rx) = context(true);
        handle(&cx, req(row("update/install"), b"install", false)).await;
        assert_eq!(*rec.0.lock().expect("lock"), vec![UpgradeAction::Start]);
    }

    #[tokio::test]
    async fn read_only_refuses_every_mutating_action_and_names_the_setting() {
        let (mut cx, rec, mut rx) = context(true);
        cx.read_only = true;
        for (leaf, payload) in [
            ("upgrade/start/set", &b"PRESS"[..]),
            ("upgrade/download_bundles/set", b"PRESS"),
            ("upgrade/acknowledge/set", b"PRESS"),
            ("upgrade/abort/set", b"PRESS"),
            ("ignore_alerts/set", b"ON"),
            ("update/install", b"install"),
        ] {
            let mut r = req(row(leaf), b"", false);
            r.payload = Bytes::copy_from_slice(payload);
            handle(&cx, r).await;
            match rx.try_recv() {
                Ok(HubMsg::Event { message, .. }) => {
                    assert!(message.contains("read_only = true"), "{leaf}: {message}");
                }
                other => panic!("{leaf}: expected a refusal event, got {other:?}"),
            }
        }
        assert!(rec.0.lock().expect("lock").is_empty());
        handle(&cx, req(row("upgrade/plan/set"), b"PRESS", false)).await;
        assert_eq!(*rec.0.lock().expect("lock"), vec![UpgradeAction::Plan]);
    }

    #[test]
    fn the_windows_text_is_taken_as_typed_and_bounded() {
        let windows = row("upgrade/windows/set");
        assert_eq!(
            validate(
                &topic(windows),
                b" Sat 22:00-Sun 04:00, Wed 01:00-03:00 ",
                false
            ),
            Ok(Action::SetWindows {
                domain: "sfo_w01".into(),
                text: "Sat 22:00-Sun 04:00, Wed 01:00-03:00".into(),
            })
        );
        let long = "Sat 22:00-Sun 04:00, ".repeat(20);
        assert!(matches!(
            validate(&topic(windows), long.as_bytes(), false),
            Err(Rejection::BadPayload(_))
        ));
        assert_eq!(
            validate(&topic(windows), b"always", true),
            Err(Rejection::Retained)
        );
    }

    #[test]
    fn upgrade_all_buttons_are_bridge_commands() {
        let bridge = |leaf| CommandTopic {
            kind: row(leaf),
            domain: None,
        };
        for (leaf, action) in [
            ("upgrade_all/start/set", BridgeAction::UpgradeAll),
            ("upgrade_all/retry/set", BridgeAction::RetryAll),
            ("upgrade_all/abort/set", BridgeAction::AbortAll),
        ] {
            assert_eq!(
                validate(&bridge(leaf), b"PRESS", false),
                Ok(Action::Sequence(action))
            );
            assert!(validate(&bridge(leaf), b"ON", false).is_err());
        }
    }

    #[tokio::test]
    async fn a_text_that_is_not_a_window_is_refused_by_name_and_nothing_is_set() {
        let (cx, rec, mut rx) = context(false);
        let mut r = req(row("upgrade/windows/set"), b"", false);
        r.payload = Bytes::from_static(b"Sat 22:00-Sun 04:00, Wed 1am-3am");
        handle(&cx, r).await;
        match rx.try_recv() {
            Ok(HubMsg::Event {
                event_type,
                message,
                domain_name,
            }) => {
                assert_eq!(
                    (event_type.as_str(), domain_name.as_str()),
                    ("info", "sfo-w01")
                );
                assert!(message.contains("\"Wed 1am-3am\""), "{message}");
                assert!(message.contains("not changed"), "{message}");
            }
            other => panic!("expected a refusal event, got {other:?}"),
        }
        assert!(rec.0.lock().expect("lock").is_empty());
    }
}
