//! The commands that are not tied to one phase: Start / Download Bundles (and the driver's
//! "no update" answers to them), Abort Upgrade, the Ignore Alerts switch and Plan Upgrade. Whether a command
//! is valid now is decided by [`super::guard`]; these only carry it out.

use super::{Effect, FlowState, Machine};
use crate::api::TargetRelease;
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::{DownloadPurpose, Phase};

impl Machine<'_> {
    pub(super) fn already_running(&mut self) {
        let msg = format!(
            "An upgrade flow is already running for {} ({})",
            self.s.domain.name,
            self.s.phase.status()
        );
        self.notify(NotificationKind::AlreadyRunning, msg.clone());
        self.reject(msg);
    }

    pub(super) fn start(&mut self, release: TargetRelease, download_only: bool) {
        let ignore = self.s.ignore_alerts;
        let windows = self.s.windows.take();
        let domain = self.s.domain.clone();
        self.s = FlowState::new(domain);
        self.s.ignore_alerts = ignore;
        self.s.windows = windows;
        self.s.download_only = download_only;
        self.s.started_at = Some(self.now);
        let msg = if download_only {
            format!(
                "Downloading every bundle of VCF {} for {} (no upgrade is started)",
                release.version, self.s.domain.name
            )
        } else {
            format!(
                "Upgrade of {} from {} to VCF {} started",
                self.s.domain.name, release.current_version, release.version
            )
        };
        self.s.target_version = Some(release.version.clone());
        self.log(LogLevel::Info, &msg);
        self.notify(NotificationKind::UpgradeStarted, msg);
        let purpose = if download_only {
            DownloadPurpose::DownloadOnly
        } else {
            DownloadPurpose::Upgrade
        };
        self.enter(Phase::Preparing {
            purpose,
            target: release.clone(),
        });
        self.act(Effect::ListReleaseBundles(release));
    }

    pub(super) fn no_update(&mut self, current_version: Option<String>) {
        let msg = match current_version {
            Some(v) => format!(
                "No VCF update available for {}: it runs {v}, the newest applicable release",
                self.s.domain.name
            ),
            None => format!("No VCF update available for {}", self.s.domain.name),
        };
        self.log(LogLevel::Info, &msg);
        self.notify(NotificationKind::NoUpdateAvailable, msg.clone());
        self.reject(msg);
    }

    pub(super) fn update_check_failed(&mut self, reason: &str) {
        let msg = format!("Could not check for VCF updates: {reason}");
        self.log(LogLevel::Error, &msg);
        self.notify(NotificationKind::Info, msg.clone());
        self.reject(msg);
    }

    pub(super) fn abort(&mut self) {
        self.log(LogLevel::Error, "Upgrade aborted by the user");
        self.s.last_error = Some("aborted".to_owned());
        self.enter(Phase::Failed {
            reason: "aborted".to_owned(),
        });
        self.notify(
            NotificationKind::Aborted,
            format!("Upgrade flow of {} aborted", self.s.domain.name),
        );
    }

    pub(super) fn set_ignore_alerts(&mut self, on: bool) {
        if self.s.ignore_alerts == on {
            return;
        }
        self.s.ignore_alerts = on;
        if self.s.is_active() {
            let text = if on {
                "Ignore Alerts switched on"
            } else {
                "Ignore Alerts switched off"
            };
            self.log(LogLevel::Info, text);
        }
    }

    /// Logs a plan (Plan Upgrade) without touching the phase, or why none could be made.
    pub(super) fn planned(&mut self, plan: Result<Vec<String>, String>) {
        match plan {
            Ok(sections) => {
                for section in sections {
                    self.log(LogLevel::Info, &section);
                }
            }
            Err(reason) => {
                let msg = format!(
                    "Could not plan the upgrade of {}: {reason}",
                    self.s.domain.name
                );
                self.log(LogLevel::Error, &msg);
                self.reject(msg);
            }
        }
    }
}
